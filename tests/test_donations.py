"""Gifts into the ledger (db.donations): booking, timing against the fundraising period, refunds."""
from __future__ import annotations

import datetime as dt

import pytest

from db import donations, ledger
from db.areas import get_area
from db.errors import LedgerError
from db.models import Entry, Role
from db.totals import project_totals

from .factories import (
    TOGTOH,
    advance_to,
    donate,
    entry_count,
    new_project,
    user,
)

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
