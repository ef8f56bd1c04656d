"""Where a project's money ends: at the deadline, a missed target's money or the surplus above a
reached one moves to the village's 互助基金; at closing, whatever any level still holds follows it
(plan §3: 结余善款转入互助基金)."""
from __future__ import annotations

import datetime as dt

from .clock import today
from .database import write_transaction
from .disbursement import project_accounts
from .errors import LedgerError
from .jurisdiction import READ_ONLY, covers, may_write, require_write
from .ledger import balance, balances, disbursed_from, fund_account, lock_account, post, project_account, special_account
from .models import Entry, Level, Project, Role
from .public import account_label
from .workflow import FUNDRAISING_OVER


def settlement_amount(project: Project) -> int:
    """What moves to the 互助基金: everything if the target was missed, else the part above it."""
    special = balance(special_account(project))
    if project.state == "target_missed":
        return special + balance(project_account(project))
    remaining = project.target - disbursed_from(special_account(project))
    return max(special - max(remaining, 0), 0)


def unused(project: Project) -> int:
    """What the project's accounts still hold, at every level (nothing once it is closed)."""
    return sum(balances(project_accounts(project)).values())


def settle_remaining(project: Project, actor=None, on: dt.date | None = None) -> list[Entry]:
    """At closing: everything the project's accounts still hold goes to the village's 互助基金, one
    entry per account, in the caller's transaction (plan §3: 结余善款转入互助基金)."""
    fund = fund_account(project.village)
    entries = []
    with write_transaction():
        chain = project_accounts(project)
        for acct in chain:
            lock_account(acct)
        held = balances(chain)
        for acct in chain:
            if held[acct.id] > 0:
                where = account_label(acct.kind, acct.area.name, acct.area.level, acct.name)
                entries.append(post("to_fund", acct, fund, held[acct.id], actor=actor, project=project,
                                    memo=f"结项：{where}结余转入村社互助基金", booked_on=on))
    return entries


def settle_refusal(project: Project, actor=None, on: dt.date | None = None) -> str:
    """Why the deadline settlement cannot be made now ("" when it can): a federation of the 旗县市区
    or above, once the fundraising period is over (at once when the target was missed)."""
    if not may_write(actor):
        return READ_ONLY
    if actor is not None and (actor.level > Level.COUNTY or actor.role == Role.ADMIN
                              or not covers(actor, project.village.area)):
        return "转入互助基金由旗县市区及以上慈善总会办理"
    if project.state != "target_missed" and (on or today()) <= project.ends_on:
        return f"募集期限至 {project.ends_on:%Y-%m-%d}，期满后才能结转"
    if project.state not in FUNDRAISING_OVER:
        return "项目尚未结束募捐，不能结转"
    return ""


def settle_to_fund(project: Project, actor=None, on: dt.date | None = None) -> list[Entry]:
    """At the deadline: a missed target's money, or the part above a reached one, to the 互助基金."""
    require_write(actor)
    refusal = settle_refusal(project, actor, on)
    if refusal:
        raise LedgerError(refusal)
    fund = fund_account(project.village)
    entries = []
    with write_transaction():
        special = special_account(project)
        amount = settlement_amount(project)
        from_special = min(amount, balance(special))
        if from_special > 0:
            entries.append(post("to_fund", special, fund, from_special, actor=actor, project=project,
                                memo="未达成目标或超出目标部分转入村社互助基金", booked_on=on))
        rest = amount - from_special
        if rest > 0:
            entries.append(post("to_fund", project_account(project), fund, rest, actor=actor, project=project,
                                memo="未达成目标项目的配捐转入村社互助基金", booked_on=on))
    if not entries:
        raise LedgerError("没有需要结转的余款")
    return entries
