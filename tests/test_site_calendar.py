"""The disclosure calendar on a public village page: the next disclosure due, and an overdue one said plainly."""
from __future__ import annotations

import html
import re

from dateutil.relativedelta import relativedelta

from db import disclosures, snapshot
from db.clock import today
from db.deadlines import facts_of, next_and_overdue, schedule
from site_builder.pages import Site
from tests.factories import Chain, advance_to, new_project


def page_of(village_code: str) -> str:
    with snapshot.read() as snap:
        village = next(v for v in snap.villages if v.code == village_code)
        details = snapshot.details([village])[village.id]
        return Site(snap, "").village(village, details).body


def text_of(body: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def test_a_village_page_shows_the_next_disclosure_and_the_overdue_one(db):
    on = today()
    chain = Chain()
    project = advance_to(new_project(chain, starts_on=on - relativedelta(months=8), ends_on=on + relativedelta(months=4)),
                         "fundraising", chain)
    disclosures.publish(project, "第一次公示", "收到捐赠。", published_on=on - relativedelta(months=7))
    upcoming, overdue = next_and_overdue(schedule(facts_of([project.id])[project.id], on), on)
    assert len(overdue) == 1 and upcoming is not None and upcoming.opens <= on <= upcoming.due
    body = page_of(chain.village.area.code)
    text = text_of(body)
    assert f"公示已逾期：{overdue[0].label}，应于 {overdue[0].due:%Y-%m-%d} 前公示，至今未公示。" in text
    assert f"下次应公示：{upcoming.label}，截止 {upcoming.due:%Y-%m-%d}。" in text
    assert 'class="xfjy-overdue"' in body


def test_a_page_without_anything_due_says_nothing_about_it(db):
    on = today()
    chain = Chain()
    advance_to(new_project(chain, starts_on=on - relativedelta(days=10), ends_on=on + relativedelta(months=2)),
               "fundraising", chain)
    body = page_of(chain.village.area.code)
    assert "公示已逾期" not in body and "下次应公示" not in body
