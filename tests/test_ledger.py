"""The ledger core (db.ledger): posting rules, reversals, the append-only table, the totals, and batch
posting."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import peewee
import pytest

from db import disbursement, donations, integrity, ledger, matching, settlement, spending
from db.areas import get_area
from db.database import database, is_postgres
from db.errors import LedgerError
from db.models import Account, Entry, MatchingRule, Role
from db.totals import Totals, project_totals, totals

from .factories import (
    AFTER_DEADLINE,
    HOHHOT,
    MANZHOULI,
    REGION,
    TOGTOH,
    TUMOTE_LEFT,
    Chain,
    advance_to,
    donate,
    entry_count,
    new_project,
    reload,
    rule,
    user,
)

# -- helpers ----------------------------------------------------------------------------------------

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
    from db.models import Role

    from .factories import Chain, advance_to, donate, new_project

    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    donate(project, 5_500_000)
    matching.fund_pool(chain.county, 1_000_000, "本级配套资金", actor=chain.users[Role.COUNTY])
    rule = MatchingRule.create(area=chain.county, kind="matching", name="土左旗配捐", ratio_bp=1000, cap=1_000_000)
    entry = matching.post_matching(rule, project, chain.users[Role.COUNTY])
    assert entry.memo == "土左旗配捐：已筹 55,000.00 元 × 10%"
