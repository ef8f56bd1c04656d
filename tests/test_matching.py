"""配捐 and 以奖代补 (db.matching): pools, rules, previews and postings."""
from __future__ import annotations

import pytest

from db import ledger, matching, settlement, workflow
from db.areas import get_area
from db.errors import LedgerError
from db.models import Project, Role
from db.totals import project_totals

from .factories import (
    REGION,
    TOGTOH,
    TUMOTE_LEFT,
    Chain,
    advance_to,
    donate,
    entry_count,
    new_project,
    rule,
)

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
