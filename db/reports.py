"""统计报表: the figures of an area's subtree as of a date, one row per area at each level below it.

Every money figure comes from the entries booked on or before the as-of date (``Entry.booked_on``), so
a report for a past date never changes when later entries are posted. With a start date the flows
(raised, 配捐, 以奖代补, hops, spending, moves to the 互助基金) count the entries booked from that date;
balances, funds set up and project states are always as of the as-of date. Flows are classified by
``db.totals.add_flow``, the rule every screen uses; the disclosure calendar is ``db.deadlines``'. Pure
reads, in one transaction (REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite)."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace

from peewee import JOIN, Case, fn

from .areas import get_area
from .bulk import raw_rows
from .database import read_transaction
from .deadlines import MILESTONES, Facts, facts_of, schedule
from .errors import XfjyError
from .history import head
from .jurisdiction import holds_every_village
from .ledger import SIGNED
from .models import Account, Area, Batch, Donation, Entry, Evaluation, Level, Project, ProjectReview, Quota, Village
from .totals import Totals, add_flow
from .workflow import PROJECT, PUBLISHED_STATES

STATES = tuple(PROJECT.states)  # columns of projects by state, in the order of the project's life
PILOT = "pilot"  # the 附件1 quota is the pilot batch's
SHEET_NAMES = {Level.REGION: "自治区", Level.PREFECTURE: "盟市", Level.COUNTY: "旗县市区",
               Level.TOWNSHIP: "乡镇", Level.VILLAGE: "村社"}
HOP_FIELDS = {Level.NATION: "from_nation", Level.REGION: "from_region", Level.PREFECTURE: "from_prefecture",
              Level.COUNTY: "from_county"}
HELD_FIELDS = {Level.NATION: "held_nation", Level.REGION: "held_region", Level.PREFECTURE: "held_prefecture",
               Level.COUNTY: "held_county"}


@dataclass(frozen=True)
class ReportRow:
    """One area's figures (all money in fen)."""

    code: str
    name: str
    parent: str                 # the area above it (for a sheet sorted or filtered in a spreadsheet)
    fund_villages: int          # villages whose 互助基金 was set up on or before the as-of date
    pilot_fund_villages: int    # ... of them in the pilot batch (what 附件1 counts)
    quota: int | None           # the 附件1 pilot quota of the 盟市-level units in the area; None below them
    projects: int               # projects that existed on the as-of date
    by_state: dict[str, int]    # ... by the state each was in that day (every state in STATES, in order)
    raised: int                 # donations less refunds, net of reversals
    raised_online: int          # ... of gifts through the platform (Donation.channel "online")
    raised_offline: int         # ... of every other channel (线下, 单位捐赠, 配捐)
    matched: int                # 配捐
    rewarded: int               # 以奖代补
    from_nation: int            # hops passed down by 中华慈善总会
    from_region: int            # ... by the 自治区 federation
    from_prefecture: int        # ... by 盟市 federations (满洲里市 and 二连浩特市 included)
    from_county: int            # ... by 旗县市区 federations
    arrived: int                # arrived at the villages' project accounts
    spent: int                  # project spending
    to_fund: int                # moved to the 互助基金 (unmet, surplus or leftover money; late gifts)
    held_nation: int            # balances on the as-of date: the area's projects' money at 中华慈善总会,
    held_region: int            # ... at the 自治区 federation,
    held_prefecture: int        # ... at 盟市 federations,
    held_county: int            # ... at 旗县市区 federations,
    held_village: int           # ... in the villages' project accounts
    fund_balance: int           # the 互助基金 of the area's villages
    pool_balance: int           # the 配捐/以奖代补 pools of the federations in the area (its own included)
    disclosures_met: int        # disclosure windows met on time (due within the period)
    disclosures_late: int       # ... met late
    disclosures_missing: int    # ... overdue and not met on the as-of date
    evaluations: int            # 验收评估 made within the period

    @property
    def held(self) -> int:
        """Project money not yet spent or moved to a fund, wherever it sits."""
        return self.held_nation + self.held_region + self.held_prefecture + self.held_county + self.held_village


COUNTED = tuple(f.name for f in fields(ReportRow) if f.name not in ("code", "name", "parent", "quota", "by_state"))


@dataclass(frozen=True)
class ReportLevel:
    """The rows of one level below the report's area, and their total (the report's area itself)."""

    level: int
    name: str
    rows: tuple[ReportRow, ...]
    total: ReportRow


@dataclass(frozen=True)
class Report:
    code: str
    name: str
    level: int
    as_of: dt.date
    start: dt.date | None
    head_seq: int               # the public history's head when the report was computed (db.history.head)
    head_hash: str
    levels: tuple[ReportLevel, ...]

    @property
    def total(self) -> ReportRow:
        return self.levels[0].total


def check_period(as_of: dt.date, start: dt.date | None) -> None:
    if start is not None and start > as_of:
        raise XfjyError(f"起始日期 {start:%Y-%m-%d} 晚于统计截止日期 {as_of:%Y-%m-%d}")


def build_report(code: str, as_of: dt.date, start: dt.date | None = None) -> Report:
    """The report of area ``code`` as of ``as_of`` (flows from ``start`` when given)."""
    check_period(as_of, start)
    with read_transaction():
        return _build(get_area(code), as_of, start)


@dataclass(frozen=True)
class Subtree:
    """An area's subtree as the reports read it: its areas, the chain of area codes each one counts into
    (itself and every area above it up to the root), and where each of its projects lies."""

    root: Area
    areas: list[tuple]                  # (id, code, name, level, parent, path, county), in path order
    chain_of: dict[int, tuple[str, ...]]
    project_area: dict[int, int]        # project id → its village's area id
    whole: bool                         # no village lies outside the root (conditions can be left out)

    @property
    def below(self):
        return Area.path.startswith(self.root.path)

    def in_area(self, column):
        """``column`` (a project id) names a project of the subtree."""
        if self.whole:
            return column.is_null(False)
        return column.in_(Project.select(Project.id).join(Village).join(Area).where(self.below))

    def adder(self, sums: dict[str, Counter]) -> Callable[[int, str, int], None]:
        """``add(area_id, name, amount)``: count an amount at an area and at every area above it."""
        chain_of = self.chain_of

        def add(area_id: int, name: str, amount: int) -> None:
            for c in chain_of.get(area_id, ()):
                sums[c][name] += amount
        return add


def subtree(root: Area) -> Subtree:
    depth = root.path.count("/") - 2  # index of the root's code in a path's codes
    below = Area.path.startswith(root.path)
    areas = raw_rows(Area.select(Area.id, Area.code, Area.name, Area.level, Area.parent, Area.path, Area.county)
                     .where(below).order_by(Area.path))
    chain_of = {aid: tuple(path.strip("/").split("/")[depth:]) for aid, _, _, _, _, path, _ in areas}
    project_area = {pid: area_id for pid, area_id in raw_rows(
        Project.select(Project.id, Village.area).join(Village).join(Area).where(below))}
    return Subtree(root, areas, chain_of, project_area, holds_every_village(root))


def _build(root: Area, as_of: dt.date, start: dt.date | None) -> Report:
    if root.level >= Level.VILLAGE:
        raise XfjyError(f"{root.name}（{root.code}）是村社，没有下级区划可以统计")
    tree = subtree(root)
    areas, chain_of, project_area = tree.areas, tree.chain_of, tree.project_area
    names = {aid: name for aid, _, name, *_ in areas}
    sums: dict[str, Counter] = defaultdict(Counter)
    states: dict[str, Counter] = defaultdict(Counter)
    quotas: dict[str, int] = {}
    add = tree.adder(sums)
    in_area = tree.in_area

    _villages(root, as_of, add)
    for aid, count in raw_rows(Quota.select(Quota.area, Quota.count).join(Batch).where(Batch.code == PILOT)):
        for c in chain_of.get(aid, ()):
            quotas[c] = quotas.get(c, 0) + count
    project_state = states_on(project_area, as_of)
    for pid, state in project_state.items():
        for c in chain_of[project_area[pid]]:
            states[c][state] += 1
            sums[c]["projects"] += 1
    for _, pid, name, amount in period_flows(tree, ((start, as_of),)):
        add(project_area[pid], name, amount)
    for _, area_id, name, amount in period_balances(tree, (as_of,)):
        add(area_id, name, amount)
    published = [pid for pid, state in project_state.items() if state in PUBLISHED_STATES]
    for pid, name in window_counts(facts_of(published), as_of, start):
        add(project_area[pid], name, 1)
    for pid, count in raw_rows(Evaluation.select(Evaluation.project, fn.COUNT(Evaluation.id))
                               .where(in_area(Evaluation.project) & _period(Evaluation.evaluated_on, as_of, start))
                               .group_by(Evaluation.project)):
        if pid in project_area:
            add(project_area[pid], "evaluations", count)

    def row(aid: int, code: str, parent_id: int | None) -> ReportRow:
        counted = sums.get(code, Counter())
        return ReportRow(code=code, name=names[aid], parent=names.get(parent_id, ""), quota=quotas.get(code),
                         by_state={s: states[code][s] for s in STATES}, **{n: counted[n] for n in COUNTED})

    total = row(root.id, root.code, None)
    total = replace(total, name=f"{root.name}合计", parent="")
    levels = []
    for level in range(root.level + 1, Level.VILLAGE + 1):
        members = members_at(tree, level)
        if members:
            rows = tuple(row(aid, code, parent) for aid, code, _, _, parent, _, _ in members)
            levels.append(ReportLevel(level, SHEET_NAMES[level], rows, total))
    seq, digest = head()
    return Report(root.code, root.name, root.level, as_of, start, seq, digest, tuple(levels))


def members_at(tree: Subtree, level: int) -> list[tuple]:
    """The areas of one level below the root (rows of ``tree.areas``); 满洲里市 and 二连浩特市 sit at the
    盟市 level and are their own 旗县市区."""
    if level == Level.COUNTY:
        return [a for a in tree.areas if a[0] != tree.root.id and a[6] == a[0]]
    return [a for a in tree.areas if a[3] == level and a[0] != tree.root.id]


def _period(column, as_of: dt.date, start: dt.date | None):
    """On or before ``as_of``, and on or after ``start`` when given."""
    return (column <= as_of) & (column >= start) if start is not None else (column <= as_of)


def _villages(root: Area, as_of: dt.date, add) -> None:
    query = (Village.select(Village.area, Batch.code).join_from(Village, Area).join_from(Village, Batch)
             .where(Area.path.startswith(root.path) & Village.fund_established_on.is_null(False)
                    & (Village.fund_established_on <= as_of)))
    for area_id, batch in raw_rows(query):
        add(area_id, "fund_villages", 1)
        if batch == PILOT:
            add(area_id, "pilot_fund_villages", 1)


def states_on(project_area: dict[int, int], as_of: dt.date) -> dict[int, str]:
    """The state each project was in at the end of ``as_of``: what its last review step on or before that
    day entered (steps in the order they were taken); a project without one is a draft if it existed."""
    day_after = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    result = {}
    for (pid,) in raw_rows(Project.select(Project.id).where(Project.created_at < day_after)):
        if pid in project_area:
            result[pid] = "draft"
    steps = (ProjectReview.select(ProjectReview.project, ProjectReview.to_state)
             .where(ProjectReview.at < day_after).order_by(ProjectReview.at, ProjectReview.id))
    for pid, to_state in raw_rows(steps):
        if pid in project_area:
            result[pid] = to_state
    return result


Period = tuple[dt.date | None, dt.date]  # (start, or None from the first entry; as-of date)


def _in_periods(column, periods: Sequence[Period]):
    """Within any of the periods (the rows a query of several periods needs to read)."""
    latest = max(end for _, end in periods)
    starts = [start for start, _ in periods]
    return _period(column, latest, None if None in starts else min(starts))


def period_flows(tree: Subtree, periods: Sequence[Period]) -> Iterator[tuple[int, int, str, int]]:
    """The flows of each period, per project of ``tree.project_area``, in one query: ``(period index,
    project id, figure, net amount)``. Each (kind, account kinds) is classified by ``add_flow``; gifts are
    split by channel; each hop counts at the level that sent it (a reversal at the level it returned to)."""
    Source, Target = Account.alias(), Account.alias()
    SourceArea, TargetArea = Area.alias(), Area.alias()
    reversal = Entry.reverses.is_null(False)
    online = Case(None, ((Entry.kind.in_(("donation", "refund")) & (Donation.channel == "online"), 1),), 0)
    sender = Case(None, ((Entry.kind != "disbursement", None), (reversal, TargetArea.level)), SourceArea.level)
    nets = [fn.SUM(Case(None, ((_period(Entry.booked_on, end, start), SIGNED),), 0)) for start, end in periods]
    query = (Entry.select(Entry.project, Entry.kind, Source.kind, Target.kind, online, sender, *nets)
             .join_from(Entry, Source, on=(Entry.from_account == Source.id))
             .join_from(Entry, Target, on=(Entry.to_account == Target.id))
             .join_from(Source, SourceArea, JOIN.LEFT_OUTER, on=(Source.area == SourceArea.id))
             .join_from(Target, TargetArea, JOIN.LEFT_OUTER, on=(Target.area == TargetArea.id))
             .join_from(Entry, Donation, on=(Entry.donation == Donation.id), join_type=JOIN.LEFT_OUTER)
             .where(tree.in_area(Entry.project) & _in_periods(Entry.booked_on, periods))
             .group_by(Entry.project, Entry.kind, Source.kind, Target.kind, online, sender))
    project_area = tree.project_area
    for pid, kind, source_kind, target_kind, is_online, level, *amounts in raw_rows(query):
        if pid not in project_area:
            continue
        for index, net in enumerate(amounts):
            net, totals = int(net or 0), Totals()
            if not net:
                continue
            add_flow(totals, kind, source_kind, target_kind, net)
            for name in ("raised", "matched", "rewarded", "spent", "to_fund"):
                yield index, pid, name, getattr(totals, name)
            yield index, pid, "arrived", totals.disbursed
            yield index, pid, "raised_online" if is_online else "raised_offline", totals.raised
            if kind == "disbursement" and level in HOP_FIELDS:
                yield index, pid, HOP_FIELDS[level], net


def period_balances(tree: Subtree, dates: Sequence[dt.date]) -> Iterator[tuple[int, int, str, int]]:
    """What each internal account held at the end of each date, in two queries: ``(date index, area id,
    figure, amount)``, counted where its project's village lies (a project's accounts), or where the
    account is (a village's fund, a federation's pool). An account's amounts come in two parts (in, out)."""
    AccountArea = Area.alias()
    accounts = (Account.select(Account.id, Account.kind, AccountArea.level, Account.area, Account.project)
                .join_from(Account, AccountArea, JOIN.LEFT_OUTER, on=(Account.area == AccountArea.id))
                .where(Account.kind.not_in(Account.EXTERNAL)))
    if not tree.whole:
        accounts = accounts.where(tree.in_area(Account.project) | (
            Account.project.is_null() & Account.area.in_(Area.select(Area.id).where(tree.below))))
    placed, project_area = {}, tree.project_area
    for aid, kind, level, area_id, pid in raw_rows(accounts):
        if kind == "pool":
            placed[aid] = (area_id, "pool_balance")
        elif kind == "fund":
            placed[aid] = (area_id, "fund_balance")
        elif pid in project_area:
            placed[aid] = (project_area[pid], "held_village" if kind == "project" else HELD_FIELDS.get(level))
    sums = [fn.SUM(Case(None, ((Entry.booked_on <= day, Entry.amount),), 0)) for day in dates]
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        query = Entry.select(column, *sums).where(Entry.booked_on <= max(dates)).group_by(column)
        if not tree.whole:
            query = query.where(column.in_(list(placed)))
        for aid, *totals in raw_rows(query):
            if aid in placed and placed[aid][1] is not None:
                for index, total in enumerate(totals):
                    if total:
                        yield index, placed[aid][0], placed[aid][1], sign * int(total)


def window_counts(projects: dict[int, Facts], as_of: dt.date, start: dt.date | None,
                  due_by: dt.date | None = None) -> Iterator[tuple[int, str]]:
    """``(project id, figure)`` for each disclosure window of these published projects due on or after
    ``start`` (and on or before ``due_by`` when given): met on time, late, or missing on ``as_of``
    (``db.deadlines.schedule``, from what was known that day: a milestone reached later is not yet known)."""
    names = {"met": "disclosures_met", "late": "disclosures_late", "overdue": "disclosures_missing"}
    for pid, facts in projects.items():
        later = {name: None for name in _MILESTONE_FIELDS.values()
                 if getattr(facts, name) is not None and getattr(facts, name) > as_of}
        known = replace(facts, **later) if later else facts
        for deadline in schedule(known, as_of):
            status = deadline.status(as_of)
            if status in names and (start is None or deadline.due >= start) and (due_by is None or deadline.due <= due_by):
                yield pid, names[status]


# The Facts fields each milestone of ``db.deadlines.facts_of`` fills in.
_MILESTONE_FIELDS = {"target_reached": "fundraising_ended", "target_missed": "fundraising_ended",
                     "implementing": "implementing_since", "closed": "closed_on"}
assert set(_MILESTONE_FIELDS) == set(MILESTONES)
