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
from dataclasses import dataclass, fields, replace

from peewee import JOIN, Case, fn

from .areas import get_area
from .bulk import raw_rows
from .database import database, is_postgres
from .deadlines import MILESTONES, facts_of, schedule
from .errors import XfjyError
from .history import head
from .jurisdiction import holds_every_village
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
    outermost = not database.in_transaction()
    with database.atomic():
        if is_postgres() and outermost:
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _build(get_area(code), as_of, start)


def _build(root: Area, as_of: dt.date, start: dt.date | None) -> Report:
    if root.level >= Level.VILLAGE:
        raise XfjyError(f"{root.name}（{root.code}）是村社，没有下级区划可以统计")
    depth = root.path.count("/") - 2  # index of the root's code in a path's codes
    below = Area.path.startswith(root.path)
    areas = raw_rows(Area.select(Area.id, Area.code, Area.name, Area.level, Area.parent, Area.path, Area.county)
                     .where(below).order_by(Area.path))
    chain_of = {aid: tuple(path.strip("/").split("/")[depth:]) for aid, _, _, _, _, path, _ in areas}
    names = {aid: name for aid, _, name, *_ in areas}
    sums: dict[str, Counter] = defaultdict(Counter)
    states: dict[str, Counter] = defaultdict(Counter)
    quotas: dict[str, int] = {}

    def add(area_id: int, name: str, amount: int) -> None:
        for c in chain_of.get(area_id, ()):
            sums[c][name] += amount

    whole = holds_every_village(root)
    project_area = {pid: area_id for pid, area_id in raw_rows(
        Project.select(Project.id, Village.area).join(Village).join(Area).where(below))}
    in_area = (lambda column: column.is_null(False)) if whole else (  # noqa: E731
        lambda column: column.in_(Project.select(Project.id).join(Village).join(Area).where(below)))

    _villages(root, as_of, add)
    for aid, count in raw_rows(Quota.select(Quota.area, Quota.count).join(Batch).where(Batch.code == PILOT)):
        for c in chain_of.get(aid, ()):
            quotas[c] = quotas.get(c, 0) + count
    project_state = _states_on(project_area, as_of)
    for pid, state in project_state.items():
        for c in chain_of[project_area[pid]]:
            states[c][state] += 1
            sums[c]["projects"] += 1
    _flows(in_area, as_of, start, project_area, add)
    _balances(in_area, below, whole, as_of, project_area, add)
    _disclosures([pid for pid, state in project_state.items() if state in PUBLISHED_STATES], as_of, start,
                 project_area, add)
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
        if level == Level.COUNTY:  # 满洲里市 and 二连浩特市 sit at the 盟市 level and are their own 旗县市区
            members = [a for a in areas if a[0] != root.id and a[6] == a[0]]
        else:
            members = [a for a in areas if a[3] == level and a[0] != root.id]
        if members:
            rows = tuple(row(aid, code, parent) for aid, code, _, _, parent, _, _ in members)
            levels.append(ReportLevel(level, SHEET_NAMES[level], rows, total))
    seq, digest = head()
    return Report(root.code, root.name, root.level, as_of, start, seq, digest, tuple(levels))


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


def _states_on(project_area: dict[int, int], as_of: dt.date) -> dict[int, str]:
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


def _flows(in_area, as_of: dt.date, start: dt.date | None, project_area: dict[int, int], add) -> None:
    """The flows of the period, per project: each (kind, account kinds) classified by ``add_flow``; gifts
    split by channel; each hop counted at the level that sent it (a reversal at the level it returned to)."""
    Source, Target = Account.alias(), Account.alias()
    SourceArea, TargetArea = Area.alias(), Area.alias()
    reversal = Entry.reverses.is_null(False)
    online = Case(None, ((Entry.kind.in_(("donation", "refund")) & (Donation.channel == "online"), 1),), 0)
    sender = Case(None, ((Entry.kind != "disbursement", None), (reversal, TargetArea.level)), SourceArea.level)
    signed = fn.SUM(Case(None, ((reversal, Entry.amount * -1),), Entry.amount))
    query = (Entry.select(Entry.project, Entry.kind, Source.kind, Target.kind, online, sender, signed)
             .join_from(Entry, Source, on=(Entry.from_account == Source.id))
             .join_from(Entry, Target, on=(Entry.to_account == Target.id))
             .join_from(Source, SourceArea, JOIN.LEFT_OUTER, on=(Source.area == SourceArea.id))
             .join_from(Target, TargetArea, JOIN.LEFT_OUTER, on=(Target.area == TargetArea.id))
             .join_from(Entry, Donation, on=(Entry.donation == Donation.id), join_type=JOIN.LEFT_OUTER)
             .where(in_area(Entry.project) & _period(Entry.booked_on, as_of, start))
             .group_by(Entry.project, Entry.kind, Source.kind, Target.kind, online, sender))
    for pid, kind, source_kind, target_kind, is_online, level, net in raw_rows(query):
        if pid not in project_area:
            continue
        area_id, net, totals = project_area[pid], int(net), Totals()
        add_flow(totals, kind, source_kind, target_kind, net)
        for name in ("raised", "matched", "rewarded", "spent", "to_fund"):
            add(area_id, name, getattr(totals, name))
        add(area_id, "arrived", totals.disbursed)
        add(area_id, "raised_online" if is_online else "raised_offline", totals.raised)
        if kind == "disbursement" and level in HOP_FIELDS:
            add(area_id, HOP_FIELDS[level], net)


def _balances(in_area, below, whole: bool, as_of: dt.date, project_area: dict[int, int], add) -> None:
    """What each internal account held at the end of ``as_of``, counted where its project's village lies
    (a project's accounts), or where the account is (a village's fund, a federation's pool)."""
    AccountArea = Area.alias()
    accounts = (Account.select(Account.id, Account.kind, AccountArea.level, Account.area, Account.project)
                .join_from(Account, AccountArea, JOIN.LEFT_OUTER, on=(Account.area == AccountArea.id))
                .where(Account.kind.not_in(Account.EXTERNAL)))
    if not whole:
        accounts = accounts.where(in_area(Account.project) | (Account.project.is_null()
                                                              & Account.area.in_(Area.select(Area.id).where(below))))
    placed = {}
    for aid, kind, level, area_id, pid in raw_rows(accounts):
        if kind == "pool":
            placed[aid] = (area_id, "pool_balance")
        elif kind == "fund":
            placed[aid] = (area_id, "fund_balance")
        elif pid in project_area:
            placed[aid] = (project_area[pid], "held_village" if kind == "project" else HELD_FIELDS.get(level))
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        query = Entry.select(column, fn.SUM(Entry.amount)).where(Entry.booked_on <= as_of).group_by(column)
        if not whole:
            query = query.where(column.in_(list(placed)))
        for aid, total in raw_rows(query):
            if aid in placed and placed[aid][1] is not None:
                add(placed[aid][0], placed[aid][1], sign * int(total))


def _disclosures(published: list[int], as_of: dt.date, start: dt.date | None, project_area: dict[int, int],
                 add) -> None:
    """Each published project's disclosure windows on ``as_of`` (``db.deadlines.schedule``, from what was
    known that day: a milestone reached later is not yet known), counted when due within the period."""
    known = {}
    for pid, facts in facts_of(published).items():
        later = {name: None for name in _MILESTONE_FIELDS.values()
                 if getattr(facts, name) is not None and getattr(facts, name) > as_of}
        known[pid] = replace(facts, **later) if later else facts
    names = {"met": "disclosures_met", "late": "disclosures_late", "overdue": "disclosures_missing"}
    for pid, facts in known.items():
        for deadline in schedule(facts, as_of):
            status = deadline.status(as_of)
            if status in names and (start is None or deadline.due >= start):
                add(project_area[pid], names[status], 1)


# The Facts fields each milestone of ``db.deadlines.facts_of`` fills in.
_MILESTONE_FIELDS = {"target_reached": "fundraising_ended", "target_missed": "fundraising_ended",
                     "implementing": "implementing_since", "closed": "closed_on"}
assert set(_MILESTONE_FIELDS) == set(MILESTONES)
