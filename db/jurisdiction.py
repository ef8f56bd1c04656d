"""Who may see and touch what: every query the admin or a command runs for a user goes through here."""
from __future__ import annotations

from peewee import ModelSelect

from .errors import JurisdictionError
from .models import (
    Account,
    AdmissionStep,
    Area,
    Attachment,
    AuditLog,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    FundSpending,
    ImportRun,
    MatchingRule,
    Milestone,
    MilestoneReview,
    Project,
    ProjectReview,
    Role,
    SampleDraw,
    SampleItem,
    ServiceRecord,
    SupervisionOpinion,
    SupervisoryMember,
    Training,
    User,
    Village,
    Volunteer,
)

# Each model and the foreign key through which it belongs to something already scoped.
_PARENTS = {
    Village: ("area", Area),
    Project: ("village", Village),
    Donation: ("project", Project),
    Expenditure: ("project", Project),
    FundSpending: ("village", Village),
    Disclosure: ("project", Project),
    SupervisionOpinion: ("project", Project),
    Evaluation: ("project", Project),
    ProjectReview: ("project", Project),
    AdmissionStep: ("village", Village),
    SupervisoryMember: ("village", Village),
    Volunteer: ("village", Village),
    ServiceRecord: ("volunteer", Volunteer),
    User: ("area", Area),
    MatchingRule: ("area", Area),
    Milestone: ("area", Area),
    MilestoneReview: ("milestone", Milestone),
    Training: ("milestone", Milestone),
    SampleDraw: ("area", Area),  # the region's or a 盟市's: seen from that area and above
    SampleItem: ("project", Project),  # so a 旗县市区 reaches the sampled projects it evaluates
}


def sees_everything(actor) -> bool:
    return actor is None or actor.role == Role.ADMIN


def covers(actor, area: Area) -> bool:
    """True if ``area`` lies within what ``actor`` acts for."""
    return sees_everything(actor) or area.path.startswith(actor.area.path)


READ_ONLY = "审计/检查人员和监管会成员只能查看，不能新建、修改或删除任何记录"

# What a read-only role may still write: its own sign-ins, the log of what it looked at, and, for a
# 监管会成员, its 监督意见.
_READ_ONLY_ACTIONS = {Role.AUDITOR: frozenset({"login", "login_failed", "view", "export"}),
                      Role.SUPERVISOR: frozenset({"login", "login_failed", "view", "opinion"})}


def may_write(actor) -> bool:
    """False for the read-only roles (auditor, supervisor): every domain write asks this
    (``require_write``), and the admin's buttons and grids ask the same."""
    return actor is None or actor.role not in Role.READ_ONLY


def require_write(actor) -> None:
    if not may_write(actor):
        raise JurisdictionError(READ_ONLY)


def may_record(actor, action: str) -> bool:
    """Whether ``actor`` may cause an audited ``action``: the backstop below every write, since every
    write is audited in its own transaction (``db.audit.record``)."""
    return may_write(actor) or action in _READ_ONLY_ACTIONS.get(actor.role, ())


def logs_views(actor) -> bool:
    """An auditor's every page view is kept in the audit log."""
    return actor is not None and actor.role == Role.AUDITOR


def require(actor, area: Area, what: str = "该记录") -> None:
    if not covers(actor, area):
        raise JurisdictionError(f"{what}不在您的管辖范围内")


# Models whose every row hangs below a village: an actor whose area holds every village sees them all.
_BELOW_VILLAGES = (Village, Project, Donation, Expenditure, FundSpending, Disclosure, Evaluation, ProjectReview, AdmissionStep,
                   SupervisoryMember, Volunteer, ServiceRecord, SupervisionOpinion, SampleItem)


def scoped(query: ModelSelect, actor) -> ModelSelect:
    """Restrict a select of any domain model to the rows under the actor's area."""
    if sees_everything(actor):
        return query
    if query.model in _BELOW_VILLAGES and holds_every_village(actor.area):
        return query  # the condition would be true of every row; without it, filters can use their indexes
    return query.where(condition(query.model, actor))


def holds_every_village(area: Area) -> bool:
    """True when no village lies outside ``area`` (the region, today)."""
    outside = Village.select(Village.id).join(Area).where(~Area.path.startswith(area.path))
    return not outside.exists()


def condition(model, actor):
    """The WHERE clause that keeps ``model`` rows inside the actor's area (subqueries, not joins,
    so it composes with whatever the caller has joined)."""
    if model is Area:
        return Area.path.startswith(actor.area.path)
    if model is Attachment:
        return (Attachment.expenditure.in_(_ids(Expenditure, actor)) | Attachment.disclosure.in_(_ids(Disclosure, actor))
                | Attachment.fund_spending.in_(_ids(FundSpending, actor))
                | Attachment.milestone.in_(_ids(Milestone, actor)) | Attachment.training.in_(_ids(Training, actor)))
    if model is Entry:
        accounts = Account.select(Account.id).where(Account.area.in_(_ids(Area, actor)))
        return Entry.project.in_(_ids(Project, actor)) | (
            Entry.project.is_null() & (Entry.from_account.in_(accounts) | Entry.to_account.in_(accounts)))
    if model in (AuditLog, ImportRun):
        return model.user == actor.id
    if model not in _PARENTS:
        raise JurisdictionError(f"未定义 {model.__name__} 的管辖范围")
    field_name, parent = _PARENTS[model]
    return getattr(model, field_name).in_(_ids(parent, actor))


def _ids(model, actor):
    return model.select(model.id).where(condition(model, actor))


def area_of(obj) -> Area:
    """The area that decides jurisdiction over ``obj``."""
    if isinstance(obj, Area):
        return obj
    if isinstance(obj, Village):
        return obj.area
    if isinstance(obj, (Project,)):
        return obj.village.area
    for attr in ("project", "village", "volunteer", "expenditure", "disclosure", "fund_spending", "milestone",
                 "training"):
        if getattr(obj, f"{attr}_id", None) is not None:
            return area_of(getattr(obj, attr))
    if isinstance(obj, (User, MatchingRule, Milestone, SampleDraw)):
        return obj.area
    if isinstance(obj, Entry):
        for acct in (obj.to_account, obj.from_account):
            if acct.area_id is not None:
                return acct.area
    raise JurisdictionError("无法判断该记录的管辖范围")


def get_scoped(model, actor, pk):
    """Fetch one row by primary key, as if it did not exist when it lies outside the actor's area."""
    row = scoped(model.select(), actor).where(model._meta.primary_key == pk).first()
    if row is None:
        raise JurisdictionError("记录不存在或不在您的管辖范围内")
    return row
