"""The fund ledger: posting rules, reversals, the append-only table, donations and refunds, 配捐 /
以奖代补, disbursement down the levels, settlement to the 互助基金, the totals, and batch posting."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import peewee
import pytest

from db import disbursement, donations, integrity, ledger, matching, settlement, spending, workflow
from db.areas import get_area
from db.database import database, is_postgres
from db.errors import LedgerError, TransitionError
from db.models import Account, Entry, MatchingRule, Project, Role
from db.totals import Totals, project_totals, totals

from .factories import AFTER_DEADLINE, Chain, advance_to, donate, new_project, reload, user

REGION, HOHHOT, TUMOTE_LEFT, TOGTOH, MANZHOULI = "150000", "150100", "150121", "150122", "150781"


# -- helpers ----------------------------------------------------------------------------------------

def entry_count() -> int:
    return Entry.select().count()


def rule(area_code: str, kind: str = "matching", ratio_bp: int = 5000, cap: int = 300_000, **kw) -> MatchingRule:
    return MatchingRule.create(area=get_area(area_code), kind=kind, name=f"{kind}-{area_code}", ratio_bp=ratio_bp,
                               cap=cap, **kw)


def chain_codes(project: Project) -> list[str]:
    return [area.code for area, _ in disbursement.disbursement_chain(project)]


def expected_exception():
    """What the append-only triggers raise: SQLite's RAISE(ABORT) is a constraint error; PostgreSQL's
    RAISE EXCEPTION (SQLSTATE P0001) comes through psycopg2 as an InternalError."""
    return peewee.InternalError if is_postgres() else peewee.IntegrityError


# -- post() -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", [0, -1, -100, 1.5, 100.0, True, False, "100", Decimal("100"), None])
def test_post_refuses_non_positive_or_non_integer_amounts(db, amount):
    sponsor, pool = ledger.sponsor_account("甲企业"), ledger.pool_account(get_area(REGION))
    before = entry_count()
    with pytest.raises(LedgerError, match="金额"):
        ledger.post("pool_funding", sponsor, pool, amount)
    assert entry_count() == before
    assert ledger.balance(pool) == 0 and ledger.balance(sponsor) == 0


def test_post_refuses_same_account_and_unknown_kind(db):
    pool = ledger.pool_account(get_area(REGION))
    matching.fund_pool(get_area(REGION), 1_000, "甲企业")
    with pytest.raises(LedgerError, match="不能相同"):
        ledger.post("matching", pool, pool, 10)
    with pytest.raises(LedgerError, match="未知的分录类型"):
        ledger.post("gift", ledger.sponsor_account("甲企业"), pool, 10)
    assert ledger.balance(pool) == 1_000


def test_post_refuses_overdraft_of_internal_account(db, chain):
    region = get_area(REGION)
    pool, fund = ledger.pool_account(region), ledger.fund_account(chain.village)
    with pytest.raises(LedgerError, match="余额不足"):
        ledger.post("reward", pool, fund, 1)
    matching.fund_pool(region, 500, "甲企业")
    before = entry_count()
    with pytest.raises(LedgerError, match="余额不足"):
        ledger.post("reward", pool, fund, 501)
    assert entry_count() == before
    ledger.post("reward", pool, fund, 500)
    assert ledger.balance(pool) == 0 and ledger.balance(fund) == 500
    with pytest.raises(LedgerError, match="余额不足"):
        ledger.post("reward", fund, pool, 501)


def test_post_allows_external_accounts_to_go_negative(db):
    sponsor, pool = ledger.sponsor_account("甲企业"), ledger.pool_account(get_area(REGION))
    entry = ledger.post("pool_funding", sponsor, pool, 700)
    assert (entry.amount, entry.from_account_id, entry.to_account_id) == (700, sponsor.id, pool.id)
    assert ledger.balance(sponsor) == -700 and ledger.balance(pool) == 700
    payee_a, payee_b = ledger.payee_account("甲"), ledger.payee_account("乙")
    ledger.post("expenditure", payee_a, payee_b, 50)
    assert ledger.balance(payee_a) == -50 and ledger.balance(payee_b) == 50
    assert integrity.integrity_problems() == []


def test_accounts_are_created_once_per_key(db, chain):
    region = get_area(REGION)
    assert ledger.pool_account(region).id == ledger.pool_account(region).id
    assert ledger.pool_account(region).id != ledger.pool_account(get_area(HOHHOT)).id
    with pytest.raises(LedgerError):
        ledger.account("vault", region)
    with pytest.raises(LedgerError):
        ledger.payee_account("   ")


# -- reverse() --------------------------------------------------------------------------------------

def test_reverse_needs_a_reason_and_restores_balances(db):
    region = get_area(REGION)
    entry = matching.fund_pool(region, 1_000, "甲企业")
    pool, sponsor = ledger.pool_account(region), ledger.sponsor_account("甲企业")
    for reason in ("", "   "):
        with pytest.raises(LedgerError, match="原因"):
            ledger.reverse(entry, reason)
    reversal = ledger.reverse(entry, "  录入错误 ")
    assert reversal.kind == entry.kind and reversal.amount == entry.amount
    assert (reversal.from_account_id, reversal.to_account_id) == (entry.to_account_id, entry.from_account_id)
    assert reversal.reverses_id == entry.id and reversal.reason == "录入错误"
    assert ledger.balance(pool) == 0 and ledger.balance(sponsor) == 0
    original = Entry.get_by_id(entry.id)
    assert (original.amount, original.from_account_id, original.to_account_id) == (1_000, sponsor.id, pool.id)


def test_an_entry_is_reversed_at_most_once(db):
    region = get_area(REGION)
    entry = matching.fund_pool(region, 1_000, "甲企业")
    ledger.reverse(entry, "录入错误")
    matching.fund_pool(region, 5_000, "乙企业")  # money enough that only the once-rule can refuse
    before = entry_count()
    with pytest.raises(LedgerError, match="已冲正"):
        ledger.reverse(Entry.get_by_id(entry.id), "再次冲正")
    # Bypassing reverse()'s own check, the unique ``reverses`` column still refuses a second one.
    with pytest.raises(LedgerError, match="已冲正"):
        ledger.post(entry.kind, entry.to_account, entry.from_account, entry.amount, reverses=entry, reason="绕过")
    assert entry_count() == before
    assert ledger.balance(ledger.pool_account(region)) == 5_000


def test_a_reversal_cannot_be_reversed(db):
    entry = matching.fund_pool(get_area(REGION), 1_000, "甲企业")
    reversal = ledger.reverse(entry, "录入错误")
    with pytest.raises(LedgerError, match="冲正分录不能再冲正"):
        ledger.reverse(reversal, "撤销冲正")
    assert ledger.balance(ledger.pool_account(get_area(REGION))) == 0


def test_reverse_refuses_to_overdraw_and_outside_jurisdiction(db, chain):
    project = advance_to(new_project(chain), "implementing", chain)
    first_donation = Entry.get((Entry.project == project) & (Entry.kind == "donation"))
    with pytest.raises(LedgerError, match="余额不足"):  # the money has moved down to the village
        ledger.reverse(first_donation, "错误入账")
    spent = spending.record_expenditure(project, spent_on=dt.date(2024, 10, 1), item="路灯", payee="照明公司",
                                        amount=1_000, actor=chain.users[Role.VILLAGE])
    outsider = user(Role.COUNTY, get_area(TOGTOH))
    with pytest.raises(LedgerError, match="管辖"):
        ledger.reverse(spent.entries.get(), "错误", actor=outsider)
    assert ledger.balance(ledger.project_account(project)) == 999_000


# -- the table itself is append-only ----------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE entry SET amount = amount + 1 WHERE id = {id}",
    "UPDATE entry SET memo = 'changed' WHERE id = {id}",
    "DELETE FROM entry WHERE id = {id}",
    "DELETE FROM entry",
])
def test_raw_update_or_delete_of_an_entry_fails_in_the_database(db, statement):
    entry = matching.fund_pool(get_area(REGION), 1_000, "甲企业")
    with pytest.raises(expected_exception(), match="append-only"):
        with database.atomic():
            database.execute_sql(statement.format(id=entry.id))
    row = Entry.get_by_id(entry.id)
    assert (row.amount, row.memo) == (1_000, entry.memo)
    assert entry_count() == 1


def test_query_builder_update_and_delete_fail_too(db):
    entry = matching.fund_pool(get_area(REGION), 1_000, "甲企业")
    with pytest.raises(peewee.DatabaseError):
        with database.atomic():
            Entry.update(amount=1).where(Entry.id == entry.id).execute()
    with pytest.raises(peewee.DatabaseError):
        with database.atomic():
            Entry.delete().where(Entry.id == entry.id).execute()
    assert Entry.get_by_id(entry.id).amount == 1_000


@pytest.mark.parametrize("amount", [0, -5])
def test_database_refuses_non_positive_amounts_on_insert(db, amount):
    entry = matching.fund_pool(get_area(REGION), 1_000, "甲企业")
    with pytest.raises(peewee.IntegrityError):
        with database.atomic():
            Entry.insert(kind="pool_funding", from_account=entry.from_account_id, to_account=entry.to_account_id,
                         amount=amount, reason="", memo="", posted_at=entry.posted_at,
                         booked_on=entry.booked_on).execute()
    assert entry_count() == 1


def test_model_save_and_delete_of_posted_entry_raise_ledger_error(db):
    entry = matching.fund_pool(get_area(REGION), 1_000, "甲企业")
    entry.amount = 1
    with pytest.raises(LedgerError, match="不能修改"):
        entry.save()
    with pytest.raises(LedgerError, match="不能删除"):
        Entry.get_by_id(entry.id).delete_instance()
    assert Entry.get_by_id(entry.id).amount == 1_000


# -- donations and refunds --------------------------------------------------------------------------

def test_receive_donation_lands_in_the_special_account(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    donation = donate(project, 30_000, txn="TX-0001")
    entry = donation.entries.get()
    assert entry.kind == "donation" and entry.amount == 30_000 and entry.project_id == project.id
    assert entry.booked_on == dt.date(2024, 4, 1) and "TX-0001" in entry.memo
    assert ledger.balance(ledger.special_account(project)) == 30_000
    assert ledger.balance(ledger.donors_account()) == -30_000
    assert project_totals(project).raised == 30_000


def test_refund_needs_a_reason_and_happens_once(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    kept, donation = donate(project, 10_000), donate(project, 30_000)
    for reason in ("", "  "):
        with pytest.raises(LedgerError, match="原因"):
            donations.refund_donation(donation, reason)
    refund = donations.refund_donation(donation, "捐赠人申请退款", actor=chain.users[Role.COUNTY])
    assert refund.kind == "refund" and refund.amount == 30_000 and refund.donation_id == donation.id
    assert ledger.balance(ledger.special_account(project)) == 10_000
    with pytest.raises(LedgerError, match="已退款"):
        donations.refund_donation(donation, "再退一次")
    assert ledger.balance(ledger.special_account(project)) == 10_000
    assert project_totals(project).raised == 10_000
    # A refund entered by mistake and reversed leaves the donation refundable again.
    ledger.reverse(refund, "误操作")
    assert project_totals(project).raised == 40_000
    donations.refund_donation(donation, "确认退款")
    assert project_totals(project).raised == 10_000 and kept.amount == 10_000


def test_refund_outside_jurisdiction_is_refused(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    donation = donate(project, 30_000)
    with pytest.raises(LedgerError, match="管辖"):
        donations.refund_donation(donation, "退款", actor=user(Role.COUNTY, get_area(TOGTOH)))
    assert ledger.balance(ledger.special_account(project)) == 30_000


def test_refund_refused_once_the_money_was_disbursed(db, chain):
    project = new_project(chain)
    donation = donate(project, 400_000)
    project = advance_to(project, "implementing", chain)
    assert ledger.balance(ledger.special_account(project)) == 0
    before = entry_count()
    with pytest.raises(LedgerError, match="余额不足"):
        donations.refund_donation(donation, "捐赠人申请退款")
    assert entry_count() == before
    assert project_totals(project).raised == 1_000_000


def test_refund_refused_after_the_donation_entry_was_reversed(db, chain):
    """A donation whose entry was reversed has already gone back to the donors' side; refunding it
    as well must not pay it out a second time from other donors' money."""
    project = advance_to(new_project(chain), "fundraising", chain)
    donate(project, 50_000)
    donation = donate(project, 30_000)
    ledger.reverse(donation.entries.get(), "重复导入")
    assert project_totals(project).raised == 50_000
    with pytest.raises(LedgerError):
        donations.refund_donation(donation, "捐赠人申请退款")
    assert ledger.balance(ledger.special_account(project)) == 50_000
    assert project_totals(project).raised == 50_000


def test_donation_entry_cannot_be_reversed_after_it_was_refunded(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    donate(project, 50_000)
    donation = donate(project, 30_000)
    donations.refund_donation(donation, "捐赠人申请退款")
    with pytest.raises(LedgerError):
        ledger.reverse(donation.entries.where(Entry.kind == "donation").get(), "重复导入")
    assert ledger.balance(ledger.special_account(project)) == 50_000
    assert project_totals(project).raised == 50_000


# -- 配捐 and 以奖代补 --------------------------------------------------------------------------------

def test_matching_preview_applies_ratio_and_cap(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    region_user = chain.users[Role.REGION]
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业", actor=region_user)
    match_rule = rule(REGION, ratio_bp=2500, cap=100_000)
    donate(project, 200_000)
    preview = matching.matching_preview(match_rule, project)
    assert (preview.raised, preview.already, preview.cap, preview.pool, preview.amount) == (
        200_000, 0, 100_000, 1_000_000, 50_000)
    assert preview.ok and preview.problem == ""
    entry = matching.post_matching(match_rule, project, region_user, expected=50_000)
    assert entry.kind == "matching" and entry.amount == 50_000 and entry.rule_id == match_rule.id
    assert entry.to_account_id == ledger.project_account(project).id
    assert ledger.balance(ledger.project_account(project)) == 50_000
    # raised 600 000 → 25 % is 150 000, capped at 100 000, of which 50 000 already paid
    donate(project, 400_000)
    preview = matching.matching_preview(match_rule, project)
    assert (preview.already, preview.amount) == (50_000, 50_000)
    matching.post_matching(match_rule, project, region_user)
    preview = matching.matching_preview(match_rule, project)
    assert preview.amount == 0 and not preview.ok and "无可配" in preview.problem
    with pytest.raises(LedgerError, match="无可配"):
        matching.post_matching(match_rule, project, region_user)
    assert ledger.balance(ledger.pool_account(get_area(REGION))) == 900_000
    assert project_totals(project).matched == 100_000


def test_matching_rounds_down_to_whole_fen(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    donate(project, 333)
    assert matching.matching_preview(rule(REGION, ratio_bp=3333, cap=10_000), project).amount == 110


def test_reversed_matching_can_be_matched_again(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    match_rule = rule(REGION, ratio_bp=5000, cap=1_000_000)
    donate(project, 100_000)
    entry = matching.post_matching(match_rule, project, None)
    ledger.reverse(entry, "比例录错")
    preview = matching.matching_preview(match_rule, project)
    assert (preview.already, preview.amount) == (0, 50_000)


def _close(project: Project, chain: Chain) -> None:
    workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE])
    workflow.advance_project(project, "approve", chain.users[Role.COUNTY], "验收通过", settle=settlement.settle_remaining)


@pytest.mark.parametrize("cap, second", [
    (50_000, 0),        # the first project used the village's whole cap
    (60_000, 10_000),   # 10 000 of the cap left, the second project's 50 % (20 000) exceeds it
    (80_000, 20_000),   # cap not binding: the second project gets its own 50 %
])
def test_two_projects_of_one_village_share_the_cap(db, chain, cap, second):
    region_user = chain.users[Role.REGION]
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    match_rule = rule(REGION, ratio_bp=5000, cap=cap)
    first = advance_to(new_project(chain, target=100_000), "implementing", chain)
    assert matching.post_matching(match_rule, first, region_user).amount == 50_000
    _close(first, chain)
    later = advance_to(new_project(chain, target=40_000, name="文化广场"), "fundraising", chain)
    donate(later, 40_000)
    preview = matching.matching_preview(match_rule, later)
    assert preview.already == 50_000
    assert preview.amount == second
    matched_later = matching.post_matching(match_rule, later, region_user).amount if second else 0
    assert matched_later == second
    assert project_totals(first).matched + project_totals(later).matched <= cap


def test_cap_is_per_village_not_per_rule(db, chain):
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    match_rule = rule(REGION, ratio_bp=5000, cap=40_000)
    first = advance_to(new_project(chain, target=100_000), "fundraising", chain)
    other_village = chain.add_village()
    second = advance_to(new_project(chain, other_village, target=100_000), "fundraising", chain)
    donate(first, 100_000)
    donate(second, 100_000)
    assert matching.post_matching(match_rule, first, None).amount == 40_000
    assert matching.matching_preview(match_rule, second).amount == 40_000


def test_insufficient_pool_is_a_problem_and_refused(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    matching.fund_pool(get_area(REGION), 30_000, "甲企业")
    match_rule = rule(REGION, ratio_bp=5000, cap=100_000)
    donate(project, 100_000)
    preview = matching.matching_preview(match_rule, project)
    assert preview.amount == 50_000 and preview.pool == 30_000
    assert not preview.ok and "资金池余额" in preview.problem and "不足" in preview.problem
    before = entry_count()
    with pytest.raises(LedgerError, match="资金池余额"):
        matching.post_matching(match_rule, project, chain.users[Role.REGION])
    assert entry_count() == before


@pytest.mark.parametrize("who", [Role.PREFECTURE, Role.COUNTY, Role.VILLAGE, Role.ADMIN])
def test_only_the_rules_federation_posts_matching(db, chain, who):
    project = advance_to(new_project(chain), "fundraising", chain)
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    match_rule = rule(REGION)
    donate(project, 100_000)
    with pytest.raises(LedgerError, match="只能由"):
        matching.post_matching(match_rule, project, chain.users[who])
    assert matching.post_matching(match_rule, project, chain.users[Role.REGION]).amount == 50_000


def test_expected_mismatch_refused(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    match_rule = rule(REGION)
    donate(project, 100_000)
    with pytest.raises(LedgerError, match="金额已变化"):
        matching.post_matching(match_rule, project, chain.users[Role.REGION], expected=49_999)
    assert project_totals(project).matched == 0


def test_matching_problems_inactive_state_and_area(db, chain):
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    matching.fund_pool(get_area(TOGTOH), 1_000_000, "甲企业")
    draft = new_project(chain)
    assert "状态" in matching.matching_preview(rule(REGION), draft).problem
    project = advance_to(draft, "fundraising", chain)
    donate(project, 100_000)
    assert "停用" in matching.matching_preview(rule(REGION, active=False), project).problem
    elsewhere = rule(TOGTOH)
    assert "范围" in matching.matching_preview(elsewhere, project).problem
    with pytest.raises(LedgerError):
        matching.post_matching(elsewhere, project, None)


def test_reward_rule_pays_into_the_village_fund(db, chain):
    project = advance_to(new_project(chain), "fundraising", chain)
    county_user = chain.users[Role.COUNTY]
    matching.fund_pool(get_area(TUMOTE_LEFT), 100_000, "乙企业", actor=county_user)
    reward = rule(TUMOTE_LEFT, kind="reward", ratio_bp=1000, cap=50_000)
    donate(project, 200_000)
    with pytest.raises(LedgerError, match="只能由"):
        matching.post_matching(reward, project, chain.users[Role.REGION])
    entry = matching.post_matching(reward, project, county_user)
    assert entry.kind == "reward" and entry.amount == 20_000
    assert entry.to_account_id == ledger.fund_account(chain.village).id
    assert ledger.balance(ledger.fund_account(chain.village)) == 20_000
    assert ledger.balance(ledger.project_account(project)) == 0
    t = project_totals(project)
    assert (t.rewarded, t.matched, t.balance) == (20_000, 0, 0)


def test_fund_pool_only_for_own_federation(db, chain):
    with pytest.raises(LedgerError, match="本级"):
        matching.fund_pool(get_area(REGION), 1_000, "甲企业", actor=chain.users[Role.COUNTY])
    matching.fund_pool(get_area(REGION), 1_000, "甲企业", actor=chain.users[Role.ADMIN])
    assert ledger.balance(ledger.pool_account(get_area(REGION))) == 1_000


# -- disbursement down the levels -------------------------------------------------------------------

def test_default_disbursement_chain(db, chain):
    project = new_project(chain)
    assert disbursement.disbursement_levels() == (1, 2, 3)
    links = disbursement.disbursement_chain(project)
    assert chain_codes(project) == ["100000", REGION, HOHHOT, TUMOTE_LEFT, chain.village.area.code]
    assert [acct.kind for _, acct in links] == ["special", "pass_through", "pass_through", "pass_through", "project"]
    assert all(acct.project_id == project.id for _, acct in links)


def test_disbursement_chain_with_county_level_only(db, chain):
    project = new_project(chain)
    disbursement.set_disbursement_levels(["3"])
    assert disbursement.disbursement_levels() == (3,)
    assert chain_codes(project) == ["100000", TUMOTE_LEFT, chain.village.area.code]
    disbursement.set_disbursement_levels([3, 1])
    assert disbursement.disbursement_levels() == (1, 3)
    assert chain_codes(project) == ["100000", REGION, TUMOTE_LEFT, chain.village.area.code]
    with pytest.raises(LedgerError):
        disbursement.set_disbursement_levels([3, 4])
    assert disbursement.disbursement_levels() == (1, 3)


@pytest.mark.parametrize("levels, expected", [
    (None, ["100000", REGION, MANZHOULI]),
    ([3], ["100000", MANZHOULI]),
    ([2], ["100000", MANZHOULI]),
    ([1], ["100000", REGION]),
])
def test_manzhouli_is_prefecture_and_county_once(db, levels, expected):
    chain = Chain(MANZHOULI)
    project = new_project(chain)
    if levels is not None:
        disbursement.set_disbursement_levels(levels)
    assert chain_codes(project) == expected + [chain.village.area.code]


def test_disbursement_hops_and_states(db, chain):
    project = new_project(chain, target=1_000_000)
    donate(project, 1_200_000)
    project = advance_to(project, "use_applied", chain)
    region, prefecture, county = (chain.users[r] for r in (Role.REGION, Role.PREFECTURE, Role.COUNTY))
    for wrong in (county, prefecture, chain.users[Role.VILLAGE], chain.users[Role.TOWNSHIP],
                  chain.users[Role.ADMIN], user(Role.COUNTY, get_area(TOGTOH))):
        with pytest.raises(LedgerError):
            disbursement.disburse(project, wrong)
    assert reload(project).state == "use_applied"
    assert not Entry.select().where(Entry.kind == "disbursement").exists()

    links = disbursement.disbursement_chain(project)
    special, pt_region, pt_prefecture, pt_county, village_acct = (acct for _, acct in links)
    assert disbursement.next_hop(project, region).amount == 1_000_000
    with pytest.raises(LedgerError, match="金额已变化"):
        disbursement.disburse(project, region, expected=1_200_000)
    hop = disbursement.disburse(project, region, expected=1_000_000)
    assert (hop.from_account_id, hop.to_account_id, hop.amount) == (special.id, pt_region.id, 1_000_000)
    assert reload(project).state == "disbursing"
    assert ledger.balance(special) == 200_000  # the surplus stays with 中华慈善总会

    with pytest.raises(LedgerError):  # the county has nothing yet
        disbursement.disburse(project, county)
    hop = disbursement.disburse(project, region)  # the region's own hop; the surplus does not follow
    assert (hop.from_account_id, hop.to_account_id, hop.amount) == (pt_region.id, pt_prefecture.id, 1_000_000)
    assert ledger.balance(special) == 200_000
    with pytest.raises(LedgerError):
        disbursement.disburse(project, region)
    hop = disbursement.disburse(project, prefecture)
    assert (hop.from_account_id, hop.to_account_id, hop.amount) == (pt_prefecture.id, pt_county.id, 1_000_000)
    assert reload(project).state == "disbursing"
    hop = disbursement.disburse(project, county)
    assert (hop.from_account_id, hop.to_account_id, hop.amount) == (pt_county.id, village_acct.id, 1_000_000)
    assert reload(project).state == "implementing"
    assert [ledger.balance(a) for a in (special, pt_region, pt_prefecture, pt_county, village_acct)] == [
        200_000, 0, 0, 0, 1_000_000]
    with pytest.raises(TransitionError):
        disbursement.disburse(project, region)
    steps = [r.action for r in reload(project).reviews.order_by(workflow.ProjectReview.id)]
    assert steps[-2:] == ["start_disbursing", "funds_arrived"]


def test_disbursement_refused_before_use_applied(db, chain):
    project = advance_to(new_project(chain), "target_reached", chain)
    with pytest.raises(TransitionError):
        disbursement.disburse(project, chain.users[Role.REGION])


def test_disbursement_with_county_level_only(db, chain):
    disbursement.set_disbursement_levels([3])
    project = advance_to(new_project(chain, target=500_000), "use_applied", chain)
    with pytest.raises(LedgerError, match="不在本项目的拨付链上"):
        disbursement.disburse(project, chain.users[Role.PREFECTURE])
    first = disbursement.disburse(project, chain.users[Role.REGION])
    assert first.amount == 500_000
    assert first.to_account_id == ledger.pass_through_account(get_area(TUMOTE_LEFT), project).id
    assert reload(project).state == "disbursing"
    last = disbursement.disburse(project, chain.users[Role.COUNTY])
    assert last.to_account_id == ledger.project_account(project).id and last.amount == 500_000
    assert reload(project).state == "implementing"


def test_manzhouli_disbursement(db):
    chain = Chain(MANZHOULI)
    project = advance_to(new_project(chain, target=300_000), "use_applied", chain)
    region, county = chain.users[Role.REGION], chain.users[Role.COUNTY]
    assert disbursement.disburse(project, region).to_account_id == ledger.pass_through_account(get_area(REGION), project).id
    assert disbursement.disburse(project, region).to_account_id == ledger.pass_through_account(
        get_area(MANZHOULI), project).id
    last = disbursement.disburse(project, county)  # 满洲里市 acts as its own 旗县市区
    assert last.to_account_id == ledger.project_account(project).id and last.amount == 300_000
    assert reload(project).state == "implementing"
    assert project_totals(project).disbursed == 300_000


def test_reversed_hop_counts_against_disbursed(db, chain):
    project = advance_to(new_project(chain), "implementing", chain)
    arrival = Entry.select().where(Entry.kind == "disbursement").order_by(Entry.id.desc()).first()
    assert arrival.to_account_id == ledger.project_account(project).id
    ledger.reverse(arrival, "拨错村社")
    t = project_totals(project)
    assert (t.disbursed, t.balance) == (0, 0)
    assert ledger.balance(ledger.pass_through_account(get_area(TUMOTE_LEFT), project)) == 1_000_000


# -- the deadline: settlement to the 互助基金 -------------------------------------------------------

def test_settle_missed_target_moves_everything_to_the_fund(db, chain):
    project = advance_to(new_project(chain, target=1_000_000), "fundraising", chain)
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业")
    donate(project, 300_000)
    matching.post_matching(rule(REGION, ratio_bp=5000, cap=100_000), project, None)
    with pytest.raises(LedgerError, match="尚未结束募捐"):
        settlement.settle_to_fund(project, chain.users[Role.COUNTY], on=AFTER_DEADLINE)
    workflow.advance_project(project, "expire", None, on=dt.datetime(2024, 9, 1, 8, 0))
    project = reload(project)
    assert project.state == "target_missed"
    for who in (Role.VILLAGE, Role.TOWNSHIP, Role.ADMIN):
        with pytest.raises(LedgerError, match="旗县市区及以上"):
            settlement.settle_to_fund(project, chain.users[who])
    assert settlement.settlement_amount(project) == 400_000
    entries = settlement.settle_to_fund(project, chain.users[Role.COUNTY])
    fund = ledger.fund_account(chain.village)
    assert [(e.from_account_id, e.to_account_id, e.amount) for e in entries] == [
        (ledger.special_account(project).id, fund.id, 300_000),
        (ledger.project_account(project).id, fund.id, 100_000),
    ]
    assert ledger.balance(fund) == 400_000
    assert ledger.balance(ledger.special_account(project)) == 0
    assert ledger.balance(ledger.project_account(project)) == 0
    with pytest.raises(LedgerError, match="没有需要结转"):
        settlement.settle_to_fund(project, chain.users[Role.COUNTY])
    t = project_totals(project)
    assert (t.raised, t.matched, t.to_fund, t.from_project_to_fund, t.balance) == (
        300_000, 100_000, 400_000, 100_000, 0)
    workflow.advance_project(project, "close", chain.users[Role.COUNTY], settle=settlement.settle_remaining)
    assert reload(project).state == "closed"


def test_settle_surplus_only_after_the_deadline(db, chain):
    project = new_project(chain, target=1_000_000)
    donate(project, 1_250_000)
    project = advance_to(project, "implementing", chain)
    county = chain.users[Role.COUNTY]
    assert settlement.settlement_amount(project) == 250_000
    with pytest.raises(LedgerError, match="期满后"):
        settlement.settle_to_fund(project, county, on=dt.date(2024, 8, 31))
    entries = settlement.settle_to_fund(project, chain.users[Role.REGION], on=AFTER_DEADLINE)
    assert [(e.kind, e.amount, e.booked_on) for e in entries] == [("to_fund", 250_000, AFTER_DEADLINE)]
    assert ledger.balance(ledger.special_account(project)) == 0
    assert ledger.balance(ledger.fund_account(chain.village)) == 250_000
    assert ledger.balance(ledger.project_account(project)) == 1_000_000  # project money untouched
    t = project_totals(project)
    assert (t.to_fund, t.from_project_to_fund, t.balance) == (250_000, 0, 1_000_000)


def test_surplus_before_disbursement_keeps_the_target(db, chain):
    project = new_project(chain, target=1_000_000)
    donate(project, 1_100_000)
    project = advance_to(project, "use_applied", chain)
    entries = settlement.settle_to_fund(project, chain.users[Role.COUNTY], on=AFTER_DEADLINE)
    assert [e.amount for e in entries] == [100_000]
    assert disbursement.next_hop(project, chain.users[Role.REGION]).amount == 1_000_000


# -- totals -----------------------------------------------------------------------------------------

def test_totals_after_a_known_scenario(db, chain):
    region_user, county_user, village_user = (chain.users[r] for r in (Role.REGION, Role.COUNTY, Role.VILLAGE))
    project = new_project(chain, target=1_000_000)
    donate(project, 600_000)
    donate(project, 500_000)
    refunded = donate(project, 50_000)
    donations.refund_donation(refunded, "捐赠人申请退款")
    project = advance_to(project, "use_applied", chain)          # raised 1 100 000 ≥ target: no top-up
    matching.fund_pool(get_area(REGION), 1_000_000, "甲企业", actor=region_user)
    match_rule = rule(REGION, ratio_bp=5000, cap=300_000)          # 50 % of 1 100 000 = 550 000 → cap 300 000
    assert matching.post_matching(match_rule, project, region_user).amount == 300_000
    matching.fund_pool(get_area(TUMOTE_LEFT), 80_000, "乙企业", actor=county_user)
    reward = rule(TUMOTE_LEFT, kind="reward", ratio_bp=1000, cap=50_000)  # 110 000 → cap 50 000
    assert matching.post_matching(reward, project, county_user).amount == 50_000
    for who in (Role.REGION, Role.REGION, Role.PREFECTURE, Role.COUNTY):
        disbursement.disburse(project, chain.users[who])                # passes 1 000 000, 100 000 stays
    project = reload(project)
    spending.record_expenditure(project, spent_on=dt.date(2024, 10, 1), item="路灯 60 盏", payee="照明公司",
                                amount=600_000, actor=village_user)
    wrong = spending.record_expenditure(project, spent_on=dt.date(2024, 10, 2), item="重复登记", payee="照明公司",
                                        amount=100_000, actor=village_user)
    spending.cancel_expenditure(wrong, "重复登记", actor=village_user)
    settlement.settle_to_fund(project, county_user, on=AFTER_DEADLINE)  # the 100 000 surplus

    other = Chain(MANZHOULI)
    second = advance_to(new_project(other, target=500_000), "fundraising", other)
    donate(second, 200_000)
    assert matching.post_matching(match_rule, second, region_user).amount == 100_000

    first = Totals(raised=1_100_000, matched=300_000, rewarded=50_000, disbursed=1_000_000, spent=600_000,
                   to_fund=100_000, from_project_to_fund=0)
    assert project_totals(project) == first
    assert first.balance == 700_000 == ledger.balance(ledger.project_account(project))
    assert ledger.balance(ledger.fund_account(chain.village)) == 150_000
    assert ledger.balance(ledger.pool_account(get_area(REGION))) == 600_000
    assert ledger.balance(ledger.pool_account(get_area(TUMOTE_LEFT))) == 30_000
    assert totals(area=get_area(TUMOTE_LEFT)) == first
    assert totals(area=get_area(HOHHOT)) == first
    assert totals(area=chain.village.area) == first
    assert totals(area=get_area(TOGTOH)) == Totals()
    assert project_totals(second) == Totals(raised=200_000, matched=100_000)
    assert totals(area=get_area(MANZHOULI)) == Totals(raised=200_000, matched=100_000)
    both = Totals(raised=1_300_000, matched=400_000, rewarded=50_000, disbursed=1_000_000, spent=600_000,
                  to_fund=100_000)
    assert totals(area=get_area(REGION)) == both
    assert totals([project.id, second.id]) == both
    assert both.balance == 800_000
    assert integrity.integrity_problems() == []


# -- post_many ---------------------------------------------------------------------------------------

def test_post_many_checks_running_balances(db, chain):
    region = get_area(REGION)
    matching.fund_pool(region, 100, "甲企业")
    pool, fund = ledger.pool_account(region), ledger.fund_account(chain.village)
    sponsor = ledger.sponsor_account("甲企业")
    dips = [dict(kind="reward", from_account=pool.id, to_account=fund.id, amount=150),
            dict(kind="pool_funding", from_account=sponsor.id, to_account=pool.id, amount=100)]
    before = entry_count()
    with pytest.raises(LedgerError, match="余额不足"):
        ledger.post_many([dict(r) for r in dips])  # would end at 50, but is at -50 after the first row
    assert entry_count() == before and ledger.balance(pool) == 100
    assert ledger.post_many([dict(r) for r in reversed(dips)]) == 2
    assert ledger.balance(pool) == 50 and ledger.balance(fund) == 150
    # Money arriving in the batch at an account that only receives can be passed on later in it.
    chained = [dict(kind="reward", from_account=pool.id, to_account=fund.id, amount=50),
               dict(kind="to_fund", from_account=fund.id, to_account=pool.id, amount=200)]
    assert ledger.post_many(chained) == 2
    assert ledger.balance(pool) == 200 and ledger.balance(fund) == 0
    with pytest.raises(LedgerError, match="余额不足"):
        ledger.post_many([dict(kind="reward", from_account=pool.id, to_account=fund.id, amount=201)])
    assert ledger.post_many([]) == 0
    assert integrity.integrity_problems() == []


@pytest.mark.parametrize("amount", [0, -1, 1.0, True])
def test_post_many_refuses_bad_amounts(db, amount):
    sponsor, pool = ledger.sponsor_account("甲企业"), ledger.pool_account(get_area(REGION))
    with pytest.raises(LedgerError, match="正整数"):
        ledger.post_many([dict(kind="pool_funding", from_account=sponsor.id, to_account=pool.id, amount=amount)])
    assert entry_count() == 0


def test_post_many_refuses_same_account_and_unknown_kind(db):
    sponsor, pool = ledger.sponsor_account("甲企业"), ledger.pool_account(get_area(REGION))
    with pytest.raises(LedgerError, match="不能相同"):
        ledger.post_many([dict(kind="pool_funding", from_account=pool.id, to_account=pool.id, amount=1)])
    with pytest.raises(LedgerError, match="未知"):
        ledger.post_many([dict(kind="bonus", from_account=sponsor.id, to_account=pool.id, amount=1)])
    assert entry_count() == 0
    assert Account.select().where(Account.kind == "pool").count() == 1


def test_a_matching_memo_says_yuan_not_fen(db):
    from db.models import MatchingRule, Role

    from .factories import Chain, advance_to, donate, new_project

    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    donate(project, 5_500_000)
    matching.fund_pool(chain.county, 1_000_000, "本级配套资金", actor=chain.users[Role.COUNTY])
    rule = MatchingRule.create(area=chain.county, kind="matching", name="土左旗配捐", ratio_bp=1000, cap=1_000_000)
    entry = matching.post_matching(rule, project, chain.users[Role.COUNTY])
    assert entry.memo == "土左旗配捐：已筹 55,000.00 元 × 10%"
