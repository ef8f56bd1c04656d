"""Money passed down the levels: 中华慈善总会 → 自治区 → 盟市 → 旗县市区 → the village's project account.

Each hop is previewed, then posted by the sending level's federation; the first hop moves the project
to 拨付中 and the arrival at the village to 实施中. 中华慈善总会 passes down the target only: what was
raised above it waits for the settlement (db.settlement)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from .areas import FEDERATION_LEVELS, ancestors, federation_name
from .database import write_transaction
from .errors import LedgerError, TransitionError
from .jurisdiction import covers, holds_every_village, may_write, require_write, scoped
from .ledger import (
    NATION_CODE,
    balance,
    balances,
    disbursed_from,
    disbursed_from_each,
    nation,
    pass_through_account,
    post,
    project_account,
    special_account,
)
from .models import Account, AccountTally, Area, Entry, Level, Project, Role, Setting, Village
from .totals import account_mark
from .workflow import DISBURSING_STATES, advance_project, lock_project


def disbursement_levels() -> tuple[int, ...]:
    """Which federation levels money passes through between 中华慈善总会 and the village."""
    row = Setting.get_or_none(Setting.key == "disbursement_levels")
    if row is None:
        return FEDERATION_LEVELS
    return tuple(int(x) for x in row.value.split(",") if x.strip())


def set_disbursement_levels(levels) -> None:
    levels = sorted({int(x) for x in levels})
    if any(x not in FEDERATION_LEVELS for x in levels):
        raise LedgerError("拨付层级只能是自治区、盟市、旗县市区")
    Setting.insert(key="disbursement_levels", value=",".join(map(str, levels))).on_conflict(
        conflict_target=[Setting.key], update={Setting.value: ",".join(map(str, levels))}).execute()


def passing_through(between: list[Area], levels) -> list[Area]:
    """The federations among ``between`` (the areas from 自治区 down to the village's township) that money
    passes through: those at a configured level; a 盟市-level city that also acts as a 旗县 counts once."""
    nodes = []
    for node in between:
        acting = {node.level} | ({Level.COUNTY} if node.county_id == node.id else set())
        if acting & set(levels) and node not in nodes:
            nodes.append(node)
    return nodes


def disbursement_chain(project: Project) -> list[tuple[Area, Account]]:
    """中华慈善总会 → (configured levels) → the village's project account."""
    village_area = project.village.area
    nodes = passing_through(ancestors(village_area)[1:-1], disbursement_levels())
    chain = [(nation(), special_account(project))]
    chain += [(node, pass_through_account(node, project)) for node in nodes]
    chain.append((village_area, project_account(project)))
    return chain


@dataclass
class Hop:
    source_area: Area
    source: Account
    target_area: Area
    target: Account
    amount: int


def next_hop(project: Project, actor) -> Hop:
    """The hop this actor's level would make now, and how much (previewed before posting)."""
    if project.state not in DISBURSING_STATES:
        raise TransitionError("项目尚未提出使用申请，或已拨付完毕")
    chain = disbursement_chain(project)
    mine = [(a, acct, na, nacct) for (a, acct), (na, nacct) in zip(chain, chain[1:]) if _acts_for(actor, a, project)]
    if not mine:
        raise LedgerError("您所在的层级不在本项目的拨付链上")
    for area, acct, next_area, next_acct in mine:
        amount = _passable(acct, project, balance(acct), disbursed_from(acct) if acct.kind == "special" else 0)
        if amount > 0:
            return Hop(area, acct, next_area, next_acct, amount)
    raise LedgerError(f"{mine[0][0].name}暂无可拨付的善款")


def _passable(acct: Account, project: Project, held: int, passed: int) -> int:
    """What a hop may move out of ``acct``, holding ``held`` and having passed ``passed`` down: all it
    holds, but 中华慈善总会 passes down the target only (the surplus above it goes to the 互助基金)."""
    return min(held, project.target - passed) if acct.kind == "special" else held


def _acts_for(actor, area: Area, project: Project) -> bool:
    """The sender of a hop is that level's federation; the region records 中华慈善总会's hop."""
    if actor is None:
        return True
    if actor.role in (Role.ADMIN, Role.VILLAGE, Role.TOWNSHIP) or not may_write(actor) or not covers(actor, project.village.area):
        return False
    if area.code == NATION_CODE:
        return actor.role == Role.REGION
    return actor.area_id == area.id


def disburse(project: Project, actor, expected: int | None = None, on: dt.date | None = None,
             source: int | None = None) -> Entry:
    """Pass the money one level down; moves the project to 拨付中 and, on arrival, to 实施中.

    ``expected`` and ``source`` (an account id) are what the user previewed: the hop is posted only if
    it is still that hop, so a form submitted twice posts once."""
    require_write(actor)
    with write_transaction():
        project = lock_project(project.id)
        try:
            hop = next_hop(project, actor)
        except (LedgerError, TransitionError) as exc:
            if source is not None:
                raise LedgerError("该笔拨付已办理，请刷新页面查看") from exc
            raise
        if source is not None and hop.source.id != source:
            raise LedgerError("该笔拨付已办理，请刷新页面查看下一步")
        if expected is not None and expected != hop.amount:
            raise LedgerError("金额已变化，请重新预览")
        entry = post("disbursement", hop.source, hop.target, hop.amount, actor=actor, project=project,
                     memo=f"{federation_name(hop.source_area)} → {hop.target_area.name}", booked_on=on)
        if project.state == "use_applied":
            advance_project(project, "start_disbursing", actor)
        if hop.target.kind == "project":
            advance_project(Project.get_by_id(project.id), "funds_arrived", actor)
    return entry


def project_accounts(project: Project) -> list[Account]:
    """Every internal account that holds this project's money: 中华慈善总会's, each level's, the village's."""
    return [acct for _, acct in disbursement_chain(project)]


def waiting_hops(actor) -> list[tuple[Project, int]]:
    """Projects whose money waits at the actor's level to be passed down, with the amount each hop
    would move now (what ``next_hop`` would preview), oldest project first."""
    if actor is None or actor.role not in (Role.REGION, Role.PREFECTURE, Role.COUNTY):
        return []
    projects = scoped(Project.select(Project.id), actor).where(Project.state.in_(DISBURSING_STATES))
    mine = Account.area == actor.area_id
    if actor.role == Role.REGION:
        mine = mine | (Account.kind == "special")
    accounts = list(Account.select(Account, Project).join(Project).where(
        Account.kind.in_(("special", "pass_through")) & mine & Account.project.in_(projects)))
    held = balances(accounts)
    passed = disbursed_from_each(a for a in accounts if a.kind == "special" and held[a.id] > 0)
    result = []
    for acct in accounts:
        amount = _passable(acct, acct.project, held[acct.id], passed.get(acct.id, 0)) if held[acct.id] > 0 else 0
        if amount > 0:
            result.append((acct.project, amount))
    return sorted(result, key=lambda item: item[0].id)


HELD_LABELS = {("special", Level.NATION): "中华慈善总会专用账户（待拨付或超出目标）",
               ("pass_through", Level.REGION): "自治区慈善总会（待拨付）",
               ("pass_through", Level.PREFECTURE): "盟市慈善总会（待拨付）",
               ("pass_through", Level.COUNTY): "旗县市区慈善总会（待拨付）",
               ("project", Level.VILLAGE): "村社项目账户（待使用）",
               ("fund", Level.VILLAGE): "村社互助基金",
               ("pool", Level.REGION): "自治区慈善总会配捐资金池",
               ("pool", Level.PREFECTURE): "盟市慈善总会配捐资金池",
               ("pool", Level.COUNTY): "旗县市区慈善总会配捐资金池"}


def held_by_level(area: Area) -> list[tuple[str, int]]:
    """The money the internal accounts of ``area``'s subtree hold, by kind and level, in the order the
    money flows (a project's accounts count wherever its village lies)."""
    condition = Account.kind.not_in(Account.EXTERNAL)
    if not holds_every_village(area):
        inside = Area.select(Area.id).where(Area.path.startswith(area.path))
        villages = Village.select(Village.id).where(Village.area.in_(inside))
        condition &= (Account.project.in_(Project.select(Project.id).where(Project.village.in_(villages)))
                      | (Account.project.is_null() & Account.area.in_(inside)))
    mark = account_mark()  # the checkpointed balances, then the entries after them
    sums: dict[tuple, int] = {}
    tallied = (AccountTally.select(Account.kind, Area.level, fn.SUM(AccountTally.net)).join(Account)
               .join(Area, on=(Account.area == Area.id)).where(condition).group_by(Account.kind, Area.level))
    for kind, level, total in tallied.tuples():
        sums[kind, level] = int(total)
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        query = (Entry.select(Account.kind, Area.level, fn.SUM(Entry.amount)).join(Account, on=(column == Account.id))
                 .join(Area, on=(Account.area == Area.id)).where(condition & (Entry.id > mark))
                 .group_by(Account.kind, Area.level))
        for kind, level, total in query.tuples():
            sums[kind, level] = sums.get((kind, level), 0) + sign * int(total)
    return [(label, sums.get(key, 0)) for key, label in HELD_LABELS.items()]
