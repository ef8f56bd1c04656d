"""年度报告: a village's or an area's calendar year, from the ledger (慈善法: the annual work report).

The money of a report is everything held for the area's projects — at 中华慈善总会, at each federation,
in the villages' project accounts — and in its villages' 互助基金: the opening balance is what those
accounts held at the end of 31 December of the year before, the closing balance what they held at the
end of the year, both from the entries booked on or before that day (``db.reports.period_balances``).
Between them, the income (gifts online and offline, net of refunds; 配捐; 以奖代补) less the outflows
(project spending; payments out of the 互助基金) — the flows the 统计报表 classifies
(``db.reports.period_flows``, by ``db.totals.add_flow``) — so that

    opening + income − outflows = closing.

Money moving inside (each hop down the levels, moves from a project to the 互助基金) is shown beside it,
and the 互助基金 on its own, by source (``db.funds.statement``, the village page's rule). A federation's
配捐/以奖代补 pool is not money of any project: an area's report shows its pools (and those of the
federations below it) as a statement of their own. Projects started (published for fundraising) and
closed come from the review history; disclosure windows from the legal calendar
(``db.reports.window_counts``). A year that is not over is read up to ``on`` (today).

Everything an area's report holds for every area and village below it is read for all years at once,
in a dozen grouped queries (``compute``): the public site reads a region of 14,000 villages this way."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace

from peewee import Case, fn

from . import funds
from .areas import get_area
from .bulk import raw_rows
from .clock import today
from .database import read_transaction
from .deadlines import facts_of
from .errors import XfjyError
from .history import head
from .models import Account, Area, Disclosure, Entry, Level, Project, ProjectReview, Village
from .reports import (
    SHEET_NAMES,
    Subtree,
    members_at,
    period_balances,
    period_flows,
    states_on,
    subtree,
    window_counts,
)
from .workflow import PROJECT

FIRST_YEAR = 2023  # the programme's pilot began in 2023 (附件1)
HELD = ("held_nation", "held_region", "held_prefecture", "held_county", "held_village")
STARTED, CLOSED = "fundraising", "closed"  # the states whose first entry starts and ends a project


@dataclass(frozen=True)
class Figures:
    """One village's or area's calendar year. Money in fen."""

    year: int
    as_of: dt.date              # 31 December, or the day it was read for a year not yet over
    opening: int = 0            # project money and 互助基金 held at the end of the year before
    raised_online: int = 0      # gifts through the platform, net of refunds and reversals
    raised_offline: int = 0     # gifts of every other channel (线下, 单位捐赠, 配捐)
    matched: int = 0            # 配捐 into the villages' project accounts
    rewarded: int = 0           # 以奖代补 into the villages' 互助基金
    spent: int = 0              # project spending
    fund_spent: int = 0         # paid out of the 互助基金 (approved by the 监管会)
    closing: int = 0            # held at the end of the year (or of ``as_of``): the parts below
    held_nation: int = 0        # ... for the projects at 中华慈善总会,
    held_region: int = 0        # ... at the 自治区 federation,
    held_prefecture: int = 0    # ... at 盟市 federations,
    held_county: int = 0        # ... at 旗县市区 federations,
    held_village: int = 0       # ... in the villages' project accounts,
    fund_closing: int = 0       # ... and in their 互助基金
    from_nation: int = 0        # passed down by 中华慈善总会 (inside the report's money)
    from_region: int = 0        # ... by the 自治区 federation
    from_prefecture: int = 0    # ... by 盟市 federations
    from_county: int = 0        # ... by 旗县市区 federations
    arrived: int = 0            # ... arriving in the villages' project accounts
    to_fund: int = 0            # moved from the projects to the 互助基金 (结转, 结余, late gifts)
    fund_opening: int = 0       # the 互助基金 at the end of the year before
    fund_carried: int = 0       # in: 项目结转 (unmet target, surplus, leftover at closing)
    fund_late_gifts: int = 0    # in: gifts that arrived after the project closed
    fund_reward: int = 0        # in: 以奖代补
    pool_opening: int = 0       # the 配捐/以奖代补 pools of the area's federations, end of the year before
    pool_in: int = 0            # put into them (本级配套资金, 企业定向捐赠, …)
    pool_out: int = 0           # paid out of them as 配捐 and 以奖代补
    pool_closing: int = 0
    started: int = 0            # projects published for fundraising in the year
    closed: int = 0             # projects closed in the year
    disclosures_made: int = 0   # disclosures published in the year (corrections not counted)
    disclosures_met: int = 0    # disclosure windows due in the year, met on time
    disclosures_late: int = 0   # ... met late, by the end of the year
    disclosures_missing: int = 0  # ... not met by the end of the year

    @property
    def raised(self) -> int:
        return self.raised_online + self.raised_offline

    @property
    def income(self) -> int:
        return self.raised + self.matched + self.rewarded

    @property
    def outflow(self) -> int:
        return self.spent + self.fund_spent

    @property
    def fund_income(self) -> int:
        return self.fund_carried + self.fund_late_gifts + self.fund_reward

    @property
    def complete(self) -> bool:
        """The year is over: its figures never change again."""
        return self.as_of == dt.date(self.year, 12, 31)

    @property
    def active(self) -> bool:
        """Something happened in the year: money moved, a project started or closed, a disclosure was
        made or due (a balance standing still all year is no activity)."""
        return any(getattr(self, name) for name in ACTIVITY)


COUNTED = tuple(f.name for f in fields(Figures) if f.name not in ("year", "as_of"))
# What each figure is called wherever a report is shown (the site, the workbook, the printed page).
LABELS = {
    "opening": "年初余额",
    "raised_online": "网络平台捐赠（扣除退款）",
    "raised_offline": "线下及其他捐赠（扣除退款）",
    "matched": "配捐",
    "rewarded": "以奖代补",
    "income": "收入合计",
    "spent": "项目支出",
    "fund_spent": "互助基金支出",
    "outflow": "支出合计",
    "closing": "年末余额",
    "held_nation": "中华慈善总会（待拨付）",
    "held_region": "自治区慈善总会（待拨付）",
    "held_prefecture": "盟市慈善总会（待拨付）",
    "held_county": "旗县市区慈善总会（待拨付）",
    "held_village": "村社项目账户",
    "fund_closing": "互助基金年末余额",
    "from_nation": "中华慈善总会拨付",
    "from_region": "自治区慈善总会拨付",
    "from_prefecture": "盟市慈善总会拨付",
    "from_county": "旗县市区慈善总会拨付",
    "arrived": "拨付到村社项目账户",
    "to_fund": "项目善款转入互助基金",
    "fund_opening": "互助基金年初余额",
    "fund_carried": funds.SOURCES["carried"],
    "fund_late_gifts": funds.SOURCES["late_gifts"],
    "fund_reward": funds.SOURCES["reward"],
    "fund_income": "互助基金收入合计",
    "pool_opening": "配捐资金池年初余额",
    "pool_in": "注入资金池",
    "pool_out": "资金池支付配捐、以奖代补",
    "pool_closing": "配捐资金池年末余额",
    "started": "发布募捐的项目",
    "closed": "结项的项目",
    "disclosures_made": "发布公示",
    "disclosures_met": "本年到期的公示·按时公示",
    "disclosures_late": "本年到期的公示·逾期公示",
    "disclosures_missing": "本年到期的公示·未公示",
}
# The parts of a report, in the order every view shows them: (heading, figures).
SECTIONS = (
    ("收支总表", ("opening", "raised_online", "raised_offline", "matched", "rewarded", "income", "spent", "fund_spent",
                 "outflow", "closing")),
    ("年末余额所在", (*HELD, "fund_closing")),
    ("逐级拨付与结转（在本表资金之内移动）", ("from_nation", "from_region", "from_prefecture", "from_county", "arrived",
                                             "to_fund")),
    ("村社互助基金", ("fund_opening", "fund_carried", "fund_late_gifts", "fund_reward", "fund_income", "fund_spent",
                    "fund_closing")),
    ("配捐资金池（各级慈善总会）", ("pool_opening", "pool_in", "pool_out", "pool_closing")),
    ("项目与公示", ("started", "closed", "disclosures_made", "disclosures_met", "disclosures_late",
                  "disclosures_missing")),
)
COUNTS = ("started", "closed", "disclosures_made", "disclosures_met", "disclosures_late", "disclosures_missing")
assert set(LABELS) == {name for _, names in SECTIONS for name in names}
BALANCES = ("opening", "closing", *HELD, "fund_opening", "fund_closing", "pool_opening", "pool_closing")
ACTIVITY = tuple(name for name in COUNTED if name not in BALANCES)


@dataclass(frozen=True)
class ProjectYear:
    """What one project did in a year."""

    raised: int = 0
    spent: int = 0
    started: bool = False
    closed: bool = False


@dataclass(frozen=True)
class Annual:
    """The figures of every area and village of a subtree, per year (``compute``)."""

    ends: dict[int, dt.date]                     # year → the last day its figures count
    by_area: dict[str, dict[int, Figures]]       # area code → year → figures (years not all zero)
    projects: dict[int, dict[int, ProjectYear]]  # project id → year → what it did (years it did something)
    tree: Subtree

    def of(self, code: str, year: int) -> Figures:
        return self.by_area.get(code, {}).get(year) or Figures(year, self.ends[year])

    def active_years(self, code: str) -> list[int]:
        return [y for y, f in sorted(self.by_area.get(code, {}).items()) if f.active]


def year_end(year: int, on: dt.date) -> dt.date:
    """The last day a year's figures count: 31 December, or ``on`` for the year still running."""
    return min(dt.date(year, 12, 31), on)


def first_year() -> int:
    """The first year a report can have: the programme's, or an earlier one if an entry was booked in it."""
    first = Entry.select(fn.MIN(Entry.booked_on)).scalar()
    if isinstance(first, str):
        first = dt.date.fromisoformat(first[:10])
    return min(first.year, FIRST_YEAR) if first else FIRST_YEAR


def compute(root: Area, years: Sequence[int], on: dt.date, projects=None) -> Annual:
    """The figures of ``root`` and of every area and village below it for each of ``years`` (ascending),
    up to ``on``. ``projects`` (ids) keeps only those projects (the public site: the published ones);
    a village's 互助基金 and a federation's pool count whole."""
    years = tuple(sorted(years))
    tree = subtree(root)
    if not years:
        return Annual({}, {}, {}, tree)
    if projects is not None:
        keep = set(projects)
        tree = replace(tree, project_area={p: a for p, a in tree.project_area.items() if p in keep})
    periods = [(dt.date(y, 1, 1), year_end(y, on)) for y in years]
    sums = [defaultdict(Counter) for _ in years]
    adds = [tree.adder(s) for s in sums]
    project_area = tree.project_area
    per_project: dict[int, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))

    for i, pid, name, amount in period_flows(tree, periods):
        adds[i](project_area[pid], name, amount)
        if name in ("raised", "spent"):
            per_project[pid][i][name] += amount

    days = sorted({dt.date(y - 1, 12, 31) for y in years} | {end for _, end in periods})
    held = [defaultdict(Counter) for _ in days]
    held_adds = [tree.adder(h) for h in held]
    for d, area_id, name, amount in period_balances(tree, days):
        held_adds[d](area_id, name, amount)
    at = {day: held[d] for d, day in enumerate(days)}

    _fund_flows(tree, years, periods, adds)
    for i, area_id, pool_in, pool_out in _pool_flows(tree, periods):
        adds[i](area_id, "pool_in", pool_in)
        adds[i](area_id, "pool_out", pool_out)
    started_on = _milestones(tree, periods, adds, per_project)
    _disclosures(tree, periods, adds, started_on)

    by_area: dict[str, dict[int, Figures]] = {}
    for code in {c for chain in tree.chain_of.values() for c in chain}:
        for i, (year, (_, end)) in enumerate(zip(years, periods)):
            flows = sums[i].get(code, Counter())
            before, after = at[dt.date(year - 1, 12, 31)].get(code, Counter()), at[end].get(code, Counter())
            values = {name: flows[name] for name in ACTIVITY}
            values.update({name: after[name] for name in HELD})
            values.update(
                opening=sum(before[name] for name in HELD) + before["fund_balance"],
                closing=sum(after[name] for name in HELD) + after["fund_balance"],
                fund_opening=before["fund_balance"], fund_closing=after["fund_balance"],
                pool_opening=before["pool_balance"], pool_closing=after["pool_balance"])
            figures = Figures(year, end, **values)
            if any(getattr(figures, name) for name in COUNTED):
                by_area.setdefault(code, {})[year] = figures
    done = {pid: {years[i]: ProjectYear(c["raised"], c["spent"], bool(c["started"]), bool(c["closed"]))
                  for i, c in by_year.items() if any(c.values())}
            for pid, by_year in per_project.items()}
    return Annual({y: end for y, (_, end) in zip(years, periods)}, by_area, {pid: y for pid, y in done.items() if y}, tree)


def _year_sums(periods) -> list:
    return [fn.SUM(Case(None, ((Entry.booked_on.between(start, end), Entry.amount),), 0)) for start, end in periods]


def _account_flows(tree: Subtree, kind: str, periods) -> Iterator[tuple[int, str, bool, list[int]]]:
    """Entries into (positive) and out of (negative) the accounts of ``kind`` (fund, pool) of the subtree,
    per account's area, entry kind and whether the entry moved one gift: one amount per period."""
    sums = _year_sums(periods)
    moved_gift = Entry.donation.is_null(False)
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        query = (Entry.select(Account.area, Entry.project, Entry.kind, moved_gift, *sums)
                 .join(Account, on=(column == Account.id))
                 .where((Account.kind == kind) & Entry.booked_on.between(periods[0][0], periods[-1][1]))
                 .group_by(Account.area, Entry.project, Entry.kind, moved_gift))
        if not tree.whole:
            query = query.where(Account.area.in_(Area.select(Area.id).where(tree.below)))
        for area_id, pid, entry_kind, gift, *amounts in raw_rows(query):
            if pid is None or pid in tree.project_area:
                yield area_id, entry_kind, bool(gift), [sign * int(a or 0) for a in amounts]


def _fund_flows(tree: Subtree, years, periods, adds) -> None:
    """Each village's 互助基金 by source and its payments, read as ``db.funds.statement`` reads them."""
    flows: dict[int, list[funds.Flow]] = defaultdict(list)
    for area_id, kind, gift, amounts in _account_flows(tree, "fund", periods):
        flows[area_id] += [funds.Flow(dt.date(years[i], 1, 1), kind, gift, a) for i, a in enumerate(amounts) if a]
    index = {year: i for i, year in enumerate(years)}
    for area_id, moves in flows.items():
        for row in funds.statement(moves):
            if row.year in index:
                add = adds[index[row.year]]
                add(area_id, "fund_carried", row.income["carried"])
                add(area_id, "fund_late_gifts", row.income["late_gifts"])
                add(area_id, "fund_reward", row.income["reward"])
                add(area_id, "fund_spent", row.spent)


def _pool_flows(tree: Subtree, periods) -> Iterator[tuple[int, int, int, int]]:
    """``(period index, pool's area id, put in, paid out)`` of the federations' pools."""
    for area_id, kind, _, amounts in _account_flows(tree, "pool", periods):
        for i, amount in enumerate(amounts):
            if amount:
                yield (i, area_id, amount, 0) if kind == "pool_funding" else (i, area_id, 0, -amount)


def _day(value) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


def _period_of(day: dt.date, periods) -> int | None:
    return next((i for i, (start, end) in enumerate(periods) if start <= day <= end), None)


def _milestones(tree: Subtree, periods, adds, per_project) -> dict[int, dt.date]:
    """Projects started (their first step into 募捐中) and closed in each period, from the review history;
    returns the day each project was published for fundraising."""
    first: dict[tuple[int, str], dt.date] = {}
    day_after = dt.datetime.combine(periods[-1][1] + dt.timedelta(days=1), dt.time())
    steps = ProjectReview.select(ProjectReview.project, ProjectReview.to_state, ProjectReview.at).where(
        ProjectReview.to_state.in_((STARTED, CLOSED)) & tree.in_area(ProjectReview.project)
        & (ProjectReview.at < day_after))
    for pid, state, at in raw_rows(steps):
        if pid in tree.project_area:
            day = _day(at)
            first[pid, state] = min(day, first.get((pid, state), day))
    for (pid, state), day in first.items():
        i = _period_of(day, periods)
        if i is not None:
            name = "started" if state == STARTED else "closed"
            adds[i](tree.project_area[pid], name, 1)
            per_project[pid][i][name] = 1
    return {pid: day for (pid, state), day in first.items() if state == STARTED}


def _disclosures(tree: Subtree, periods, adds, started_on: dict[int, dt.date]) -> None:
    """Disclosures published in each period, and the windows due in it: met on time, late, or missing
    at its end (of the projects published for fundraising by then)."""
    query = Disclosure.select(Disclosure.project, Disclosure.published_on).where(
        Disclosure.corrects.is_null() & tree.in_area(Disclosure.project)
        & Disclosure.published_on.between(periods[0][0], periods[-1][1]))
    for pid, day in raw_rows(query):
        i = _period_of(_day(day), periods)
        if pid in tree.project_area and i is not None:
            adds[i](tree.project_area[pid], "disclosures_made", 1)
    facts = facts_of(list(started_on))
    for i, (start, end) in enumerate(periods):
        published = {pid: f for pid, f in facts.items() if started_on[pid] <= end}
        for pid, name in window_counts(published, end, start, due_by=end):
            adds[i](tree.project_area[pid], name, 1)


# -- one report, for the admin and the command line --------------------------------------------------

@dataclass(frozen=True)
class AnnualRow:
    code: str
    name: str
    parent: str
    figures: Figures


@dataclass(frozen=True)
class AnnualLevel:
    """The areas of one level below the report's, each with its figures."""

    level: int
    name: str
    rows: tuple[AnnualRow, ...]


@dataclass(frozen=True)
class ProjectLine:
    """A project of the area that raised, spent, started or closed in the year."""

    code: str
    name: str
    village_code: str
    village: str
    state: str      # its state at the end of the year
    raised: int
    spent: int
    started: bool
    closed: bool


@dataclass(frozen=True)
class AnnualReport:
    code: str
    name: str
    level: int
    year: int
    figures: Figures
    levels: tuple[AnnualLevel, ...]
    projects: tuple[ProjectLine, ...]
    head_seq: int   # the public history's head when the report was computed (db.history.head)
    head_hash: str

    @property
    def as_of(self) -> dt.date:
        return self.figures.as_of

    @property
    def level_name(self) -> str:
        return Level.NAMES[self.level]


def check_year(year: int, on: dt.date | None = None) -> int:
    on = on or today()
    if not isinstance(year, int) or year < 2000:
        raise XfjyError(f"年度「{year}」不是有效年份，应如 {on.year - 1}")
    if year > on.year:
        raise XfjyError(f"{year} 年尚未开始，不能生成年度报告")
    return year


def parse_year(text) -> int:
    value = str(text or "").strip()
    if not (value.isascii() and value.isdigit() and len(value) == 4):
        raise XfjyError(f"年度「{text}」不是有效年份，应如 2025")
    return check_year(int(value))


def annual_report(area_or_village_code: str, year: int) -> AnnualReport:
    """The 年度报告 of a village or an area for a calendar year (up to today for the year still running),
    with a row per area at each level below it and a line per project that did something that year.
    Pure reads, in one transaction (REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite)."""
    on = today()
    check_year(year, on)
    with read_transaction():
        root = get_area(area_or_village_code)
        result = compute(root, [year], on)
        tree = result.tree
        names = {aid: name for aid, _, name, *_ in tree.areas}
        levels = []
        for level in range(root.level + 1, Level.VILLAGE + 1):
            members = members_at(tree, level)
            if members:
                levels.append(AnnualLevel(level, SHEET_NAMES[level], tuple(
                    AnnualRow(code, name, names.get(parent, ""), result.of(code, year))
                    for _, code, name, _, parent, _, _ in members)))
        figures = result.of(root.code, year)
        seq, digest = head()
        return AnnualReport(root.code, root.name, root.level, year, figures, tuple(levels),
                            _project_lines(result, year, figures.as_of), seq, digest)


def _project_lines(result: Annual, year: int, as_of: dt.date) -> tuple[ProjectLine, ...]:
    done = {pid: years[year] for pid, years in result.projects.items() if year in years}
    if not done:
        return ()
    state = states_on({pid: result.tree.project_area[pid] for pid in done}, as_of)
    query = (Project.select(Project.id, Project.code, Project.name, Area.code, Village.full_name, Area.path)
             .join(Village).join(Area).where(Project.id.in_(list(done))))
    rows = sorted(raw_rows(query), key=lambda r: (r[5], r[1]))
    return tuple(ProjectLine(code, name, village_code, village, PROJECT.label(state.get(pid, "draft")),
                             done[pid].raised, done[pid].spent, done[pid].started, done[pid].closed)
                 for pid, code, name, village_code, village, _ in rows)
