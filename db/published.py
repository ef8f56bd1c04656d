"""What the public site may show, as records: every value in them is already fit for the public.

``db.snapshot`` reads them; the site builder only shapes and renders them. Donors appear as they
consented and typed text is redacted before a record is made (``db.public``), so nothing private is
in a record to leak.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from . import funds
from .annual import Annual
from .attachments import OFFICE
from .clock import today
from .deadlines import Deadline
from .models import Donation
from .public import public_html, settlement_sentence
from .totals import Totals, add_up
from .workflow import PROJECT, RECEIVING_STATES

DONATIONS_ON_PAGE = 20
SPENDING_ON_PAGE = 50  # a long spending list stays in the open data, so a page stays under 40 KB


@dataclass
class Place:
    id: int
    code: str
    name: str
    level: int
    parent_id: int | None
    path: str
    county_id: int | None


@dataclass
class ProjectInfo:
    id: int
    code: str
    name: str
    village_id: int
    target: int
    starts_on: dt.date
    ends_on: dt.date
    state: str
    background: str  # as typed; the HTML below is made only for pages that are rendered
    summary: str
    decision: str
    updated_at: dt.datetime
    donation_url: str = ""
    totals: Totals = field(default_factory=Totals)
    calendar: tuple[Deadline, ...] = ()       # every window as of the build's date (db.deadlines)
    statuses: tuple[str, ...] = ()            # each window's status that day: a page changes when one does
    next_disclosure: Deadline | None = None
    overdue: tuple[Deadline, ...] = ()

    @cached_property
    def background_html(self) -> str:
        return public_html(self.background)

    @cached_property
    def summary_html(self) -> str:
        return public_html(self.summary)

    @cached_property
    def decision_html(self) -> str:
        return public_html(self.decision)

    @property
    def state_label(self) -> str:
        return PROJECT.label(self.state)

    @property
    def raising(self) -> bool:
        """Still raising money: the page offers 「去捐赠」 (later gifts are booked late, db.donations)."""
        return self.state in RECEIVING_STATES

    @property
    def percent(self) -> int:
        """Raised as a share of the target, capped at 100 for the progress bar."""
        return min(100, self.totals.raised * 100 // self.target) if self.target > 0 else 0

    @property
    def settlement(self) -> str:
        """What happens to money the project cannot use: the page and ``summary.json`` say the same."""
        return settlement_sentence(self.state, self.totals)


@dataclass
class VillageInfo:
    id: int
    code: str
    name: str
    kind: str
    area_id: int
    township_id: int
    county_id: int
    prefecture_id: int
    batch: str
    fund_established_on: dt.date | None
    leader_name: str
    projects: list[ProjectInfo] = field(default_factory=list)

    @property
    def totals(self) -> Totals:
        return add_up(p.totals for p in self.projects)


class Part(NamedTuple):
    """One place the money of some projects is now, as a chart shows it."""

    label: str
    amount: int


def whereabouts(totals: Totals) -> tuple[Part, ...]:
    """Where the money raised and matched is now (``db.totals.Totals``): spent, still in the village's project
    account, not yet passed down to it, or moved to the 互助基金. The parts add up to raised + matched."""
    return (Part("已支出", totals.spent), Part("项目结余（在村）", totals.balance),
            Part("尚未拨付到村", totals.upstream), Part("转入互助基金", totals.to_fund))


class Point(NamedTuple):
    on: dt.date
    raised: int  # every gift of the project up to and including that day


@dataclass(frozen=True)
class Progress:
    """A project's fundraising over time: its gifts not returned, added up day by day (oldest first).
    They are the rows of ``donations.csv`` and add up to the project's raised (``xfjy audit-site``)."""

    points: tuple[Point, ...]
    target: int

    @property
    def raised(self) -> int:
        return self.points[-1].raised if self.points else 0

    @property
    def reached_on(self) -> dt.date | None:
        """The day the gifts first reached the target."""
        return next((p.on for p in self.points if p.raised >= self.target), None) if self.target > 0 else None


@dataclass
class DonationRow:
    project_id: int
    at: dt.datetime
    donor: str
    amount: int
    channel: str
    message: str
    returned: bool
    timing: str = ""  # Donation.TIMINGS: early, late or on to the 互助基金

    @property
    def on(self) -> dt.date:
        return self.at.date()

    @property
    def note(self) -> str:
        return Donation.TIMINGS.get(self.timing, "")


@dataclass
class EntryRow:
    id: int
    project_id: int | None
    booked_on: dt.date
    kind: str
    source: str
    target: str
    source_kind: str
    target_kind: str
    amount: int
    reverses: int | None
    reason: str
    memo: str
    donation: bool = False  # the entry moves one gift (a late gift going on to the fund)


@dataclass
class Receipt:
    sha256: str
    filename: str
    mime: str

    @property
    def public_name(self) -> str:
        return self.sha256 + EXTENSIONS.get(self.mime, ".jpg")


EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", OFFICE[0][1]: ".docx", OFFICE[1][1]: ".xlsx"}


@dataclass(frozen=True)
class UnitProgress:
    code: str
    name: str
    cells: tuple  # db.milestones.Cell, one per step: status, dates and step 三's counts, no typed text
    documents: dict  # step → [Receipt]: what the unit made public, once the region agreed


@dataclass(frozen=True)
class PhaseProgress:
    """One phase's 实施步骤 per 盟市-level unit, as the 关于工程 page and ``data/programme`` show them."""
    code: str
    name: str
    dues: dict  # step → due date
    units: tuple[UnitProgress, ...]


@dataclass
class SpendingRow:
    id: int
    project_id: int | None  # None: paid out of the village's 互助基金
    spent_on: dt.date
    item: str
    payee: str
    amount: int
    voucher_no: str
    reversed: bool
    receipts: list[Receipt] = field(default_factory=list)
    approved_by: str = ""   # for the fund: the 监管会 members who agreed, and when
    approved_on: dt.date | None = None


@dataclass
class Member:
    name: str
    title: str


@dataclass
class DisclosureRow:
    id: int
    project_id: int
    title: str
    published_on: dt.date
    period_start: dt.date | None
    period_end: dt.date | None
    body_html: str
    corrects: int | None
    correction_note: str
    files: list[Receipt] = field(default_factory=list)
    earlier: list[DisclosureRow] = field(default_factory=list)


@dataclass
class OpinionRow:
    """A 监管会成员's 监督意见 marked 公开; ``corrects`` is the date of the opinion it corrects."""

    project_id: int
    given_on: dt.date
    member_name: str
    text: str
    corrects: dt.date | None = None


@dataclass
class ReviewRow:
    project_id: int
    at: dt.datetime
    label: str
    unit: str
    decision: str


@dataclass
class EvaluationRow:
    project_id: int
    evaluated_on: dt.date
    result: str
    score: int | None
    unit: str


@dataclass
class Details:
    """The heavy rows of one village, as the public may see them."""

    donations: list[DonationRow] = field(default_factory=list)
    donation_count: int = 0
    entries: list[EntryRow] = field(default_factory=list)
    spending: list[SpendingRow] = field(default_factory=list)
    disclosures: list[DisclosureRow] = field(default_factory=list)
    reviews: list[ReviewRow] = field(default_factory=list)
    evaluations: list[EvaluationRow] = field(default_factory=list)
    volunteers: int = 0
    service_minutes: int = 0
    updated_at: dt.datetime | None = None  # the village's latest change: its page's "更新于"
    supervisors: list[Member] = field(default_factory=list)
    fund_spending: list[SpendingRow] = field(default_factory=list)
    opinions: list[OpinionRow] = field(default_factory=list)  # the public 监督意见, oldest first

    @cached_property
    def fund_flows(self) -> list[funds.Flow]:
        """The 互助基金's movements (``db.funds.flow``), for its balance and its yearly statement."""
        moves = (funds.flow(e.booked_on, e.kind, e.source_kind, e.target_kind, e.amount, e.donation)
                 for e in self.entries)
        return [m for m in moves if m is not None]

    @property
    def fund_balance(self) -> int:
        return sum(m.amount for m in self.fund_flows)

    def on_page(self, project_id: int) -> list[DonationRow]:
        return [d for d in self.donations if d.project_id == project_id][:DONATIONS_ON_PAGE]

    def count_for(self, project_id: int) -> int:
        return sum(1 for d in self.donations if d.project_id == project_id)

    def progress(self, project: ProjectInfo) -> Progress:
        """The project's gifts not returned, added up by the day they were given."""
        by_day: dict[dt.date, int] = {}
        for d in self.donations:
            if d.project_id == project.id and not d.returned:
                by_day[d.on] = by_day.get(d.on, 0) + d.amount
        points, total = [], 0
        for day in sorted(by_day):
            total += by_day[day]
            points.append(Point(day, total))
        return Progress(tuple(points), project.target)

    def first_gift(self, project_id: int) -> dt.date | None:
        """The earliest gift's date (donations are kept newest first)."""
        days = [d.on for d in self.donations if d.project_id == project_id]
        return min(days) if days else None

    def spending_on_page(self, project_id: int) -> tuple[list[SpendingRow], int]:
        """The project's latest spending lines (oldest first) and how many it has in all."""
        rows = [s for s in self.spending if s.project_id == project_id]
        return rows[-SPENDING_ON_PAGE:], len(rows)


class Latest(NamedTuple):
    """A recent disclosure on the home page, with the village and project it belongs to."""

    disclosure: DisclosureRow
    village: VillageInfo
    project: ProjectInfo


class Gift(NamedTuple):
    """One gift as the 捐赠查询 finds it: the number is only for hashing, never published."""

    txn_no: str
    project_id: int
    amount: int
    donated_on: dt.date
    returned: bool
    to_fund: bool


@dataclass
class Snapshot:
    """The small tables of one consistent read (``db.snapshot.read``); heavy rows come by village."""

    taken_at: dt.datetime
    places: dict[int, Place]
    villages: list[VillageInfo]
    quota: list
    latest_disclosures: list[Latest]
    pool_entries: list[EntryRow]
    root: Place  # the area this site covers: the region, or one 盟市 (``xfjy publish --area``)
    on: dt.date = field(default_factory=today)  # the date the disclosure calendar is read at
    # every village registered in the programme, per 乡镇/街道 id, its fund set up or not yet (area pages' share)
    registered: dict[int, int] = field(default_factory=dict)
    # the 年度报告 of every village and area, per year, from the published projects only (db.annual)
    annual: Annual | None = None
    progress: tuple[PhaseProgress, ...] = ()  # the phases begun by ``on`` (db.milestones)

