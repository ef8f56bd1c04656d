"""What may be deleted. Nothing that money has touched: deleting it would erase part of the ledger's
story (Flask-Admin's peewee delete is recursive and would take donations with it)."""
from __future__ import annotations

from .models import (
    Account,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    FundSpending,
    MatchingRule,
    Project,
    SupervisionOpinion,
    User,
    Village,
    Volunteer,
)


def deletion_blocker(obj) -> str | None:
    """Why ``obj`` may not be deleted, or None if it may."""
    if isinstance(obj, (Entry, Account)):
        return "记账分录和账户不能删除，更正请使用冲正"
    if isinstance(obj, Village):
        if obj.projects.exists():
            return "该村社已有项目，不能删除"
        if Entry.select().join(Account, on=(Entry.to_account == Account.id)).where(Account.area == obj.area_id).exists():
            return "该村社的互助基金已有资金往来，不能删除"
        if obj.volunteers.exists():
            return "该村社已登记志愿者，不能删除"
        if obj.admission_steps.exists():
            return "该村社已有入选审核记录（决策记录须保留），不能删除"
        return None
    if isinstance(obj, Project):
        if obj.entries.exists() or obj.donations.exists():
            return "该项目已有捐赠或资金往来，不能删除"
        if obj.state != "draft" or obj.reviews.exists():
            return "已提交审核的项目不能删除，可退回修改"
        if obj.opinions.exists():
            return "该项目已有监管会监督意见（须保留），不能删除"
        return None
    if isinstance(obj, FundSpending):
        return "已入账的互助基金支出不能删除，更正请使用冲正"
    if isinstance(obj, (Donation, Expenditure)):
        return "已入账的记录不能删除，更正请使用冲正" if obj.entries.exists() else None
    if isinstance(obj, MatchingRule):
        return "该规则已有配捐记录，不能删除，可停用" if obj.entries.exists() else None
    if isinstance(obj, Disclosure):
        return "公示发布后不能删除，如有错误请发布更正"
    if isinstance(obj, SupervisionOpinion):
        return "监督意见提交后不能删除，如有错误请提交新的意见更正"
    if isinstance(obj, Evaluation):
        return "已结项项目的验收评估（决策记录须保留）不能删除" if obj.project.state == "closed" else None
    if isinstance(obj, Volunteer):
        return "该志愿者已有服务记录，不能删除" if obj.services.exists() else None
    if isinstance(obj, User):
        return "用户不能删除，请停用账号"
    return None
