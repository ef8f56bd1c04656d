"""db/published.py and db/snapshot.py: what a village page shows of long lists (the rest is in the open
data), and when the data last changed."""
from __future__ import annotations

import datetime as dt

from db import funds, ledger, snapshot, supervision
from db.clock import travel
from db.models import Entry, Role
from db.published import SPENDING_ON_PAGE, Details, SpendingRow


def line(n: int, project_id: int) -> SpendingRow:
    return SpendingRow(n, project_id, dt.date(2025, 1, 1) + dt.timedelta(days=n), f"第 {n} 批", "某公司", 100 * n,
                       f"PZ-{n}", False)


def test_a_page_shows_the_latest_spending_lines_of_its_project_oldest_first():
    details = Details(spending=[line(n, 7 if n % 3 else 8) for n in range(1, 121)])
    shown, count = details.spending_on_page(7)
    assert count == 80 and len(shown) == SPENDING_ON_PAGE
    assert [s.id for s in shown] == [n for n in range(1, 121) if n % 3][-SPENDING_ON_PAGE:]
    assert details.spending_on_page(8) == ([s for s in details.spending if s.project_id == 8], 40)
    assert details.spending_on_page(9) == ([], 0)


# -- db/snapshot.py: one honest update time ---------------------------------------------------------

def closed_with_money_in_the_fund(chain):
    from db import settlement, workflow

    from .factories import advance_to, donate, new_project

    project = advance_to(new_project(chain, target=500_000), "fundraising", chain)
    donate(project, 90_000)
    workflow.advance_project(project, "expire", None, on=dt.datetime(2024, 9, 1, 9, 0))
    workflow.advance_project(project, "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    return project


def test_a_payment_from_the_fund_is_the_village_pages_latest_change_and_the_sites(db, chain):
    """A 互助基金 payment has no project, yet it changes the village's page: its 「更新于」 and the
    home page's 「数据更新于」 must both move to it."""
    closed_with_money_in_the_fund(chain)
    later = dt.datetime(2030, 1, 10, 9, 0)
    with travel(later):
        funds.spend(chain.village, spent_on=later.date(), item="冬季取暖补助", payee="困难户某某", amount=20_000,
                    approved_by="李秀英、张海军", approved_on=later.date())
    with snapshot.read() as snap:
        village = next(v for v in snap.villages if v.id == chain.village.id)
        updated = snapshot.details([village])[village.id].updated_at
        assert updated == later
        assert snap.taken_at == later


def test_the_sites_update_time_is_the_latest_entry_even_when_it_has_a_lower_id(db, chain):
    """The demo and imports post entries out of time order: the latest moment counts, not the last row."""
    closed_with_money_in_the_fund(chain)
    sponsor, pool = ledger.sponsor_account("甲企业").id, ledger.pool_account(chain.county).id
    later, earlier = dt.datetime(2031, 5, 1, 8, 0), dt.datetime(2029, 5, 1, 8, 0)
    for moment in (later, earlier):
        ledger.post_many([dict(kind="pool_funding", from_account=sponsor, to_account=pool, amount=100,
                               posted_at=moment)])
    assert Entry.select().order_by(Entry.id.desc()).first().posted_at == earlier
    with snapshot.read() as snap:
        assert snap.taken_at == later


def test_a_supervision_opinion_does_not_move_the_village_pages_update_time(db, chain):
    """A 监督意见 (public, so the page shows it) is no change of the village's money or records: its
    「更新于」 and the site's 「数据更新于」 stay where its last change left them."""
    project = closed_with_money_in_the_fund(chain)

    def read():
        with snapshot.read() as snap:
            village = next(v for v in snap.villages if v.id == chain.village.id)
            details = snapshot.details([village])[village.id]
            return details.updated_at, snap.taken_at, [o.text for o in details.opinions]

    before = read()
    with travel(dt.datetime(2030, 3, 1, 9, 0)):
        supervision.give_opinion(project, "支出凭证齐全，账目清楚。", given_on=dt.date(2030, 3, 1), public=True,
                                 actor=chain.users[Role.SUPERVISOR])
    updated, taken_at, opinions = read()
    assert opinions == ["支出凭证齐全，账目清楚。"]  # on the page ...
    assert (updated, taken_at) == before[:2]  # ... without moving its date
    assert updated < dt.datetime(2030, 1, 1)
