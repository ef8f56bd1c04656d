"""The fund ledger: double-entry and append-only.

Every entry moves a positive number of fen from one account to another, so the sum of all balances
is zero by construction. Balances are sums of entries; nothing stores a balance. Internal accounts
(special, pass-through, pool, village project and fund) can never go below zero; external ones
(donors, sponsors, payees) are where money comes from and goes to. A posted entry is never changed:
a correction is a reversal entry with a reason, and an entry can be reversed once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, Case, IntegrityError, fn

from . import audit
from .areas import ancestors
from .bulk import insert_rows
from .database import database, is_postgres, write_transaction
from .errors import LedgerError, TransitionError
from .jurisdiction import covers, holds_every_village, scoped
from .models import Account, Area, Donation, Entry, Expenditure, Level, MatchingRule, Project, Role, Setting, Village
from .money import format_fen
from .public import account_label, federation
from .workflow import RECEIVING_STATES, REVIEW_STATES

DEFAULT_DISBURSEMENT_LEVELS = (Level.REGION, Level.PREFECTURE, Level.COUNTY)
NATION_CODE = "100000"
DONORS = "社会捐赠人"


# -- accounts -------------------------------------------------------------------------------------

def account(kind: str, area: Area | None = None, project: Project | None = None, name: str = "") -> Account:
    """The one account of that kind for that area/project/name, created on first use."""
    key = _key(kind, area, project, name)
    return Account.get_by_id(ensure_accounts([key])[key])


def _key(kind, area, project, name="") -> tuple:
    if kind not in Account.KINDS:
        raise LedgerError(f"未知的账户类型 {kind}")
    area_id = area.id if isinstance(area, Area) else area
    project_id = project.id if isinstance(project, Project) else project
    return (kind, area_id, project_id, name)


def ensure_accounts(keys) -> dict[tuple, int]:
    """Account ids for ``(kind, area_id, project_id, name)`` keys, creating the missing ones at once."""
    keys = list(dict.fromkeys(keys))
    by_text = {Account.key_for(*k): k for k in keys}
    found = {}
    texts = list(by_text)
    for start in range(0, len(texts), 500):
        chunk = texts[start:start + 500]
        found.update(Account.select(Account.key, Account.id).where(Account.key.in_(chunk)).tuples())
    missing = [t for t in texts if t not in found]
    for start in range(0, len(missing), 500):
        rows = [dict(key=t, kind=by_text[t][0], area=by_text[t][1], project=by_text[t][2], name=by_text[t][3])
                for t in missing[start:start + 500]]
        Account.insert_many(rows).on_conflict_ignore().execute()
        found.update(Account.select(Account.key, Account.id).where(
            Account.key.in_([r["key"] for r in rows])).tuples())
    return {by_text[t]: found[t] for t in texts}


def nation() -> Area:
    return Area.get(Area.code == NATION_CODE)


def donors_account() -> Account:
    return account("donors", name=DONORS)


def sponsor_account(name: str) -> Account:
    return account("sponsor", name=name.strip() or "爱心企业")


def payee_account(name: str) -> Account:
    if not name.strip():
        raise LedgerError("收款方不能为空")
    return account("payee", name=name.strip())


def special_account(project: Project) -> Account:
    """中华慈善总会's special account for this project: where online donations land."""
    return account("special", nation(), project)


def pass_through_account(area: Area, project: Project) -> Account:
    return account("pass_through", area, project)


def project_account(project: Project) -> Account:
    return account("project", project.village.area, project)


def fund_account(village: Village) -> Account:
    return account("fund", village.area)


def pool_account(area: Area) -> Account:
    return account("pool", area)


# -- balances -------------------------------------------------------------------------------------

def balance(acct: Account) -> int:
    incoming = Entry.select(fn.COALESCE(fn.SUM(Entry.amount), 0)).where(Entry.to_account == acct).scalar()
    outgoing = Entry.select(fn.COALESCE(fn.SUM(Entry.amount), 0)).where(Entry.from_account == acct).scalar()
    return int(incoming) - int(outgoing)


def balances(accounts) -> dict[int, int]:
    """Balances of many accounts in two queries."""
    ids = [a.id if isinstance(a, Account) else a for a in accounts]
    result = dict.fromkeys(ids, 0)
    if not ids:
        return result
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        rows = Entry.select(column, fn.SUM(Entry.amount)).where(column.in_(ids)).group_by(column).tuples()
        for account_id, total in rows:
            result[account_id] += sign * int(total)
    return result


def lock_account(acct: Account) -> None:
    """Hold the account until the transaction ends (SQLite already holds the write lock)."""
    if is_postgres():
        Account.select(Account.id).where(Account.id == acct.id).for_update().execute()


LEDGER_LOCK = 0x78666A79  # "xfjy": one PostgreSQL advisory lock for every posting transaction


def hold_ledger() -> None:
    """Serialize posting until the transaction ends, so entry ids follow commit order.

    SQLite already writes one transaction at a time; on PostgreSQL two postings could otherwise
    commit out of id order, and a checkpoint taken in between would miss the earlier id."""
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (LEDGER_LOCK,))


# -- posting --------------------------------------------------------------------------------------

def post(kind: str, source: Account, target: Account, amount: int, *, actor=None, project=None,
         donation=None, expenditure=None, rule=None, reverses=None, reason: str = "", memo: str = "",
         booked_on: dt.date | None = None) -> Entry:
    """Post one entry. Refuses non-integer or non-positive amounts and overdrafts."""
    if kind not in Entry.KINDS:
        raise LedgerError(f"未知的分录类型 {kind}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise LedgerError("金额必须是整数（分）")
    if amount <= 0:
        raise LedgerError("金额必须大于零")
    if source.id == target.id:
        raise LedgerError("转出与转入账户不能相同")
    with write_transaction():
        if not source.external:
            lock_account(source)
            available = balance(source)
            if available < amount:
                raise LedgerError(f"{_describe(source)}余额不足：可用 {format_fen(available)}，需要 {format_fen(amount)}")
        fields = dict(kind=kind, from_account=source, to_account=target, amount=amount, project=project,
                      donation=donation, expenditure=expenditure, rule=rule, reverses=reverses, reason=reason,
                      memo=memo[:256], user=actor.id if actor is not None and getattr(actor, "id", None) else None)
        if booked_on is not None:
            fields["booked_on"] = booked_on
        hold_ledger()
        try:
            with database.atomic():
                entry = Entry.create(**fields)
        except IntegrityError as exc:
            if reverses is not None:
                raise LedgerError("该分录已冲正，不能重复冲正") from exc
            raise
        audit.record(actor, "post", entry,
                     summary=f"{Entry.KINDS[kind]} {format_fen(amount)}：{_describe(source)} → {_describe(target)}")
    return entry


def _describe(acct: Account) -> str:
    parts = []
    if acct.area_id is not None and acct.kind not in ("special",):
        parts.append(acct.area.name)
    parts.append(str(acct))
    if acct.project_id is not None:
        parts.append(f"（{acct.project.name}）")
    return "".join(parts)


def reverse(entry: Entry, reason: str, actor=None) -> Entry:
    """Cancel an entry by a new one in the opposite direction; the original stays as it was."""
    if not reason or not reason.strip():
        raise LedgerError("冲正必须填写原因")
    if entry.reverses_id is not None:
        raise LedgerError("冲正分录不能再冲正，如需恢复请重新记账")
    if actor is not None:
        spending = ("expenditure", "fund_spending")
        if actor.role in (Role.ADMIN, Role.TOWNSHIP) or (actor.role == Role.VILLAGE and entry.kind not in spending):
            raise LedgerError("只有慈善总会可以冲正该分录（村社只能冲正本村的支出）")
        if not covers(actor, _area_of_entry(entry)):
            raise LedgerError("该分录不在您的管辖范围内")
    if Entry.select().where(Entry.reverses == entry).exists():
        raise LedgerError("该分录已冲正，不能重复冲正")
    if entry.kind == "donation" and entry.donation_id is not None and _standing(entry.donation, "refund"):
        raise LedgerError("该捐赠已退款，不能再冲正入账")
    return post(entry.kind, entry.to_account, entry.from_account, entry.amount, actor=actor,
                project=entry.project_id and entry.project, donation=entry.donation_id and entry.donation,
                expenditure=entry.expenditure_id and entry.expenditure, rule=entry.rule_id and entry.rule,
                reverses=entry, reason=reason.strip(), memo=f"冲正 #{entry.id}")


def _area_of_entry(entry: Entry) -> Area:
    """The village of a project's entry; otherwise the area of its internal account (fund, pool)."""
    if entry.project_id is not None:
        return entry.project.village.area
    for acct in (entry.from_account, entry.to_account):
        if acct.area_id is not None and not acct.external:
            return acct.area
    return nation()


# -- donations ------------------------------------------------------------------------------------

UNPUBLISHED_STATES = ("draft", *REVIEW_STATES)
LATE_TO_FUND = "项目结项后到账的捐赠转入村社互助基金"


def gift_timing(project: Project, donated_at: dt.datetime) -> str:
    """When a gift arrived against its project's fundraising (``Donation.TIMINGS``).

    The platform has already collected it, so it is always booked: after the project closed it goes
    on to the village's 互助基金, otherwise to the project (whose leftover goes there at closing)."""
    if project.state == "closed":
        return "to_fund"
    if project.state not in RECEIVING_STATES or donated_at.date() > project.ends_on:
        return "late"
    if donated_at.date() < project.starts_on:
        return "early"
    return ""


def receive_donation(donation: Donation, actor=None) -> Entry:
    with write_transaction():
        entry = post("donation", donors_account(), special_account(donation.project), donation.amount,
                     actor=actor, project=donation.project, donation=donation, memo=f"交易号 {donation.txn_no}",
                     booked_on=donation.donated_at.date())
        if donation.timing == "to_fund":
            post("to_fund", special_account(donation.project), fund_account(donation.project.village),
                 donation.amount, actor=actor, project=donation.project, donation=donation, memo=LATE_TO_FUND,
                 booked_on=donation.donated_at.date())
    return entry


def refund_donation(donation: Donation, reason: str, actor=None) -> Entry:
    """Return a donation to the donor from the special account (only while it is still there)."""
    if not reason.strip():
        raise LedgerError("退款必须填写原因")
    if actor is not None and not covers(actor, donation.project.village.area):
        raise LedgerError("该捐赠不在您的管辖范围内")
    special = special_account(donation.project)
    with write_transaction():
        lock_account(special)
        if _standing(donation, "refund"):
            raise LedgerError(f"交易号 {donation.txn_no} 已退款")
        if _standing(donation, "donation") != donation.amount:
            raise LedgerError(f"交易号 {donation.txn_no} 的入账已冲正，不能再退款")
        return post("refund", special, donors_account(), donation.amount, actor=actor, project=donation.project,
                    donation=donation, reason=reason.strip(), memo=f"退款 交易号 {donation.txn_no}")


def _standing(donation: Donation, kind: str) -> int:
    """Net amount of this donation's entries of ``kind`` still standing (reversals netted out)."""
    return _signed_sum(Entry.select().where((Entry.donation == donation) & (Entry.kind == kind)))


def _net(query) -> int:
    total = 0
    for entry in query:
        total += -entry.amount if entry.reverses_id else entry.amount
    return total


# -- matching (配捐) and rewards (以奖代补) ----------------------------------------------------------

MATCHABLE_STATES = ("fundraising", "target_reached", "use_applied", "disbursing", "implementing")


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


def matching_preview(rule: MatchingRule, project: Project) -> MatchingPreview:
    """What the rule would give this village now: ratio × raised, within the cap, from the pool."""
    from .totals import project_raised

    raised = project_raised(project)
    village_projects = Project.select(Project.id).where(Project.village == project.village_id)
    already = _signed_sum(Entry.select().where((Entry.rule == rule) & Entry.project.in_(village_projects)))
    for_project = _signed_sum(Entry.select().where((Entry.rule == rule) & (Entry.project == project)))
    due = raised * rule.ratio_bp // 10000 - for_project
    amount = max(min(due, rule.cap - already), 0)
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


def _signed_sum(query) -> int:
    expr = fn.SUM(Case(None, ((Entry.reverses.is_null(), Entry.amount),), Entry.amount * -1))
    return int(query.select(fn.COALESCE(expr, 0)).scalar() or 0)


def post_matching(rule: MatchingRule, project: Project, actor, expected: int | None = None) -> Entry:
    """Post what the preview showed. ``expected`` guards against the numbers moving in between."""
    if actor is not None and (actor.role == Role.ADMIN or actor.area_id != rule.area_id):
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


def federation_name(area: Area) -> str:
    return federation(area.name, area.level)


def is_federation(area: Area) -> bool:
    """自治区, 盟市 and 旗县市区 each have a charity federation (满洲里市 and 二连浩特市 sit at the 盟市 level)."""
    return area.level in DEFAULT_DISBURSEMENT_LEVELS


def pool_entries(area: Area):
    """The entries into and out of a federation's pool, newest first."""
    pool = pool_account(area)
    return Entry.select().where((Entry.to_account == pool) | (Entry.from_account == pool)).order_by(Entry.id.desc())


# -- disbursement down the levels ------------------------------------------------------------------

def disbursement_levels() -> tuple[int, ...]:
    """Which federation levels money passes through between 中华慈善总会 and the village."""
    row = Setting.get_or_none(Setting.key == "disbursement_levels")
    if row is None:
        return DEFAULT_DISBURSEMENT_LEVELS
    return tuple(int(x) for x in row.value.split(",") if x.strip())


def set_disbursement_levels(levels) -> None:
    levels = sorted({int(x) for x in levels})
    if any(x not in DEFAULT_DISBURSEMENT_LEVELS for x in levels):
        raise LedgerError("拨付层级只能是自治区、盟市、旗县市区")
    Setting.insert(key="disbursement_levels", value=",".join(map(str, levels))).on_conflict(
        conflict_target=[Setting.key], update={Setting.value: ",".join(map(str, levels))}).execute()


def disbursement_chain(project: Project) -> list[tuple[Area, Account]]:
    """中华慈善总会 → (configured levels) → the village's project account."""
    village_area = project.village.area
    nodes = []
    levels = disbursement_levels()
    for node in ancestors(village_area)[1:-1]:
        acting = {node.level} | ({Level.COUNTY} if node.county_id == node.id else set())
        if acting & set(levels) and node not in nodes:
            nodes.append(node)
    chain = [(nation(), special_account(project))]
    chain += [(node, pass_through_account(node, project)) for node in nodes]
    chain.append((village_area, project_account(project)))
    return chain


@dataclass
class Hop:
    source_area: Area
    source: Account
    target_area: Area
    target: Account
    amount: int


def next_hop(project: Project, actor) -> Hop:
    """The hop this actor's level would make now, and how much (previewed before posting)."""
    if project.state not in ("use_applied", "disbursing"):
        raise TransitionError("项目尚未提出使用申请，或已拨付完毕")
    chain = disbursement_chain(project)
    mine = [(a, acct, na, nacct) for (a, acct), (na, nacct) in zip(chain, chain[1:]) if _acts_for(actor, a, project)]
    if not mine:
        raise LedgerError("您所在的层级不在本项目的拨付链上")
    for area, acct, next_area, next_acct in mine:
        amount = _passable(acct, project, balance(acct))
        if amount > 0:
            return Hop(area, acct, next_area, next_acct, amount)
    raise LedgerError(f"{mine[0][0].name}暂无可拨付的善款")


def _passable(acct: Account, project: Project, held: int) -> int:
    """What a hop may move out of ``acct``: all it holds, but 中华慈善总会 passes down the target only
    (the surplus above it goes to the 互助基金)."""
    return min(held, project.target - _disbursed_from(acct)) if acct.kind == "special" else held


def _acts_for(actor, area: Area, project: Project) -> bool:
    """The sender of a hop is that level's federation; the region records 中华慈善总会's hop."""
    if actor is None:
        return True
    if actor.role in (Role.ADMIN, Role.VILLAGE, Role.TOWNSHIP) or not covers(actor, project.village.area):
        return False
    if area.code == NATION_CODE:
        return actor.role == Role.REGION
    return actor.area_id == area.id


def _disbursed_from(acct: Account) -> int:
    """Net amount passed down out of ``acct``: hops out, less the reversals of those hops."""
    hops = Entry.select().where((Entry.kind == "disbursement") & Entry.reverses.is_null())
    undone = Entry.select().where((Entry.kind == "disbursement") & Entry.reverses.is_null(False))
    out = hops.where(Entry.from_account == acct).select(fn.COALESCE(fn.SUM(Entry.amount), 0)).scalar()
    back = undone.where(Entry.to_account == acct).select(fn.COALESCE(fn.SUM(Entry.amount), 0)).scalar()
    return int(out) - int(back)


def disburse(project: Project, actor, expected: int | None = None, on: dt.date | None = None,
             source: int | None = None) -> Entry:
    """Pass the money one level down; moves the project to 拨付中 and, on arrival, to 实施中.

    ``expected`` and ``source`` (an account id) are what the user previewed: the hop is posted only if
    it is still that hop, so a form submitted twice posts once."""
    from .workflow import advance_project, lock_project

    with write_transaction():
        project = lock_project(project.id)
        try:
            hop = next_hop(project, actor)
        except (LedgerError, TransitionError) as exc:
            if source is not None:
                raise LedgerError("该笔拨付已办理，请刷新页面查看") from exc
            raise
        if source is not None and hop.source.id != source:
            raise LedgerError("该笔拨付已办理，请刷新页面查看下一步")
        if expected is not None and expected != hop.amount:
            raise LedgerError("金额已变化，请重新预览")
        entry = post("disbursement", hop.source, hop.target, hop.amount, actor=actor, project=project,
                     memo=f"{federation_name(hop.source_area)} → {hop.target_area.name}", booked_on=on)
        if project.state == "use_applied":
            advance_project(project, "start_disbursing", actor)
        if hop.target.kind == "project":
            advance_project(Project.get_by_id(project.id), "funds_arrived", actor)
    return entry


# -- the deadline: unmet or surplus money to the village fund ---------------------------------------

def settlement_amount(project: Project) -> int:
    """What moves to the 互助基金: everything if the target was missed, else the part above it."""
    special = balance(special_account(project))
    if project.state == "target_missed":
        return special + balance(project_account(project))
    remaining = project.target - _disbursed_from(special_account(project))
    return max(special - max(remaining, 0), 0)


def project_accounts(project: Project) -> list[Account]:
    """Every internal account that holds this project's money: 中华慈善总会's, each level's, the village's."""
    return [acct for _, acct in disbursement_chain(project)]


def unused(project: Project) -> int:
    """What the project's accounts still hold, at every level (nothing once it is closed)."""
    return sum(balances(project_accounts(project)).values())


def settle_remaining(project: Project, actor=None, on: dt.date | None = None) -> list[Entry]:
    """At closing: everything the project's accounts still hold goes to the village's 互助基金, one
    entry per account, in the caller's transaction (plan §3: 结余善款转入互助基金)."""
    fund = fund_account(project.village)
    entries = []
    with write_transaction():
        chain = project_accounts(project)
        for acct in chain:
            lock_account(acct)
        held = balances(chain)
        for acct in chain:
            if held[acct.id] > 0:
                where = account_label(acct.kind, acct.area.name, acct.area.level, acct.name)
                entries.append(post("to_fund", acct, fund, held[acct.id], actor=actor, project=project,
                                    memo=f"结项：{where}结余转入村社互助基金", booked_on=on))
    return entries


def settle_to_fund(project: Project, actor=None, on: dt.date | None = None) -> list[Entry]:
    from .clock import today

    if actor is not None and (actor.level > Level.COUNTY or actor.role == Role.ADMIN
                              or not covers(actor, project.village.area)):
        raise LedgerError("转入互助基金由旗县市区及以上慈善总会办理")
    if project.state != "target_missed" and (on or today()) <= project.ends_on:
        raise LedgerError(f"募集期限至 {project.ends_on:%Y-%m-%d}，期满后才能结转")
    if project.state in ("draft", *REVIEW_STATES, "fundraising"):
        raise LedgerError("项目尚未结束募捐，不能结转")
    fund = fund_account(project.village)
    entries = []
    with write_transaction():
        special = special_account(project)
        amount = settlement_amount(project)
        from_special = min(amount, balance(special))
        if from_special > 0:
            entries.append(post("to_fund", special, fund, from_special, actor=actor, project=project,
                                memo="未达成目标或超出目标部分转入村社互助基金", booked_on=on))
        rest = amount - from_special
        if rest > 0:
            entries.append(post("to_fund", project_account(project), fund, rest, actor=actor, project=project,
                                memo="未达成目标项目的配捐转入村社互助基金", booked_on=on))
    if not entries:
        raise LedgerError("没有需要结转的余款")
    return entries



def post_many(rows: list[dict], actor=None, check: bool = True) -> int:
    """Post many entries at once, in order, with the same rules as :func:`post`.

    Each row has ``kind``, ``from_account`` and ``to_account`` (ids), ``amount`` and optionally
    ``project``, ``donation``, ``expenditure``, ``rule``, ``memo``, ``booked_on``, ``posted_at``.
    Balances of internal accounts are checked as they would run, entry by entry.
    """
    if not rows:
        return 0
    from .clock import now

    stamp, user_id = now(), (actor.id if actor is not None and getattr(actor, "id", None) else None)
    for row in rows:
        amount = row["amount"]
        if row["kind"] not in Entry.KINDS:
            raise LedgerError(f"未知的分录类型 {row['kind']}")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise LedgerError(f"金额必须是正整数（分）：{amount!r}")
        if row["from_account"] == row["to_account"]:
            raise LedgerError("转出与转入账户不能相同")
        row.setdefault("posted_at", stamp)
        row.setdefault("booked_on", row["posted_at"].date())
        row.setdefault("user", user_id)
        row.setdefault("reason", "")
        row.setdefault("memo", "")
    with write_transaction():
        if check:
            _check_running_balances(rows)
        hold_ledger()
        insert_rows(Entry, ENTRY_COLUMNS, ([row.get(c) for c in ENTRY_COLUMNS] for row in rows))
    return len(rows)


ENTRY_COLUMNS = ("kind", "from_account", "to_account", "amount", "project", "donation", "expenditure", "rule",
                 "reverses", "reason", "memo", "user", "posted_at", "booked_on")


def _check_running_balances(rows: list[dict]) -> None:
    touched = {r["from_account"] for r in rows} | {r["to_account"] for r in rows}
    internal = set()
    for ids in _chunks(sorted(touched), 500):
        query = Account.select(Account.id).where(Account.id.in_(ids) & Account.kind.not_in(Account.EXTERNAL))
        internal.update(account_id for (account_id,) in query.tuples())
    sources = {r["from_account"] for r in rows} & internal
    if not sources:
        return
    if is_postgres():
        for ids in _chunks(sorted(sources), 500):
            Account.select(Account.id).where(Account.id.in_(ids)).order_by(Account.id).for_update().execute()
    running = {}
    for ids in _chunks(sorted(sources), 500):
        running.update(balances(ids))
    for row in rows:
        if row["from_account"] in running:
            running[row["from_account"]] -= row["amount"]
            if running[row["from_account"]] < 0:
                short = format_fen(-running[row["from_account"]])
                raise LedgerError(f"{_describe(Account.get_by_id(row['from_account']))}余额不足"
                                  f"（{Entry.KINDS[row['kind']]}，差 {short}）")
        if row["to_account"] in running:
            running[row["to_account"]] += row["amount"]


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def receive_donations_bulk(donations: list[tuple[int, int, int, str, dt.datetime]], actor=None,
                           to_fund: dict[int, int] | None = None) -> int:
    """Post many donations: ``(donation_id, project_id, amount, txn_no, donated_at)`` each. A donation
    whose project is in ``to_fund`` (project id → the village's area id) goes on to its 互助基金."""
    if not donations:
        return 0
    to_fund = to_fund or {}
    nation_id = nation().id
    keys = {project_id: ("special", nation_id, project_id, "") for project_id in {d[1] for d in donations}}
    funds = {project_id: ("fund", area_id, None, "") for project_id, area_id in to_fund.items()}
    ids = ensure_accounts([("donors", None, None, DONORS), *keys.values(), *funds.values()])
    donors = ids[("donors", None, None, DONORS)]
    rows = []
    for donation_id, project_id, amount, txn_no, donated_at in donations:
        rows.append(dict(kind="donation", from_account=donors, to_account=ids[keys[project_id]], amount=amount,
                         project=project_id, donation=donation_id, memo=f"交易号 {txn_no}", booked_on=donated_at.date()))
        if project_id in funds:
            rows.append(dict(kind="to_fund", from_account=ids[keys[project_id]], to_account=ids[funds[project_id]],
                             amount=amount, project=project_id, donation=donation_id, memo=LATE_TO_FUND,
                             booked_on=donated_at.date()))
    return post_many(rows, actor)


def integrity_problems() -> list[str]:
    """What an auditor checks first: money is conserved and no internal account is overdrawn."""
    problems = []
    total = Entry.select(fn.COUNT(Entry.id)).scalar()
    ids = [a for (a,) in Account.select(Account.id).tuples()]
    all_balances = {}
    for chunk in _chunks(ids, 500):
        all_balances.update(balances(chunk))
    if sum(all_balances.values()) != 0:
        problems.append(f"全部账户余额之和为 {sum(all_balances.values())} 分，不为零")
    external = {a for (a,) in Account.select(Account.id).where(Account.kind.in_(Account.EXTERNAL)).tuples()}
    for account_id, value in all_balances.items():
        if value < 0 and account_id not in external:
            problems.append(f"{_describe(Account.get_by_id(account_id))}余额为负：{value} 分")
    if total and Entry.select().where(Entry.amount <= 0).exists():
        problems.append("存在金额不为正的分录")
    from .history import problems as history_problems
    from .totals import tally_problems

    return problems + recorded_problems() + tally_problems() + history_problems()


def recorded_problems() -> list[str]:
    """A gift or a spending line whose amount differs from what its ledger entry posted."""
    problems = []
    for model, kind, label in ((Donation, "donation", "捐赠"), (Expenditure, "expenditure", "支出")):
        link = Entry.donation if model is Donation else Entry.expenditure
        posted = (Entry.select(link.alias("record"), Entry.amount.alias("amount"))
                  .where((Entry.kind == kind) & Entry.reverses.is_null()).alias("posted"))
        query = (model.select(model.id, model.amount, posted.c.amount)
                 .join(posted, JOIN.LEFT_OUTER, on=(posted.c.record == model.id))
                 .where(posted.c.amount.is_null() | (posted.c.amount != model.amount)))
        for record_id, amount, entry_amount in query.tuples().limit(50):
            shown = "无记账分录" if entry_amount is None else f"记账 {format_fen(int(entry_amount))}"
            problems.append(f"{label} #{record_id} 金额 {format_fen(int(amount))} 与分录不符（{shown}）")
    return problems


# -- money waiting and money held ------------------------------------------------------------------

def waiting_hops(actor) -> list[tuple[Project, int]]:
    """Projects whose money waits at the actor's level to be passed down, with the amount each hop
    would move now (what ``next_hop`` would preview), oldest project first."""
    if actor is None or actor.role not in (Role.REGION, Role.PREFECTURE, Role.COUNTY):
        return []
    projects = scoped(Project.select(Project.id), actor).where(Project.state.in_(("use_applied", "disbursing")))
    mine = Account.area == actor.area_id
    if actor.role == Role.REGION:
        mine = mine | (Account.kind == "special")
    accounts = list(Account.select().where(Account.kind.in_(("special", "pass_through")) & mine
                                           & Account.project.in_(projects)))
    held = balances(accounts)
    result = []
    for acct in accounts:
        amount = _passable(acct, acct.project, held[acct.id]) if held[acct.id] > 0 else 0
        if amount > 0:
            result.append((acct.project, amount))
    return sorted(result, key=lambda item: item[0].id)


HELD_LABELS = {("special", Level.NATION): "中华慈善总会专用账户（待拨付或超出目标）",
               ("pass_through", Level.REGION): "自治区慈善总会（待拨付）",
               ("pass_through", Level.PREFECTURE): "盟市慈善总会（待拨付）",
               ("pass_through", Level.COUNTY): "旗县市区慈善总会（待拨付）",
               ("project", Level.VILLAGE): "村社项目账户（待使用）",
               ("fund", Level.VILLAGE): "村社互助基金",
               ("pool", Level.REGION): "自治区慈善总会配捐资金池",
               ("pool", Level.PREFECTURE): "盟市慈善总会配捐资金池",
               ("pool", Level.COUNTY): "旗县市区慈善总会配捐资金池"}


def held_by_level(area: Area) -> list[tuple[str, int]]:
    """The money the internal accounts of ``area``'s subtree hold, by kind and level, in the order the
    money flows (a project's accounts count wherever its village lies)."""
    condition = Account.kind.not_in(Account.EXTERNAL)
    if not holds_every_village(area):
        inside = Area.select(Area.id).where(Area.path.startswith(area.path))
        villages = Village.select(Village.id).where(Village.area.in_(inside))
        condition &= (Account.project.in_(Project.select(Project.id).where(Project.village.in_(villages)))
                      | (Account.project.is_null() & Account.area.in_(inside)))
    sums: dict[tuple, int] = {}
    for column, sign in ((Entry.to_account, 1), (Entry.from_account, -1)):
        query = (Entry.select(Account.kind, Area.level, fn.SUM(Entry.amount)).join(Account, on=(column == Account.id))
                 .join(Area, on=(Account.area == Area.id)).where(condition).group_by(Account.kind, Area.level))
        for kind, level, total in query.tuples():
            sums[kind, level] = sums.get((kind, level), 0) + sign * int(total)
    return [(label, sums.get(key, 0)) for key, label in HELD_LABELS.items()]
