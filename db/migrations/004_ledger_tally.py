"""Checkpointed sums of the append-only ledger, so the dashboards and the site need not add up a
million entries on every read (``db.models.LedgerTally``)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class LedgerTally(pw.Model):
        project = pw.ForeignKeyField(migrator.orm["project"], null=True, on_delete="RESTRICT", backref="+")
        kind = pw.CharField(max_length=16)
        source_kind = pw.CharField(max_length=16)
        target_kind = pw.CharField(max_length=16)
        net = pw.BigIntegerField()
        through = pw.BigIntegerField(index=True)

        class Meta:
            table_name = "ledger_tally"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("ledger_tally")
