"""The money figures the admin dashboard and the public site both show, computed once, here."""
from __future__ import annotations

from dataclasses import dataclass

from peewee import Case, fn

from .jurisdiction import holds_every_village
from .models import Account, Area, Entry, Project, Village

SIGNED_AMOUNT = fn.SUM(Case(None, ((Entry.reverses.is_null(), Entry.amount),), Entry.amount * -1))


@dataclass
class Totals:
    raised: int = 0       # donations, net of refunds and reversals
    matched: int = 0      # 配捐 into the village's project account
    rewarded: int = 0     # 以奖代补 into the village's 互助基金
    disbursed: int = 0    # arrived at the village's project account
    spent: int = 0
    to_fund: int = 0      # unmet or surplus money moved to the 互助基金
    from_project_to_fund: int = 0

    @property
    def balance(self) -> int:
        """What the villages still hold for their projects."""
        return self.disbursed + self.matched - self.spent - self.from_project_to_fund


def _add(totals: Totals, kind: str, source_kind: str, target_kind: str, net: int) -> None:
    if kind == "donation":
        totals.raised += net
    elif kind == "refund":
        totals.raised -= net
    elif kind == "matching":
        totals.matched += net
    elif kind == "reward":
        totals.rewarded += net
    elif kind == "disbursement" and target_kind == "project":
        totals.disbursed += net
    elif kind == "expenditure":
        totals.spent += net
    elif kind == "to_fund":
        totals.to_fund += net
        if "project" in (source_kind, target_kind):
            totals.from_project_to_fund += net


def totals(project_ids=None, area: Area | None = None) -> Totals:
    """Totals over some projects, or over every project in ``area``'s subtree.

    Net amounts are grouped by entry kind and the kinds of the two accounts; a reversal counts
    negative under its original's kind, whichever direction it runs.
    """
    Source, Target = Account.alias(), Account.alias()
    query = (
        Entry.select(Entry.kind, Source.kind, Target.kind, SIGNED_AMOUNT)
        .join_from(Entry, Source, on=(Entry.from_account == Source.id))
        .join_from(Entry, Target, on=(Entry.to_account == Target.id))
        .group_by(Entry.kind, Source.kind, Target.kind)
    )
    if project_ids is not None:
        query = query.where(Entry.project.in_(project_ids))
    if area is not None and not holds_every_village(area):
        villages = Village.select(Village.id).join(Area).where(Area.path.startswith(area.path))
        query = query.where(Entry.project.in_(Project.select(Project.id).where(Project.village.in_(villages))))
    result = Totals()
    for kind, source_kind, target_kind, net in query.tuples():
        if kind == "disbursement" and source_kind == "project":
            source_kind, target_kind = target_kind, source_kind
        _add(result, kind, source_kind, target_kind, int(net or 0))
    return result


def totals_by_project(project_ids=None) -> dict[int, Totals]:
    """Totals of each project in one grouped query (the public site's village pages)."""
    Source, Target = Account.alias(), Account.alias()
    query = (
        Entry.select(Entry.project, Entry.kind, Source.kind, Target.kind, SIGNED_AMOUNT)
        .join_from(Entry, Source, on=(Entry.from_account == Source.id))
        .join_from(Entry, Target, on=(Entry.to_account == Target.id))
        .where(Entry.project.is_null(False))
        .group_by(Entry.project, Entry.kind, Source.kind, Target.kind)
    )
    if project_ids is not None:
        query = query.where(Entry.project.in_(project_ids))
    result: dict[int, Totals] = {}
    for project_id, kind, source_kind, target_kind, net in query.tuples():
        if kind == "disbursement" and source_kind == "project":
            source_kind, target_kind = target_kind, source_kind
        _add(result.setdefault(project_id, Totals()), kind, source_kind, target_kind, int(net or 0))
    return result


def add_up(items) -> Totals:
    """The sum of several projects' totals (a village, a county, the region)."""
    result = Totals()
    for item in items:
        for name in Totals.__dataclass_fields__:
            setattr(result, name, getattr(result, name) + getattr(item, name))
    return result


def project_totals(project: Project) -> Totals:
    return totals([project.id])


def project_raised(project: Project) -> int:
    """Donations into this project, net of refunds and reversals: what decides 目标达成."""
    def net(kind):
        query = Entry.select(fn.COALESCE(SIGNED_AMOUNT, 0)).where((Entry.project == project) & (Entry.kind == kind))
        return int(query.scalar())

    return net("donation") - net("refund")
