"""The fund ledger: double-entry and append-only.

Every entry moves a positive number of fen from one account to another, so the sum of all balances
is zero by construction. Balances are sums of entries; nothing stores a balance. Internal accounts
(special, pass-through, pool, village project and fund) can never go below zero; external ones
(donors, sponsors, payees) are where money comes from and goes to. A posted entry is never changed:
a correction is a reversal entry with a reason, and an entry can be reversed once.
"""
from __future__ import annotations

import datetime as dt

from peewee import Case, IntegrityError, chunked, fn

from . import audit
from .bulk import insert_rows
from .clock import now
from .database import database, is_postgres, write_transaction
from .errors import LedgerError
from .jurisdiction import covers, may_write, require_write
from .models import Account, Area, Donation, Entry, Project, Role, Village
from .money import format_fen

NATION_CODE = "100000"
DONORS = "社会捐赠人"


# -- accounts -------------------------------------------------------------------------------------

def account(kind: str, area: Area | None = None, project: Project | None = None, name: str = "") -> Account:
    """The one account of that kind for that area/project/name, created on first use."""
    key = _key(kind, area, project, name)
    return Account.get_by_id(ensure_accounts([key])[key])


def _key(kind, area, project, name="") -> tuple:
    if kind not in Account.KINDS:
        raise LedgerError(f"未知的账户类型 {kind}")
    area_id = area.id if isinstance(area, Area) else area
    project_id = project.id if isinstance(project, Project) else project
    return (kind, area_id, project_id, name)


def ensure_accounts(keys) -> dict[tuple, int]:
    """Account ids for ``(kind, area_id, project_id, name)`` keys, creating the missing ones at once."""
    keys = list(dict.fromkeys(keys))
    by_text = {Account.key_for(*k): k for k in keys}
    found = {}
    texts = list(by_text)
    for chunk in chunked(texts, 500):
        found.update(Account.select(Account.key, Account.id).where(Account.key.in_(chunk)).tuples())
    missing = [t for t in texts if t not in found]
    for chunk in chunked(missing, 500):
        rows = [dict(key=t, kind=by_text[t][0], area=by_text[t][1], project=by_text[t][2], name=by_text[t][3])
                for t in chunk]
        Account.insert_many(rows).on_conflict_ignore().execute()
        found.update(Account.select(Account.key, Account.id).where(
            Account.key.in_([r["key"] for r in rows])).tuples())
    return {by_text[t]: found[t] for t in texts}


def nation() -> Area:
    return Area.get(Area.code == NATION_CODE)


def donors_account() -> Account:
    return account("donors", name=DONORS)


def sponsor_account(name: str) -> Account:
    return account("sponsor", name=name.strip() or "爱心企业")


def payee_account(name: str) -> Account:
    if not name.strip():
        raise LedgerError("收款方不能为空")
    return account("payee", name=name.strip())


def special_account(project: Project) -> Account:
    """中华慈善总会's special account for this project: where online donations land."""
    return account("special", nation(), project)


def pass_through_account(area: Area, project: Project) -> Account:
    return account("pass_through", area, project)


def project_account(project: Project) -> Account:
    return account("project", project.village.area, project)


def fund_account(village: Village) -> Account:
    return account("fund", village.area)


def pool_account(area: Area) -> Account:
    return account("pool", area)


# -- balances -------------------------------------------------------------------------------------

def balance(acct: Account) -> int:
    incoming = Entry.select(fn.COALESCE(fn.SUM(Entry.amount), 0)).where(Entry.to_account == acct).scalar()
    outgoing = Entry.select(fn.COALESCE(fn.SUM(Entry.amount), 0)).where(Entry.from_account == acct).scalar()
    return int(incoming) - int(outgoing)


def balances(accounts) -> dict[int, int]:
    """Balances of many accounts in two queries."""
    ids = [a.id if isinstance(a, Account) else a for a in accounts]
    result = dict.fromkeys(ids, 0)
    if not ids:
        return result
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        rows = Entry.select(column, fn.SUM(Entry.amount)).where(column.in_(ids)).group_by(column).tuples()
        for account_id, total in rows:
            result[account_id] += sign * int(total)
    return result


# An entry that reverses none. Not ``reverses IS NULL``: given that, SQLite picks the unique index on
# ``reverses`` (NULL in nearly every row, and NULLs count as distinct in its statistics too) over any
# other and reads the whole ledger through it, 0.5 s a call at a million entries: the region's
# dashboard took 130 s. Coalesced, the column is no index's, and each database uses the other condition's.
ORIGINAL = fn.COALESCE(Entry.reverses, 0) == 0

SIGNED = Case(None, ((Entry.reverses.is_null(), Entry.amount),), Entry.amount * -1)  # one entry: a reversal subtracts
SIGNED_AMOUNT = fn.SUM(SIGNED)


def signed_sum(query) -> int:
    """The net amount of the entries ``query`` selects: originals count, their reversals subtract."""
    return int(query.select(fn.COALESCE(SIGNED_AMOUNT, 0)).scalar() or 0)


def standing(donation: Donation, kind: str) -> int:
    """Net amount of this donation's entries of ``kind`` still standing (reversals netted out)."""
    return signed_sum(Entry.select().where((Entry.donation == donation) & (Entry.kind == kind)))


def disbursed_from(acct: Account) -> int:
    """Net amount passed down out of ``acct``: hops out, less the reversals of those hops."""
    return disbursed_from_each([acct])[acct.id]


def disbursed_from_each(accounts) -> dict[int, int]:
    """``disbursed_from`` of many accounts in two queries, by account id."""
    ids = [a.id if isinstance(a, Account) else a for a in accounts]
    result = dict.fromkeys(ids, 0)
    hop = Entry.kind == "disbursement"
    for column, condition, sign in ((Entry.from_account, ORIGINAL, 1), (Entry.to_account, ~ORIGINAL, -1)):
        for chunk in chunked(ids, 5000):
            rows = (Entry.select(column, fn.SUM(Entry.amount)).where(hop & condition & column.in_(chunk))
                    .group_by(column).tuples())
            for account_id, total in rows:
                result[account_id] += sign * int(total)
    return result


def lock_account(acct: Account) -> None:
    """Hold the account until the transaction ends (SQLite already holds the write lock)."""
    if is_postgres():
        Account.select(Account.id).where(Account.id == acct.id).for_update().execute()


LEDGER_LOCK = 0x78666A79  # "xfjy": one PostgreSQL advisory lock for every posting transaction


def hold_ledger() -> None:
    """Serialize posting until the transaction ends, so entry ids follow commit order.

    SQLite already writes one transaction at a time; on PostgreSQL two postings could otherwise
    commit out of id order, and a checkpoint taken in between would miss the earlier id."""
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (LEDGER_LOCK,))


# -- posting --------------------------------------------------------------------------------------

def post(kind: str, source: Account, target: Account, amount: int, *, actor=None, project=None,
         donation=None, expenditure=None, rule=None, reverses=None, reason: str = "", memo: str = "",
         booked_on: dt.date | None = None) -> Entry:
    """Post one entry. Refuses non-integer or non-positive amounts and overdrafts."""
    require_write(actor)
    if kind not in Entry.KINDS:
        raise LedgerError(f"未知的分录类型 {kind}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise LedgerError("金额必须是整数（分）")
    if amount <= 0:
        raise LedgerError("金额必须大于零")
    if source.id == target.id:
        raise LedgerError("转出与转入账户不能相同")
    with write_transaction():
        if not source.external:
            lock_account(source)
            available = balance(source)
            if available < amount:
                raise LedgerError(f"{describe(source)}余额不足：可用 {format_fen(available)}，需要 {format_fen(amount)}")
        fields = dict(kind=kind, from_account=source, to_account=target, amount=amount, project=project,
                      donation=donation, expenditure=expenditure, rule=rule, reverses=reverses, reason=reason,
                      memo=memo[:256], user=actor.id if actor is not None and getattr(actor, "id", None) else None)
        if booked_on is not None:
            fields["booked_on"] = booked_on
        hold_ledger()
        try:
            with database.atomic():
                entry = Entry.create(**fields)
        except IntegrityError as exc:
            if reverses is not None:
                raise LedgerError("该分录已冲正，不能重复冲正") from exc
            raise
        audit.record(actor, "post", entry,
                     summary=f"{Entry.KINDS[kind]} {format_fen(amount)}：{describe(source)} → {describe(target)}")
    return entry


def describe(acct: Account) -> str:
    """An account as messages name it: its area, its kind, its project."""
    parts = []
    if acct.area_id is not None and acct.kind not in ("special",):
        parts.append(acct.area.name)
    parts.append(str(acct))
    if acct.project_id is not None:
        parts.append(f"（{acct.project.name}）")
    return "".join(parts)


def reverse(entry: Entry, reason: str, actor=None) -> Entry:
    """Cancel an entry by a new one in the opposite direction; the original stays as it was."""
    require_write(actor)
    if not reason or not reason.strip():
        raise LedgerError("冲正必须填写原因")
    if entry.reverses_id is not None:
        raise LedgerError("冲正分录不能再冲正，如需恢复请重新记账")
    if actor is not None:
        if not may_reverse(actor, entry.kind):
            raise LedgerError("只有慈善总会可以冲正该分录（村社只能冲正本村的支出）")
        if not covers(actor, _area_of_entry(entry)):
            raise LedgerError("该分录不在您的管辖范围内")
    if Entry.select().where(Entry.reverses == entry).exists():
        raise LedgerError("该分录已冲正，不能重复冲正")
    if entry.kind == "donation" and entry.donation_id is not None and standing(entry.donation, "refund"):
        raise LedgerError("该捐赠已退款，不能再冲正入账")
    return post(entry.kind, entry.to_account, entry.from_account, entry.amount, actor=actor,
                project=entry.project_id and entry.project, donation=entry.donation_id and entry.donation,
                expenditure=entry.expenditure_id and entry.expenditure, rule=entry.rule_id and entry.rule,
                reverses=entry, reason=reason.strip(), memo=f"冲正 #{entry.id}")


SPENDING_KINDS = ("expenditure", "fund_spending")


def may_reverse(actor, kind: str | None = None) -> bool:
    """Federations reverse entries within their area; a village only its own spending (``kind`` None:
    whether the actor may reverse anything at all)."""
    if actor.role in (Role.ADMIN, Role.TOWNSHIP) or not may_write(actor):
        return False
    return actor.role != Role.VILLAGE or kind is None or kind in SPENDING_KINDS


def _area_of_entry(entry: Entry) -> Area:
    """The village of a project's entry; otherwise the area of its internal account (fund, pool)."""
    if entry.project_id is not None:
        return entry.project.village.area
    for acct in (entry.from_account, entry.to_account):
        if acct.area_id is not None and not acct.external:
            return acct.area
    return nation()


def post_many(rows: list[dict], actor=None, check: bool = True) -> int:
    """Post many entries at once, in order, with the same rules as :func:`post`.

    Each row has ``kind``, ``from_account`` and ``to_account`` (ids), ``amount`` and optionally
    ``project``, ``donation``, ``expenditure``, ``rule``, ``memo``, ``booked_on``, ``posted_at``.
    Balances of internal accounts are checked as they would run, entry by entry.
    """
    require_write(actor)
    if not rows:
        return 0
    stamp, user_id = now(), (actor.id if actor is not None and getattr(actor, "id", None) else None)
    for row in rows:
        amount = row["amount"]
        if row["kind"] not in Entry.KINDS:
            raise LedgerError(f"未知的分录类型 {row['kind']}")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise LedgerError(f"金额必须是正整数（分）：{amount!r}")
        if row["from_account"] == row["to_account"]:
            raise LedgerError("转出与转入账户不能相同")
        row.setdefault("posted_at", stamp)
        row.setdefault("booked_on", row["posted_at"].date())
        row.setdefault("user", user_id)
        row.setdefault("reason", "")
        row.setdefault("memo", "")
    with write_transaction():
        if check:
            _check_running_balances(rows)
        hold_ledger()
        insert_rows(Entry, ENTRY_COLUMNS, ([row.get(c) for c in ENTRY_COLUMNS] for row in rows))
    return len(rows)


ENTRY_COLUMNS = ("kind", "from_account", "to_account", "amount", "project", "donation", "expenditure", "rule",
                 "reverses", "reason", "memo", "user", "posted_at", "booked_on")


def _check_running_balances(rows: list[dict]) -> None:
    touched = {r["from_account"] for r in rows} | {r["to_account"] for r in rows}
    internal = set()
    for ids in chunked(sorted(touched), 500):
        query = Account.select(Account.id).where(Account.id.in_(ids) & Account.kind.not_in(Account.EXTERNAL))
        internal.update(account_id for (account_id,) in query.tuples())
    sources = {r["from_account"] for r in rows} & internal
    if not sources:
        return
    if is_postgres():
        for ids in chunked(sorted(sources), 500):
            Account.select(Account.id).where(Account.id.in_(ids)).order_by(Account.id).for_update().execute()
    running = {}
    for ids in chunked(sorted(sources), 500):
        running.update(balances(ids))
    for row in rows:
        if row["from_account"] in running:
            running[row["from_account"]] -= row["amount"]
            if running[row["from_account"]] < 0:
                short = format_fen(-running[row["from_account"]])
                raise LedgerError(f"{describe(Account.get_by_id(row['from_account']))}余额不足"
                                  f"（{Entry.KINDS[row['kind']]}，差 {short}）")
        if row["to_account"] in running:
            running[row["to_account"]] += row["amount"]
