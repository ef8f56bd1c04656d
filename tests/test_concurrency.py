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
    """A database of its own whose rows are committed, so that other connections see them; yields its URL."""
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
        yield url
    finally:
        bound.close()
        database.initialize(previous)
        if context is not None:
            context.__exit__(None, None, None)


def all_at_once(work, count: int = CLICKS) -> list[str]:
    """Run ``work(i)`` in ``count`` threads released together; returns what each one said."""
    start, said = threading.Barrier(count), [""] * count

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

    threads = [threading.Thread(target=click, args=(i,)) for i in range(count)]
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


# -- real HTTP clients against the served admin ------------------------------------------------------

def signed_in(base: str, username: str):
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"username": username, "password": "secret-pass-2026",
                                                   "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    return session, token


def test_three_people_editing_three_fields_of_one_row_keep_all_three(committed, tmp_path, monkeypatch):
    """Seen: 21 of 45 values lost on SQLite, 18 of 45 on PostgreSQL, every response 保存记录成功."""
    from werkzeug.security import generate_password_hash

    from admin import create_app
    from db.models import User, Village

    from .browser_support import LiveServer

    chain = Chain()
    county = chain.users[Role.COUNTY]
    User.update(password_hash=generate_password_hash("secret-pass-2026", method="pbkdf2:sha256:1000")).where(
        User.id == county.id).execute()
    village_id = chain.village.id
    monkeypatch.setenv("XFJY_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"SECRET_KEY": "race", "DATABASE_URL": committed, "ATTACHMENTS_DIR": str(tmp_path / "attachments")})
    server = LiveServer(app)
    server.start()
    try:
        clients = [signed_in(server.url, county.username) for _ in range(3)]
        fields = ("address", "leader_name", "leader_phone")
        lost = 0
        for round_ in range(15):
            start = threading.Barrier(3)
            answers = [None] * 3

            def edit(k, round_=round_, start=start, answers=answers):
                session, token = clients[k]
                start.wait(10)
                answers[k] = session.post(f"{server.url}/admin/village/ajax/update/", data={
                    "list_form_pk": village_id, fields[k]: f"{round_}-{k}", "csrf_token": token}).status_code

            threads = [threading.Thread(target=edit, args=(k,)) for k in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
            assert answers == [200, 200, 200], answers
            database.connect(reuse_if_open=True)
            row = Village.get_by_id(village_id)
            lost += sum(getattr(row, f) != f"{round_}-{k}" for k, f in enumerate(fields))
            database.close()
        assert lost == 0
    finally:
        server.stop()



def test_overlapping_imports_at_once_write_every_row_once(committed):
    """Seen on PostgreSQL: HTTP 500 (UniqueViolation) and 51 of 58 rows written."""
    from db.imports import import_donations
    from db.models import Donation

    from .test_imports import csv_bytes, row

    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    files = [csv_bytes([row(project, f"OV-{n}", "10") for n in range(k * 10, k * 10 + 30)]) for k in range(CLICKS)]
    database.close()
    said = all_at_once(lambda i: import_donations(files[i], f"f{i}.csv"))
    assert said == ["ok"] * CLICKS, said
    assert Donation.select().where(Donation.txn_no.startswith("OV-")).count() == (CLICKS - 1) * 10 + 30
    assert Entry.select().where(Entry.kind == "donation").count() == Donation.select().count()
    assert ledger.integrity_problems() == []


def test_forty_sign_ins_at_once_check_at_most_five_passwords(committed, monkeypatch):
    """Seen: 40 concurrent logins (39 wrong, 1 right): all 39 checked and the right one got in. Forty
    guesses at once now try five passwords and lock the account; the right one is refused after."""
    from werkzeug.security import generate_password_hash

    from db import users
    from db.models import User

    person = Chain().users[Role.COUNTY]
    User.update(password_hash=generate_password_hash("right-password-2026", method="pbkdf2:sha256:1000")).where(
        User.id == person.id).execute()
    checked = []
    real = users.check_password
    monkeypatch.setattr(users, "check_password", lambda user, password: checked.append(password) or real(user, password))
    database.close()
    said = all_at_once(lambda i: users.authenticate(person.username, f"guess-{i}"), 40)
    assert len(checked) <= users.MAX_FAILED_LOGINS, len(checked)
    assert said == [users.SIGN_IN_FAILED] * 40
    assert User.get_by_id(person.id).locked_until is not None
    with pytest.raises(XfjyError):
        users.authenticate(person.username, "right-password-2026")
    assert len(checked) <= users.MAX_FAILED_LOGINS
