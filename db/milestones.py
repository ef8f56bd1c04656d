"""The programme's own steps (plan §4 实施步骤): every phase runs through the same four steps, each with a
due date, for every 盟市-level unit (the 12 盟市, 满洲里市 and 二连浩特市).

Steps (一) 实施方案, (二) 专项培训 and (四) 总结评估 are recorded by the unit and reviewed by the region
(同意 / 退回 with an opinion, as the other review chains). Step (三) 项目发起实施 is not typed by anyone: it
is the share of the unit's villages of that phase whose project reached 发布募捐 (the region's approval,
``fundraising`` in the project's review history) by the due date.

A step's status is read against a day: 已完成 once approved (or, for step 三, once every village has
launched), 逾期 when the due date has passed without that (unless it waits for the region's review),
进行中 when something is recorded, else 未开始.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from peewee import JOIN, Case, fn

from . import attachments, audit
from .clock import now, today
from .database import is_postgres, write_transaction
from .errors import JurisdictionError, XfjyError
from .jurisdiction import covers, require_write
from .models import (
    Area,
    Attachment,
    Batch,
    Level,
    Milestone,
    MilestoneReview,
    PhaseStep,
    Project,
    ProjectReview,
    Role,
    Training,
    Village,
)
from .workflow import Machine, Transition, _review, _step_fields

STEPS = {1: "制定实施方案", 2: "开展专项培训", 3: "项目发起实施", 4: "项目验收评估"}
NUMERALS = {1: "一", 2: "二", 3: "三", 4: "四"}
LAUNCH = 3  # computed from the projects' history, never recorded
RECORDED = (1, 2, 4)
DOCUMENTS = {1: "实施方案", 2: "培训材料", 4: "总结评估报告"}
STATUS = {"not_started": "未开始", "in_progress": "进行中", "done": "已完成", "overdue": "逾期"}
SOON = dt.timedelta(days=30)
MAX_TEXT = 2000

MILESTONE = Machine("实施步骤", {"draft": "填报中", "submitted": "待自治区审核", "returned": "已退回修改",
                              "approved": "自治区已同意"}, [
    Transition("submit", "draft", "submitted", Level.PREFECTURE, "报自治区审核"),
    Transition("submit", "returned", "submitted", Level.PREFECTURE, "报自治区审核"),
    *_review(Level.REGION, "submitted", "approved", "同意", rejected_to="returned"),
])
EDITABLE = ("draft", "returned")


# -- due dates ---------------------------------------------------------------------------------------

def default_due(starts_on: dt.date, ends_on: dt.date, step: int) -> dt.date:
    """The plan's dates for the pilot (begun 2023-02): 实施方案 by the end of April, 培训 by the end of May,
    projects launched by the end of June, 验收评估 by the phase's end. Later phases repeat the steps at the
    same distance from their own start."""
    if step == 4:
        return ends_on
    first = starts_on.replace(day=1)
    return first + relativedelta(months=step + 2) - dt.timedelta(days=1)


def ensure_dues(batch: Batch) -> None:
    """Give a phase the plan's due dates where it has none yet (the region's changes stay)."""
    for step in STEPS:
        PhaseStep.insert(batch=batch, step=step, due_on=default_due(batch.starts_on, batch.ends_on, step)) \
            .on_conflict_ignore().execute()


def dues(batch: Batch) -> dict[int, dt.date]:
    found = dict(PhaseStep.select(PhaseStep.step, PhaseStep.due_on).where(PhaseStep.batch == batch).tuples())
    return {step: found.get(step) or default_due(batch.starts_on, batch.ends_on, step) for step in STEPS}


def set_due(batch: Batch, step: int, due_on: dt.date, actor) -> PhaseStep:
    """The region moves a step's due date for a whole phase."""
    require_write(actor)
    if actor is not None and actor.role != Role.REGION:
        raise JurisdictionError("各阶段的完成时间由自治区慈善总会设定")
    if step not in STEPS:
        raise XfjyError(f"实施步骤应为 {'、'.join(STEPS.values())} 之一")
    if not batch.starts_on <= due_on <= batch.ends_on + relativedelta(years=1):
        raise XfjyError(f"{batch.name}阶段的完成时间应在 {batch.starts_on} 之后、阶段结束一年之内")
    with write_transaction():
        ensure_dues(batch)
        row = PhaseStep.get((PhaseStep.batch == batch) & (PhaseStep.step == step))
        before = audit.snapshot(row)
        row.due_on = due_on
        row.save()
        audit.record(actor, "update", row, before=before,
                     summary=f"{batch.name}「{STEPS[step]}」完成时间改为 {due_on:%Y-%m-%d}")
    return row


# -- who ---------------------------------------------------------------------------------------------

def units(within: Area | None = None):
    """The 盟市-level units (12 盟市, 满洲里市, 二连浩特市) within ``within``: a 旗县市区 holds none."""
    query = Area.select().where(Area.level == Level.PREFECTURE)
    if within is not None:
        query = query.where(Area.path.startswith(within.path))
    return query.order_by(Area.code)


def may_record(actor, unit: Area) -> bool:
    """A unit records its own steps: its 盟市慈善总会 (and the system)."""
    return actor is None or (actor.role == Role.PREFECTURE and actor.area_id == unit.id)


def may_review(actor, unit: Area) -> bool:
    return actor is not None and actor.role == Role.REGION and covers(actor, unit)


def may_see(actor, unit: Area) -> bool:
    """A unit sees its own steps, the region everyone's; a 旗县市区 or a village none."""
    return covers(actor, unit)


# -- recording ---------------------------------------------------------------------------------------

def _lock(milestone_id: int) -> Milestone:
    if is_postgres():
        Milestone.select(Milestone.id).where(Milestone.id == milestone_id).for_update().execute()
    return Milestone.get_by_id(milestone_id)


def _check_recorder(actor, unit: Area) -> None:
    require_write(actor)
    if unit.level != Level.PREFECTURE:
        raise XfjyError("实施步骤按盟市（含满洲里市、二连浩特市）填报")
    if not may_record(actor, unit):
        raise JurisdictionError(f"{unit.name}的实施步骤由{unit.name}慈善总会填报")


def _editable(milestone: Milestone) -> None:
    if milestone.state not in EDITABLE:
        raise XfjyError(f"「{STEPS[milestone.step]}」当前为「{MILESTONE.label(milestone.state)}」，不能再修改")


def record(batch: Batch, unit: Area, step: int, *, done_on: dt.date | None, summary: str = "",
           public: bool = False, actor=None, root=None, documents: list[tuple[str, bytes]] = ()) -> Milestone:
    """Create or change what ``unit`` recorded for a step, while it is with the unit (填报中 or 退回), with
    ``documents`` (name, bytes) added under ``root``: every file checked first, all or nothing."""
    _check_recorder(actor, unit)
    for name, data in documents:
        attachments.sniff(data, name, documents=True)
    if step == LAUNCH:
        raise XfjyError("「项目发起实施」由各试点村社项目的审批记录自动统计，无需填报")
    if step not in RECORDED:
        raise XfjyError(f"实施步骤应为 {'、'.join(STEPS[s] for s in RECORDED)} 之一")
    summary = (summary or "").strip()
    if len(summary) > MAX_TEXT:
        raise XfjyError(f"情况说明不超过 {MAX_TEXT} 字")
    if done_on is not None and done_on > today():
        raise XfjyError("完成日期不能晚于今天")
    if done_on is not None and done_on < batch.starts_on:
        raise XfjyError(f"完成日期不能早于{batch.name}阶段开始（{batch.starts_on}）")
    with write_transaction():
        Milestone.insert(batch=batch, area=unit, step=step, recorded_by=getattr(actor, "id", None)) \
            .on_conflict_ignore().execute()
        milestone = _lock(Milestone.get((Milestone.batch == batch) & (Milestone.area == unit)
                                        & (Milestone.step == step)).id)
        _editable(milestone)
        before = audit.snapshot(milestone)
        milestone.done_on, milestone.summary, milestone.public = done_on, summary, bool(public)
        milestone.recorded_by, milestone.recorded_at = getattr(actor, "id", None), now()
        milestone.save()
        audit.record(actor, "update", milestone, before=before,
                     summary=f"{unit.name}{batch.name}「{STEPS[step]}」填报")
        for name, data in documents:
            attachments.store(root, data, name, milestone=milestone, actor=actor, documents=True)
    return milestone


def add_document(root, milestone: Milestone, data: bytes, filename: str, actor=None) -> Attachment:
    """A document of the step (PDF, DOCX or XLSX), checked as receipts are (``attachments.sniff``)."""
    _check_recorder(actor, milestone.area)
    attachments.sniff(data, filename, documents=True)
    with write_transaction():
        milestone = _lock(milestone.id)
        _editable(milestone)
        return attachments.store(root, data, filename, milestone=milestone, actor=actor, documents=True)


def add_training(root, milestone: Milestone, *, held_on: dt.date, place: str, trainers: str, participants: int,
                 notes: str = "", photos: list[tuple[str, bytes]] = (), actor=None) -> Training:
    """One 专项培训 session of step (二), with its photos (PNG or JPEG, stored as pixels only)."""
    _check_recorder(actor, milestone.area)
    if milestone.step != 2:
        raise XfjyError("培训记录属于「开展专项培训」步骤")
    place, trainers = (place or "").strip(), (trainers or "").strip()
    if not place or not trainers:
        raise XfjyError("请填写培训地点和授课人")
    if not isinstance(participants, int) or participants < 1:
        raise XfjyError("参训人数应为正整数")
    if held_on > today():
        raise XfjyError("培训日期不能晚于今天")
    for name, data in photos:
        if attachments.sniff(data, name) == "application/pdf":
            raise XfjyError(f"文件「{name}」不是照片：培训照片应为 PNG 或 JPEG")
    with write_transaction():
        milestone = _lock(milestone.id)
        _editable(milestone)
        training = Training.create(milestone=milestone, held_on=held_on, place=place[:128], trainers=trainers[:256],
                                   participants=participants, notes=(notes or "").strip()[:MAX_TEXT],
                                   user=getattr(actor, "id", None))
        for name, data in photos:
            attachments.store(root, data, name, training=training, actor=actor)
        audit.record(actor, "create", training, summary=f"{milestone.area.name}培训记录：{held_on} {place}")
    return training


def documents(milestone: Milestone):
    return Attachment.select().where(Attachment.milestone == milestone).order_by(Attachment.id)


def trainings(milestone: Milestone):
    return Training.select().where(Training.milestone == milestone).order_by(Training.held_on, Training.id)


def _missing(milestone: Milestone) -> str:
    """What a step needs before the region can review it, or ''."""
    if milestone.done_on is None:
        return "请先填写完成日期"
    if milestone.step == 2 and not trainings(milestone).exists():
        return "请先登记至少一次培训"
    if milestone.step in (1, 4) and not documents(milestone).exists():
        return f"请先上传{DOCUMENTS[milestone.step]}"
    return ""


def advance(milestone: Milestone, action: str, actor, opinion: str = "", *,
            expected_state: str | None = None) -> MilestoneReview:
    """报自治区审核 by the unit, then 同意 or 退回 (with an opinion) by the region; each recorded like a
    project's review step. ``expected_state`` is what the user saw: a second click is refused."""
    require_write(actor)
    with write_transaction():
        milestone = _lock(milestone.id)
        if expected_state is not None and milestone.state != expected_state:
            raise XfjyError(f"该步骤已办理，当前为「{MILESTONE.label(milestone.state)}」，请刷新页面")
        transition = MILESTONE.find(milestone.state, action, actor)
        unit = milestone.area
        allowed = may_record(actor, unit) if action == "submit" else may_review(actor, unit)
        if not allowed:
            raise JurisdictionError(f"{unit.name}的实施步骤不在您的管辖范围内")
        if action == "submit" and (missing := _missing(milestone)):
            raise XfjyError(missing)
        if action == "approve" and milestone.done_on is None:
            raise XfjyError("尚未填写完成日期，不能同意")
        step = MilestoneReview.create(milestone=milestone, **_step_fields(actor, opinion, transition, None))
        before = audit.snapshot(milestone)
        milestone.state = transition.target
        milestone.save()
        audit.record(actor, "update", milestone, before=before,
                     summary=f"{unit.name}「{STEPS[milestone.step]}」：{transition.label}"
                             + (f"，意见：{step.opinion}" if step.opinion else ""))
    return step


# -- reading: the 盟市 × step board ------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    step: int
    due_on: dt.date
    status: str
    days_late: int = 0            # overdue: days since the due date; done: how late it was done
    done_on: dt.date | None = None
    state: str = ""               # the recorded step's review state ('' for none, and for step 三)
    milestone_id: int | None = None
    public: bool = False
    launched: int = 0             # step 三: villages launched by the due date ...
    villages: int = 0             # ... of the unit's villages of the phase

    @property
    def label(self) -> str:
        return STATUS[self.status]

    def describe(self, count_days: bool = True) -> str:
        """One phrase, as the admin says it; the public site (``count_days=False``) does not count the days
        of a step still overdue, so that its page changes only when the data does."""
        if self.status == "done":
            late = f"，逾期 {self.days_late} 天完成" if self.days_late else ""
            return f"{self.done_on:%Y-%m-%d} 完成{late}"
        if self.status == "overdue":
            return f"应于 {self.due_on:%Y-%m-%d} 前完成，" + (f"逾期 {self.days_late} 天" if count_days else "尚未完成")
        return f"截止 {self.due_on:%Y-%m-%d}" + ("，进行中" if self.status == "in_progress" else "")

    @property
    def share(self) -> str:
        return f"{self.launched}/{self.villages}" if self.villages else "—"


@dataclass(frozen=True)
class Row:
    unit: Area
    cells: tuple[Cell, ...]


def status_of(due_on: dt.date, done_on: dt.date | None, recorded: bool, on: dt.date,
              waiting: bool = False) -> tuple[str, int]:
    """The status and the days late of one step, read on day ``on``. A step with the region for review is
    in progress however late the review: the unit has done its part."""
    if done_on is not None:
        return "done", max((done_on - due_on).days, 0)
    if on > due_on and not waiting:
        return "overdue", (on - due_on).days
    return ("in_progress" if recorded else "not_started"), 0


def first_launches(batch: Batch):
    """Per village of the phase, when its first project reached 发布募捐 (the region's approval): the one
    query behind step 三, as a subquery (``village_id``, ``at``)."""
    return (ProjectReview.select(Project.village.alias("village_id"), fn.MIN(ProjectReview.at).alias("at"))
            .join(Project).join(Village).where((ProjectReview.to_state == "fundraising") & (Village.batch == batch))
            .group_by(Project.village))


@dataclass(frozen=True)
class Launches:
    """Step 三 of one unit and phase: its villages, how many launched by ``on`` and by the due date, and the
    day of the last launch (by ``on``)."""
    villages: int = 0
    reached: int = 0
    by_due: int = 0
    last: dt.date | None = None


def launches(batch: Batch, due_on: dt.date, within: Area | None, on: dt.date) -> dict[int, Launches]:
    """Per unit id, step 三's counts for ``batch``, counted by the database (one row per unit, not per village:
    at 14,000 villages reading every village's first launch into Python cost the dashboard 100 ms)."""
    first = first_launches(batch).alias("first")
    by_on, by_due = on + dt.timedelta(days=1), min(on, due_on) + dt.timedelta(days=1)  # before midnight of the day
    at = first.c.at
    reached = Case(None, [(at < by_on, 1)], 0)
    query = (Village.select(Area.prefecture, fn.COUNT(Village.id), fn.SUM(reached),
                            fn.SUM(Case(None, [(at < by_due, 1)], 0)), fn.MAX(Case(None, [(at < by_on, at)], None)))
             .join(Area).switch(Village).join(first, JOIN.LEFT_OUTER, on=(first.c.village_id == Village.id))
             .where(Village.batch == batch).group_by(Area.prefecture))
    if within is not None:
        query = query.where(Area.path.startswith(within.path))
    return {unit_id: Launches(villages, int(got or 0), int(early or 0), _day(last) if last else None)
            for unit_id, villages, got, early, last in query.tuples()}


def village_launches(batch: Batch, unit: Area) -> list[tuple[Village, dt.date | None]]:
    """The unit's villages of the phase, each with the day it launched (or None), as step 三's page lists them."""
    first = {vid: _day(at) for vid, at in first_launches(batch).tuples()}
    villages = (Village.select(Village, Area).join(Area)
                .where((Village.batch == batch) & (Area.prefecture == unit)).order_by(Area.code))
    return [(v, first.get(v.id)) for v in villages]


def launch_cell(counts: Launches, due_on: dt.date, on: dt.date) -> Cell:
    """Step 三, from the review history: done when every village has launched (on the last one's day)."""
    done = counts.last if counts.villages and counts.reached == counts.villages else None
    status, late = status_of(due_on, done, counts.reached > 0, on)
    return Cell(LAUNCH, due_on, status, late, done, launched=counts.by_due, villages=counts.villages)


def board(batch: Batch, within: Area | None = None, on: dt.date | None = None) -> list[Row]:
    """Every unit within ``within`` (None: all) × the four steps of ``batch``, read on ``on``."""
    return boards(within, on, [batch])[batch.id]


def boards(within: Area | None = None, on: dt.date | None = None, batches=None) -> dict[int, list[Row]]:
    """``board`` of several phases (default: every one begun by ``on``), by phase id, with one query per table."""
    on = on or today()
    batches = list(Batch.select().where(Batch.starts_on <= on).order_by(Batch.starts_on) if batches is None else batches)
    ids = [b.id for b in batches]
    recorded = {(m.batch_id, m.area_id, m.step): m for m in Milestone.select().where(Milestone.batch.in_(ids))}
    unit_list = list(units(within))
    result = {}
    for batch in batches:
        due = dues(batch)
        counted = launches(batch, due[LAUNCH], within, on)
        rows = []
        for unit in unit_list:
            cells = []
            for step in STEPS:
                if step == LAUNCH:
                    cells.append(launch_cell(counted.get(unit.id, Launches()), due[step], on))
                    continue
                m = recorded.get((batch.id, unit.id, step))
                done = m.done_on if m is not None and m.state == "approved" else None
                status, late = status_of(due[step], done, m is not None, on, waiting=bool(m and m.state == "submitted"))
                cells.append(Cell(step, due[step], status, late, done, m.state if m else "", m.id if m else None,
                                  bool(m and m.public)))
            rows.append(Row(unit, tuple(cells)))
        result[batch.id] = rows
    return result


def current_batch(on: dt.date | None = None) -> Batch:
    """The latest phase begun by ``on`` (the first one before the programme began)."""
    on = on or today()
    begun = Batch.select().where(Batch.starts_on <= on).order_by(Batch.starts_on.desc()).first()
    return begun or Batch.select().order_by(Batch.starts_on).first()


def get(batch: Batch, unit: Area, step: int) -> Milestone | None:
    return Milestone.get_or_none((Milestone.batch == batch) & (Milestone.area == unit) & (Milestone.step == step))


@dataclass(frozen=True)
class Due:
    """One line of the to-do list: a step due soon or overdue, or waiting for the region's review."""
    batch: Batch
    unit: Area
    cell: Cell
    waiting_review: bool = False


def due_for(actor, on: dt.date | None = None) -> list[Due]:
    """What the actor's level must do: a unit's own steps due within 30 days or overdue; for the region,
    the steps waiting for its review and every unit's overdue ones."""
    on = on or today()
    if actor is None or actor.role not in (Role.PREFECTURE, Role.REGION):
        return []
    result = []
    batches = list(Batch.select().where(Batch.starts_on <= on).order_by(Batch.starts_on))
    by_phase = boards(actor.area, on, batches)
    for batch in batches:
        for row in by_phase[batch.id]:
            for cell in row.cells:
                waiting = cell.state == "submitted"
                if actor.role == Role.REGION and (waiting or cell.status == "overdue"):
                    result.append(Due(batch, row.unit, cell, waiting))
                elif actor.role == Role.PREFECTURE and cell.status != "done" and not waiting and (
                        cell.status == "overdue" or cell.due_on - on <= SOON):
                    result.append(Due(batch, row.unit, cell))
    return result


def _day(value) -> dt.date:
    if isinstance(value, str):
        return dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    return value.date() if isinstance(value, dt.datetime) else value
