"""Make the ledger append-only in the database itself, and add settings and the donation list index.

Whatever client writes to the database (the admin, a script, a console), a posted entry can no
longer be updated or deleted.
"""

import peewee as pw
from peewee_migrate import Migrator

SQLITE = [
    "CREATE TRIGGER entry_no_update BEFORE UPDATE ON entry "
    "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
    "CREATE TRIGGER entry_no_delete BEFORE DELETE ON entry "
    "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
]
POSTGRES = [
    """CREATE FUNCTION entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$""",
    "CREATE TRIGGER entry_no_change BEFORE UPDATE OR DELETE ON entry "
    "FOR EACH ROW EXECUTE FUNCTION entry_append_only()",
    "CREATE TRIGGER entry_no_truncate BEFORE TRUNCATE ON entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION entry_append_only()",
]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Setting(pw.Model):
        key = pw.CharField(max_length=64, primary_key=True)
        value = pw.TextField()

        class Meta:
            table_name = "setting"

    migrator.add_index("donation", "project", "donated_at")
    for statement in POSTGRES if isinstance(database, pw.PostgresqlDatabase) else SQLITE:
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql("DROP TRIGGER entry_no_truncate ON entry")
        migrator.sql("DROP TRIGGER entry_no_change ON entry")
        migrator.sql("DROP FUNCTION entry_append_only()")
    else:
        for name in ("entry_no_update", "entry_no_delete"):
            migrator.sql(f"DROP TRIGGER {name}")
    migrator.drop_index("donation", "project", "donated_at")
    migrator.remove_model("setting")
