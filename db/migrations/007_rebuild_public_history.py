"""Issue 12: a payee's name reached the public history unredacted, and redaction now catches more
(full-width, separated and letter-prefixed numbers). No release has been deployed, so the chain is
rebuilt from genesis once: its links are removed (the append-only triggers lifted for this alone)
and the next ``xfjy publish`` (or ``db.history.seal``) links every record again with the new bodies."""

import peewee as pw
from peewee_migrate import Migrator

SQLITE_TRIGGERS = [
    "CREATE TRIGGER chain_link_no_update BEFORE UPDATE ON chain_link "
    "BEGIN SELECT RAISE(ABORT, 'the public history is append-only'); END",
    "CREATE TRIGGER chain_link_no_delete BEFORE DELETE ON chain_link "
    "BEGIN SELECT RAISE(ABORT, 'the public history is append-only'); END",
]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql("ALTER TABLE chain_link DISABLE TRIGGER chain_link_no_change")
        migrator.sql("DELETE FROM chain_link")
        migrator.sql("ALTER TABLE chain_link ENABLE TRIGGER chain_link_no_change")
    else:
        migrator.sql("DROP TRIGGER chain_link_no_delete")
        migrator.sql("DROP TRIGGER chain_link_no_update")
        migrator.sql("DELETE FROM chain_link")
        for statement in SQLITE_TRIGGERS:
            migrator.sql(statement)
    migrator.sql("UPDATE publish_run SET head_seq = NULL, head_hash = '', head_at = NULL")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """The removed links cannot come back; ``seal`` makes new ones."""
