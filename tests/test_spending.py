import datetime as dt

import pytest

from db import ledger, spending
from db.errors import LedgerError, XfjyError
from db.models import AuditLog, Entry, Role
from db.totals import project_totals

from .factories import Chain, advance_to, new_project


@pytest.fixture
def running(db):
    chain = Chain()
    return chain, advance_to(new_project(chain), "implementing", chain)


def spend(chain, project, amount, **kw):
    fields = dict(spent_on=dt.date(2024, 10, 8), item="太阳能路灯", payee="土左旗光明照明工程有限公司", amount=amount,
                  voucher_no="PZ2024-0031", approved_by="李秀英", actor=chain.users[Role.VILLAGE])
    fields.update(kw)
    return spending.record_expenditure(project, **fields)


def test_spending_moves_money_to_the_payee(running):
    chain, project = running
    line = spend(chain, project, 250_000)
    entry = line.entries.get()
    moved = (entry.kind, entry.amount, entry.from_account.kind, entry.to_account.kind)
    assert moved == ("expenditure", 250_000, "project", "payee")
    assert entry.to_account.name == "土左旗光明照明工程有限公司"
    assert project_totals(project).spent == 250_000 and project_totals(project).balance == 750_000
    assert AuditLog.select().where((AuditLog.table == "expenditure") & (AuditLog.object_id == str(line.id))).exists()


def test_spending_beyond_what_the_village_holds_is_refused_and_writes_nothing(running):
    chain, project = running
    before = Entry.select().count(), project.expenditures.count()
    with pytest.raises(LedgerError, match="余额不足"):
        spend(chain, project, 1_000_001)
    assert (Entry.select().count(), project.expenditures.count()) == before


def test_spending_needs_money_at_the_village(db):
    chain = Chain()
    project = advance_to(new_project(chain), "use_applied", chain)
    with pytest.raises(XfjyError, match="实施阶段"):
        spend(chain, project, 100)


def test_spending_by_a_village_outside_is_refused(running):
    chain, project = running
    other = Chain("150122")
    with pytest.raises(XfjyError, match="本村社"):
        spend(chain, project, 100, actor=other.users[Role.VILLAGE])
    with pytest.raises(XfjyError, match="本村社"):
        spend(chain, project, 100, actor=chain.users[Role.TOWNSHIP])


def test_a_wrong_line_is_cancelled_by_reversal_not_edited(running):
    chain, project = running
    line = spend(chain, project, 300_000)
    reversal = spending.cancel_expenditure(line, "凭证号录错，重新登记", chain.users[Role.VILLAGE])
    assert reversal.reverses_id == line.entries.where(Entry.reverses.is_null()).get().id
    assert spending.is_cancelled(line)
    assert project_totals(project).spent == 0
    assert ledger.balance(ledger.project_account(project)) == 1_000_000
    with pytest.raises(LedgerError, match="已冲正"):
        spending.cancel_expenditure(line, "再次冲正", chain.users[Role.VILLAGE])
