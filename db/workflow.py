"""Review chains as state machines: a village's admission and a project's life (附件2).

A step is allowed by the current state and by the acting user's level, within their area; every step
is recorded with reviewer, unit, opinion, decision and date, and written to the audit log.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import audit
from .clock import now
from .database import is_postgres, write_transaction
from .errors import TransitionError, XfjyError
from .jurisdiction import area_of, covers, may_write, require_write
from .models import AdmissionStep, Level, Project, ProjectReview, Role, SupervisoryMember, Village
from .totals import passed_down, project_raised, project_totals

AUTOMATIC = ("start_disbursing", "funds_arrived")
SYSTEM = None  # a step the system takes (deadline passed, money arrived); also open to federation staff


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str
    level: int | None
    label: str
    decision: str = "approve"


class Machine:
    def __init__(self, name: str, states: dict[str, str], transitions: list[Transition]):
        self.name, self.states = name, states
        self.transitions = {(t.source, t.action): t for t in transitions}

    def label(self, state: str) -> str:
        return self.states.get(state, state)

    def available(self, state: str, actor=None) -> list[Transition]:
        """The steps this actor could take from ``state`` (what the admin shows as buttons).

        Steps that follow from the ledger (money leaving 中华慈善总会, money arriving at the village)
        happen when the money moves, so they are never offered as buttons."""
        return [t for (s, _), t in self.transitions.items()
                if s == state and _level_allows(t, actor) and t.action not in AUTOMATIC]

    def find(self, state: str, action: str, actor) -> Transition:
        transition = self.transitions.get((state, action))
        if transition is None:
            raise TransitionError(f"{self.name}当前为「{self.label(state)}」，不能执行「{action}」")
        if not _level_allows(transition, actor):
            who = Level.NAMES.get(transition.level, "系统或上级慈善总会")
            raise TransitionError(f"「{transition.label}」只能由{who}办理")
        return transition


def _level_allows(transition: Transition, actor) -> bool:
    if actor is None:
        return transition.level is SYSTEM
    if actor.role == Role.ADMIN or not may_write(actor):
        return False
    if transition.level is SYSTEM:
        return actor.level <= Level.COUNTY
    return actor.level == transition.level


def _review(level: int, source: str, target: str, label: str, rejected_to: str = "draft"):
    return [
        Transition("approve", source, target, level, label),
        Transition("reject", source, rejected_to, level, "退回修改", "reject"),
    ]


PROJECT = Machine(
    "项目",
    {
        "draft": "草稿",
        "township_review": "待街道/镇初审",
        "county_review": "待旗县市区审核",
        "prefecture_filing": "待盟市备案",
        "region_approval": "待自治区审批",
        "fundraising": "募捐中",
        "target_reached": "目标达成",
        "target_missed": "期满未达成",
        "use_applied": "使用申请",
        "disbursing": "拨付中",
        "implementing": "实施中",
        "acceptance": "验收",
        "closed": "结项",
    },
    [
        Transition("submit", "draft", "township_review", Level.VILLAGE, "提交申报", "submit"),
        *_review(Level.TOWNSHIP, "township_review", "county_review", "街道/镇初审通过"),
        *_review(Level.COUNTY, "county_review", "prefecture_filing", "旗县市区慈善总会审核通过"),
        *_review(Level.PREFECTURE, "prefecture_filing", "region_approval", "盟市慈善总会备案"),
        *_review(Level.REGION, "region_approval", "fundraising", "自治区慈善总会审批通过，发布募捐"),
        Transition("reach_target", "fundraising", "target_reached", SYSTEM, "募捐目标达成", "record"),
        Transition("expire", "fundraising", "target_missed", SYSTEM, "募集期满未达成目标", "record"),
        Transition("apply_use", "target_reached", "use_applied", Level.VILLAGE, "提出善款使用申请", "submit"),
        Transition("start_disbursing", "use_applied", "disbursing", SYSTEM, "开始逐级拨付", "record"),
        Transition("funds_arrived", "disbursing", "implementing", SYSTEM, "善款拨付到村社", "record"),
        Transition("request_acceptance", "implementing", "acceptance", Level.VILLAGE, "申请验收", "submit"),
        *_review(Level.COUNTY, "acceptance", "closed", "验收通过，结项（结余转入互助基金）", rejected_to="implementing"),
        Transition("close", "target_missed", "closed", Level.COUNTY, "结项，已筹善款转入互助基金", "approve"),
    ],
)

# The states in which a project may do a thing, named once: every module asks here.
REVIEW_STATES = ("township_review", "county_review", "prefecture_filing", "region_approval")
UNPUBLISHED_STATES = ("draft", *REVIEW_STATES)
PUBLISHED_STATES = tuple(s for s in PROJECT.states if s not in UNPUBLISHED_STATES)  # on the site, with a calendar
OPEN_STATES = tuple(s for s in PROJECT.states if s != "closed")
RECEIVING_STATES = ("fundraising", "target_reached")  # gifts in other published states are late (db.donations)
FUNDRAISING_OVER = tuple(s for s in PUBLISHED_STATES if s != "fundraising")
REACHED_STATES = tuple(s for s in FUNDRAISING_OVER if s != "target_missed")
MATCHABLE_STATES = ("fundraising", "target_reached", "use_applied", "disbursing", "implementing")
DISBURSING_STATES = ("use_applied", "disbursing")
SPENDING_STATES = ("implementing", "acceptance")
ARRIVED_STATES = (*SPENDING_STATES, "closed")  # the money has reached the village
EVALUABLE_STATES = ("acceptance", "closed")

ADMISSION = Machine(
    "村社入选",
    {
        "draft": "未申请",
        "applied": "待街道/镇意见",
        "township_agreed": "待旗县市区审批",
        "county_approved": "待盟市备案",
        "filed": "已备案",
        "established": "互助基金已设立",
    },
    [
        Transition("apply", "draft", "applied", Level.VILLAGE, "村社提出申请", "submit"),
        *_review(Level.TOWNSHIP, "applied", "township_agreed", "街道/镇同意上报"),
        *_review(Level.COUNTY, "township_agreed", "county_approved", "旗县市区慈善总会审批同意"),
        *_review(Level.PREFECTURE, "county_approved", "filed", "盟市慈善总会备案"),
        Transition("establish_fund", "filed", "established", Level.VILLAGE, "成立监管会并设立互助基金", "record"),
    ],
)

MIN_SUPERVISORS = 3


def _step_fields(actor, opinion: str, transition: Transition, on: dt.datetime | None):
    if transition.decision == "reject" and not opinion.strip():
        raise TransitionError("退回时必须填写意见")
    return dict(
        action=transition.action,
        from_state=transition.source,
        to_state=transition.target,
        decision=transition.decision,
        user=actor.id if actor is not None and getattr(actor, "id", None) else None,
        person=(getattr(actor, "display_name", "") or getattr(actor, "username", "")) if actor else "系统",
        unit=getattr(actor, "unit", "") if actor else "",
        opinion=opinion.strip(),
        at=on or now(),
    )


def _check_area(actor, obj) -> None:
    if actor is not None and not covers(actor, area_of(obj)):
        raise TransitionError("该记录不在您的管辖范围内")


def lock_project(project_id: int) -> Project:
    """The project's row, held until the transaction ends (SQLite's write transaction holds it already),
    read again after the lock: what a step checks is what it changes."""
    if is_postgres():
        Project.select(Project.id).where(Project.id == project_id).for_update().execute()
    return Project.get_by_id(project_id)


def advance_project(project: Project, action: str, actor, opinion: str = "", *, on: dt.datetime | None = None,
                    raised: int | None = None, expected_state: str | None = None, settle=None) -> ProjectReview:
    """Take one step of the project's review chain and record it. ``expected_state`` is the state the
    user saw: a second click on the same button finds the step already taken and says by whom.

    A step that closes the project calls ``settle(project, actor, on=date)`` in the same transaction
    (``db.settlement.settle_remaining``: what any level still holds goes to the 互助基金)."""
    require_write(actor)
    given = project
    with write_transaction():
        project = lock_project(project.id)
        if expected_state is not None and project.state != expected_state:
            last = project.reviews.order_by(ProjectReview.id.desc()).first()
            who = f"由{last.person}（{last.unit}）" if last is not None and last.person else ""
            raise TransitionError(f"该步骤已{who}办理，项目当前为「{PROJECT.label(project.state)}」，请刷新页面")
        transition = PROJECT.find(project.state, action, actor)
        _check_area(actor, project)
        _check_project_step(project, transition, on, raised)
        if transition.target == "closed" and settle is None:
            raise ValueError("closing a project needs settle=db.settlement.settle_remaining")
        before = audit.snapshot(project)
        step = ProjectReview.create(project=project, **_step_fields(actor, opinion, transition, on))
        Project.update(state=transition.target, updated_at=now()).where(Project.id == project.id).execute()
        project.state = given.state = transition.target
        if transition.target == "closed":
            step.settled = settle(project, actor, on=on.date() if on else None)  # what moved, for the message
        audit.record(actor, "transition", project, before=before,
                     summary=f"{project.name}：{transition.label}（{PROJECT.label(transition.target)}）")
    return step


def _check_project_step(project: Project, transition: Transition, on, raised) -> None:
    if transition.action == "submit":
        village = project.village
        if village.admission_state != "established":
            raise TransitionError(f"{village.full_name}尚未设立互助基金，不能申报项目")
        check_project(project)
        others = Project.select().where(
            (Project.village == village) & (Project.id != project.id) & (Project.state.in_(OPEN_STATES))
            & (Project.state != "draft")
        )
        if others.exists():
            raise TransitionError(f"{village.full_name}已有未结项的项目，原则上每个村社只申报一个项目")
    if transition.action in ("reach_target", "expire"):
        raised = project_raised(project) if raised is None else raised
        if transition.action == "reach_target" and raised < project.target:
            raise TransitionError("已筹善款尚未达到募集目标")
        if transition.action == "expire":
            today = (on or now()).date()
            if today <= project.ends_on:
                raise TransitionError(f"募集期限至 {project.ends_on:%Y-%m-%d}，尚未期满")
            if raised >= project.target:
                raise TransitionError("已筹善款已达到目标，应记为目标达成")
    if transition.action in AUTOMATIC:
        if transition.action == "start_disbursing" and passed_down(project) <= 0:
            raise TransitionError("中华慈善总会尚未拨付，不能标记为拨付中")
        if transition.action == "funds_arrived" and project_totals(project).disbursed <= 0:
            raise TransitionError("善款尚未拨付到村社，不能标记为实施中")


def check_project(project: Project) -> list[str]:
    """Refuse what the form cannot hold; return warnings the reviewers should see (over one year)."""
    if not project.name.strip():
        raise XfjyError("项目名称不能为空")
    if project.target is None or project.target <= 0:
        raise XfjyError("善款募集目标必须大于零")
    if project.ends_on < project.starts_on:
        raise XfjyError("募集期限的结束日期早于开始日期")
    warnings = []
    if project.over_one_year:
        warnings.append("项目期限超过一年（原则上一年内完成），请审核时注意")
    return warnings


ALWAYS_EDITABLE = ("donation_url",)  # not on the 附件2 form: set once the platform page exists


def check_editable(project: Project, fields=()) -> None:
    """The 附件2 form is edited only as a draft; once submitted, reviewers see what they approve.
    ``fields`` names what the edit changes (all of the form when empty)."""
    if project.state != "draft" and (not fields or set(fields) - set(ALWAYS_EDITABLE)):
        raise XfjyError("已提交审核的项目不能修改申报内容；如需修改请先退回")


def open_project_of(village: Village) -> Project | None:
    return village.projects.where(Project.state.in_(OPEN_STATES)).order_by(Project.id.desc()).first()


def advance_village(village: Village, action: str, actor, opinion: str = "", *,
                    on: dt.datetime | None = None) -> AdmissionStep:
    """Take one step of the admission chain: 村社申请 → 街道/镇 → 旗县市区审批 → 盟市备案 → 设立基金."""
    require_write(actor)
    given = village
    with write_transaction():
        village = Village.get_by_id(village.id)
        transition = ADMISSION.find(village.admission_state, action, actor)
        _check_area(actor, village)
        changes = {Village.admission_state: transition.target}
        if action == "establish_fund":
            members = village.supervisors.count()
            if members < MIN_SUPERVISORS:
                raise TransitionError(f"监管会至少需要 {MIN_SUPERVISORS} 名成员，目前 {members} 名")
            changes[Village.fund_established_on] = (on or now()).date()
        before = audit.snapshot(village)
        step = AdmissionStep.create(village=village, **_step_fields(actor, opinion, transition, on))
        Village.update(changes).where(Village.id == village.id).execute()
        fresh = Village.get_by_id(village.id)
        given.admission_state, given.fund_established_on = fresh.admission_state, fresh.fund_established_on
        audit.record(actor, "transition", fresh, before=before, summary=f"{village.full_name}：{transition.label}")
    return step


def add_supervisor(village: Village, name: str, title: str, actor, phone: str = "",
                   joined_on: dt.date | None = None) -> SupervisoryMember:
    require_write(actor)
    _check_area(actor, village)
    if not name.strip():
        raise XfjyError("监管会成员姓名不能为空")
    member = SupervisoryMember.create(village=village, name=name.strip(), title=title, phone=phone,
                                      joined_on=joined_on)
    audit.record(actor, "create", member, summary=f"{village.full_name}监管会增加成员 {name}")
    return member
