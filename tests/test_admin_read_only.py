"""The read-only roles over HTTP: an auditor (审计/检查人员) and a 监管会成员 post, with a valid CSRF token, to
every URL of the admin that takes a POST (read from ``app.url_map``), and to every grid's create, edit,
delete, action and inline-edit endpoints; each is refused and nothing in any table changes. What they read
works and stays inside their area, and each page an auditor opens is in 操作日志.

The world is ``test_admin_jurisdiction``'s: the viewers are 土默特左旗's auditor and village A's 监管会成员.
"""
from __future__ import annotations

import io

import pytest
from flask_admin.contrib.peewee import ModelView

from db import audit, disclosures, ledger, sampling, spending, workflow
from db.errors import JurisdictionError
from db.jurisdiction import scoped
from db.models import MODELS, AuditLog, Entry, Project, Role, SampleItem, SupervisionOpinion

from .admin_support import login
from .factories import PDF
from .test_admin_jurisdiction import GRIDS, TAGS, build_world

READERS = [("A", Role.AUDITOR), ("A", Role.SUPERVISOR)]
SIGN_IN = ("auth.login", "auth.logout")  # signing in and out touches the session, not the records
OWN_WRITES = {Role.AUDITOR: (), Role.SUPERVISOR: ("workflow.opinion",)}  # the 监督意见 form, tested below

# Every field any write form of the admin reads, filled in plausibly (so a refusal is not a form error).
FORM = dict(action="approve", opinion="审计意见", expected="100", amount="100.00", reason="审计检查", body="正文",
            note="更正说明", title="标题", spent_on="2024-10-08", item="太阳能路灯", payee="收款方", voucher_no="PZ-1",
            approved_by="李秀英", approved_on="2024-10-01", name="张三", phone="13800000000", source="本级配套资金",
            detail="企业", on="2024-10-01", kind="donations", period_start="2024-01-01", period_end="2024-03-31",
            username="newuser", password="long-enough-pass", role="county", area="150121", display_name="张三",
            unit="单位", full_name="新村", code="150121100999", township_code="150121100", target="1,000.00",
            starts_on="2024-03-01", ends_on="2024-08-31", confirm="1", address="伪造地址", summary="伪造",
            given_on="2024-10-10", text="意见", public="1", evaluated_on="2024-12-01", result="good", share="100")


@pytest.fixture
def world(app, db):
    world = build_world(app.config["ATTACHMENTS_DIR"])
    sampling.draw(world.places["A"].chain.prefecture, share_bp=10_000, seed="read-only")  # a checklist to tick off
    return world


def every_row() -> dict[str, list[str]]:
    """Every row of every table, so an update is noticed as well as an insert or a delete."""
    return {m._meta.table_name: sorted(map(repr, m.select().tuples())) for m in MODELS}


def changed(before: dict, after: dict) -> list[str]:
    return [t for t in before if before[t] != after[t]]


def signed_in(app, world, viewer):
    client = app.test_client()
    return client, login(client, world.places[viewer[0]].chain.users[viewer[1]])


def grid_views(app) -> list[ModelView]:
    return [v for v in app.extensions["admin"][0]._views if isinstance(v, ModelView)]


def write_requests(app, world, viewer) -> list[tuple[str, dict]]:
    """(url, form) for every POST route of the app, and each grid's actions and inline-edit columns."""
    place = world.places["A"]
    project = place.projects[0]
    ids = {"project_id": project.id, "village_id": place.village.id, "disclosure_id": place.disclosure.id,
           "attachment_id": place.attachment.id, "entry_id": Entry.select().where(Entry.project == project).first().id,
           "item_id": SampleItem.get(SampleItem.project == project).id, "batch_code": "pilot",
           "unit_code": place.chain.prefecture.code, "step": 1}
    person = place.chain.users[viewer[1]]
    grid_of = {v.endpoint: v for v in grid_views(app)}
    adapter = app.url_map.bind("localhost")
    requests = []
    for rule in app.url_map.iter_rules():
        if not rule.methods & {"POST", "PUT", "PATCH", "DELETE"} or rule.endpoint in SIGN_IN + OWN_WRITES[viewer[1]]:
            continue
        url = adapter.build(rule.endpoint, {name: ids[name] for name in rule.arguments})  # a new argument: add it to ids
        blueprint, _, name = rule.endpoint.rpartition(".")
        view = grid_of.get(blueprint)
        if view is None:
            requests.append((url, {**FORM, "rule": place.rule.id}))
            continue
        row = scoped(view.model.select(), person).first() or view.model.select().first()
        pk = str(row._pk) if row is not None else "1"
        if name == "edit_view":
            requests.append((f"{url}?id={pk}", FORM))
        elif name == "delete_view":
            requests.append((url, {"id": pk}))
        elif name == "action_view":
            requests += [(url, {"action": action, "rowid": pk, "reason": "审计"}) for action, _ in view._actions]
            requests.append((url, {"action": "delete", "rowid": pk}))
        elif name == "ajax_update":
            requests += [(url, {"list_form_pk": pk, column: FORM.get(column, "1")})
                         for column in view.column_editable_list or ("name",)]
        else:
            requests.append((url, FORM))
    return requests


def post(client, token, url, data):
    files = {"receipts": (io.BytesIO(PDF), "收据.pdf"), "files": (io.BytesIO(PDF), "附件.pdf"),
             "file": (io.BytesIO("交易号,项目编号\r\n".encode()), "捐赠.csv")}
    return client.post(url, data={**data, **files, "csrf_token": token}, content_type="multipart/form-data")


def flashed(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return session.pop("_flashes", [])


@pytest.mark.parametrize("viewer", READERS, ids=lambda v: v[1])
def test_every_write_url_refuses_a_read_only_user_and_writes_nothing(app, world, viewer):
    client, token = signed_in(app, world, viewer)
    requests = write_requests(app, world, viewer)
    grids = {v.endpoint for v in grid_views(app)}
    assert len(requests) > 60 and {url.split("/")[2] for url, _ in requests} >= grids | {"workflow", "imports"}
    before = every_row()
    outcomes = []
    for url, data in requests:
        response = post(client, token, url, data)
        messages = flashed(client)
        outcomes.append((url, response.status_code))
        assert response.status_code in (302, 403, 404), (url, response.status_code, response.get_data(as_text=True)[:300])
        if response.status_code == 302:  # sent back with the reason: the refusal, or the row is not found
            errors = [text for category, text in messages if category == "error"]
            reasons = ("只能查看", "不存在", "管辖", "监管会成员填写")
            assert errors and any(w in e for w in reasons for e in errors), (url, messages)
        assert not changed(before, every_row()), url
    refused_as_read_only = [u for u, s in outcomes if s in (302, 403)]
    assert len(refused_as_read_only) > 50, outcomes
    print(f"{viewer[1]}: {len(requests)} write requests, all refused")


# -- the 监管会成员's 监督意见 -----------------------------------------------------------------------

def test_a_supervisor_gives_dated_opinions_kept_as_written_and_corrected_by_a_new_one(app, world):
    place = world.places["A"]
    project = place.projects[0]
    member = place.chain.users[Role.SUPERVISOR]
    client, token = signed_in(app, world, ("A", Role.SUPERVISOR))
    url = f"/admin/workflow/project/{project.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="opinion-form"' in page and "尚无监督意见" in page
    response = client.post(f"{url}/opinion", data={"given_on": "2024-10-10", "text": "路灯已安装 12 盏，与公示一致。",
                                                   "public": "1", "csrf_token": token})
    assert response.status_code == 302 and ("success", "监督意见已记录") in flashed(client)
    first = SupervisionOpinion.get(SupervisionOpinion.project == project.id)
    assert (first.given_on.isoformat(), first.public, first.member_name, first.user_id) == (
        "2024-10-10", True, member.display_name, member.id)
    assert AuditLog.select().where((AuditLog.action == "opinion") & (AuditLog.user == member.id)).count() == 1
    client.post(f"{url}/opinion", data={"given_on": "2024-10-11", "text": "更正：路灯 11 盏。", "corrects": first.id,
                                        "csrf_token": token})
    assert SupervisionOpinion.select().where(SupervisionOpinion.project == project.id).count() == 2
    assert SupervisionOpinion.get_by_id(first.id).text == "路灯已安装 12 盏，与公示一致。"  # the first stays as written
    page = client.get(url).get_data(as_text=True)
    assert "路灯已安装 12 盏" in page and "更正：路灯 11 盏。" in page and "更正 2024-10-10 的意见" in page
    # An empty opinion, a future date: refused, nothing written.
    for bad in ({"given_on": "2024-10-10", "text": " "}, {"given_on": "2999-01-01", "text": "意见"}):
        client.post(f"{url}/opinion", data={**bad, "csrf_token": token})
        assert [c for c, _ in flashed(client)] == ["error"]
    assert SupervisionOpinion.select().count() == 2
    # Another village's project: not found. No route edits or deletes an opinion.
    other = world.places["B"].projects[0]
    assert client.post(f"/admin/workflow/project/{other.id}/opinion", data={"given_on": "2024-10-10", "text": "越权",
                                                                           "csrf_token": token}).status_code == 404
    routes = [r.rule for r in app.url_map.iter_rules() if "opinion" in r.rule]
    assert routes == ["/admin/workflow/project/<int:project_id>/opinion"]
    # Everyone else sees the opinions on the project page; none of them may give one.
    for role in (Role.AUDITOR, Role.COUNTY, Role.VILLAGE):
        other_client, other_token = signed_in(app, world, ("A", role))
        page = other_client.get(url).get_data(as_text=True)
        assert "路灯已安装 12 盏" in page and 'id="opinion-form"' not in page, role
        other_client.post(f"{url}/opinion", data={"given_on": "2024-10-10", "text": "冒名", "csrf_token": other_token})
        assert SupervisionOpinion.select().count() == 2, role


@pytest.mark.parametrize("viewer", READERS, ids=lambda v: v[1])
def test_the_write_buttons_are_not_offered(app, world, viewer):
    client, _ = signed_in(app, world, viewer)
    place = world.places["A"]
    page = client.get(f"/admin/workflow/project/{place.projects[0].id}").get_data(as_text=True)
    for form in ("/step", "/disburse", "/match", "/settle", "/expenditure", "/disclosure", "/reverse"):
        assert f'{place.projects[0].id}{form}"' not in page, form
    for grid in ("project", "village", "volunteer"):
        listing = client.get(f"/admin/{grid}/").get_data(as_text=True)
        assert f"/admin/{grid}/new/" not in listing and "/ajax/update/" not in listing, grid
        assert f"/admin/{grid}/delete/" not in listing, grid


def test_an_auditor_reads_everything_inside_its_area(app, world):
    viewer = ("A", Role.AUDITOR)
    client, _ = signed_in(app, world, viewer)
    place, outside = world.places["A"], world.places["B"]
    project = place.projects[0]
    pages = ["/admin/", "/admin/reports/", f"/admin/workflow/project/{project.id}", f"/admin/workflow/village/{place.village.id}",
             f"/admin/workflow/project/{project.id}/print", "/admin/workflow/todo"]
    pages += [f"/admin/{g}/?page_size=500" for g in GRIDS] + [f"/admin/{g}/export/csv/" for g in GRIDS]
    pages += [f"/admin/project/details/?id={project.id}", f"/admin/village/details/?id={place.village.id}"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert TAGS["B"] not in text and TAGS["M"] not in text and TAGS["X"] not in text, url
    assert TAGS["A"] in client.get("/admin/project/?page_size=500").get_data(as_text=True)
    download = client.get(f"/admin/workflow/attachment/{place.attachment.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    download.close()
    pack = client.get(f"/admin/workflow/project/{project.id}/audit-pack")
    assert pack.status_code == 200 and pack.mimetype == "application/zip"
    report = client.get(f"/admin/reports/download?area={place.chain.county.code}&as_of=2024-12-31")
    assert report.status_code == 200 and report.data.startswith(b"PK"), report.status_code
    assert client.get(f"/admin/reports/download?area={outside.chain.county.code}&as_of=2024-12-31").status_code == 302
    assert client.get(f"/admin/workflow/project/{outside.projects[0].id}").status_code == 404
    assert client.get(f"/admin/workflow/attachment/{outside.attachment.id}").status_code == 404
    assert client.get("/admin/users/").status_code == 403


def test_every_page_an_auditor_opens_is_in_the_audit_log_and_shown_there(app, world):
    place = world.places["A"]
    auditor = place.chain.users[Role.AUDITOR]
    client, _ = signed_in(app, world, ("A", Role.AUDITOR))
    urls = [f"/admin/workflow/project/{place.projects[0].id}", "/admin/donation/?page_size=20",
            "/admin/project/export/csv/", "/admin/reports/"]
    for url in urls:
        assert client.get(url).status_code == 200, url
    logged = [row.summary for row in AuditLog.select().where((AuditLog.user == auditor.id) & (AuditLog.action == "view"))]
    for url in urls:
        assert any(s.endswith(f"查看 {url}") for s in logged), (url, logged)
    grid = client.get("/admin/audit_log/?page_size=500").get_data(as_text=True)
    assert f"查看 {urls[0]}" in grid and "查看 /admin/audit_log/?page_size=500" in client.get(
        "/admin/audit_log/?page_size=500").get_data(as_text=True)
    # Other users' page views are not logged.
    county_client, _ = signed_in(app, world, ("A", Role.COUNTY))
    views = AuditLog.select().where(AuditLog.action == "view").count()
    county_client.get("/admin/donation/")
    assert AuditLog.select().where(AuditLog.action == "view").count() == views


# -- below the views: the domain refuses the read-only roles itself ---------------------------------

@pytest.mark.parametrize("role", Role.READ_ONLY)
def test_the_domain_writes_refuse_a_read_only_user(world, role):
    place = world.places["A"]
    person = place.chain.users[role]
    project = Project.get_by_id(place.projects[0].id)
    fund = ledger.fund_account(place.village)  # made on first use: before the count
    before = every_row()
    attempts = {
        "step": lambda: workflow.advance_project(project, "approve", person, "意见"),
        "post": lambda: ledger.post("donation", fund, fund, 100, actor=person),
        "reverse": lambda: ledger.reverse(Entry.select().where(Entry.project == project).first(), "审计", person),
        "disclose": lambda: disclosures.publish(project, "标题", "正文", actor=person),
        "correct": lambda: disclosures.correct(place.disclosure, "正文", "说明", actor=person),
        "spend": lambda: spending.record_expenditure(project, spent_on=project.starts_on, item="x", payee="y",
                                                     amount=100, actor=person),
        "audit": lambda: audit.record(person, "update", project, summary="伪造"),
        "supervisor": lambda: workflow.add_supervisor(place.village, "张三", "委员", person),
    }
    for name, attempt in attempts.items():
        with pytest.raises(JurisdictionError, match="只能查看"):
            attempt()
        assert not changed(before, every_row()), name


def test_the_users_grid_offers_the_read_only_roles_by_their_chinese_names(app, world):
    admin_client, token = signed_in(app, world, ("A", Role.ADMIN))
    form = admin_client.get("/admin/users/new/").get_data(as_text=True)
    assert '<option value="auditor">审计/检查人员</option>' in form
    assert '<option value="supervisor">监管会成员</option>' in form
    response = admin_client.post("/admin/users/new/", data={
        "username": "shenji-hhht", "role": "auditor", "area": "150100", "display_name": "赵审计",
        "password": "long-enough-pass", "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    listing = admin_client.get("/admin/users/?search=shenji").get_data(as_text=True)
    assert "赵审计" in listing and "审计/检查人员" in listing
