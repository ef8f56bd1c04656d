"""The public history (``db.history``): chain links, append-only in the database itself, and the
head each publish wrote."""

import peewee as pw
from peewee_migrate import Migrator

SQLITE = [
    "CREATE TRIGGER chain_link_no_update BEFORE UPDATE ON chain_link "
    "BEGIN SELECT RAISE(ABORT, 'the public history is append-only'); END",
    "CREATE TRIGGER chain_link_no_delete BEFORE DELETE ON chain_link "
    "BEGIN SELECT RAISE(ABORT, 'the public history is append-only'); END",
]
POSTGRES = [
    """CREATE FUNCTION chain_link_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the public history is append-only'; END $$""",
    "CREATE TRIGGER chain_link_no_change BEFORE UPDATE OR DELETE ON chain_link "
    "FOR EACH ROW EXECUTE FUNCTION chain_link_append_only()",
    "CREATE TRIGGER chain_link_no_truncate BEFORE TRUNCATE ON chain_link "
    "FOR EACH STATEMENT EXECUTE FUNCTION chain_link_append_only()",
]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ChainLink(pw.Model):
        seq = pw.BigIntegerField(primary_key=True)
        record = pw.CharField(max_length=16)
        record_id = pw.BigIntegerField()
        hash = pw.CharField(max_length=64)
        linked_at = pw.DateTimeField()

        class Meta:
            table_name = "chain_link"
            indexes = ((("record", "record_id"), True),)

    migrator.add_fields("publish_run", head_seq=pw.BigIntegerField(null=True),
                        head_hash=pw.CharField(max_length=64, default=""), head_at=pw.DateTimeField(null=True))
    for statement in POSTGRES if isinstance(database, pw.PostgresqlDatabase) else SQLITE:
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql("DROP TRIGGER chain_link_no_truncate ON chain_link")
        migrator.sql("DROP TRIGGER chain_link_no_change ON chain_link")
        migrator.sql("DROP FUNCTION chain_link_append_only()")
    migrator.remove_fields("publish_run", "head_seq", "head_hash", "head_at")
    migrator.remove_model("chain_link")
