"""Issue 11: gifts marked by when they arrived, the project's donation page, and spending out of a
village's 互助基金 (with its receipts)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    # Plain ALTER TABLE: SQLite adds a NOT NULL column with a default in place, where peewee's
    # migrator would rebuild the table (and trip the foreign keys that point at it).
    migrator.sql("ALTER TABLE donation ADD COLUMN timing VARCHAR(8) NOT NULL DEFAULT ''")
    migrator.sql("ALTER TABLE project ADD COLUMN donation_url VARCHAR(256) NOT NULL DEFAULT ''")

    @migrator.create_model
    class FundSpending(pw.Model):
        village = pw.ForeignKeyField(migrator.orm["village"], backref="fund_spending", on_delete="RESTRICT")
        spent_on = pw.DateField(index=True)
        item = pw.CharField(max_length=128)
        payee = pw.CharField(max_length=128)
        amount = pw.BigIntegerField()
        voucher_no = pw.CharField(max_length=64, default="")
        approved_by = pw.CharField(max_length=256)
        approved_on = pw.DateField()
        entry = pw.ForeignKeyField(migrator.orm["entry"], unique=True, null=True, backref="+", on_delete="RESTRICT")
        user = pw.ForeignKeyField(migrator.orm["users"], null=True, backref="+", on_delete="SET NULL")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "fund_spending"

    migrator.sql("ALTER TABLE attachment ADD COLUMN fund_spending_id INTEGER NULL "
                 "REFERENCES fund_spending (id) ON DELETE RESTRICT")
    migrator.sql("CREATE INDEX attachment_fund_spending_id ON attachment (fund_spending_id)")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("attachment", "fund_spending")
    migrator.remove_model("fund_spending")
    migrator.remove_fields("project", "donation_url")
    migrator.remove_fields("donation", "timing")
