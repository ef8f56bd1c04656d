"""The audit log looked up by row: an edit form checks that nobody changed its row in between."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index("audit_log", "table", "object_id")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index("audit_log", "table", "object_id")
