"""db/published.py: what a village page shows of long lists (the rest is in the open data)."""
from __future__ import annotations

import datetime as dt

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
