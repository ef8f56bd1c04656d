"""配捐 and 以奖代补: each federation's pool, funded from a named source, and the rules that pay
out of it to a village (配捐 to the project, 以奖代补 to the 互助基金), previewed before posting."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .areas import federation_name, is_federation
from .database import write_transaction
from .errors import LedgerError
from .jurisdiction import covers, may_write, require_write
from .ledger import balance, fund_account, lock_account, pool_account, post, project_account, signed_sum, sponsor_account
from .models import Area, Entry, MatchingRule, Project, Role
from .money import format_fen
from .totals import project_raised
from .workflow import MATCHABLE_STATES


@dataclass
class MatchingPreview:
    rule: MatchingRule
    project: Project
    raised: int
    already: int
    cap: int
    pool: int
    amount: int
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem and self.amount > 0


def matching_amount(rule: MatchingRule, raised: int, *, for_project: int = 0, for_village: int = 0) -> int:
    """The rule itself: ratio × raised, less what the project already had from it, within what the
    per-village cap leaves after the village's earlier projects (``for_village`` includes this one)."""
    due = raised * rule.ratio_bp // 10000 - for_project
    return max(min(due, rule.cap - for_village), 0)


def matching_preview(rule: MatchingRule, project: Project) -> MatchingPreview:
    """What the rule would give this village now, and whether the pool and the project allow it."""
    raised = project_raised(project)
    village_projects = Project.select(Project.id).where(Project.village == project.village_id)
    already = signed_sum(Entry.select().where((Entry.rule == rule) & Entry.project.in_(village_projects)))
    for_project = signed_sum(Entry.select().where((Entry.rule == rule) & (Entry.project == project)))
    amount = matching_amount(rule, raised, for_project=for_project, for_village=already)
    pool = balance(pool_account(rule.area))
    preview = MatchingPreview(rule, project, raised, already, rule.cap, pool, amount)
    if not rule.active:
        preview.problem = "该规则已停用"
    elif project.state not in MATCHABLE_STATES:
        preview.problem = "项目当前状态不能配捐"
    elif not rule.area.contains(project.village.area):
        preview.problem = "该村社不在规则所属慈善总会的范围内"
    elif amount == 0:
        preview.problem = "按规则已无可配金额"
    elif amount > pool:
        preview.problem = f"资金池余额 {format_fen(pool)} 不足以支付 {format_fen(amount)}"
    return preview


def rules_of(actor):
    """The active rules the actor's own federation pays out (the system admin has none)."""
    if actor.role == Role.ADMIN or not may_write(actor):
        return MatchingRule.select().where(False)
    return MatchingRule.select().where((MatchingRule.area == actor.area_id) & MatchingRule.active)


def check_rule(rule: MatchingRule, actor=None) -> None:
    """A rule belongs to a federation (自治区, 盟市 or 旗县市区) within the actor's jurisdiction."""
    area = rule.area
    if not is_federation(area):
        raise LedgerError(f"{area.name}不是慈善总会所在的自治区、盟市或旗县市区，请选择本级慈善总会")
    if actor is not None and not covers(actor, area):
        raise LedgerError(f"{area.name}不在您的管辖范围内，请选择{actor.area.name}")
    if rule.kind not in MatchingRule.KINDS:
        raise LedgerError("规则类型应为 配捐 或 以奖代补")
    if not (rule.name or "").strip():
        raise LedgerError("规则名称不能为空")
    if not isinstance(rule.ratio_bp, int) or not 0 < rule.ratio_bp <= 10000:
        raise LedgerError("比例应在 1 到 10000 之间（以万分之一计：1000 即 10%）")
    if not isinstance(rule.cap, int) or rule.cap <= 0:
        raise LedgerError("每村上限必须大于零")


def post_matching(rule: MatchingRule, project: Project, actor, expected: int | None = None) -> Entry:
    """Post what the preview showed. ``expected`` guards against the numbers moving in between."""
    require_write(actor)
    if actor is not None and (actor.role == Role.ADMIN or actor.area_id != rule.area_id):  # as rules_of
        raise LedgerError(f"{MatchingRule.KINDS[rule.kind]}只能由{rule.area.name}慈善总会办理")
    with write_transaction():
        lock_account(pool_account(rule.area))
        preview = matching_preview(rule, project)
        if not preview.ok:
            raise LedgerError(preview.problem)
        if expected is not None and expected != preview.amount:
            raise LedgerError("金额已变化，请重新预览")
        target = project_account(project) if rule.kind == "matching" else fund_account(project.village)
        return post(rule.kind, pool_account(rule.area), target, preview.amount, actor=actor, project=project,
                    rule=rule, memo=f"{rule.name}：已筹 {format_fen(preview.raised)} × {rule.ratio_bp / 100:g}%")


POOL_SOURCES = ("本级配套资金", "企业定向捐赠", "社会组织捐赠", "上级慈善总会拨入", "其他定向资金")


def fund_pool(area: Area, amount: int, sponsor: str, actor=None, on: dt.date | None = None) -> Entry:
    """Money a federation puts into its 配捐 / 以奖代补 pool, with its source named (本级配套资金,
    企业定向捐赠, …): the open data's ledger shows each such entry."""
    require_write(actor)
    sponsor = " ".join((sponsor or "").split())
    if not sponsor:
        raise LedgerError("请填写资金来源，如 本级配套资金、企业定向捐赠（可写明企业名称）")
    if len(sponsor) > 100:
        raise LedgerError("资金来源最多 100 个字")
    if not is_federation(area):
        raise LedgerError(f"{area.name}不是慈善总会所在的自治区、盟市或旗县市区")
    if actor is not None and actor.role != Role.ADMIN and actor.area_id != area.id:
        raise LedgerError("只能为本级慈善总会的资金池入账")
    return post("pool_funding", sponsor_account(sponsor), pool_account(area), amount, actor=actor,
                memo=f"{sponsor} 注入 {federation_name(area)}配捐资金池", booked_on=on)


def pool_entries(area: Area):
    """The entries into and out of a federation's pool, newest first."""
    pool = pool_account(area)
    return Entry.select().where((Entry.to_account == pool) | (Entry.from_account == pool)).order_by(Entry.id.desc())
