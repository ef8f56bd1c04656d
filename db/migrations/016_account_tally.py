"""Issue 18: each internal account's checkpointed balance (``db.models.AccountTally``), so that the
money each level holds is not summed over a million entries on every dashboard; filled by the next
``advance_tally`` (every publish, the demo and each donation import)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class AccountTally(pw.Model):
        account = pw.ForeignKeyField(migrator.orm["account"], unique=True, on_delete="RESTRICT", backref="+")
        net = pw.BigIntegerField()
        through = pw.BigIntegerField(index=True)

        class Meta:
            table_name = "account_tally"

    if not isinstance(database, pw.PostgresqlDatabase):  # money is integer fen there too (as in 008)
        for event in ("INSERT", "UPDATE OF net"):
            migrator.sql(f"CREATE TRIGGER account_tally_net_{event.split()[0].lower()}_integer BEFORE {event} "
                         "ON account_tally WHEN typeof(NEW.net) <> 'integer' "
                         "BEGIN SELECT RAISE(ABORT, 'money is integer fen'); END")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("account_tally")
