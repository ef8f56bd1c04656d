"""The signed-in user's to-do list: what waits at their level, within their area."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .clock import today
from .deadlines import pending_for
from .disbursement import waiting_hops
from .jurisdiction import may_write, scoped
from .milestones import due_for
from .models import Project, Role, Village
from .workflow import ADMISSION, PROJECT


@dataclass
class Todo:
    label: str
    count: int
    kind: str        # "project" or "village": which grid lists them
    states: tuple    # the states to filter that grid by
    amount: int | None = None  # money concerned, where there is any


def _waiting_states(machine, actor) -> tuple:
    """States whose next step is taken at the actor's level (approve, submit, file...)."""
    if actor is None or actor.role == Role.ADMIN or not may_write(actor):  # a read-only user takes no step
        return ()
    return tuple(sorted({s for (s, _), t in machine.transitions.items()
                         if t.level == actor.level and t.decision != "reject"}))


def projects_waiting(actor):
    """The projects within the actor's area whose next review step is the actor's (a query)."""
    return scoped(Project.select(), actor).where(Project.state.in_(_waiting_states(PROJECT, actor)))


def villages_waiting(actor):
    """The villages within the actor's area whose next admission step is the actor's (a query)."""
    return scoped(Village.select(), actor).where(Village.admission_state.in_(_waiting_states(ADMISSION, actor)))


def todo_list(actor, on: dt.date | None = None) -> list[Todo]:
    on = on or today()
    items = []
    states = _waiting_states(PROJECT, actor)
    if states:
        items.append(Todo("等待我办理的项目", projects_waiting(actor).count(), "project", states))
    states = _waiting_states(ADMISSION, actor)
    if states:
        items.append(Todo("等待我办理的村社入选", villages_waiting(actor).count(), "village", states))
    overdue = scoped(Project.select(), actor).where((Project.state == "fundraising") & (Project.ends_on < on))
    items.append(Todo("募集期限已过、待确认结果的项目", overdue.count(), "project", ("fundraising",)))
    unsettled = scoped(Project.select(), actor).where(Project.state == "target_missed")
    items.append(Todo("期满未达成、待转入互助基金的项目", unsettled.count(), "project", ("target_missed",)))
    if actor is not None and actor.role in (Role.REGION, Role.PREFECTURE, Role.COUNTY):
        waiting = waiting_hops(actor)
        items.append(Todo("待拨付：善款已到本级，待向下一级拨付", len(waiting), "disburse", (),
                          sum(amount for _, amount in waiting)))
    overdue, soon = pending_for(actor, on)
    items.append(Todo("公示已逾期的项目（慈善法第七十九条）", len({pid for pid, _ in overdue}), "disclosure_overdue", ()))
    items.append(Todo("30 天内须公示的项目", len(soon), "disclosure_soon", ()))
    if actor is not None and actor.role in (Role.REGION, Role.PREFECTURE) and may_write(actor):
        steps = due_for(actor, on)
        if actor.role == Role.REGION:
            items.append(Todo("实施步骤：待自治区审核", sum(1 for d in steps if d.waiting_review), "milestone", ()))
            items.append(Todo("实施步骤：各盟市已逾期", sum(1 for d in steps if not d.waiting_review), "milestone", ()))
        else:
            items.append(Todo("实施步骤：30 天内到期或已逾期", len(steps), "milestone", ()))
    return items
