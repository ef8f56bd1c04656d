"""The legal disclosure calendar (慈善法 art. 79; 慈善组织信息公开办法, in force 2026-01-01).

- A fundraising period or a project (implementation) period longer than six months needs a
  disclosure at least every three months: each full three-month window from the period's start
  must hold one.
- Within three months after fundraising ends, and within three months after the project ends, a
  full report is due (it says what happened to leftover money); this holds for periods of any length.

Months are calendar months (``dateutil.relativedelta``): 31 January plus one month is the last day
of February, 29 February in a leap year. The calendar cannot read what a disclosure says, so it
counts each disclosure for exactly one window: windows in order of their due date each take the
earliest disclosure not yet counted that was published on or after the window opened. One published
after the due date meets its window late (「逾期 2 天公示」) and is not counted again for the next.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from .bulk import raw_rows
from .clock import today
from .jurisdiction import scoped
from .models import Disclosure, Project, ProjectReview
from .workflow import PUBLISHED_STATES

DAY = dt.timedelta(days=1)
SOON = dt.timedelta(days=30)

STATUS_LABELS = {"met": "按时公示", "late": "逾期公示", "overdue": "已逾期", "due": "待公示",
                 "upcoming": "未到期"}


@lru_cache(maxsize=100_000)
def _shift(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months, clamped to the month's end (memoized: projects share dates)."""
    return day + relativedelta(months=months)


@dataclass(frozen=True)
class Deadline:
    label: str
    opens: dt.date   # a disclosure published on or after this day counts
    due: dt.date     # ... and on or before this one
    met_on: dt.date | None = None  # the disclosure counted for this window (db.deadlines.assign)

    def status(self, on: dt.date) -> str:
        if self.met_on is not None:
            return "met" if self.met_on <= self.due else "late"
        if self.due < on:
            return "overdue"
        return "due" if self.opens <= on else "upcoming"

    @property
    def days_late(self) -> int:
        """Days after the due date that the counted disclosure came (0 when on time or missing)."""
        return max((self.met_on - self.due).days, 0) if self.met_on else 0

    def describe(self, on: dt.date) -> str:
        """The window's status in one phrase, as the site and the admin say it (no count of days
        since: a page changes only when its data does)."""
        status = self.status(on)
        if status == "met":
            return f"{self.met_on:%Y-%m-%d} 按时公示"
        if status == "late":
            return f"{self.met_on:%Y-%m-%d} 公示，逾期 {self.days_late} 天"
        if status == "overdue":
            return f"应于 {self.due:%Y-%m-%d} 前公示，至今未公示"
        return f"截止 {self.due:%Y-%m-%d}" + ("，待公示" if status == "due" else "，未到期")


@dataclass(frozen=True)
class Facts:
    """What the calendar needs to know about one project."""
    starts_on: dt.date
    ends_on: dt.date                      # the planned end of fundraising
    fundraising_ended: dt.date | None     # target reached or missed, when recorded
    implementing_since: dt.date | None    # the money arrived at the village
    closed_on: dt.date | None             # accepted and closed after implementation
    published: tuple[dt.date, ...] = ()   # the project's disclosure dates


def assign(deadlines: list[Deadline], published) -> list[Deadline]:
    """Each window, in order of due date, takes the earliest uncounted disclosure published on or
    after it opened (late if after its due date); each disclosure is counted once."""
    left = sorted(published)
    result = []
    for deadline in sorted(deadlines, key=lambda d: (d.due, d.opens)):
        met = next((i for i, day in enumerate(left) if day >= deadline.opens), None)
        result.append(replace(deadline, met_on=left.pop(met) if met is not None else None))
    return result


def _periodic(what: str, start: dt.date, end: dt.date | None, on: dt.date) -> list[Deadline]:
    """One window per full three months of a period longer than six months; the rest of the period
    is covered by the report due after it ends. A period still running (``end`` is None) counts as
    long once it has run six months, and then shows the window it is in."""
    if (end or on) <= _shift(start, 6):
        return []
    deadlines, k, opens = [], 1, start
    while True:
        due = _shift(start, 3 * k) - DAY
        if (due >= end) if end else (opens > on):
            return deadlines
        deadlines.append(Deadline(f"{what}第 {k} 次定期公示（{opens:%Y-%m-%d} 至 {due:%Y-%m-%d}）", opens, due))
        k, opens = k + 1, due + DAY


def _report(what: str, ended: dt.date) -> Deadline:
    return Deadline(f"{what}结束后的全面公开（{ended:%Y-%m-%d} 结束）", ended, _shift(ended, 3))


def schedule(facts: Facts, on: dt.date) -> list[Deadline]:
    """Every disclosure the law asks of this project up to ``on`` and the next ones, in date order."""
    deadlines = []
    ended = facts.fundraising_ended or (facts.ends_on if facts.ends_on < on else None)
    fundraising_end = min(ended, facts.ends_on) if ended else facts.ends_on
    deadlines += _periodic("募捐", facts.starts_on, fundraising_end, on)
    if ended:
        deadlines.append(_report("募捐", fundraising_end))
    if facts.implementing_since:
        deadlines += _periodic("项目实施", facts.implementing_since, facts.closed_on, on)
        if facts.closed_on:
            deadlines.append(_report("项目", facts.closed_on))
    return assign(deadlines, [day for day in facts.published if day <= on])


def next_and_overdue(deadlines: list[Deadline], on: dt.date) -> tuple[Deadline | None, list[Deadline]]:
    """The next disclosure still to make (not overdue) and those already overdue."""
    pending = [d for d in deadlines if d.status(on) in ("due", "upcoming")]
    return (pending[0] if pending else None), [d for d in deadlines if d.status(on) == "overdue"]


# -- from the database ---------------------------------------------------------------------------------

def _day(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


def facts_of(projects) -> dict[int, Facts]:
    """Calendar facts of these projects (a list or a query of ids), in three queries."""
    entered: dict[int, dict[str, dt.date]] = {}
    steps = (ProjectReview.select(ProjectReview.project, ProjectReview.to_state, ProjectReview.action, ProjectReview.at)
             .where(ProjectReview.project.in_(projects) & ProjectReview.to_state.in_(MILESTONES)))
    for pid, to_state, action, at in raw_rows(steps):
        if to_state != "closed" or action != "close":  # "close" ends a project that never ran
            day, first = _day(at), entered.setdefault(pid, {})
            if to_state not in first or day < first[to_state]:
                first[to_state] = day
    published: dict[int, list[dt.date]] = {}
    for pid, day in raw_rows(Disclosure.select(Disclosure.project, Disclosure.published_on).where(
            Disclosure.project.in_(projects) & Disclosure.corrects.is_null())):  # a correction is no new disclosure
        published.setdefault(pid, []).append(_day(day))
    result = {}
    for pid, starts, ends in raw_rows(Project.select(Project.id, Project.starts_on, Project.ends_on).where(
            Project.id.in_(projects))):
        steps_of = entered.get(pid, {})
        ended = steps_of.get("target_reached") or steps_of.get("target_missed")
        result[pid] = Facts(_day(starts), _day(ends), ended, steps_of.get("implementing"), steps_of.get("closed"),
                            tuple(sorted(published.get(pid, ()))))
    return result


MILESTONES = ("target_reached", "target_missed", "implementing", "closed")


def project_calendar(project: Project, on: dt.date | None = None) -> list[Deadline]:
    """One project's calendar (empty before it is published for fundraising)."""
    if project.state not in PUBLISHED_STATES:
        return []
    return schedule(facts_of([project.id])[project.id], on or today())


def calendar_for(actor, on: dt.date | None = None) -> dict[int, list[Deadline]]:
    """Per project within the actor's jurisdiction: its deadlines as of ``on``."""
    on = on or today()
    ids = scoped(Project.select(Project.id), actor).where(Project.state.in_(PUBLISHED_STATES))
    return {pid: schedule(f, on) for pid, f in facts_of(ids).items()}


def pending_for(actor, on: dt.date | None = None) -> tuple[list[tuple[int, Deadline]], list[tuple[int, Deadline]]]:
    """Within the actor's jurisdiction, as ``(project id, deadline)``: disclosures overdue, and the
    next ones due within 30 days."""
    on = on or today()
    overdue, soon = [], []
    for pid, deadlines in calendar_for(actor, on).items():
        upcoming, late = next_and_overdue(deadlines, on)
        overdue += [(pid, d) for d in late]
        if upcoming is not None and upcoming.due <= on + SOON:
            soon.append((pid, upcoming))
    key = lambda item: (item[1].due, item[0])  # noqa: E731
    return sorted(overdue, key=key), sorted(soon, key=key)
