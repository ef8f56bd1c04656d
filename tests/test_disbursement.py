"""Money passed down the levels (db.disbursement): the chain, each hop, money waiting and held."""
from __future__ import annotations

import pytest

from db import disbursement, ledger, workflow
from db.areas import get_area
from db.errors import LedgerError, TransitionError
from db.models import Entry, Role
from db.totals import project_totals

from .factories import (
    HOHHOT,
    MANZHOULI,
    REGION,
    TOGTOH,
    TUMOTE_LEFT,
    Chain,
    advance_to,
    chain_codes,
    donate,
    new_project,
    reload,
    user,
)

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
