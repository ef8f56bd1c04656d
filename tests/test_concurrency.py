"""Two people click at once (issue 12, items 4–7 and 11). The admin runs as deployed: ``xfjy serve``
in a process of its own, on PostgreSQL signed in as the role of ``deploy/postgres.sql``; eight browsers
(``requests`` sessions, each signed in) take the same review step, post the same previewed 拨付, send
the same form, confirm overlapping imports. One wins; the others are told why, and the history agrees
with the state.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from db import areas, disbursement, integrity, ledger, schema
from db.database import database, open_database
from db.errors import XfjyError
from db.models import Entry, Project, ProjectReview, Role

from .backends import pg_schema
from .factories import Chain, advance_to, csv_bytes, donate, new_project, row
from .served import app_role, flashed, hidden_fields, set_password, signed_in, xfjy_serve

CLICKS = 8


@dataclass
class Deployment:
    url: str      # the test's own connection: the schema's owner
    app_url: str  # what ``xfjy serve`` signs in with: on PostgreSQL the role of deploy/postgres.sql
    instance: Path
    schema: str | None = None

    def serve(self):
        return xfjy_serve(self.app_url, self.instance)


@pytest.fixture(params=["sqlite", "postgres"])
def deployed(request, tmp_path):
    """A database of its own whose rows are committed, so that the served app sees them."""
    previous = database.obj
    with contextlib.ExitStack() as stack:
        name = None
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'clicks.sqlite3'}"
        else:
            name = f"xfjy_clicks_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            url = stack.enter_context(pg_schema(name))
        bound = open_database(url)
        bound.connect(reuse_if_open=True)
        schema.upgrade()
        areas.load_regions()
        app_url = stack.enter_context(app_role(name)) if name else url
        try:
            yield Deployment(url, app_url, tmp_path / "instance", name)
        finally:
            bound.close()
            database.initialize(previous)


def at_once(work, count: int = CLICKS) -> list:
    """Run ``work(i)`` in ``count`` threads released together; returns what each returned (or raised)."""
    start, results = threading.Barrier(count), [None] * count

    def run(i):
        try:
            start.wait(10)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion on the results
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def browsers(base: str, user, count: int = CLICKS):
    return [signed_in(base, user.username) for _ in range(count)]


def project_page(base, project) -> str:
    return f"{base}/admin/workflow/project/{project.id}"


# -- two people click at once: real browsers against ``xfjy serve`` ------------------------------------

def test_approve_and_return_clicked_together_leave_one_step_and_a_state_that_agrees(deployed):
    """Seen on PostgreSQL: 4 同意 + 4 退回 left [退回, 同意, 退回] and the state 盟市备案."""
    chain = Chain()
    project = advance_to(new_project(chain), "county_review", chain)
    county = chain.users[Role.COUNTY]
    set_password(county)
    with deployed.serve() as base:
        people = browsers(base, county)
        forms = [hidden_fields(s.get(project_page(base, project)).text, 'id="step-form"') for s, _ in people]
        answers = at_once(lambda i: people[i][0].post(f"{project_page(base, project)}/step", data={
            **forms[i], "action": "approve" if i % 2 else "reject", "opinion": "意见"}, allow_redirects=False))
        said = [flashed(people[i][0], answer) for i, answer in enumerate(answers)]
    assert sum(words == ["已办理"] for words in said) == 1, said
    assert sum(any("该步骤已由" in w for w in words) for words in said) == CLICKS - 1, said
    steps = list(ProjectReview.select().where((ProjectReview.project == project.id)
                                              & (ProjectReview.from_state == "county_review")))
    assert len(steps) == 1
    assert Project.get_by_id(project.id).state == steps[0].to_state


def test_a_disbursement_submitted_by_eight_browsers_moves_the_money_one_hop(deployed):
    """Seen: 8 × the same 拨付 form posted both 全国→自治区 and 自治区→通辽市."""
    chain = Chain()
    project = advance_to(new_project(chain), "use_applied", chain)
    region = chain.users[Role.REGION]
    hop = disbursement.next_hop(project, region)
    set_password(region)
    with deployed.serve() as base:
        people = browsers(base, region)
        marker = f'action="/admin/workflow/project/{project.id}/disburse"'
        forms = [hidden_fields(s.get(project_page(base, project)).text, marker) for s, _ in people]
        assert forms[0]["expected"] == str(hop.amount) and forms[0]["source"] == str(hop.source.id)
        answers = at_once(lambda i: people[i][0].post(f"{project_page(base, project)}/disburse", data=forms[i],
                                                      allow_redirects=False))
        said = [flashed(people[i][0], answer) for i, answer in enumerate(answers)]
    assert sum(words == ["已拨付并记账"] for words in said) == 1, said
    hops = Entry.select().where((Entry.project == project.id) & (Entry.kind == "disbursement"))
    assert [(e.from_account_id, e.amount) for e in hops] == [(hop.source.id, hop.amount)]
    assert integrity.integrity_problems() == []


def test_the_same_pool_form_sent_eight_times_at_once_books_once(deployed):
    """A 资金池 entry has no number of its own to recognise it by: the form's one-time token is."""
    from db.submissions import ALREADY_POSTED

    chain = Chain()
    county = chain.users[Role.COUNTY]
    set_password(county)
    with deployed.serve() as base:
        people = browsers(base, county)
        form = {**hidden_fields(people[0][0].get(f"{base}/admin/workflow/pool").text, 'id="pool-form"'),
                "amount": "1,000.00", "source": "本级配套资金"}
        answers = at_once(lambda i: people[i][0].post(f"{base}/admin/workflow/pool",
                                                      data={**form, "csrf_token": people[i][1]}, allow_redirects=False))
        said = [flashed(people[i][0], answer) for i, answer in enumerate(answers)]
    assert sorted(said) == sorted([[ALREADY_POSTED]] * (CLICKS - 1) + [["已入账"]]), said
    assert ledger.balance(ledger.pool_account(chain.county)) == 100_000


def test_overlapping_imports_confirmed_at_once_write_every_row_once(deployed):
    """Seen on PostgreSQL: HTTP 500 (UniqueViolation) and 51 of 58 rows written."""
    from db.models import Donation

    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    county = chain.users[Role.COUNTY]
    set_password(county)
    files = [csv_bytes([row(project, f"OV-{n}", "10") for n in range(k * 10, k * 10 + 30)]) for k in range(CLICKS)]
    with deployed.serve() as base:
        people = browsers(base, county)
        forms = []
        for (session, token), data in zip(people, files):
            page = session.post(f"{base}/admin/imports/preview", data={"kind": "donations", "csrf_token": token},
                                files={"file": ("捐赠.csv", data, "text/csv")}).text
            forms.append(hidden_fields(page, 'action="/admin/imports/confirm"'))
        answers = at_once(lambda i: people[i][0].post(f"{base}/admin/imports/confirm", data=forms[i],
                                                      allow_redirects=False))
        said = [flashed(people[i][0], answer) for i, answer in enumerate(answers)]
    assert all(words and "失败" not in words[0] for words in said), said
    assert Donation.select().where(Donation.txn_no.startswith("OV-")).count() == (CLICKS - 1) * 10 + 30
    assert Entry.select().where(Entry.kind == "donation").count() == Donation.select().count()
    assert integrity.integrity_problems() == []


def test_three_people_editing_three_fields_of_one_row_keep_all_three(deployed):
    """Seen: 21 of 45 values lost on SQLite, 18 of 45 on PostgreSQL, every response 保存记录成功."""
    from db.models import Village

    chain = Chain()
    county = chain.users[Role.COUNTY]
    set_password(county)
    village_id = chain.village.id
    fields = ("address", "leader_name", "leader_phone")
    lost = 0
    with deployed.serve() as base:
        people = browsers(base, county, 3)
        for round_ in range(15):
            answers = at_once(lambda k, round_=round_: people[k][0].post(f"{base}/admin/village/ajax/update/", data={
                "list_form_pk": village_id, fields[k]: f"{round_}-{k}", "csrf_token": people[k][1]}).status_code, 3)
            assert answers == [200, 200, 200], answers
            row = Village.get_by_id(village_id)
            lost += sum(getattr(row, f) != f"{round_}-{k}" for k, f in enumerate(fields))
    assert lost == 0


# -- the app on PostgreSQL signs in as a role that owns nothing ------------------------------------------

@pytest.mark.parametrize("deployed", ["postgres"], indirect=True)
def test_the_app_role_adds_to_the_ledger_but_cannot_change_it_or_its_guards(deployed):
    from peewee import PostgresqlDatabase, ProgrammingError

    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    donate(project, 5_000)
    url = urlparse(deployed.app_url)
    app = PostgresqlDatabase(url.path.lstrip("/"), host=url.hostname, port=url.port, user=url.username,
                             options=f"-c search_path={deployed.schema}")
    app.connect()
    try:
        app.execute_sql("INSERT INTO submission (token, at) VALUES ('from-the-app', now())")
        refused = {}
        for statement in [
            "UPDATE entry SET amount = 1", "DELETE FROM entry", "TRUNCATE entry",
            "ALTER TABLE entry DISABLE TRIGGER entry_no_change", "DROP TRIGGER entry_no_change ON entry",
            "ALTER TABLE entry DROP CONSTRAINT IF EXISTS entry_kind_known", "DROP TABLE chain_link",
            "UPDATE chain_link SET hash = ''", "DELETE FROM chain_link", "UPDATE audit_log SET summary = ''",
            "DELETE FROM audit_log", "DELETE FROM migratehistory", "CREATE TABLE loot (x int)",
        ]:
            try:
                with app.atomic():
                    app.execute_sql(statement)
            except ProgrammingError as exc:
                refused[statement] = str(exc).splitlines()[0]
        assert len(refused) == 13, refused
        assert all("permission denied" in why or "must be owner" in why for why in refused.values()), refused
    finally:
        app.close()
    assert Entry.select().where(Entry.project == project.id).count() == 1


@pytest.mark.parametrize("deployed", ["postgres"], indirect=True)
def test_the_nightly_publish_runs_under_the_app_role(deployed, tmp_path):
    from db import demo
    from db.models import PublishRun

    demo.generate(6, 60, seed=4)
    env = {**os.environ, "DATABASE_URL": deployed.app_url, "XFJY_INSTANCE": str(deployed.instance)}
    done = subprocess.run([str(Path(sys.executable).with_name("xfjy")), "publish"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert PublishRun.select().order_by(PublishRun.id.desc()).first().status == "ok"
    assert (deployed.instance / "site" / "index.html").exists()


def test_forty_sign_ins_at_once_check_at_most_five_passwords(deployed, monkeypatch):
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

    def guess(i):
        database.connect(reuse_if_open=True)
        try:
            return users.authenticate(person.username, f"guess-{i}")
        except XfjyError as exc:
            return str(exc)
        finally:
            database.close()

    said = at_once(guess, 40)
    database.connect(reuse_if_open=True)
    assert len(checked) <= users.MAX_FAILED_LOGINS, len(checked)
    assert said == [users.SIGN_IN_FAILED] * 40
    assert User.get_by_id(person.id).locked_until is not None
    with pytest.raises(XfjyError):
        users.authenticate(person.username, "right-password-2026")
    assert len(checked) <= users.MAX_FAILED_LOGINS


def test_a_patient_write_waits_out_a_long_write_that_an_impatient_one_gives_up_on(tmp_path, monkeypatch):
    """A publish ending while an import holds SQLite's write lock (tests/test_drill.py found it failing
    with "database is locked" after building a whole release): ``patient`` waits for the lock."""
    import importlib
    import sqlite3
    import time

    from peewee import OperationalError

    db_module = importlib.import_module("db.database")  # the module (``db.database`` is also the proxy's name)

    monkeypatch.setitem(db_module.SQLITE_PRAGMAS, "busy_timeout", 200)
    monkeypatch.setattr(db_module, "PATIENT_MS", 20_000)
    path = tmp_path / "locks.sqlite3"
    previous = database.obj
    bound = open_database(f"sqlite:///{path}")
    try:
        bound.connect()
        bound.execute_sql("PRAGMA busy_timeout = 200")
        bound.execute_sql("CREATE TABLE t (x INTEGER)")
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        held = threading.Event()

        def long_write():
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("INSERT INTO t VALUES (1)")
            held.set()
            time.sleep(1.5)
            holder.execute("COMMIT")

        writer = threading.Thread(target=long_write)
        writer.start()
        assert held.wait(10)
        with pytest.raises(OperationalError, match="locked"):
            bound.execute_sql("INSERT INTO t VALUES (2)")
        with db_module.patient():
            bound.execute_sql("INSERT INTO t VALUES (3)")
        writer.join()
        assert [x for (x,) in bound.execute_sql("SELECT x FROM t ORDER BY x")] == [1, 3]
        assert bound.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 200  # impatient again after
        holder.close()
    finally:
        bound.close()
        database.initialize(previous)
