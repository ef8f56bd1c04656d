"""db/totals.py: the totals read the checkpointed tally plus the entries after it, and always equal
the sums of the raw entries, whenever the checkpoint was taken."""
from __future__ import annotations

import os
import threading
import time

import pytest
from peewee import fn

from db import disbursement, donations, integrity, ledger, schema
from db.database import database, open_database, write_transaction
from db.models import AccountTally, Entry, LedgerTally
from db.totals import advance_tally, tally_problems, totals, totals_by_project
from tests.backends import pg_schema
from tests.factories import Chain, advance_to, donate, new_project


def raw_net(project, kind) -> int:
    """The net sum of one project's entries of one kind, straight from the entry table."""
    plus = Entry.select(fn.COALESCE(fn.SUM(Entry.amount), 0)).where(
        (Entry.project == project) & (Entry.kind == kind) & Entry.reverses.is_null()).scalar()
    minus = Entry.select(fn.COALESCE(fn.SUM(Entry.amount), 0)).where(
        (Entry.project == project) & (Entry.kind == kind) & Entry.reverses.is_null(False)).scalar()
    return int(plus) - int(minus)


@pytest.fixture
def projects(db):
    chain = Chain()
    first = advance_to(new_project(chain), "fundraising", chain)
    other = Chain(county_code="150102")
    second = advance_to(new_project(other), "fundraising", other)
    return chain, first, second


def test_totals_are_the_same_before_and_after_a_checkpoint(db, projects):
    chain, first, second = projects
    gifts = [donate(first, 10_000), donate(first, 2_550), donate(second, 70_001)]
    before = totals_by_project([first.id, second.id])
    assert advance_tally() == len(gifts)
    assert LedgerTally.select().count() == 2
    assert totals_by_project([first.id, second.id]) == before
    assert before[first.id].raised == raw_net(first, "donation") == 12_550
    assert advance_tally() == 0


def test_entries_after_the_checkpoint_are_added_to_it(db, projects):
    chain, first, second = projects
    donate(first, 10_000)
    advance_tally()
    late = donate(first, 300)
    donations.refund_donation(late, "捐赠人申请退款", chain.users["county"])
    donate(second, 5)
    assert totals([first.id]).raised == raw_net(first, "donation") - raw_net(first, "refund") == 10_000
    assert totals(area=chain.county).raised == 10_000
    assert totals(area=chain.region).raised == totals([first.id, second.id]).raised
    advance_tally()
    assert totals([first.id]).raised == 10_000
    assert totals_by_project([second.id])[second.id].raised == 5
    assert tally_problems() == []


def test_a_reversal_is_netted_under_its_original_kind(db, projects):
    chain, first, _ = projects
    gift = donate(first, 8_000)
    advance_tally()
    entry = Entry.get(Entry.donation == gift)
    ledger.reverse(entry, "重复入账", chain.users["region"])
    assert totals([first.id]).raised == 0
    advance_tally()
    assert totals([first.id]).raised == 0


def test_a_tampered_tally_is_reported_by_the_integrity_check(db, projects):
    _, first, _ = projects
    donate(first, 10_000)
    advance_tally()
    assert integrity.integrity_problems() == []
    LedgerTally.update(net=LedgerTally.net + 1).where(LedgerTally.project == first).execute()
    problems = integrity.integrity_problems()
    assert len(problems) == 1 and "缓存 10001 分，分录 10000 分" in problems[0]


@pytest.fixture(params=["sqlite", "postgres"])
def committed(request, tmp_path):
    """A database of its own, with committed data, that several threads can write to."""
    previous = database.obj
    if request.param == "sqlite":
        url, context = f"sqlite:///{tmp_path / 'race.sqlite3'}", None
    else:
        context = pg_schema(f"xfjy_tally_race_{os.getpid()}")
        url = context.__enter__()
    bound = open_database(url)
    bound.connect(reuse_if_open=True)
    schema.upgrade()
    source, target = ledger.donors_account(), ledger.sponsor_account("测试单位")
    bound.close()
    yield source.id, target.id
    bound.close()
    database.initialize(previous)
    if context is not None:
        context.__exit__(None, None, None)


def test_a_checkpoint_waits_for_a_posting_in_flight_and_includes_it(committed):
    source, target = committed
    posted, commit = threading.Event(), threading.Event()

    def post_and_hold():
        database.connect(reuse_if_open=True)
        with write_transaction():
            ledger.post_many([dict(kind="donation", from_account=source, to_account=target, amount=700)],
                             check=False)
            posted.set()
            commit.wait(10)
        database.close()

    def checkpoint():
        database.connect(reuse_if_open=True)
        folded.append(advance_tally())
        database.close()

    folded: list[int] = []
    poster = threading.Thread(target=post_and_hold)
    poster.start()
    assert posted.wait(10)
    checker = threading.Thread(target=checkpoint)
    checker.start()
    time.sleep(0.5)
    assert checker.is_alive() and not folded  # blocked behind the posting's lock
    commit.set()
    poster.join(10)
    checker.join(10)
    assert folded == [1]
    database.connect(reuse_if_open=True)
    assert LedgerTally.select(fn.SUM(LedgerTally.net)).scalar() == 700
    assert tally_problems() == []
    database.close()


def test_the_money_each_level_holds_is_the_same_from_the_account_tally(db, projects):
    """Issue 18: held_by_level reads each account's checkpointed balance plus the entries after it."""
    chain, first, second = projects
    donate(first, 10_000)
    donate(second, 4_000)
    before = disbursement.held_by_level(chain.region)
    advance_tally()
    assert AccountTally.select().count() >= 2
    assert disbursement.held_by_level(chain.region) == before
    late = donate(first, 300)
    donations.refund_donation(late, "捐赠人申请退款", chain.users["county"])
    donate(second, 5)
    fresh = dict(disbursement.held_by_level(chain.county))
    advance_tally()
    assert dict(disbursement.held_by_level(chain.county)) == fresh
    assert dict(disbursement.held_by_level(chain.region))["中华慈善总会专用账户（待拨付或超出目标）"] == 14_005
    assert tally_problems() == []
    AccountTally.delete().execute()  # as migration 016 leaves a database: the next checkpoint fills it
    assert advance_tally() == 0 and AccountTally.select().count() >= 2
    assert dict(disbursement.held_by_level(chain.county)) == fresh and tally_problems() == []


def test_a_tampered_account_tally_is_reported(db, projects):
    _, first, _ = projects
    donate(first, 10_000)
    advance_tally()
    AccountTally.update(net=AccountTally.net + 1).execute()
    problems = integrity.integrity_problems()
    assert problems and all("账户余额缓存与分录不符" in p for p in problems)
