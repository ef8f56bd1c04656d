"""The database itself refuses what the README says it refuses (issue 12, items 8–10), whoever writes to
it — raw SQL here, as a console or a script would — and the integrity check names what slipped past."""
from __future__ import annotations

import pytest

from db import integrity
from db.database import is_postgres
from db.models import Donation, Entry

from .backends import refused
from .factories import Chain, advance_to, donate, new_project


@pytest.fixture
def posted(db):
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    gift = donate(project, 12_345)
    entry = Entry.get(Entry.donation == gift)
    return dict(project=project, gift=gift, entry=entry)


def _insert_entry(db, posted, **overrides):
    e = posted["entry"]
    values = dict(kind="donation", from_account_id=e.from_account_id, to_account_id=e.to_account_id, amount=100,
                  project_id=e.project_id, reason="", memo="", posted_at=e.posted_at, booked_on=e.booked_on)
    values.update(overrides)
    marks = ", ".join([db.param] * len(values))
    return f'INSERT INTO "entry" ({", ".join(values)}) VALUES ({marks})', list(values.values())


def test_an_entry_cannot_be_replaced_in_place(db, posted):
    e = posted["entry"]
    if is_postgres():
        message = refused(db, 'INSERT INTO "entry" (id, kind, from_account_id, to_account_id, amount, reason, memo, '
                          'posted_at, booked_on) SELECT id, kind, from_account_id, to_account_id, 99999999, reason, '
                          'memo, posted_at, booked_on FROM "entry" WHERE id = %s '
                          'ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount', [e.id])
    else:
        message = refused(db, 'REPLACE INTO "entry" (id, kind, from_account_id, to_account_id, amount, reason, memo, '
                          'posted_at, booked_on) SELECT id, kind, from_account_id, to_account_id, 99999999, reason, '
                          'memo, posted_at, booked_on FROM "entry" WHERE id = ?', [e.id])
    assert "append-only" in message
    assert Entry.get_by_id(e.id).amount == 12_345


@pytest.mark.parametrize("amount", ["abc", 0, -5, "0.5", 2.5])
def test_an_entry_amount_is_a_positive_integer(db, posted, amount):
    if is_postgres() and amount == 2.5:
        # bigint holds integers only: PostgreSQL's assignment cast rounds a fractional value (README)
        sql, params = _insert_entry(db, posted, amount=amount)
        with db.atomic() as inner:
            db.execute_sql(sql, params)
            assert isinstance(Entry.select(Entry.amount).order_by(Entry.id.desc()).scalar(), int)
            inner.rollback()
        return
    refused(db, *_insert_entry(db, posted, amount=amount))


def test_an_entry_has_a_known_kind_and_two_accounts(db, posted):
    refused(db, *_insert_entry(db, posted, kind="bogus"))
    refused(db, *_insert_entry(db, posted, to_account_id=posted["entry"].from_account_id))


@pytest.mark.parametrize("table, column", [("donation", "amount"), ("donation", "project_id"),
                                           ("expenditure", "amount")])
def test_what_the_ledger_posted_does_not_change(db, posted, table, column):
    from db import spending
    from db.models import Role

    chain = Chain()
    project = advance_to(new_project(chain), "implementing", chain)
    line = spending.record_expenditure(project, spent_on=project.starts_on, item="路灯", payee="某厂", amount=700,
                                       actor=chain.users[Role.VILLAGE])
    row = posted["gift"] if table == "donation" else line
    value = 1 if column == "amount" else project.id
    assert "does not change" in refused(db, f'UPDATE "{table}" SET {column} = {db.param} WHERE id = {db.param}',
                                        [value, row.id])


def test_the_integrity_check_names_a_gift_whose_amount_differs_from_its_entry(db, posted):
    gift = posted["gift"]
    assert integrity.recorded_problems() == []
    with db.atomic() as inner:
        if is_postgres():
            db.execute_sql('ALTER TABLE "donation" DISABLE TRIGGER donation_money_fixed')
        else:
            db.execute_sql("DROP TRIGGER donation_money_fixed")
        Donation.update(amount=99).where(Donation.id == gift.id).execute()
        problems = integrity.integrity_problems()
        assert f"捐赠 #{gift.id} 金额 0.99 元 与分录不符（记账 123.45 元）" in problems
        inner.rollback()
    assert integrity.recorded_problems() == []
