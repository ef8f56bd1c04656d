"""One consistent read of everything the public site shows, already filtered for the public.

``read()`` opens a single read transaction (REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite)
and returns a ``Snapshot``: the small tables in memory. ``details()`` loads the heavy rows (donations,
ledger, spending) a batch of villages at a time, so memory does not grow with donations, and
``gifts()`` streams what the 捐赠查询 needs. ``shared()`` lets worker processes read the same snapshot.
Nothing private leaves this module: donors are labelled by consent and free text is redacted here.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import JOIN, chunked, fn

from . import annual, history, milestones
from .areas import quota_report
from .bulk import raw_rows
from .clock import today
from .database import database, database_url, is_postgres, open_database, read_transaction, refresh_statistics
from .deadlines import facts_of, next_and_overdue, schedule
from .disclosures import threads
from .errors import XfjyError
from .models import (
    MODELS,
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
    Milestone,
    Project,
    ProjectReview,
    ServiceRecord,
    SupervisionOpinion,
    SupervisoryMember,
    Village,
    Volunteer,
)
from .public import account_label, donor_label, entry_note, public_html, public_text
from .published import (
    Details,
    DisclosureRow,
    DonationRow,
    EntryRow,
    EvaluationRow,
    Gift,
    Latest,
    Member,
    OpinionRow,
    PhaseProgress,
    Place,
    ProjectInfo,
    Receipt,
    ReviewRow,
    Snapshot,
    SpendingRow,
    UnitProgress,
    VillageInfo,
)
from .totals import advance_tally, totals_by_project
from .workflow import PROJECT, PUBLISHED_STATES

REGION_CODE = "150000"
GIFT_BATCH = 5000  # projects per query of the gift lookup


def prepare() -> None:
    """What a publish writes before it reads: the tallies advanced, every new entry and disclosure linked
    into the public history, the planner's statistics refreshed (nightly, whatever autovacuum does)."""
    advance_tally()
    history.seal()
    refresh_statistics(MODELS)


@contextmanager
def read(area_code: str | None = None) -> Iterator[Snapshot]:
    """A consistent snapshot for the whole build (of ``area_code``'s subtree); nothing is written."""
    with read_transaction():
        yield _load(area_code or REGION_CODE)


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
                .where(Project.state.in_(PUBLISHED_STATES) & Project.village.in_(list(by_id)))
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
        latest.append(Latest(_disclosure(d), by_id[project.village_id], project))
    pools = Account.select(Account.id).join(Area).where(Area.path.startswith(root.path) & (Account.kind == "pool"))
    lines = [line for line in quota_report() if line.prefecture.path.startswith(root.path)]
    registered = dict(Village.select(Area.parent, fn.COUNT(Village.id)).join(Area)
                      .where(Area.path.startswith(root.path)).group_by(Area.parent).tuples())
    years = annual.compute(Area.get_by_id(root.id), range(annual.first_year(), on.year + 1), on, projects=by_project)
    pool_entries = _entries(Entry.project.is_null() & (Entry.to_account.in_(pools) | Entry.from_account.in_(pools)))
    return Snapshot(taken_at, places, villages, lines, latest, pool_entries, root, on, registered, years,
                    progress(Area.get_by_id(root.id), on))


def progress(root: Area, on: dt.date) -> tuple[PhaseProgress, ...]:
    """Each begun phase's board within ``root``, with the documents of approved steps marked public."""
    public = {}
    for sha, filename, mime, unit_id, batch_id, step in (
            Attachment.select(Attachment.sha256, Attachment.filename, Attachment.mime, Milestone.area, Milestone.batch,
                              Milestone.step).join(Milestone, on=(Attachment.milestone == Milestone.id))
            .where(Milestone.public & (Milestone.state == "approved")).order_by(Attachment.id).tuples()):
        public.setdefault((batch_id, unit_id), {}).setdefault(step, []).append(Receipt(sha, public_text(filename), mime))
    batches = list(Batch.select().where(Batch.starts_on <= on).order_by(Batch.starts_on))
    boards = milestones.boards(root, on, batches)
    return tuple(PhaseProgress(batch.code, batch.name, milestones.dues(batch), tuple(
        UnitProgress(row.unit.code, row.unit.name, row.cells, public.get((batch.id, row.unit.id), {}))
        for row in boards[batch.id])) for batch in batches)


def _data_time() -> dt.datetime:
    """When the published data last changed (not when the build ran), so that two builds of the same
    data are the same bytes."""
    times = [Entry.select(fn.MAX(Entry.posted_at)).scalar(),  # not the last id's: imports and the demo backdate
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


def _day(value) -> dt.date:
    """A date from what either driver returns for a date or timestamp column (SQLite: text)."""
    if isinstance(value, str):
        return dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    return value.date() if isinstance(value, dt.datetime) else value


# -- the heavy rows, a batch of villages at a time ----------------------------------------------------------

def details(villages: list[VillageInfo]) -> dict[int, Details]:
    """The heavy rows of some villages as the public may see them, per village id.

    Rows are read as plain tuples straight from the driver (cheap at a million donations) and made
    into records at once, each table beside the query that reads it."""
    result = {v.id: Details() for v in villages}
    village_of = {p.id: v.id for v in villages for p in v.projects}
    ids = list(village_of)
    _people(villages, result)
    fund_village = _fund_accounts(villages)
    funds = list(fund_village) or [0]
    on_fund = Entry.project.is_null() & (Entry.from_account.in_(funds) | Entry.to_account.in_(funds))
    _fund_spending(villages, on_fund, result)
    accounts, entries = _entry_rows(on_fund) if fund_village else ({}, [])
    if ids:
        project_accounts, project_entries = _entry_rows(Entry.project.in_(ids))
        accounts.update(project_accounts)
        entries = sorted(entries + project_entries)
    for (_, pid, _, _, source, target, *_), row in zip(entries, _shape_entries(accounts, entries)):
        vid = village_of[pid] if pid is not None else fund_village.get(source) or fund_village.get(target)
        result[vid].entries.append(row)
    if ids:
        _donations(ids, village_of, result)
        _spending_and_disclosures(ids, village_of, result)
        _reviews(ids, village_of, result)
        _opinions(ids, village_of, result)
    _updated(villages, ids, village_of, fund_village, result)
    return result


def _people(villages: list[VillageInfo], result: dict[int, Details]) -> None:
    """The 监管会 members, and the volunteers with their hours of service."""
    village_ids = [v.id for v in villages]
    for vid, name, title in (SupervisoryMember.select(SupervisoryMember.village, SupervisoryMember.name,
                                                      SupervisoryMember.title)
                             .where(SupervisoryMember.village.in_(village_ids))
                             .order_by(SupervisoryMember.village, SupervisoryMember.id).tuples()):
        result[vid].supervisors.append(Member(public_text(name), public_text(title)))
    for vid, count in (Volunteer.select(Volunteer.village, fn.COUNT(Volunteer.id))
                       .where(Volunteer.village.in_(village_ids)).group_by(Volunteer.village).tuples()):
        result[vid].volunteers = count
    for vid, minutes in (ServiceRecord.select(Volunteer.village, fn.SUM(ServiceRecord.minutes)).join(Volunteer)
                         .where(Volunteer.village.in_(village_ids)).group_by(Volunteer.village).tuples()):
        result[vid].service_minutes = int(minutes or 0)


def _fund_accounts(villages: list[VillageInfo]) -> dict[int, int]:
    """The villages' 互助基金 accounts: account id → village id."""
    by_area = {v.area_id: v.id for v in villages}
    return {aid: by_area[area] for aid, area in Account.select(Account.id, Account.area).where(
        (Account.kind == "fund") & Account.area.in_(list(by_area))).tuples()}


def _fund_spending(villages: list[VillageInfo], on_fund, result: dict[int, Details]) -> None:
    """What the villages' 互助基金 paid (``on_fund``: its entries), with the 监管会's approval and the
    published receipts."""
    reversed_entries = {row[0] for row in raw_rows(Entry.select(Entry.reverses).where(
        on_fund & Entry.reverses.is_null(False)))}
    lines = {}
    for fid, vid, on, item, payee, amount, voucher, approved_by, approved_on, entry_id in raw_rows(FundSpending.select(
            FundSpending.id, FundSpending.village, FundSpending.spent_on, FundSpending.item, FundSpending.payee,
            FundSpending.amount, FundSpending.voucher_no, FundSpending.approved_by, FundSpending.approved_on,
            FundSpending.entry).where(FundSpending.village.in_([v.id for v in villages]))
            .order_by(FundSpending.spent_on, FundSpending.id)):
        line = SpendingRow(fid, None, _day(on), public_text(item), public_text(payee), amount, public_text(voucher),
                           entry_id in reversed_entries, approved_by=public_text(approved_by),
                           approved_on=_day(approved_on))
        lines[fid] = line
        result[vid].fund_spending.append(line)
    for sha, filename, mime, fid in (Attachment.select(Attachment.sha256, Attachment.filename, Attachment.mime,
                                                       Attachment.fund_spending)
                                     .where(Attachment.published & Attachment.fund_spending.in_(list(lines) or [0]))
                                     .tuples()):
        lines[fid].receipts.append(Receipt(sha, public_text(filename), mime))


def returned_donations(project_ids: list[int]) -> set[int]:
    """The donations of these projects that were refunded, or whose entry was reversed."""
    return {row[0] for row in raw_rows(Entry.select(Entry.donation).where(
        Entry.project.in_(project_ids) & Entry.donation.is_null(False)
        & ((Entry.kind == "refund") | Entry.reverses.is_null(False))))}


def _donations(ids: list[int], village_of: dict[int, int], result: dict[int, Details]) -> None:
    """Newest first per project; a donor is named only as they consented."""
    returned, channels = returned_donations(ids), Donation.CHANNELS
    for did, pid, at, name, consent, amount, channel, message, timing in raw_rows(
            Donation.select(Donation.id, Donation.project, Donation.donated_at, Donation.donor_name,
                            Donation.name_consent, Donation.amount, Donation.channel, Donation.message, Donation.timing)
            .where(Donation.project.in_(ids)).order_by(Donation.project, Donation.donated_at.desc(), Donation.id.desc())):
        result[village_of[pid]].donations.append(DonationRow(
            pid, _moment(at), donor_label(name, consent), amount, channels.get(channel, channel),
            public_text(message), did in returned, timing or ""))


def _spending_and_disclosures(ids: list[int], village_of: dict[int, int], result: dict[int, Details]) -> None:
    """Spending lines and disclosure threads, each with its published files."""
    reversed_spending = {row[0] for row in raw_rows(Entry.select(Entry.expenditure).where(
        Entry.project.in_(ids) & Entry.expenditure.is_null(False) & Entry.reverses.is_null(False)))}
    spending = {}
    for sid, pid, on, item, payee, amount, voucher in raw_rows(
            Expenditure.select(Expenditure.id, Expenditure.project, Expenditure.spent_on, Expenditure.item,
                               Expenditure.payee, Expenditure.amount, Expenditure.voucher_no)
            .where(Expenditure.project.in_(ids)).order_by(Expenditure.spent_on, Expenditure.id)):
        line = SpendingRow(sid, pid, _day(on), public_text(item), public_text(payee), amount, public_text(voucher),
                           sid in reversed_spending)
        spending[sid] = line
        result[village_of[pid]].spending.append(line)
    disclosures = {d.id: _disclosure(d) for d in Disclosure.select().where(Disclosure.project.in_(ids))
                   .order_by(Disclosure.published_on, Disclosure.id)}
    for sha, filename, mime, expenditure_id, disclosure_id in (
            Attachment.select(Attachment.sha256, Attachment.filename, Attachment.mime, Attachment.expenditure,
                              Attachment.disclosure)
            .where(Attachment.published & (Attachment.expenditure.in_(list(spending) or [0])
                                           | Attachment.disclosure.in_(list(disclosures) or [0]))).tuples()):
        receipt = Receipt(sha, public_text(filename), mime)
        if expenditure_id in spending:
            spending[expenditure_id].receipts.append(receipt)
        elif disclosure_id in disclosures:
            disclosures[disclosure_id].files.append(receipt)
    latest = []
    for latest_id, earlier in threads({d.id: d.corrects for d in disclosures.values()}).items():
        post = disclosures[latest_id]
        post.earlier = [disclosures[i] for i in earlier]
        latest.append(post)
    for post in sorted(latest, key=lambda d: (d.published_on, d.id), reverse=True):
        result[village_of[post.project_id]].disclosures.append(post)


def _opinions(ids: list[int], village_of: dict[int, int], result: dict[int, Details]) -> None:
    """The 监管会's 监督意见 its members marked 公开, each correction with the date of what it corrects."""
    earlier = SupervisionOpinion.alias()
    query = (SupervisionOpinion.select(SupervisionOpinion.project, SupervisionOpinion.given_on,
                                       SupervisionOpinion.member_name, SupervisionOpinion.text, earlier.given_on)
             .join(earlier, JOIN.LEFT_OUTER, on=(SupervisionOpinion.corrects == earlier.id))
             .where(SupervisionOpinion.project.in_(ids) & SupervisionOpinion.public)
             .order_by(SupervisionOpinion.given_on, SupervisionOpinion.id))
    for pid, on, name, text, corrects in raw_rows(query):
        result[village_of[pid]].opinions.append(OpinionRow(pid, _day(on), public_text(name), public_text(text),
                                                           _day(corrects) if corrects else None))


def _reviews(ids: list[int], village_of: dict[int, int], result: dict[int, Details]) -> None:
    """The review chain's steps and the acceptance evaluations."""
    for pid, at, action, to_state, decision, unit in (
            ProjectReview.select(ProjectReview.project, ProjectReview.at, ProjectReview.action, ProjectReview.to_state,
                                 ProjectReview.decision, ProjectReview.unit)
            .where(ProjectReview.project.in_(ids)).order_by(ProjectReview.at, ProjectReview.id).tuples()):
        result[village_of[pid]].reviews.append(ReviewRow(pid, at, _step_label(action, to_state), public_text(unit),
                                                         decision))
    for pid, on, outcome, score, unit in (
            Evaluation.select(Evaluation.project, Evaluation.evaluated_on, Evaluation.result, Evaluation.score,
                              Evaluation.unit)
            .where(Evaluation.project.in_(ids)).order_by(Evaluation.evaluated_on, Evaluation.id).tuples()):
        result[village_of[pid]].evaluations.append(
            EvaluationRow(pid, on, Evaluation.RESULTS.get(outcome, outcome), score, public_text(unit)))


def _updated(villages: list[VillageInfo], ids: list[int], village_of: dict[int, int], fund_village: dict[int, int],
             result: dict[int, Details]) -> None:
    """Each village's latest change: its page's 「更新于」 (its projects' rows and its 互助基金's entries)."""
    for village in villages:
        moments = [_moment(village.fund_established_on)] if village.fund_established_on else []
        result[village.id].updated_at = max(moments + [_moment(p.updated_at) for p in village.projects], default=None)
    for side in (Entry.to_account, Entry.from_account) if fund_village else ():
        query = Entry.select(side, fn.MAX(Entry.posted_at)).where(side.in_(list(fund_village))).group_by(side)
        for account_id, moment in raw_rows(query):
            row = result[fund_village[account_id]]
            if moment and (row.updated_at is None or _moment(moment) > row.updated_at):
                row.updated_at = _moment(moment)
    if not ids:
        return
    for model, column in ((Entry, Entry.posted_at), (Disclosure, Disclosure.created_at),
                          (Expenditure, Expenditure.created_at)):
        for pid, moment in raw_rows(model.select(model.project, fn.MAX(column)).where(model.project.in_(ids))
                                    .group_by(model.project)):
            row = result[village_of[pid]]
            if moment and (row.updated_at is None or _moment(moment) > row.updated_at):
                row.updated_at = _moment(moment)


def _step_label(action: str, to_state: str) -> str:
    for (_, act), transition in PROJECT.transitions.items():
        if act == action and transition.target == to_state:
            return transition.label
    return PROJECT.label(to_state)


def _disclosure(d: Disclosure) -> DisclosureRow:
    return DisclosureRow(d.id, d.project_id, public_text(d.title), d.published_on, d.period_start, d.period_end,
                         public_html(d.body), d.corrects_id, public_text(d.correction_note))


def _accounts(condition) -> dict[int, tuple[str, str]]:
    """Kind and public label of the accounts the entries under ``condition`` touch."""
    touched = Entry.select(Entry.from_account).where(condition) | Entry.select(Entry.to_account).where(condition)
    query = (Account.select(Account.id, Account.kind, Account.name, Area.name, Area.level)
             .join(Area, JOIN.LEFT_OUTER, on=(Account.area == Area.id)).where(Account.id.in_(touched)))
    return {aid: (kind, account_label(kind, area or "", level, name)) for aid, kind, name, area, level in raw_rows(query)}


def _entry_rows(condition) -> tuple[dict, list[tuple]]:
    query = (Entry.select(Entry.id, Entry.project, Entry.booked_on, Entry.kind, Entry.from_account, Entry.to_account,
                          Entry.amount, Entry.reverses, Entry.reason, Entry.memo, Entry.donation)
             .where(condition).order_by(Entry.id))
    return _accounts(condition), raw_rows(query)


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


# -- the gift lookup -------------------------------------------------------------------------------------

def gifts(project_ids: list[int]) -> Iterator[Gift]:
    """Every gift to these projects, in no particular order, for the 捐赠查询's hashed shards."""
    for batch in chunked(project_ids, GIFT_BATCH):
        returned = returned_donations(batch)
        for did, txn, pid, amount, donated, timing in raw_rows(
                Donation.select(Donation.id, Donation.txn_no, Donation.project, Donation.amount, Donation.donated_at,
                                Donation.timing).where(Donation.project.in_(batch))):
            yield Gift(txn, pid, int(amount), _day(donated), did in returned, timing == "to_fund")


# -- one snapshot for several processes -------------------------------------------------------------------

class Shared:
    """Where worker processes read the snapshot the parent reads (see ``shared``)."""

    def __init__(self, processes: int, url: str | None = None):
        self.processes, self.url, self.snapshot_id = processes, url, None

    def export(self) -> None:
        """Inside the parent's snapshot transaction: let the workers join it (PostgreSQL)."""
        if self.processes > 1 and is_postgres():
            self.snapshot_id = database.execute_sql("SELECT pg_export_snapshot()").fetchone()[0]

    def join(self) -> None:
        """In a worker: a connection of its own to the parent's snapshot."""
        if self.url is None:
            return
        db = open_database(self.url)  # the inherited connection belongs to the parent: never touched here
        db.connect()
        if self.snapshot_id:
            db.execute_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            db.execute_sql("SET TRANSACTION SNAPSHOT %s", (self.snapshot_id,))


@contextmanager
def shared(processes: int, folder: Path) -> Iterator[Shared]:
    """One snapshot for all processes: SQLite is copied into ``folder`` with the online backup API and
    everyone, this process too, reads the copy; PostgreSQL exports the parent's snapshot
    (``Shared.export``). With one process, nothing is needed."""
    if processes <= 1:
        yield Shared(1)
        return
    if database.in_transaction():
        raise XfjyError("多进程生成需要已提交的数据（当前连接有未提交的事务）")
    if is_postgres():
        yield Shared(processes, database_url())
        return
    copy = Path(folder) / "snapshot.sqlite3"
    target = sqlite3.connect(copy)
    database.connection().backup(target)
    target.close()
    previous = database.obj
    url = f"sqlite:///{copy}"
    open_database(url).connect()
    try:
        yield Shared(processes, url)
    finally:
        database.close()
        database.initialize(previous)


__all__ = ["prepare", "read", "details", "gifts", "shared", "Shared", "returned_donations", "REGION_CODE"]
