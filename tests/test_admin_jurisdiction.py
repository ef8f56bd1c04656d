"""The jurisdiction matrix over HTTP: every path of the staff admin, for every role, against rows
of an area the user does not act for, and against the user's own rows (so the tests can fail).

    内蒙古自治区 150000
    ├── 呼和浩特市 150100
    │   ├── 土默特左旗 150121 ── A's township ── village A (甲地村), village A2 (戊地村)
    │   └── 托克托县 150122 ──── B's township ── village B (乙地村)
    └── 满洲里市 150781 (盟市-level, its own 旗县市区) ── M's township ── village M (丙地村)
    新疆维吾尔自治区 650000 (a region the test adds, so the region role has an "other area" too)
    └── 乌鲁木齐市 650100 ── 天山区 650102 ── X's township ── village X (丁地村)

Every row a village owns carries its tag (甲地, 戊地, 乙地, 丙地, 丁地) in a name, title or number, so a
page or a file shows another area's row exactly when the tag appears in it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field

import openpyxl
import pytest

from db import attachments, audit, disclosures, matching, spending, workflow
from db.areas import add_area, get_area
from db.evaluations import record_evaluation
from db.models import (
    Area,
    Attachment,
    AuditLog,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    ImportRun,
    Level,
    MatchingRule,
    Project,
    ProjectReview,
    Role,
    SupervisoryMember,
    User,
    Village,
    Volunteer,
)
from db.volunteers import add_volunteer, record_service

from .admin_support import login
from .factories import PDF, Chain, advance_to, donate, new_project, user

TAGS = {"A": "甲地", "A2": "戊地", "B": "乙地", "M": "丙地", "X": "丁地"}
ASCII = {"A": "JIA", "A2": "WU", "B": "YI", "M": "BING", "X": "DING"}
MAIN = ("A", "B", "M", "X")  # villages with the full set of rows (A2 has a fundraising project only)

# (whose user, role) -> the villages whose rows that user acts for
SEES = {
    ("A", Role.VILLAGE): {"A"},
    ("A", Role.TOWNSHIP): {"A", "A2"},
    ("A", Role.COUNTY): {"A", "A2"},
    ("A", Role.PREFECTURE): {"A", "A2", "B"},
    ("A", Role.REGION): {"A", "A2", "B", "M"},
    ("B", Role.COUNTY): {"B"},
    ("M", Role.COUNTY): {"M"},
    ("M", Role.PREFECTURE): {"M"},
    ("A", Role.AUDITOR): {"A", "A2"},  # bound to 土默特左旗: sees what its federation sees
    ("A", Role.SUPERVISOR): {"A"},
}
VIEWERS = sorted(SEES)
FEDERATIONS = (Role.COUNTY, Role.PREFECTURE, Role.REGION)
FEDERATION_EYES = (*FEDERATIONS, Role.AUDITOR)  # who reads what a federation reads


def _vid(viewer):
    return f"{viewer[0]}-{viewer[1]}"


# -- the world -------------------------------------------------------------------------------------

@dataclass
class Place:
    """One village and the rows it owns."""

    key: str
    chain: Chain
    village: Village
    projects: list[Project] = field(default_factory=list)
    donations: list[Donation] = field(default_factory=list)
    expenditure: Expenditure | None = None
    attachment: Attachment | None = None
    disclosure: Disclosure | None = None
    volunteer: Volunteer | None = None
    evaluation: Evaluation | None = None
    rule: MatchingRule | None = None
    import_run: ImportRun | None = None

    @property
    def tag(self) -> str:
        return TAGS[self.key]


@dataclass
class World:
    places: dict[str, Place]
    root: str

    def user(self, viewer) -> User:
        key, role = viewer
        return self.places[key].chain.users[role]

    def other(self, viewer) -> list[Place]:
        return [p for k, p in self.places.items() if k not in SEES[viewer]]

    def own(self, viewer) -> list[Place]:
        return [p for k, p in self.places.items() if k in SEES[viewer]]


def _xinjiang_county() -> str:
    nation = get_area("100000")
    region = add_area("650000", "新疆维吾尔自治区", Level.REGION, nation)
    prefecture = add_area("650100", "乌鲁木齐市", Level.PREFECTURE, region)
    add_area("650102", "天山区", Level.COUNTY, prefecture)
    return "650102"


def _populate(place: Place, root: str) -> None:
    """The full set: a project in 验收 (donations, disbursements, a receipt, a disclosure, an evaluation),
    a draft project, a late donation still in the special account, a volunteer, a rule with a funded pool."""
    chain, tag, code = place.chain, place.tag, ASCII[place.key]
    village_user, county = chain.users[Role.VILLAGE], chain.users[Role.COUNTY]
    main = advance_to(new_project(chain, name=f"{tag}路灯项目"), "implementing", chain)
    Donation.update(donor_name=f"{tag}捐赠人").where(Donation.project == main).execute()
    place.donations.append(Donation.get(Donation.project == main))
    late = donate(main, 1_000, txn=f"{code}-LATE")
    Donation.update(donor_name=f"{tag}晚到捐赠人").where(Donation.id == late.id).execute()
    place.donations.append(late)
    place.expenditure = spending.record_expenditure(
        main, spent_on=dt.date(2024, 10, 8), item=f"{tag}支出", payee=f"{tag}收款方", amount=200_000,
        voucher_no=f"{code}-PZ", approved_by="李秀英", actor=village_user)
    place.attachment = attachments.store(root, PDF + tag.encode(), f"{code}-收据.pdf",
                                         expenditure=place.expenditure, actor=village_user)
    place.disclosure = disclosures.publish(main, f"{tag}公示", f"{tag}公示正文", actor=village_user)
    workflow.advance_project(main, "request_acceptance", village_user)
    place.evaluation = record_evaluation(Project.get_by_id(main.id), result="good", evaluated_on=dt.date(2024, 12, 1),
                                         evaluator=f"{tag}评估人", notes="", actor=county)
    draft = new_project(chain, name=f"{tag}草稿项目")
    place.projects = [Project.get_by_id(main.id), draft]
    place.volunteer = add_volunteer(place.village, f"{tag}志愿者", skills="电工", actor=village_user)
    record_service(place.volunteer, dt.date(2024, 5, 1), 90, f"{tag}巡查", actor=village_user)
    matching.fund_pool(chain.county, 5_000_000, f"{tag}企业", actor=county)
    place.rule = MatchingRule.create(area=chain.county, kind="matching", name=f"{tag}配捐规则", ratio_bp=5000,
                                     cap=100_000)
    place.import_run = ImportRun.create(kind="donations", filename=f"{code}-import.csv", sha256="0" * 64, added=1,
                                        user=county)


def build_world(root: str) -> World:
    chains = {"A": Chain("150121"), "B": Chain("150122"), "M": Chain("150781")}
    x_county = _xinjiang_county()
    chains["X"] = Chain(x_county)
    chains["X"].users[Role.REGION] = user(Role.REGION, get_area("650000"))
    places = {}
    for key, chain in chains.items():
        Village.update(full_name=f"{TAGS[key]}村").where(Village.id == chain.village.id).execute()
        places[key] = Place(key, chain, Village.get_by_id(chain.village.id))
    a = chains["A"]
    second = a.add_village()
    Village.update(full_name=f"{TAGS['A2']}村").where(Village.id == second.id).execute()
    places["A2"] = Place("A2", a, Village.get_by_id(second.id))
    for key in MAIN:
        _populate(places[key], root)
    a2 = places["A2"]
    raising = advance_to(new_project(a, a2.village, name=f"{TAGS['A2']}募捐项目"), "fundraising", a)
    a2.projects = [Project.get_by_id(raising.id)]
    gift = donate(raising, 3_000, txn="WU-GIFT")
    Donation.update(donor_name=f"{TAGS['A2']}捐赠人").where(Donation.id == gift.id).execute()
    a2.donations = [gift]
    a2.volunteer = add_volunteer(a2.village, f"{TAGS['A2']}志愿者", actor=None)
    # Everyone leaves one audit row of their own, tagged with their area.
    for key in MAIN:
        for role, person in places[key].chain.users.items():
            action = "view" if role in Role.READ_ONLY else "update"  # the only kind a read-only user leaves
            audit.record(person, action, table="project", object_id=0, summary=f"{TAGS[key]}{role}的操作")
    return World(places, root)


@pytest.fixture
def world(app, db):
    return build_world(app.config["ATTACHMENTS_DIR"])


def signed_in(app, world, viewer):
    client = app.test_client()
    token = login(client, world.user(viewer))
    return client, token


# -- what each user should see, counted without the code under test ---------------------------------

def village_ids(world, keys):
    return [world.places[k].village.id for k in keys]


def expected_rows(world, viewer, endpoint) -> int:
    keys = SEES[viewer]
    villages = village_ids(world, keys)
    projects = Project.select(Project.id).where(Project.village.in_(villages))
    actor = world.user(viewer)
    if endpoint == "village":
        return len(villages)
    if endpoint == "project":
        return projects.count()
    if endpoint == "donation":
        return Donation.select().where(Donation.project.in_(projects)).count()
    if endpoint == "expenditure":
        return Expenditure.select().where(Expenditure.project.in_(projects)).count()
    if endpoint == "disclosure":
        return Disclosure.select().where(Disclosure.project.in_(projects)).count()
    if endpoint == "evaluation":
        return Evaluation.select().where(Evaluation.project.in_(projects)).count()
    if endpoint == "volunteer":
        return Volunteer.select().where(Volunteer.village.in_(villages)).count()
    if endpoint == "matching_rule":
        return len([k for k in keys if k in MAIN])
    if endpoint == "entry":
        pools = len([k for k in keys if k in MAIN]) if viewer[1] in FEDERATION_EYES else 0
        return Entry.select().where(Entry.project.in_(projects)).count() + pools
    if endpoint == "audit_log":
        return AuditLog.select().where(AuditLog.user == actor.id).count()
    if endpoint == "import_run":
        return ImportRun.select().where(ImportRun.user == actor.id).count()
    raise AssertionError(endpoint)


# Grids and the roles that may open them (users: the admin only).
GRIDS = ("village", "project", "donation", "entry", "expenditure", "disclosure", "volunteer", "evaluation",
         "matching_rule", "audit_log", "import_run")
FEDERATION_ONLY = ("evaluation", "matching_rule")


def grids_for(viewer):
    return [g for g in GRIDS if viewer[1] in FEDERATION_EYES or g not in FEDERATION_ONLY]


RANDOM = re.compile(r'(?<![-\w])(?:nonce|value|content)="[A-Za-z0-9_\-.+/=]{16,}"')  # CSRF and one-time tokens, CSP nonces


def shown(page: str) -> str:
    """A page without its per-request random tokens, which could spell a two-letter marker by chance."""
    return RANDOM.sub("", page)


def tags_in(text: str, places) -> set[str]:
    return {p.tag for p in places if p.tag in text}


def list_rows(html: str) -> int:
    return html.count('<td class="list-buttons-column">')


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def xlsx_rows(data: bytes) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def own_tags(world, viewer, endpoint) -> set[str]:
    """The tags the user's own rows bring to a grid."""
    keys = SEES[viewer]
    if endpoint in ("audit_log",):
        return {TAGS[viewer[0]]}
    if endpoint == "import_run":
        return {ASCII[viewer[0]]} if viewer[1] == Role.COUNTY else set()
    if endpoint in ("expenditure", "disclosure", "evaluation", "matching_rule"):
        keys = keys & set(MAIN)
    return {TAGS[k] for k in keys}


def other_markers(world, viewer, endpoint) -> set[str]:
    if endpoint == "import_run":
        return {ASCII[k] for k in ASCII if not (k == viewer[0] and viewer[1] == Role.COUNTY)} - {"WU"}
    if endpoint == "audit_log":
        return {TAGS[k] for k in MAIN if k != viewer[0]} | {f"{TAGS[viewer[0]]}{r}的操作" for r in Role.ALL
                                                              if r != viewer[1]}
    return {p.tag for p in world.other(viewer)}


# -- list pages -------------------------------------------------------------------------------------

def check_lists(client, token, world, viewer):
    for endpoint in grids_for(viewer):
        response = client.get(f"/admin/{endpoint}/?page_size=500")
        assert response.status_code == 200, endpoint
        html = shown(response.get_data(as_text=True))
        leaked = {m for m in other_markers(world, viewer, endpoint) if m in html}
        assert not leaked, f"{endpoint} shows rows of {leaked}"
        missing = {t for t in own_tags(world, viewer, endpoint) if t not in html}
        assert not missing, f"{endpoint} hides the user's own rows {missing}"
        assert list_rows(html) == expected_rows(world, viewer, endpoint), endpoint


def check_closed_grids(client, token, world, viewer):
    assert client.get("/admin/users/").status_code == 403
    assert client.get("/admin/users/export/csv/").status_code == 403
    for endpoint in FEDERATION_ONLY:
        expected = 200 if viewer[1] in FEDERATION_EYES else 403
        assert client.get(f"/admin/{endpoint}/").status_code == expected, endpoint


def test_the_users_grid_is_the_admins(app, world):
    admin = world.places["A"].chain.users[Role.ADMIN]
    client = app.test_client()
    login(client, admin)
    html = client.get("/admin/users/?page_size=500").get_data(as_text=True)
    assert list_rows(html) == User.select().count()
    assert world.places["X"].chain.users[Role.COUNTY].username in html
    assert "password_hash" not in html and "pbkdf2" not in html


# -- one row per grid and place ---------------------------------------------------------------------

def row_of(place: Place, endpoint: str):
    """A row of ``place`` shown by ``endpoint`` (None where the place has none)."""
    if endpoint == "village":
        return place.village
    if endpoint == "project":
        return place.projects[0]
    if endpoint == "donation":
        return place.donations[0]
    if endpoint == "entry":
        return Entry.select().where(Entry.project == place.projects[0].id).order_by(Entry.id).first()
    if endpoint == "audit_log":
        return AuditLog.select().where(AuditLog.summary.startswith(place.tag)).order_by(AuditLog.id).first()
    return getattr(place, {"matching_rule": "rule"}.get(endpoint, endpoint))


def others_rows(world, viewer, endpoint):
    rows = [row_of(p, endpoint) for p in world.other(viewer)]
    if endpoint == "audit_log":  # someone else's row of the viewer's own area, too
        home = world.places[viewer[0]]
        someone = next(u for r, u in home.chain.users.items() if r != viewer[1])
        rows.append(AuditLog.select().where(AuditLog.user == someone.id).first())
    if endpoint == "import_run":
        rows = [p.import_run for p in world.places.values()
                if p.import_run is not None and p.import_run.user_id != world.user(viewer).id]
    return [r for r in rows if r is not None]


def own_row(world, viewer, endpoint):
    home = world.places[viewer[0]]
    if endpoint == "audit_log":
        return AuditLog.select().where(AuditLog.user == world.user(viewer).id).order_by(AuditLog.id).first()
    if endpoint == "import_run":
        return home.import_run if viewer[1] == Role.COUNTY else None
    return row_of(home, endpoint)


def marker_of(endpoint, row) -> str:
    """Text the details page of ``row`` must show."""
    if endpoint == "import_run":
        return row.filename
    if endpoint == "audit_log":
        return row.summary
    if endpoint == "entry":
        return row.memo
    for attr in ("full_name", "name", "donor_name", "item", "title", "evaluator"):
        if hasattr(row, attr):
            return getattr(row, attr)
    raise AssertionError(endpoint)


def check_details(client, token, world, viewer):
    for endpoint in grids_for(viewer):
        for row in others_rows(world, viewer, endpoint):
            response = client.get(f"/admin/{endpoint}/details/?id={row.id}")
            assert response.status_code == 302, (endpoint, row.id)
            assert response.headers["Location"].startswith(f"/admin/{endpoint}/")
            page = shown(client.get(response.headers["Location"]).get_data(as_text=True))
            assert "记录不存在" in page, endpoint
            assert marker_of(endpoint, row) not in page, endpoint
        mine = own_row(world, viewer, endpoint)
        if mine is not None:
            response = client.get(f"/admin/{endpoint}/details/?id={mine.id}")
            assert response.status_code == 200, endpoint
            assert marker_of(endpoint, mine) in response.get_data(as_text=True), endpoint


# Editable grids, the full form a POST sends, and a field to check after it.
EDITABLE = ("village", "project", "volunteer", "evaluation", "matching_rule")


def edit_form(endpoint, row, token, marker="越权修改") -> dict:
    if endpoint == "village":
        return dict(area=row.area_id, full_name=marker, kind="村", address=marker, leader_name="某", leader_phone="1",
                    batch=row.batch_id, csrf_token=token)
    if endpoint == "project":
        return dict(village=row.village_id, name=marker, reporting_unit="", reported_on="2024-03-01", address="",
                    leader_name="", leader_phone="", target="100.00", starts_on="2024-03-01", ends_on="2024-08-31",
                    background="", summary=marker, democratic_decision="", csrf_token=token)
    if endpoint == "volunteer":
        return dict(village=row.village_id, name=marker, phone="", skills=marker, joined_on="", csrf_token=token)
    if endpoint == "evaluation":
        return dict(project=row.project_id, evaluated_on="2024-12-01", unit=marker, evaluator=marker, result="fail",
                    score="1", notes=marker, csrf_token=token)
    if endpoint == "matching_rule":
        return dict(area=row.area_id, kind="matching", name=marker, ratio_bp="10000", cap="1.00", active="y",
                    csrf_token=token)
    raise AssertionError(endpoint)


def snapshot(row):
    return audit.snapshot(type(row).get_by_id(row.id))


def edit_target(place, endpoint):
    if endpoint == "project":
        return place.projects[-1]  # the draft (or A2's fundraising project)
    return row_of(place, endpoint)


def check_edit_refused(client, token, world, viewer):
    for endpoint in [e for e in EDITABLE if e in grids_for(viewer)]:
        for place in world.other(viewer):
            row = edit_target(place, endpoint)
            if row is None:
                continue
            before = snapshot(row)
            response = client.get(f"/admin/{endpoint}/edit/?id={row.id}")
            assert response.status_code == 302, (endpoint, place.key)
            response = client.post(f"/admin/{endpoint}/edit/?id={row.id}", data=edit_form(endpoint, row, token))
            assert response.status_code == 302, (endpoint, place.key)
            if viewer[1] not in Role.READ_ONLY:  # a read-only user is sent back before any row is looked up
                assert "记录不存在" in client.get(response.headers["Location"]).get_data(as_text=True)
            assert snapshot(row) == before, (endpoint, place.key)
        mine = edit_target(world.places[viewer[0]], endpoint)
        response = client.get(f"/admin/{endpoint}/edit/?id={mine.id}")
        if viewer[1] in Role.READ_ONLY:
            assert response.status_code == 302, endpoint  # no edit form, not even of its own rows
            continue
        assert response.status_code == 200, endpoint
        assert marker_of(endpoint, mine) in response.get_data(as_text=True)


def check_edit_own(client, token, world, viewer):
    """The same POST that was refused above saves the user's own row (volunteer and matching rule)."""
    home = world.places[viewer[0]]
    for endpoint, row, check in (("volunteer", home.volunteer, lambda r: r.skills),
                                 ("matching_rule", home.rule, lambda r: r.name)):
        response = client.post(f"/admin/{endpoint}/edit/?id={row.id}", data=edit_form(endpoint, row, token, "本区修改"))
        assert response.status_code == 302, response.get_data(as_text=True)
        assert check(type(row).get_by_id(row.id)) == "本区修改", endpoint


# Inline (x-editable) edit: a column each grid lists in column_editable_list, the value posted and how
# it reads back once saved.
INLINE = {"village": ("address", "本区修改", lambda r: r.address, "本区修改"),
          "project": ("urgent", "1", lambda r: r.urgent, True),
          "expenditure": ("approved_by", "本区修改", lambda r: r.approved_by, "本区修改"),
          "volunteer": ("skills", "本区修改", lambda r: r.skills, "本区修改"),
          "evaluation": ("notes", "本区修改", lambda r: r.notes, "本区修改"),
          "matching_rule": ("name", "本区修改", lambda r: r.name, "本区修改")}


def test_the_inline_columns_used_here_are_editable_in_the_grids(app):
    views = {v.endpoint: v for v in app.extensions["admin"][0]._views}
    for endpoint, (column, *_) in INLINE.items():
        assert column in views[endpoint].column_editable_list, endpoint


def check_inline_refused(client, token, world, viewer):
    for endpoint, (column, value, _, _) in INLINE.items():
        if endpoint not in grids_for(viewer):
            continue
        for place in world.other(viewer):
            row = edit_target(place, endpoint)
            if row is None:
                continue
            before = snapshot(row)
            response = client.post(f"/admin/{endpoint}/ajax/update/",
                                   data={"list_form_pk": row.id, column: value, "csrf_token": token})
            assert response.status_code == 404, (endpoint, place.key, response.status_code)
            assert "记录不存在" in response.get_data(as_text=True)
            assert snapshot(row) == before, (endpoint, place.key)


def check_inline_own(client, token, world, viewer):
    home = world.places[viewer[0]]
    for endpoint, (column, value, read, expected) in INLINE.items():
        if endpoint not in grids_for(viewer):
            continue
        row = edit_target(home, endpoint)
        before = snapshot(row)
        response = client.post(f"/admin/{endpoint}/ajax/update/",
                               data={"list_form_pk": row.id, column: value, "csrf_token": token})
        if viewer[1] in Role.READ_ONLY:
            assert response.status_code == 403 and "只能查看" in response.get_data(as_text=True), endpoint
            assert snapshot(row) == before, endpoint
            continue
        assert response.status_code == 200, (endpoint, response.get_data(as_text=True))
        assert read(type(row).get_by_id(row.id)) == expected, endpoint


# -- exports ----------------------------------------------------------------------------------------

def check_exports(client, token, world, viewer, kind):
    for endpoint in grids_for(viewer):
        response = client.get(f"/admin/{endpoint}/export/{kind}/")
        assert response.status_code == 200, endpoint
        rows = csv_rows(response.data) if kind == "csv" else xlsx_rows(response.data)
        text = "\n".join("\t".join("" if v is None else str(v) for v in r) for r in rows)
        leaked = {m for m in other_markers(world, viewer, endpoint) if m in text}
        assert not leaked, f"{endpoint}.{kind} holds rows of {leaked}"
        missing = {t for t in own_tags(world, viewer, endpoint) if t not in text}
        assert not missing, f"{endpoint}.{kind} lacks the user's own rows {missing}"
        assert len(rows) - 1 == expected_rows(world, viewer, endpoint), endpoint


# -- the refund action --------------------------------------------------------------------------------

def refunds(donation_ids) -> int:
    return Entry.select().where((Entry.kind == "refund") & Entry.donation.in_(donation_ids)).count()


def check_refund(client, token, world, viewer):
    theirs = [d.id for p in world.other(viewer) for d in p.donations]
    entries = Entry.select().count()
    response = client.post("/admin/donation/action/",
                           data={"action": "refund", "rowid": theirs, "reason": "越权退款", "csrf_token": token})
    assert response.status_code == 302
    assert refunds(theirs) == 0 and Entry.select().count() == entries
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已退款" not in page
    leaked = [d.txn_no for p in world.other(viewer) for d in p.donations if d.txn_no in page]
    assert not leaked, f"the refund action names other areas' donations {leaked}"
    # The same post with one of the user's own (still refundable) gifts refunds that one only.
    mine = world.places[viewer[0]].donations[-1]
    response = client.post("/admin/donation/action/", data={
        "action": "refund", "rowid": [*theirs, mine.id], "reason": "捐赠人申请退款", "csrf_token": token})
    assert response.status_code == 302
    if viewer[1] in Role.READ_ONLY:
        assert refunds([mine.id]) == 0 and Entry.select().count() == entries
        return
    assert "已退款 1 笔" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert refunds([mine.id]) == 1 and refunds(theirs) == 0
    assert Entry.select().count() == entries + 1


# -- foreign-key lookups ----------------------------------------------------------------------------

def lookup(client, endpoint, name, query="", limit=1000) -> set[int]:
    response = client.get(f"/admin/{endpoint}/ajax/lookup/", query_string={"name": name, "query": query,
                                                                             "limit": limit})
    assert response.status_code == 200, (endpoint, name)
    return {pk for pk, _ in json.loads(response.get_data(as_text=True))}


def check_lookups(client, token, world, viewer):
    mine, theirs = world.own(viewer), world.other(viewer)
    for endpoint in ("project", "volunteer"):
        found = lookup(client, endpoint, "village", "地村")
        assert found == {p.village.id for p in mine}, endpoint
    their_areas = {p.village.area_id for p in theirs} | {p.chain.township.id for p in theirs if p.key in MAIN}
    their_areas |= {p.chain.county.id for p in theirs if p.key in MAIN and not world.user(viewer).area.contains(
        p.chain.county)}
    for endpoint in [e for e in ("village", "matching_rule") if e in grids_for(viewer)]:
        found = lookup(client, endpoint, "area")
        assert not found & their_areas, endpoint
        assert {p.village.area_id for p in mine} | {world.user(viewer).area_id} <= found, endpoint
        assert found == {a.id for a in Area.select().where(Area.path.startswith(world.user(viewer).area.path))}
    if "evaluation" in grids_for(viewer):
        found = lookup(client, "evaluation", "project", "地")
        assert found == {pr.id for p in mine for pr in p.projects}


# -- workflow pages ---------------------------------------------------------------------------------

def write_counts():
    return tuple(m.select().count() for m in (Entry, ProjectReview, Disclosure, Expenditure, Attachment,
                                              SupervisoryMember, Project, Village, Donation))


def check_workflow_refused(client, token, world, viewer):
    before = write_counts()
    states = {p.id: p.state for p in Project.select()}
    for place in world.other(viewer):
        pages = [f"/admin/workflow/village/{place.village.id}"]
        for project in place.projects:
            pages += [f"/admin/workflow/project/{project.id}", f"/admin/workflow/project/{project.id}/print"]
        if place.attachment is not None:
            pages.append(f"/admin/workflow/attachment/{place.attachment.id}")
        for url in pages:
            response = client.get(url)
            assert response.status_code == 404, url
            assert place.tag not in response.get_data(as_text=True), url
        project = place.projects[0]
        posts = {
            f"/admin/workflow/project/{project.id}/step": {"action": "approve", "opinion": "越权"},
            f"/admin/workflow/project/{project.id}/disburse": {"expected": "1"},
            f"/admin/workflow/project/{project.id}/settle": {},
            f"/admin/workflow/project/{project.id}/match": {"rule": str(place.rule.id if place.rule else 1)},
            f"/admin/workflow/project/{project.id}/expenditure": {
                "spent_on": "2024-10-09", "item": "越权", "payee": "越权", "amount": "1.00"},
            f"/admin/workflow/project/{project.id}/disclosure": {"title": "越权公示", "body": "越权"},
            f"/admin/workflow/village/{place.village.id}/step": {"action": "approve", "opinion": "越权"},
            f"/admin/workflow/village/{place.village.id}/supervisor": {"name": "越权成员"},
        }
        if place.disclosure is not None:
            posts[f"/admin/workflow/disclosure/{place.disclosure.id}/correct"] = {"body": "越权", "note": "越权"}
        entry = row_of(place, "entry")
        posts[f"/admin/workflow/entry/{entry.id}/reverse"] = {"reason": "越权冲正"}
        for url, data in posts.items():
            response = client.post(url, data={**data, "csrf_token": token})
            assert response.status_code == 404, url
    assert write_counts() == before
    assert {p.id: p.state for p in Project.select()} == states


def check_workflow_own(client, token, world, viewer):
    for place in world.own(viewer):
        for url in [f"/admin/workflow/village/{place.village.id}",
                    *[f"/admin/workflow/project/{p.id}" for p in place.projects],
                    *[f"/admin/workflow/project/{p.id}/print" for p in place.projects]]:
            response = client.get(url)
            assert response.status_code == 200, url
            assert place.tag in response.get_data(as_text=True), url
        if place.attachment is not None:
            response = client.get(f"/admin/workflow/attachment/{place.attachment.id}")
            assert response.status_code == 200
            assert response.data == PDF + place.tag.encode()
            assert response.mimetype == "application/pdf"
            response.close()


def check_todo(client, token, world, viewer):
    states = ",".join(workflow.PROJECT.states)
    html = client.get(f"/admin/workflow/todo?kind=project&states={states}").get_data(as_text=True)
    assert not tags_in(html, world.other(viewer))
    assert tags_in(html, world.own(viewer)) == {p.tag for p in world.own(viewer)}
    html = client.get("/admin/workflow/todo?kind=village&states=established,draft").get_data(as_text=True)
    assert not tags_in(html, world.other(viewer))
    assert tags_in(html, world.own(viewer)) == {p.tag for p in world.own(viewer)}


# -- the matrix: one world per test, every path checked in it ---------------------------------------

@pytest.mark.parametrize("viewer", VIEWERS, ids=_vid)
def test_grids_and_exports_hold_only_the_users_area(app, world, viewer):
    client, token = signed_in(app, world, viewer)
    check_closed_grids(client, token, world, viewer)
    check_lists(client, token, world, viewer)
    check_exports(client, token, world, viewer, "csv")
    check_exports(client, token, world, viewer, "xlsx")


@pytest.mark.parametrize("viewer", VIEWERS, ids=_vid)
def test_single_rows_of_another_area_cannot_be_read_or_changed(app, world, viewer):
    client, token = signed_in(app, world, viewer)
    check_details(client, token, world, viewer)
    check_edit_refused(client, token, world, viewer)
    check_inline_refused(client, token, world, viewer)
    check_inline_own(client, token, world, viewer)
    if viewer[1] in FEDERATIONS:
        check_edit_own(client, token, world, viewer)


@pytest.mark.parametrize("viewer", VIEWERS, ids=_vid)
def test_refunds_and_lookups_stay_in_the_users_area(app, world, viewer):
    client, token = signed_in(app, world, viewer)
    check_lookups(client, token, world, viewer)
    check_refund(client, token, world, viewer)


@pytest.mark.parametrize("viewer", VIEWERS, ids=_vid)
def test_workflow_pages_of_another_area_are_not_found(app, world, viewer):
    client, token = signed_in(app, world, viewer)
    check_workflow_refused(client, token, world, viewer)
    check_workflow_own(client, token, world, viewer)
    check_todo(client, token, world, viewer)
