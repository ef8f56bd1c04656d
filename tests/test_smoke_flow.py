from db import ledger, spending
from db.totals import project_totals

from .factories import Chain, advance_to, new_project


def test_project_walks_from_draft_to_spending(db):
    chain = Chain()
    project = advance_to(new_project(chain), "implementing", chain)
    totals = project_totals(project)
    assert totals.raised == 1_000_000 and totals.disbursed == 1_000_000
    import datetime as dt
    spending.record_expenditure(project, spent_on=dt.date(2024, 10, 1), item="路灯 60 盏", payee="某某照明有限公司",
                                amount=600_000, voucher_no="2024-001", actor=chain.users["village"])
    assert ledger.balance(ledger.project_account(project)) == 400_000
    assert project_totals(project).balance == 400_000
