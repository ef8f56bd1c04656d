"""Issue 12: the database refuses what the README says it refuses, whoever writes to it.

- SQLite: ``REPLACE INTO entry`` (which deletes without firing a delete trigger) and any insert that
  reuses an entry id are refused; an entry's amount must be an integer above zero, its kind a known
  one and its two accounts different. PostgreSQL has the same as CHECK constraints.
- Every money column (entries, donations, spending, fund spending, targets, caps, the tally) holds
  integers only on SQLite, whose columns would otherwise take 0.5 or 'abc'; PostgreSQL's bigint does.
- A donation's amount and project, a spending line's amount and project, a fund payment's amount and
  village never change once written: they are what the ledger entry says.
"""

import peewee as pw
from peewee_migrate import Migrator

KINDS = ("donation", "pool_funding", "matching", "reward", "disbursement", "expenditure", "to_fund",
         "fund_spending", "refund")
MONEY = {"entry": "amount", "donation": "amount", "expenditure": "amount", "fund_spending": "amount",
         "project": "target", "matching_rule": "cap", "ledger_tally": "net"}
FIXED = {"donation": ("amount", "project_id", "txn_no"), "expenditure": ("amount", "project_id"),
         "fund_spending": ("amount", "village_id")}


def _kinds() -> str:
    return ", ".join(f"'{k}'" for k in KINDS)


def _sqlite() -> list[str]:
    statements = [
        "CREATE TRIGGER entry_no_overwrite BEFORE INSERT ON entry "
        "WHEN NEW.id > 0 AND NEW.id <= (SELECT COALESCE(MAX(id), 0) FROM entry) "
        "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
        "CREATE TRIGGER entry_checks BEFORE INSERT ON entry "
        f"WHEN NEW.kind NOT IN ({_kinds()}) OR NEW.from_account_id = NEW.to_account_id "
        "BEGIN SELECT RAISE(ABORT, 'an entry needs a known kind and two different accounts'); END",
    ]
    for table, column in MONEY.items():
        for event in ("INSERT", f"UPDATE OF {column}"):
            name = f"{table}_{column}_{event.split()[0].lower()}_integer"
            statements.append(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                              f"WHEN typeof(NEW.{column}) <> 'integer' "
                              "BEGIN SELECT RAISE(ABORT, 'money is integer fen'); END")
    for table, columns in FIXED.items():
        statements.append(f"CREATE TRIGGER {table}_money_fixed BEFORE UPDATE OF {', '.join(columns)} ON {table} "
                          f"WHEN {' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in columns)} "
                          "BEGIN SELECT RAISE(ABORT, 'what the ledger posted does not change'); END")
    return statements


def _postgres() -> list[str]:
    statements = [
        f"ALTER TABLE entry ADD CONSTRAINT entry_kind CHECK (kind IN ({_kinds()}))",
        "ALTER TABLE entry ADD CONSTRAINT entry_two_accounts CHECK (from_account_id <> to_account_id)",
    ]
    for table, columns in FIXED.items():
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
        statements += [
            f"""CREATE FUNCTION {table}_money_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF {changed} THEN RAISE EXCEPTION 'what the ledger posted does not change'; END IF;
                RETURN NEW; END $$""",
            f"CREATE TRIGGER {table}_money_fixed BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_money_fixed()",
        ]
    return statements


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for statement in _postgres() if isinstance(database, pw.PostgresqlDatabase) else _sqlite():
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        for table in FIXED:
            migrator.sql(f"DROP TRIGGER {table}_money_fixed ON {table}")
            migrator.sql(f"DROP FUNCTION {table}_money_fixed()")
        migrator.sql("ALTER TABLE entry DROP CONSTRAINT entry_two_accounts")
        migrator.sql("ALTER TABLE entry DROP CONSTRAINT entry_kind")
    else:
        names = ["entry_no_overwrite", "entry_checks", *(f"{t}_money_fixed" for t in FIXED)]
        names += [f"{t}_{c}_{e}_integer" for t, c in MONEY.items() for e in ("insert", "update")]
        for name in names:
            migrator.sql(f"DROP TRIGGER {name}")
