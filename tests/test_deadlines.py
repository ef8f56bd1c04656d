"""db/deadlines.py: the legal disclosure calendar against dates worked out by hand (3, 7 and 14 month
periods, leap years, month ends), and the calendar of real projects within a user's jurisdiction."""
from __future__ import annotations

import datetime as dt

from db import disclosures
from db.deadlines import Facts, facts_of, next_and_overdue, pending_for, schedule
from db.models import ProjectReview, Role
from tests.factories import Chain, advance_to, new_project

D = dt.date


def windows(deadlines):
    return [(d.opens, d.due) for d in deadlines]


def test_a_three_month_fundraising_needs_only_the_report_after_it():
    facts = Facts(D(2024, 3, 1), D(2024, 5, 31), fundraising_ended=None, implementing_since=None, closed_on=None)
    assert schedule(facts, on=D(2024, 4, 1)) == []
    assert windows(schedule(facts, on=D(2024, 6, 5))) == [(D(2024, 5, 31), D(2024, 8, 31))]


def test_a_seven_month_fundraising_from_a_month_end_across_a_leap_february():
    # 31 Aug 2023 + 6 months = 29 Feb 2024 < 30 Mar 2024: a long period. Windows end the day before
    # 30 Nov, 29 Feb (leap day) and 31 May; the third would end after the period, so the report covers it.
    facts = Facts(D(2023, 8, 31), D(2024, 3, 30), fundraising_ended=None, implementing_since=None, closed_on=None,
                  published=(D(2023, 10, 8),))
    deadlines = schedule(facts, on=D(2024, 4, 2))
    assert windows(deadlines) == [(D(2023, 8, 31), D(2023, 11, 29)), (D(2023, 11, 30), D(2024, 2, 28)),
                                  (D(2024, 3, 30), D(2024, 6, 30))]
    assert [d.status(D(2024, 4, 2)) for d in deadlines] == ["met", "overdue", "due"]
    assert deadlines[0].met_on == D(2023, 10, 8)
    upcoming, overdue = next_and_overdue(deadlines, D(2024, 4, 2))
    assert upcoming is deadlines[2] and overdue == [deadlines[1]]
    assert "募捐第 2 次定期公示（2023-11-30 至 2024-02-28）" == deadlines[1].label


def test_a_fourteen_month_project_after_an_early_target():
    facts = Facts(D(2023, 11, 1), D(2023, 12, 31), fundraising_ended=D(2023, 12, 20), implementing_since=D(2024, 1, 31),
                  closed_on=D(2025, 3, 31), published=(D(2024, 3, 1), D(2024, 4, 29), D(2024, 10, 31), D(2025, 6, 30)))
    deadlines = schedule(facts, on=D(2025, 7, 1))
    assert windows(deadlines) == [
        (D(2023, 12, 20), D(2024, 3, 20)),   # fundraising report: 20 Dec + 3 months
        (D(2024, 1, 31), D(2024, 4, 29)),    # 31 Jan + 3 months = 30 Apr, less a day
        (D(2024, 4, 30), D(2024, 7, 30)),
        (D(2024, 7, 31), D(2024, 10, 30)),
        (D(2024, 10, 31), D(2025, 1, 30)),
        (D(2025, 3, 31), D(2025, 6, 30)),    # project report: 31 Mar + 3 months
    ]
    # each disclosure counts once, for the earliest window it can meet: 31 Oct is late for the window
    # that closed on 30 Jul (93 days), 30 Jun 2025 for the one of 30 Oct, and the last two have none
    assert [d.met_on for d in deadlines] == [D(2024, 3, 1), D(2024, 4, 29), D(2024, 10, 31), D(2025, 6, 30), None, None]
    assert [d.status(D(2025, 7, 1)) for d in deadlines] == ["met", "met", "late", "late", "overdue", "overdue"]
    assert [d.days_late for d in deadlines] == [0, 0, 93, 243, 0, 0]


def test_a_late_disclosure_meets_its_window_late_and_is_not_counted_again():
    # the case seen on the site: the first window closed on 12 Nov, the 第1期 disclosure came on 14 Nov
    facts = Facts(D(2023, 8, 13), D(2024, 6, 30), fundraising_ended=None, implementing_since=None, closed_on=None,
                  published=(D(2023, 11, 14),))
    first, second, *_ = schedule(facts, on=D(2024, 3, 1))
    assert (first.due, first.status(D(2024, 3, 1)), first.days_late) == (D(2023, 11, 12), "late", 2)
    assert first.describe(D(2024, 3, 1)) == "2023-11-14 公示，逾期 2 天"
    assert (second.due, second.met_on, second.status(D(2024, 3, 1))) == (D(2024, 2, 12), None, "overdue")
    assert second.describe(D(2024, 3, 1)) == "应于 2024-02-12 前公示，至今未公示"
    upcoming, overdue = next_and_overdue(schedule(facts, on=D(2024, 3, 1)), D(2024, 3, 1))
    assert overdue == [second]
    # a disclosure published after the build's date is not counted yet
    assert schedule(facts, on=D(2023, 11, 13))[0].status(D(2023, 11, 13)) == "overdue"


def test_a_correction_is_not_a_new_disclosure(db):
    chain = Chain()
    project = advance_to(new_project(chain, starts_on=D(2024, 3, 1), ends_on=D(2024, 12, 31)), "fundraising", chain)
    post = disclosures.publish(project, "第一季度公示", "收到捐赠。", published_on=D(2024, 5, 20))
    disclosures.correct(post, "收到捐赠 12 笔。", "补充笔数", published_on=D(2024, 7, 1))
    assert facts_of([project.id])[project.id].published == (D(2024, 5, 20),)


def test_a_running_project_started_on_a_leap_day_counts_as_long_after_six_months():
    facts = Facts(D(2023, 12, 1), D(2024, 1, 31), D(2024, 1, 31), implementing_since=D(2024, 2, 29), closed_on=None)
    assert [d.label for d in schedule(facts, on=D(2024, 8, 29))] == ["募捐结束后的全面公开（2024-01-31 结束）"]
    deadlines = schedule(facts, on=D(2024, 9, 15))[1:]
    assert windows(deadlines) == [(D(2024, 2, 29), D(2024, 5, 28)), (D(2024, 5, 29), D(2024, 8, 28)),
                                  (D(2024, 8, 29), D(2024, 11, 28))]
    assert [d.status(D(2024, 9, 15)) for d in deadlines] == ["overdue", "overdue", "due"]
    # 29 Feb 2024 + 12 months is 28 Feb 2025: the fifth window opens then
    later = schedule(facts, on=D(2025, 3, 1))[1:]
    assert later[-1].opens == D(2025, 2, 28)


def test_facts_come_from_the_recorded_steps_and_disclosures(db):
    chain = Chain()
    project = advance_to(new_project(chain, starts_on=D(2024, 3, 1), ends_on=D(2024, 12, 31)), "target_reached",
                         chain)
    reached = ProjectReview.get((ProjectReview.project == project) & (ProjectReview.to_state == "target_reached"))
    ProjectReview.update(at=dt.datetime(2024, 9, 2, 10, 0)).where(ProjectReview.id == reached.id).execute()
    disclosures.publish(project, "第一季度公示", "收到捐赠。", published_on=D(2024, 5, 20))
    facts = facts_of([project.id])[project.id]
    assert facts == Facts(D(2024, 3, 1), D(2024, 12, 31), D(2024, 9, 2), None, None, (D(2024, 5, 20),))
    other = Chain(county_code="150102")
    other_project = advance_to(new_project(other, starts_on=D(2024, 3, 1), ends_on=D(2024, 12, 31)), "fundraising",
                               other)
    overdue, soon = pending_for(chain.users[Role.COUNTY], on=D(2024, 11, 25))
    assert [(p, d.due) for p, d in overdue] == [(project.id, D(2024, 8, 31))]   # 1 Jun – 31 Aug: nothing
    assert [(p, d.due) for p, d in soon] == [(project.id, D(2024, 12, 2))]      # 2 Sep + 3 months
    region_overdue, region_soon = pending_for(chain.users[Role.REGION], on=D(2024, 11, 25))
    mine = {project.id, other_project.id}
    assert sorted((p, d.due) for p, d in region_overdue if p in mine) == sorted([
        (other_project.id, D(2024, 5, 31)), (other_project.id, D(2024, 8, 31)), (project.id, D(2024, 8, 31))])
    assert [(p, d.due) for p, d in region_soon if p in mine] == [
        (other_project.id, D(2024, 11, 30)), (project.id, D(2024, 12, 2))]
