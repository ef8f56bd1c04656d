"""The admin's 发布网站 screen and the dashboard's last-publish line: who may see and press 立即发布,
CSRF, the lock a running publish holds, and the history of PublishRun rows.

``start_publish`` is replaced by a recorder in every test: no real publish process is ever started.
A publish in progress is a real ``flock`` on ``<SITE_DIR>.lock``, held by the test.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import html
import re
from pathlib import Path

import pytest

from admin.views import publish as publish_view
from db.models import PublishRun, Role
from site_builder.publish import is_running

from .admin_support import login

ALLOWED = (Role.REGION, Role.ADMIN)
REFUSED = (Role.PREFECTURE, Role.COUNTY, Role.TOWNSHIP, Role.VILLAGE)


@pytest.fixture
def started(monkeypatch):
    """Every call of ``start_publish``, as ``(app, username)``."""
    calls = []
    monkeypatch.setattr(publish_view, "start_publish", lambda app, username: calls.append((app, username)))
    return calls


@contextlib.contextmanager
def publish_in_progress(app):
    """Hold the publish lock exactly as ``site_builder.publish.publish`` does while it runs."""
    lock_path = Path(app.config["SITE_DIR"] + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def publish_button(page: str) -> str:
    form = re.search(r'<form[^>]*id="publish-now".*?</form>', page, re.S)
    assert form, "no 立即发布 form"
    button = re.search(r"<button[^>]*>立即发布</button>", form.group())
    assert button, form.group()
    return button.group()


def run_rows(page: str) -> list[list[str]]:
    """The cells of each row of ``#publish-runs`` (text, entities decoded)."""
    table = re.search(r'<table[^>]*id="publish-runs".*?<tbody>(.*?)</tbody>', page, re.S)
    assert table, "no #publish-runs table"
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]*>", "", c)).strip() for c in cells])
    return rows


def last_publish(page: str) -> str:
    line = re.search(r'<p id="last-publish">(.*?)</p>', page, re.S)
    assert line, "no #last-publish"
    return line.group(1)


def visible(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", fragment))


# -- who may publish ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ALLOWED)
def test_region_and_admin_users_see_the_publish_screen(app, chain, started, role):
    client = app.test_client()
    login(client, chain.users[role])
    response = client.get("/admin/publish/")
    assert response.status_code == 200
    page = text_of(response)
    assert "disabled" not in publish_button(page)
    assert 'action="/admin/publish/run"' in page
    assert re.search(r'name="csrf_token" type="hidden" value="[^"]+"|name="csrf_token" value="[^"]+"', page)
    assert run_rows(page) == [["尚未发布过"]]
    assert started == []


@pytest.mark.parametrize("role", REFUSED)
def test_other_levels_are_refused_on_get_and_post(app, chain, started, role):
    client = app.test_client()
    token = login(client, chain.users[role])
    response = client.get("/admin/publish/")
    assert response.status_code == 403
    assert "立即发布" not in text_of(response)
    response = client.post("/admin/publish/run", data={"csrf_token": token})
    assert response.status_code == 403
    assert started == []
    assert PublishRun.select().count() == 0


def test_anonymous_users_are_sent_to_login(app, db, started):
    client = app.test_client()
    response = client.get("/admin/publish/")
    assert response.status_code == 302
    assert response.headers["Location"].split("?")[0].endswith("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(client.get("/login"))).group(1)
    response = client.post("/admin/publish/run", data={"csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert started == []


@pytest.mark.parametrize("token", [None, "", "IjAwMDAwMDAwIg.AAAAAA.forged-token-value"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_starts_nothing(app, chain, started, token):
    client = app.test_client()
    login(client, chain.users[Role.REGION])
    response = client.post("/admin/publish/run", data={} if token is None else {"csrf_token": token})
    assert response.status_code == 400
    assert started == []


def test_a_get_on_run_starts_nothing(app, chain, started):
    client = app.test_client()
    login(client, chain.users[Role.REGION])
    assert client.get("/admin/publish/run").status_code == 405
    assert started == []


# -- starting a publish ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ALLOWED)
def test_a_valid_post_starts_one_publish_and_redirects_back_with_a_message(app, chain, started, role):
    person = chain.users[role]
    client = app.test_client()
    token = login(client, person)
    response = client.post("/admin/publish/run", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/publish/")
    assert len(started) == 1
    started_app, username = started[0]
    assert username == person.username
    assert started_app is app
    page = text_of(client.get(response.headers["Location"]))
    assert "已开始发布" in page
    assert "已有一次发布正在进行" not in page


def test_is_running_sees_a_lock_held_by_another_open_file(app):
    site = Path(app.config["SITE_DIR"])
    assert not is_running(site)
    with publish_in_progress(app):
        assert is_running(site)
        assert is_running(site)  # asking does not take the lock away
    assert not is_running(site)


def test_while_a_publish_runs_the_button_is_disabled_and_a_post_starts_nothing(app, chain, started):
    client = app.test_client()
    token = login(client, chain.users[Role.REGION])
    with publish_in_progress(app):
        page = text_of(client.get("/admin/publish/"))
        assert "disabled" in publish_button(page)
        assert "正在发布" in page
        response = client.post("/admin/publish/run", data={"csrf_token": token})
        assert response.status_code == 302
        assert started == []
        page = text_of(client.get(response.headers["Location"]))
        assert "已有一次发布正在进行" in page
        assert "已开始发布" not in page
    # Once the lock is released, the button is back and a post starts a publish.
    assert "disabled" not in publish_button(text_of(client.get("/admin/publish/")))
    client.post("/admin/publish/run", data={"csrf_token": token})
    assert [username for _, username in started] == [chain.users[Role.REGION].username]


# -- the history -------------------------------------------------------------------------------------

def make_runs():
    """Three finished runs and one running, created oldest first."""
    base = dt.datetime(2026, 1, 5, 2, 0, 0)
    return [
        PublishRun.create(started_at=base, finished_at=base + dt.timedelta(seconds=95), status="ok", pages=1234,
                          files=5678, seconds=95.4, release="20260105-020000-1", requested_by="nightly"),
        PublishRun.create(started_at=base + dt.timedelta(days=1), finished_at=base + dt.timedelta(days=1, seconds=12),
                          status="failed", seconds=12.0, errors="发现 2 个无效链接，例如 index.html → <missing>/",
                          requested_by="demo-region"),
        PublishRun.create(started_at=base + dt.timedelta(days=2), finished_at=base + dt.timedelta(days=2, minutes=1),
                          status="interrupted", errors="发布进程中断（被终止或服务器重启）", requested_by="nightly"),
        PublishRun.create(started_at=base + dt.timedelta(days=3, hours=8, minutes=30, seconds=15), status="running",
                          requested_by="demo-admin"),
    ]


def test_runs_are_listed_newest_first_with_chinese_status_labels_and_errors(app, chain, started):
    make_runs()
    client = app.test_client()
    login(client, chain.users[Role.REGION])
    rows = run_rows(text_of(client.get("/admin/publish/")))
    assert [row[0] for row in rows] == ["2026-01-08 10:30:15", "2026-01-07 02:00:00", "2026-01-06 02:00:00",
                                        "2026-01-05 02:00:00"]
    assert [row[2] for row in rows] == ["进行中", "中断", "失败", "成功"]
    running, interrupted, failed, ok = rows
    assert running[1] == "" and running[6] == "demo-admin" and running[5] == ""
    assert interrupted[7] == "发布进程中断（被终止或服务器重启）"
    assert failed[7] == "发现 2 个无效链接，例如 index.html → <missing>/"
    assert failed[5] == "12.0" and failed[6] == "demo-region"
    assert ok == ["2026-01-05 02:00:00", "02:01:35", "成功", "1234", "5678", "95.4", "nightly", ""]


def test_error_text_is_escaped(app, chain, started):
    PublishRun.create(status="failed", errors='<script>alert("x")</script>', seconds=1.0)
    client = app.test_client()
    login(client, chain.users[Role.ADMIN])
    page = text_of(client.get("/admin/publish/"))
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


def test_only_the_latest_runs_are_shown(app, chain, started):
    base = dt.datetime(2026, 2, 1, 2, 0)
    for day in range(publish_view.SHOWN_RUNS + 5):
        PublishRun.create(started_at=base + dt.timedelta(days=day), status="ok", pages=day, seconds=1.0)
    client = app.test_client()
    login(client, chain.users[Role.REGION])
    rows = run_rows(text_of(client.get("/admin/publish/")))
    assert len(rows) == publish_view.SHOWN_RUNS
    newest = base + dt.timedelta(days=publish_view.SHOWN_RUNS + 4)
    assert rows[0][0] == f"{newest:%Y-%m-%d %H:%M:%S}" and rows[0][3] == str(publish_view.SHOWN_RUNS + 4)
    assert rows[-1][3] == "5"


# -- the dashboard line ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", Role.ALL)
def test_dashboard_says_never_published_when_there_are_no_runs(app, chain, role):
    client = app.test_client()
    login(client, chain.users[role])
    line = last_publish(text_of(client.get("/admin/")))
    assert "尚未发布" in visible(line)
    assert app.config["SITE_URL"] in line


@pytest.mark.parametrize("role", Role.ALL)
def test_dashboard_links_to_the_publish_screen_only_for_region_and_admin(app, chain, role):
    client = app.test_client()
    login(client, chain.users[role])
    line = last_publish(text_of(client.get("/admin/")))
    linked = 'href="/admin/publish/"' in line
    assert linked == (role in ALLOWED)
    assert ("发布网站" in visible(line)) == (role in ALLOWED)


def test_dashboard_shows_the_latest_successful_run(app, chain):
    make_runs()
    PublishRun.create(started_at=dt.datetime(2026, 1, 9, 2, 0, 5), finished_at=dt.datetime(2026, 1, 9, 2, 1, 0),
                      status="ok", pages=4321, files=9, seconds=54.6, requested_by="nightly")
    client = app.test_client()
    login(client, chain.users[Role.COUNTY])
    line = visible(last_publish(text_of(client.get("/admin/"))))
    assert "2026-01-09 02:00" in line
    assert "成功" in line and "4321 页" in line and "55 秒" in line
    assert "尚未发布" not in line and "2026-01-08" not in line


@pytest.mark.parametrize("status, label", [("failed", "失败"), ("interrupted", "中断"), ("running", "进行中")])
def test_dashboard_shows_the_latest_run_even_when_it_did_not_succeed(app, chain, status, label):
    PublishRun.create(started_at=dt.datetime(2026, 1, 5, 2, 0), finished_at=dt.datetime(2026, 1, 5, 2, 2),
                      status="ok", pages=1234, seconds=95.4)
    PublishRun.create(started_at=dt.datetime(2026, 1, 6, 3, 4), status=status, errors="构建失败",
                      seconds=None if status == "running" else 3.0)
    client = app.test_client()
    login(client, chain.users[Role.REGION])
    line = visible(last_publish(text_of(client.get("/admin/"))))
    assert "2026-01-06 03:04" in line and label in line
    assert "1234 页" not in line and "成功" not in line
