"""Two people click at once (issue 12, items 5 and 6): eight threads, each with its own connection to a
committed database (a fresh SQLite file, a fresh PostgreSQL schema), take the same review step or post
the same previewed 拨付. One wins; the others are told it was done, and the history agrees with the state.
"""
from __future__ import annotations

import os
import threading
import uuid

import pytest

from db import areas, ledger, schema, workflow
from db.database import database, open_database
from db.errors import XfjyError
from db.models import Entry, Project, ProjectReview, Role

from .conftest import pg_schema
from .factories import Chain, advance_to, new_project

CLICKS = 8


@pytest.fixture(params=["sqlite", "postgres"])
def committed(request, tmp_path):
    """A database of its own whose rows are committed, so that other connections see them."""
    previous = database.obj
    context = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'clicks.sqlite3'}"
    else:
        context = pg_schema(f"xfjy_clicks_{os.getpid()}_{uuid.uuid4().hex[:8]}")
        url = context.__enter__()
    bound = open_database(url)
    bound.connect(reuse_if_open=True)
    schema.upgrade()
    areas.load_regions()
    try:
        yield bound
    finally:
        bound.close()
        database.initialize(previous)
        if context is not None:
            context.__exit__(None, None, None)


def all_at_once(work) -> list[str]:
    """Run ``work(i)`` in CLICKS threads released together; returns what each one said."""
    start, said = threading.Barrier(CLICKS), [""] * CLICKS

    def click(i):
        database.connect(reuse_if_open=True)
        try:
            start.wait(10)
            work(i)
            said[i] = "ok"
        except XfjyError as exc:
            said[i] = str(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=click, args=(i,)) for i in range(CLICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    database.connect(reuse_if_open=True)
    return said


def test_a_disbursement_submitted_eight_times_moves_the_money_one_hop(committed):
    chain = Chain()
    project = advance_to(new_project(chain), "use_applied", chain)
    region = chain.users[Role.REGION]
    hop = ledger.next_hop(project, region)
    database.close()
    said = all_at_once(lambda i: ledger.disburse(Project.get_by_id(project.id), region, hop.amount,
                                                 source=hop.source.id))
    assert said.count("ok") == 1, said
    assert all("已办理" in s for s in said if s != "ok"), said
    hops = Entry.select().where((Entry.project == project.id) & (Entry.kind == "disbursement"))
    assert [(e.from_account_id, e.amount) for e in hops] == [(hop.source.id, hop.amount)]
    assert ledger.integrity_problems() == []


def test_approve_and_return_clicked_together_leave_one_step_and_a_state_that_agrees(committed):
    chain = Chain()
    project = advance_to(new_project(chain), "county_review", chain)
    county = chain.users[Role.COUNTY]
    database.close()
    said = all_at_once(lambda i: workflow.advance_project(
        Project.get_by_id(project.id), "approve" if i % 2 else "reject", county, "意见",
        expected_state="county_review"))
    assert said.count("ok") == 1, said
    assert all("该步骤已由" in s for s in said if s != "ok"), said
    steps = list(ProjectReview.select().where((ProjectReview.project == project.id)
                                              & (ProjectReview.from_state == "county_review")))
    assert len(steps) == 1
    assert Project.get_by_id(project.id).state == steps[0].to_state
