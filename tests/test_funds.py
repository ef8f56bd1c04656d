"""db/funds.py: spending from a village's 互助基金 (approved by its 监管会), reversal, and the yearly
statement worked out by hand."""
from __future__ import annotations

import datetime as dt

import pytest

from db import funds, integrity, settlement, workflow
from db.errors import LedgerError, XfjyError
from db.models import FundSpending, Role

from .factories import Chain, advance_to, donate, new_project

D = dt.date


def funded(chain: Chain, amount: int = 120_000):
    """A missed project closed on 2024-09-01: its ``amount`` went to the fund then."""
    project = advance_to(new_project(chain, target=500_000), "fundraising", chain)
    donate(project, amount)
    workflow.advance_project(project, "expire", None, on=dt.datetime(2024, 9, 1, 9, 0))
    workflow.advance_project(project, "close", chain.users[Role.COUNTY], "结项", on=dt.datetime(2024, 9, 1, 10, 0),
                             settle=settlement.settle_remaining)
    return project


def spend(chain, **overrides):
    fields = dict(spent_on=D(2025, 3, 2), item="困难户取暖补助", payee="张某某", amount=30_000,
                  approved_by="李秀英、张海军", approved_on=D(2025, 3, 1), voucher_no="JJ2025-01",
                  actor=chain.users[Role.VILLAGE])
    fields.update(overrides)
    return funds.spend(chain.village, **fields)


def test_the_committee_approves_by_majority_and_the_ledger_pays(db):
    chain = Chain()
    funded(chain)
    line = spend(chain)
    assert (line.approved_by, line.entry.kind, line.entry.amount) == ("李秀英、张海军", "fund_spending", 30_000)
    assert funds.balance(chain.village) == 90_000
    assert line.entry.memo == "互助基金支出：困难户取暖补助（凭证 JJ2025-01）"
    for approved_by, words in (("李秀英", "过半数"), ("", "监管会"), ("李秀英、王五", "王五 不是本村社监管会成员")):
        with pytest.raises(XfjyError, match=words):
            spend(chain, approved_by=approved_by)
    with pytest.raises(XfjyError, match="晚于支出日期"):
        spend(chain, approved_on=D(2025, 3, 3))
    with pytest.raises(LedgerError, match="余额不足"):
        spend(chain, amount=90_001, voucher_no="JJ2025-02")
    with pytest.raises(XfjyError, match="本村社或旗县市区"):
        spend(chain, actor=chain.users[Role.TOWNSHIP])
    assert funds.balance(chain.village) == 90_000
    assert integrity.integrity_problems() == []


def test_a_wrong_payment_is_reversed_by_the_village_with_a_reason(db):
    chain = Chain()
    funded(chain)
    line = spend(chain)
    other = Chain()
    with pytest.raises(LedgerError, match="管辖范围"):
        funds.cancel(line, "金额录错", other.users[Role.VILLAGE])
    reversal = funds.cancel(line, "金额录错", chain.users[Role.VILLAGE])
    assert (reversal.reverses_id, reversal.to_account.kind) == (line.entry_id, "fund")
    assert funds.is_cancelled(line) and funds.balance(chain.village) == 120_000


def test_the_yearly_statement_carries_each_closing_into_the_next_opening(db):
    chain = Chain()
    funded(chain, 120_000)                                           # 2024: 1,200 元 carried in
    funded(Chain(), 1)                                                # another village: not in this statement
    spend(chain, amount=30_000)                                       # 2025: 300 元 out
    wrong = spend(chain, amount=5_000, spent_on=D(2025, 6, 1), approved_on=D(2025, 5, 30), voucher_no="JJ2025-07")
    reversal = funds.cancel(wrong, "重复登记", chain.users[Role.VILLAGE])  # booked the day it is posted
    years = funds.statement(funds.flows_of(chain.village))
    expected = [(2024, 0, 120_000, 0, 120_000), (2025, 120_000, 0, 35_000, 85_000)]
    expected += [(y, 85_000, 0, 0, 85_000) for y in range(2026, reversal.booked_on.year)]
    expected += [(reversal.booked_on.year, 85_000, 0, -5_000, 90_000)]
    assert [(y.year, y.opening, y.income["carried"], y.spent, y.closing) for y in years] == expected
    assert years[-1].closing == funds.balance(chain.village)


def test_statement_by_hand_with_a_year_without_movements():
    flows = [(D(2023, 12, 31), "to_fund", False, 10_000), (D(2023, 12, 31), "reward", False, 2_000),
             (D(2025, 1, 1), "to_fund", True, 500), (D(2025, 2, 1), "fund_spending", False, -3_000),
             (D(2025, 2, 2), "fund_spending", False, 3_000)]  # the reversal of a payment
    years = funds.statement(flows)
    assert [(y.year, y.opening, dict(y.income), y.spent, y.closing) for y in years] == [
        (2023, 0, {"carried": 10_000, "late_gifts": 0, "reward": 2_000}, 0, 12_000),
        (2024, 12_000, {"carried": 0, "late_gifts": 0, "reward": 0}, 0, 12_000),
        (2025, 12_000, {"carried": 0, "late_gifts": 500, "reward": 0}, 0, 12_500)]
    assert funds.statement([]) == []


def test_the_same_voucher_pays_once_so_a_form_sent_twice_pays_once(db):
    chain = Chain()
    funded(chain)
    spend(chain)
    with pytest.raises(XfjyError, match="凭证号 JJ2025-01 已登记"):
        spend(chain)
    assert funds.balance(chain.village) == 90_000
    first = funds.cancel(FundSpending.get(), "录错", chain.users[Role.VILLAGE])  # a reversed line frees its voucher
    assert first.reverses_id and spend(chain).voucher_no == "JJ2025-01"
