"""One consistent read of everything the public site shows, already filtered for the public.

``read()`` opens a single read transaction (REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite)
and returns a ``Snapshot``: the small tables in memory, and ``details()`` to load the heavy rows
(donations, ledger, spending) a batch of villages at a time, so memory does not grow with donations.
Nothing private leaves this module: donors are labelled by consent and free text is redacted here.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from peewee import JOIN, fn

from db import funds
from db.areas import quota_report
from db.bulk import raw_rows
from db.clock import today
from db.database import database, is_postgres
from db.deadlines import Deadline, facts_of, next_and_overdue, schedule
from db.errors import XfjyError
from db.models import (
    Account,
    Area,
    Attachment,
    Batch,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    FundSpending,
    Level,
    Project,
    ProjectReview,
    ServiceRecord,
    SupervisoryMember,
    Village,
    Volunteer,
)
from db.public import PUBLIC_PROJECT_STATES, account_label, donor_label, entry_note, federation, public_html, public_text
from db.totals import Totals, add_up, totals_by_project
from db.workflow import PROJECT, RECEIVING_STATES

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
        """Still raising money: the page offers 「去捐赠」 (later gifts are booked late, db.ledger)."""
        return self.state in RECEIVING_STATES

    @property
    def percent(self) -> int:
        """Raised as a share of the target, capped at 100 for the progress bar."""
        return min(100, self.totals.raised * 100 // self.target) if self.target > 0 else 0


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
        return self.sha256 + {"application/pdf": ".pdf", "image/png": ".png"}.get(self.mime, ".jpg")


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

    @cached_property
    def fund_flows(self) -> list[tuple]:
        """The 互助基金's movements (``db.funds.flow``), for its balance and its yearly statement."""
        moves = (funds.flow(e.booked_on, e.kind, e.source_kind, e.target_kind, e.amount, e.donation)
                 for e in self.entries)
        return [m for m in moves if m is not None]

    @property
    def fund_balance(self) -> int:
        return sum(m[3] for m in self.fund_flows)

    def on_page(self, project_id: int) -> list[DonationRow]:
        return [d for d in self.donations if d.project_id == project_id][:DONATIONS_ON_PAGE]

    def count_for(self, project_id: int) -> int:
        return sum(1 for d in self.donations if d.project_id == project_id)

    def first_gift(self, project_id: int) -> dt.date | None:
        """The earliest gift's date (donations are kept newest first)."""
        days = [d.on for d in self.donations if d.project_id == project_id]
        return min(days) if days else None

    def spending_on_page(self, project_id: int) -> tuple[list[SpendingRow], int]:
        """The project's latest spending lines (oldest first) and how many it has in all."""
        rows = [s for s in self.spending if s.project_id == project_id]
        return rows[-SPENDING_ON_PAGE:], len(rows)


@dataclass
class Snapshot:
    taken_at: dt.datetime
    places: dict[int, Place]
    villages: list[VillageInfo]
    quota: list
    latest_disclosures: list[tuple[DisclosureRow, VillageInfo, ProjectInfo]]
    pool_entries: list[EntryRow]
    root: Place  # the area this site covers: the region, or one 盟市 (``xfjy publish --area``)
    on: dt.date = field(default_factory=today)  # the date the disclosure calendar is read at

    def village_details(self, villages: list[VillageInfo]) -> dict[int, Details]:
        return _details(villages)

    def children(self, place_id: int) -> list[Place]:
        return sorted((p for p in self.places.values() if p.parent_id == place_id), key=lambda p: p.code)


@contextmanager
def read(area_code: str | None = None):
    """A consistent snapshot for the whole build (of ``area_code``'s subtree); nothing is written."""
    outermost = not database.in_transaction()
    with database.atomic():
        if is_postgres() and outermost:
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield _load(area_code or REGION_CODE)


REGION_CODE = "150000"


def _load(area_code: str) -> Snapshot:
    taken_at = _data_time()
    columns = (Area.id, Area.code, Area.name, Area.level, Area.parent, Area.path, Area.county)
    places = {row[0]: Place(*row) for row in Area.select(*columns).where(Area.level < Level.VILLAGE).tuples()}
    root = next((p for p in places.values() if p.code == area_code), None)
    if root is None or root.level not in (Level.REGION, Level.PREFECTURE):
        raise XfjyError(f"区划代码 {area_code} 不是省级或盟市级单位")
    villages = []
    query = (Village.select(Village.id, Area.id, Area.code, Area.name, Area.parent, Area.county, Area.prefecture,
                            Village.kind, Batch.name, Village.fund_established_on, Village.leader_name)
             .join_from(Village, Area).join_from(Village, Batch)
             .where(Village.fund_established_on.is_null(False) & Area.path.startswith(root.path))
             .order_by(Area.path).tuples())
    for vid, area_id, code, name, parent, county, prefecture, kind, batch, established, leader in query:
        villages.append(VillageInfo(vid, code, name, kind, area_id, parent, county, prefecture, batch, established,
                                    public_text(leader)))
    by_id = {v.id: v for v in villages}
    projects = (Project.select(Project.id, Project.code, Project.name, Project.village, Project.target, Project.starts_on,
                               Project.ends_on, Project.state, Project.background, Project.summary,
                               Project.democratic_decision, Project.updated_at, Project.donation_url)
                .where(Project.state.in_(PUBLIC_PROJECT_STATES) & Project.village.in_(list(by_id)))
                .order_by(Project.starts_on, Project.id).tuples())
    by_project = {}
    for pid, code, name, vid, target, starts, ends, state, background, summary, decision, updated, url in projects:
        info = ProjectInfo(pid, code, public_text(name), vid, target, starts, ends, state, background or "",
                           summary or "", decision or "", updated, url or "")
        by_id[vid].projects.append(info)
        by_project[pid] = info
    for pid, totals in totals_by_project().items():
        if pid in by_project:
            by_project[pid].totals = totals
    on = today()
    for pid, facts in facts_of(list(by_project)).items():
        calendar = schedule(facts, on)
        upcoming, late = next_and_overdue(calendar, on)
        info = by_project[pid]
        info.calendar, info.next_disclosure, info.overdue = tuple(calendar), upcoming, tuple(late)
        info.statuses = tuple(d.status(on) for d in calendar)
    latest = []
    recent = (Disclosure.select().where(Disclosure.project.in_(list(by_project)))
              .order_by(Disclosure.published_on.desc(), Disclosure.id.desc()).limit(10))
    for d in recent:
        project = by_project[d.project_id]
        latest.append((_disclosure(d.id, d.project_id, d.title, d.published_on, d.period_start, d.period_end, d.body,
                                   d.corrects_id, d.correction_note), by_id[project.village_id], project))
    pools = Account.select(Account.id).join(Area).where(Area.path.startswith(root.path) & (Account.kind == "pool"))
    lines = [line for line in quota_report() if line.prefecture.path.startswith(root.path)]
    return Snapshot(taken_at, places, villages, lines, latest,
                    _entries(Entry.project.is_null() & Entry.to_account.in_(pools)), root, on)


def _data_time() -> dt.datetime:
    """When the published data last changed (not when the build ran), so that two builds of the same
    data are the same bytes."""
    times = [Entry.select(Entry.posted_at).order_by(Entry.id.desc()).limit(1).scalar(),
             Project.select(fn.MAX(Project.updated_at)).scalar(),
             Disclosure.select(fn.MAX(Disclosure.created_at)).scalar(),
             Expenditure.select(fn.MAX(Expenditure.created_at)).scalar(),
             Village.select(fn.MAX(Village.created_at)).scalar()]
    times = [_moment(t) for t in times if t]
    return max(times) if times else dt.datetime(2023, 1, 1)


def _moment(value) -> dt.datetime:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value[:19])
    return value.replace(tzinfo=None, microsecond=0) if isinstance(value, dt.datetime) else \
        dt.datetime.combine(value, dt.time())


def fetch(villages: list[VillageInfo]) -> dict:
    """The heavy rows of some villages, as plain tuples (cheap to read, and to send to a worker)."""
    ids = [p.id for v in villages for p in v.projects]
    raw = dict(returned=set(), donations=[], accounts={}, entries=[], reversed_spending=set(), spending=[], disclosures=[],
               files=[], reviews=[], evaluations=[], volunteers=[], minutes=[], changed=[], supervisors=[],
               fund_accounts={}, fund_spending=[], fund_files=[], reversed_fund=set())
    village_ids = [v.id for v in villages]
    raw["supervisors"] = list(SupervisoryMember.select(SupervisoryMember.village, SupervisoryMember.name,
                                                       SupervisoryMember.title)
                              .where(SupervisoryMember.village.in_(village_ids))
                              .order_by(SupervisoryMember.village, SupervisoryMember.id).tuples())
    by_area = {v.area_id: v.id for v in villages}
    raw["fund_accounts"] = {aid: by_area[area] for aid, area in Account.select(Account.id, Account.area).where(
        (Account.kind == "fund") & Account.area.in_(list(by_area))).tuples()}
    raw["fund_spending"] = _raw(FundSpending.select(
        FundSpending.id, FundSpending.village, FundSpending.spent_on, FundSpending.item, FundSpending.payee,
        FundSpending.amount, FundSpending.voucher_no, FundSpending.approved_by, FundSpending.approved_on,
        FundSpending.entry).where(FundSpending.village.in_(village_ids)).order_by(FundSpending.spent_on, FundSpending.id))
    fund_ids = [row[0] for row in raw["fund_spending"]] or [0]
    raw["fund_files"] = list(Attachment.select(Attachment.sha256, Attachment.filename, Attachment.mime,
                                               Attachment.fund_spending)
                             .where(Attachment.published & Attachment.fund_spending.in_(fund_ids)).tuples())
    funds = list(raw["fund_accounts"]) or [0]
    on_fund = Entry.project.is_null() & (Entry.from_account.in_(funds) | Entry.to_account.in_(funds))
    raw["reversed_fund"] = {row[0] for row in _raw(Entry.select(Entry.reverses).where(
        on_fund & Entry.reverses.is_null(False)))}
    raw["volunteers"] = list(Volunteer.select(Volunteer.village, fn.COUNT(Volunteer.id))
                             .where(Volunteer.village.in_(village_ids)).group_by(Volunteer.village).tuples())
    raw["minutes"] = list(ServiceRecord.select(Volunteer.village, fn.SUM(ServiceRecord.minutes)).join(Volunteer)
                          .where(Volunteer.village.in_(village_ids)).group_by(Volunteer.village).tuples())
    if raw["fund_accounts"]:
        accounts, entries = _entry_rows(on_fund)
        raw["accounts"].update(accounts)
        raw["entries"] += entries
    if not ids:
        return raw
    for model, column in ((Entry, Entry.posted_at), (Disclosure, Disclosure.created_at),
                          (Expenditure, Expenditure.created_at)):
        raw["changed"] += _raw(model.select(model.project, fn.MAX(column)).where(model.project.in_(ids))
                               .group_by(model.project))
    raw["returned"] = {row[0] for row in _raw(Entry.select(Entry.donation).where(
        Entry.project.in_(ids) & Entry.donation.is_null(False)
        & ((Entry.kind == "refund") | Entry.reverses.is_null(False))))}
    raw["donations"] = _raw(
        Donation.select(Donation.id, Donation.project, Donation.donated_at, Donation.donor_name, Donation.name_consent,
                        Donation.amount, Donation.channel, Donation.message, Donation.timing)
        .where(Donation.project.in_(ids)).order_by(Donation.project, Donation.donated_at.desc(), Donation.id.desc()))
    accounts, entries = _entry_rows(Entry.project.in_(ids))
    raw["accounts"].update(accounts)
    raw["entries"] = sorted(raw["entries"] + entries)
    raw["reversed_spending"] = {row[0] for row in _raw(Entry.select(Entry.expenditure).where(
        Entry.project.in_(ids) & Entry.expenditure.is_null(False) & Entry.reverses.is_null(False)))}
    raw["spending"] = _raw(Expenditure.select(Expenditure.id, Expenditure.project, Expenditure.spent_on, Expenditure.item,
                                              Expenditure.payee, Expenditure.amount, Expenditure.voucher_no)
                           .where(Expenditure.project.in_(ids)).order_by(Expenditure.spent_on, Expenditure.id))
    raw["disclosures"] = [
        (d.id, d.project_id, d.title, d.published_on, d.period_start, d.period_end, d.body, d.corrects_id,
         d.correction_note)
        for d in Disclosure.select().where(Disclosure.project.in_(ids)).order_by(Disclosure.published_on, Disclosure.id)]
    spending_ids = [row[0] for row in raw["spending"]] or [0]
    disclosure_ids = [row[0] for row in raw["disclosures"]] or [0]
    raw["files"] = list(Attachment.select(Attachment.sha256, Attachment.filename, Attachment.mime, Attachment.expenditure,
                                          Attachment.disclosure).where(Attachment.published & (
        Attachment.expenditure.in_(spending_ids) | Attachment.disclosure.in_(disclosure_ids))).tuples())
    raw["reviews"] = list(ProjectReview.select(ProjectReview.project, ProjectReview.at, ProjectReview.action,
                                               ProjectReview.to_state, ProjectReview.decision, ProjectReview.unit)
                          .where(ProjectReview.project.in_(ids)).order_by(ProjectReview.at, ProjectReview.id).tuples())
    raw["evaluations"] = list(Evaluation.select(Evaluation.project, Evaluation.evaluated_on, Evaluation.result,
                                                Evaluation.score, Evaluation.unit)
                              .where(Evaluation.project.in_(ids)).order_by(Evaluation.evaluated_on, Evaluation.id)
                              .tuples())
    return raw


def shape(villages: list[VillageInfo], raw: dict) -> dict[int, Details]:
    """The rows of ``fetch`` as the public may see them, per village (no database needed)."""
    result = {v.id: Details() for v in villages}
    village_of = {p.id: v.id for v in villages for p in v.projects}
    returned, channels = raw["returned"], Donation.CHANNELS
    for did, pid, at, name, consent, amount, channel, message, timing in raw["donations"]:
        result[village_of[pid]].donations.append(DonationRow(
            pid, _moment(at), donor_label(name, consent), amount, channels.get(channel, channel),
            public_text(message), did in returned, timing or ""))
    fund_village = raw["fund_accounts"]
    for entry, row in zip(raw["entries"], _shape_entries(raw["accounts"], raw["entries"])):
        pid, source, target = entry[1], entry[4], entry[5]
        vid = village_of[pid] if pid is not None else fund_village.get(source) or fund_village.get(target)
        result[vid].entries.append(row)
    fund_lines = {}
    for fid, vid, on, item, payee, amount, voucher, approved_by, approved_on, entry_id in raw["fund_spending"]:
        line = SpendingRow(fid, None, _day(on), public_text(item), public_text(payee), amount, public_text(voucher),
                           entry_id in raw["reversed_fund"], approved_by=public_text(approved_by),
                           approved_on=_day(approved_on))
        fund_lines[fid] = line
        result[vid].fund_spending.append(line)
    for sha, filename, mime, fid in raw["fund_files"]:
        fund_lines[fid].receipts.append(Receipt(sha, public_text(filename), mime))
    for vid, name, title in raw["supervisors"]:
        result[vid].supervisors.append(Member(public_text(name), public_text(title)))
    spending = {}
    for sid, pid, on, item, payee, amount, voucher in raw["spending"]:
        line = SpendingRow(sid, pid, _day(on), public_text(item), public_text(payee), amount, public_text(voucher),
                           sid in raw["reversed_spending"])
        spending[sid] = line
        result[village_of[pid]].spending.append(line)
    disclosures = {row[0]: _disclosure(*row) for row in raw["disclosures"]}
    for sha, filename, mime, expenditure_id, disclosure_id in raw["files"]:
        receipt = Receipt(sha, public_text(filename), mime)
        if expenditure_id in spending:
            spending[expenditure_id].receipts.append(receipt)
        elif disclosure_id in disclosures:
            disclosures[disclosure_id].files.append(receipt)
    for thread in _threads(disclosures):
        result[village_of[thread.project_id]].disclosures.append(thread)
    for pid, at, action, to_state, decision, unit in raw["reviews"]:
        result[village_of[pid]].reviews.append(ReviewRow(pid, at, _step_label(action, to_state), public_text(unit),
                                                         decision))
    for pid, on, outcome, score, unit in raw["evaluations"]:
        result[village_of[pid]].evaluations.append(
            EvaluationRow(pid, on, Evaluation.RESULTS.get(outcome, outcome), score, public_text(unit)))
    for vid, count in raw["volunteers"]:
        result[vid].volunteers = count
    for vid, minutes in raw["minutes"]:
        result[vid].service_minutes = int(minutes or 0)
    for village in villages:
        moments = [_moment(village.fund_established_on)] if village.fund_established_on else []
        result[village.id].updated_at = max(moments + [_moment(p.updated_at) for p in village.projects], default=None)
    for pid, moment in raw["changed"]:
        details = result[village_of[pid]]
        if moment and (details.updated_at is None or _moment(moment) > details.updated_at):
            details.updated_at = _moment(moment)
    return result


def _details(villages: list[VillageInfo]) -> dict[int, Details]:
    return shape(villages, fetch(villages))


def _step_label(action: str, to_state: str) -> str:
    for (_, act), transition in PROJECT.transitions.items():
        if act == action and transition.target == to_state:
            return transition.label
    return PROJECT.label(to_state)


def _disclosure(did, project_id, title, published_on, period_start, period_end, body, corrects, note) -> DisclosureRow:
    return DisclosureRow(did, project_id, public_text(title), published_on, period_start, period_end, public_html(body),
                         corrects, public_text(note))


def _threads(disclosures: dict[int, DisclosureRow]) -> list[DisclosureRow]:
    """Each disclosure's latest version, carrying the versions it corrected (newest first)."""
    corrected = {d.corrects for d in disclosures.values() if d.corrects}
    threads = []
    for d in disclosures.values():
        if d.id in corrected:
            continue
        earlier, cursor = [], d.corrects
        while cursor in disclosures:
            earlier.append(disclosures[cursor])
            cursor = disclosures[cursor].corrects
        d.earlier = earlier
        threads.append(d)
    return sorted(threads, key=lambda d: (d.published_on, d.id), reverse=True)


_raw = raw_rows


def _day(value) -> dt.date:
    """A date from what either driver returns for a date or timestamp column (SQLite: text)."""
    if isinstance(value, str):
        return dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    return value.date() if isinstance(value, dt.datetime) else value


def _accounts(condition) -> dict[int, tuple[str, str]]:
    """Kind and public label of the accounts the entries under ``condition`` touch."""
    touched = Entry.select(Entry.from_account).where(condition) | Entry.select(Entry.to_account).where(condition)
    query = (Account.select(Account.id, Account.kind, Account.name, Area.name, Area.level)
             .join(Area, JOIN.LEFT_OUTER, on=(Account.area == Area.id)).where(Account.id.in_(touched)))
    return {aid: (kind, account_label(kind, area or "", level, name)) for aid, kind, name, area, level in _raw(query)}


def _entry_rows(condition) -> tuple[dict, list[tuple]]:
    query = (Entry.select(Entry.id, Entry.project, Entry.booked_on, Entry.kind, Entry.from_account, Entry.to_account,
                          Entry.amount, Entry.reverses, Entry.reason, Entry.memo, Entry.donation)
             .where(condition).order_by(Entry.id))
    return _accounts(condition), _raw(query)


def _entries(condition) -> list[EntryRow]:
    return _shape_entries(*_entry_rows(condition))


def _shape_entries(accounts: dict, raw: list[tuple]) -> list[EntryRow]:
    rows = []
    for eid, pid, booked, kind, source, target, amount, reverses, reason, memo, donation in raw:
        memo, reason = entry_note(kind, memo, reason) if memo or reason else ("", "")
        (s_kind, s_label), (t_kind, t_label) = accounts[source], accounts[target]
        rows.append(EntryRow(eid, pid, _day(booked), kind, s_label, t_label, s_kind, t_kind, amount, reverses,
                             reason, memo, donation is not None))
    return rows


__all__ = ["read", "Snapshot", "VillageInfo", "ProjectInfo", "Details", "federation", "DONATIONS_ON_PAGE",
           "SPENDING_ON_PAGE"]


def fingerprints(snap: Snapshot) -> dict[int, str]:
    """A digest per village of everything its page, poster and open data are made from.

    In-memory facts (names, places, projects with their totals and texts) go in whole; the heavy
    tables go in as per-project aggregates (count, last id, sums of amounts and of text lengths),
    which change with every added, reversed or edited row that the village's files show."""
    import hashlib

    projects = [p.id for v in snap.villages for p in v.projects]
    per_project: dict[int, list] = {pid: [] for pid in projects}
    length = fn.LENGTH
    queries = [
        Donation.select(Donation.project, fn.COUNT(Donation.id), fn.MAX(Donation.id), fn.SUM(Donation.amount),
                        fn.SUM(length(Donation.donor_name) + length(Donation.message) + length(Donation.name_consent)),
                        fn.MAX(Donation.donated_at)).group_by(Donation.project),
        Entry.select(Entry.project, fn.COUNT(Entry.id), fn.MAX(Entry.id)).where(Entry.project.is_null(False))
        .group_by(Entry.project),
        Expenditure.select(Expenditure.project, fn.COUNT(Expenditure.id), fn.MAX(Expenditure.id),
                           fn.SUM(Expenditure.amount),
                           fn.SUM(length(Expenditure.item) + length(Expenditure.payee) + length(Expenditure.voucher_no)),
                           fn.MAX(Expenditure.spent_on), fn.MIN(Expenditure.spent_on)).group_by(Expenditure.project),
        Disclosure.select(Disclosure.project, fn.COUNT(Disclosure.id), fn.MAX(Disclosure.id)).group_by(Disclosure.project),
        Attachment.select(Expenditure.project, fn.COUNT(Attachment.id), fn.MAX(Attachment.id),
                          fn.SUM(Attachment.published.cast("integer"))).join(Expenditure).group_by(Expenditure.project),
        Attachment.select(Disclosure.project, fn.COUNT(Attachment.id), fn.MAX(Attachment.id),
                          fn.SUM(Attachment.published.cast("integer"))).join(Disclosure).group_by(Disclosure.project),
        ProjectReview.select(ProjectReview.project, fn.COUNT(ProjectReview.id), fn.MAX(ProjectReview.id))
        .group_by(ProjectReview.project),
        Evaluation.select(Evaluation.project, fn.COUNT(Evaluation.id), fn.MAX(Evaluation.id)).group_by(Evaluation.project),
    ]
    for index, query in enumerate(queries):
        for row in _raw(query):
            if row[0] in per_project:
                per_project[row[0]].append((index, *[str(x) for x in row[1:]]))
    volunteers = {vid: [] for vid in (v.id for v in snap.villages)}
    for vid, count in _raw(Volunteer.select(Volunteer.village, fn.COUNT(Volunteer.id)).group_by(Volunteer.village)):
        volunteers.setdefault(vid, []).append(("v", count))
    for vid, minutes in _raw(ServiceRecord.select(Volunteer.village, fn.SUM(ServiceRecord.minutes)).join(Volunteer)
                             .group_by(Volunteer.village)):
        volunteers.setdefault(vid, []).append(("m", str(minutes)))
    for vid, *figures in _raw(SupervisoryMember.select(
            SupervisoryMember.village, fn.COUNT(SupervisoryMember.id), fn.MAX(SupervisoryMember.id),
            fn.SUM(length(SupervisoryMember.name) + length(SupervisoryMember.title))).group_by(SupervisoryMember.village)):
        volunteers.setdefault(vid, []).append(("s", *map(str, figures)))
    for vid, *figures in _raw(FundSpending.select(FundSpending.village, fn.COUNT(FundSpending.id), fn.MAX(FundSpending.id))
                              .group_by(FundSpending.village)):
        volunteers.setdefault(vid, []).append(("f", *map(str, figures)))
    village_of_area = {v.area_id: v.id for v in snap.villages}
    for column in (Entry.from_account, Entry.to_account):  # fund entries of no project: payments, their reversals
        for area, *figures in _raw(Entry.select(Account.area, fn.COUNT(Entry.id), fn.MAX(Entry.id))
                                   .join(Account, on=(column == Account.id))
                                   .where(Entry.project.is_null() & (Account.kind == "fund")).group_by(Account.area)):
            if area in village_of_area:
                volunteers.setdefault(village_of_area[area], []).append(("e", *map(str, figures)))
    for vid, *figures in _raw(Attachment.select(FundSpending.village, fn.COUNT(Attachment.id), fn.MAX(Attachment.id),
                                                fn.SUM(Attachment.published.cast("integer"))).join(FundSpending)
                              .group_by(FundSpending.village)):
        volunteers.setdefault(vid, []).append(("a", *map(str, figures)))
    places = snap.places
    result = {}
    for v in snap.villages:
        parts = [repr(v), repr([places[i] for i in (v.township_id, v.county_id, v.prefecture_id)]),
                 repr(volunteers.get(v.id))]
        parts += [repr(per_project[p.id]) for p in v.projects]
        result[v.id] = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return result
