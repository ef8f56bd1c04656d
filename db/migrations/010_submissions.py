"""A form posts once: the one-time token of every posted form (issue 12: a 资金池 entry or a spending
line without a voucher number was booked twice when its form was sent twice)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Submission(pw.Model):
        token = pw.CharField(max_length=64, primary_key=True)
        at = pw.DateTimeField()
        user = pw.IntegerField(null=True)

        class Meta:
            table_name = "submission"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("submission")
