"""A village's 互助基金 as a real fund: what flows in (结转, 结余, 以奖代补, gifts after closing), what
the 监管会 decides to spend from it, and a statement per calendar year.

Spending follows the rules of project spending (a receipt, a voucher number, the ledger, reversal
with a reason) and one more from the plan: the 监管会 approves it, so ``approved_by`` must name more
than half of its members, each of them a member."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from . import audit, ledger
from .database import write_transaction
from .errors import XfjyError
from .jurisdiction import covers, require_write
from .models import Entry, FundSpending, Role, SupervisoryMember, Village

SOURCES = {  # what flowed into the fund, by the entry that moved it
    "carried": "项目结转（未达目标、超出目标或结项结余）",
    "late_gifts": "结项后到账的捐赠",
    "reward": "以奖代补",
}
NAME_SEPARATORS = "、，,;；/ "


def approvers(text: str) -> list[str]:
    names = text or ""
    for sep in NAME_SEPARATORS:
        names = names.replace(sep, "\n")
    return list(dict.fromkeys(n.strip() for n in names.splitlines() if n.strip()))


def check_approval(village: Village, approved_by: str) -> list[str]:
    """The names must be members of the village's 监管会, more than half of them."""
    members = [m.name for m in SupervisoryMember.select().where(SupervisoryMember.village == village)]
    names = approvers(approved_by)
    if not names:
        raise XfjyError("互助基金支出须经村社监管会同意：请填写同意的监管会成员姓名（以、分隔）")
    strangers = [n for n in names if n not in members]
    if strangers:
        raise XfjyError(f"{'、'.join(strangers)} 不是本村社监管会成员（成员：{'、'.join(members) or '无'}）")
    if len(names) * 2 <= len(members):
        raise XfjyError(f"监管会共 {len(members)} 名成员，须过半数（至少 {len(members) // 2 + 1} 名）同意，目前 {len(names)} 名")
    return names


def may_spend(village: Village, actor) -> bool:
    """Who records a payment out of the fund: the village itself or its 旗县市区 federation."""
    return village.fund_established_on is not None and (
        actor is None or actor.role in (Role.VILLAGE, Role.COUNTY) and covers(actor, village.area))


def spend(village: Village, *, spent_on: dt.date, item: str, payee: str, amount: int, approved_by: str,
          approved_on: dt.date, voucher_no: str = "", actor=None) -> FundSpending:
    """Pay out of the fund: fund account → payee, refused beyond its balance. A voucher number is used
    once per fund, so the same form submitted twice pays once."""
    require_write(actor)
    if village.fund_established_on is None:
        raise XfjyError(f"{village.full_name}尚未设立互助基金")
    if not may_spend(village, actor):
        raise XfjyError("互助基金支出由本村社或旗县市区慈善总会登记")
    if not item.strip():
        raise XfjyError("支出事项不能为空")
    if not payee.strip():
        raise XfjyError("收款方不能为空")
    if approved_on > spent_on:
        raise XfjyError("监管会同意日期晚于支出日期：应先经监管会同意再支出")
    names = check_approval(village, approved_by)
    with write_transaction():
        ledger.lock_account(ledger.fund_account(village))  # then the voucher check holds until the commit
        voucher = voucher_no.strip()[:64]
        if voucher and FundSpending.select().where((FundSpending.village == village) & (FundSpending.voucher_no == voucher)
                                                   & FundSpending.entry.not_in(Entry.select(Entry.reverses).where(
                                                       Entry.reverses.is_null(False)))).exists():
            raise XfjyError(f"凭证号 {voucher} 已登记过一笔互助基金支出；如是另一笔，请核对凭证号")
        line = FundSpending.create(village=village, spent_on=spent_on, item=item.strip()[:128], payee=payee.strip()[:128],
                                   amount=amount, voucher_no=voucher_no.strip()[:64], approved_by="、".join(names),
                                   approved_on=approved_on, user=getattr(actor, "id", None))
        voucher = f"（凭证 {line.voucher_no}）" if line.voucher_no else ""
        entry = ledger.post("fund_spending", ledger.fund_account(village), ledger.payee_account(payee), amount,
                            actor=actor, booked_on=spent_on, memo=f"互助基金支出：{line.item}{voucher}")
        FundSpending.update(entry=entry).where(FundSpending.id == line.id).execute()
        line.entry = entry
        audit.record(actor, "create", line, summary=f"{village.full_name}互助基金支出 {item}")
    return line


def cancel(line: FundSpending, reason: str, actor=None) -> Entry:
    """A wrong line is reversed, with the reason; both stay visible."""
    return ledger.reverse(line.entry, reason, actor)


def is_cancelled(line: FundSpending) -> bool:
    return Entry.select().where(Entry.reverses == line.entry_id).exists()


def balance(village: Village) -> int:
    return ledger.balance(ledger.fund_account(village))


# -- the yearly statement --------------------------------------------------------------------------

@dataclass
class Year:
    year: int
    opening: int = 0
    income: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    spent: int = 0

    @property
    def closing(self) -> int:
        return self.opening + sum(self.income.values()) - self.spent


def source_of(kind: str, from_donation: bool) -> str | None:
    """Which line of the statement an entry into (or out of) the fund belongs to."""
    if kind == "reward":
        return "reward"
    if kind == "to_fund":
        return "late_gifts" if from_donation else "carried"
    return None


def statement(flows) -> list[Year]:
    """Per calendar year from the first movement to the last: opening, in by source, out, closing.

    ``flows`` are ``Flow`` records or plain ``(booked_on, kind, from_donation, signed amount)``. A
    reversal counts, negative, on the line of what it reverses."""
    flows = sorted(map(Flow._make, flows), key=lambda f: f.booked_on)
    if not flows:
        return []
    years = {y: Year(y) for y in range(flows[0].booked_on.year, flows[-1].booked_on.year + 1)}
    for day, kind, from_donation, amount in flows:
        row = years[day.year]
        source = source_of(kind, from_donation)
        if source is not None:
            row.income[source] += amount
        else:
            row.spent -= amount
    opening = 0
    for year in sorted(years):
        years[year].opening = opening
        opening = years[year].closing
    return [years[y] for y in sorted(years)]


class Flow(NamedTuple):
    """One movement of a village's fund."""

    booked_on: dt.date
    kind: str
    from_donation: bool
    amount: int  # signed: positive into the fund


def flow(booked_on, kind: str, source_kind: str, target_kind: str, amount: int, from_donation: bool) -> Flow | None:
    """One ledger entry as a movement of a village's fund, as ``statement`` reads it (None if it is not
    one): the admin reads entries, the site its snapshot rows, ``xfjy audit-site`` the open data."""
    if target_kind == "fund":
        return Flow(booked_on, kind, from_donation, amount)
    if source_kind == "fund":
        return Flow(booked_on, kind, from_donation, -amount)
    return None


def flows_of(village: Village) -> list[Flow]:
    """The fund's movements, read from the ledger, for ``statement``."""
    fund = ledger.fund_account(village)
    rows = []
    for day, kind, donation, to_id, amount in (
            Entry.select(Entry.booked_on, Entry.kind, Entry.donation, Entry.to_account, Entry.amount)
            .where((Entry.to_account == fund) | (Entry.from_account == fund)).order_by(Entry.id).tuples()):
        into = to_id == fund.id
        rows.append(flow(day, kind, "" if into else "fund", "fund" if into else "", amount, donation is not None))
    return rows
