"""Where a project's money ends (db.settlement): the deadline transfer and the closing one."""
from __future__ import annotations

import datetime as dt

import pytest

from db import disbursement, ledger, matching, settlement, workflow
from db.areas import get_area
from db.errors import LedgerError
from db.models import Role
from db.totals import project_totals

from .factories import (
    AFTER_DEADLINE,
    REGION,
    advance_to,
    donate,
    new_project,
    reload,
    rule,
)

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
