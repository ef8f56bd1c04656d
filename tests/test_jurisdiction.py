"""Who sees what: ``jurisdiction.scoped`` and friends over a small world of five villages.

    内蒙古自治区 150000
    ├── 呼和浩特市 150100
    │   ├── 土默特左旗 150121
    │   │   ├── A's township ── village A, village A_extra
    │   │   └── A2's township ── village A2
    │   └── 托克托县 150122
    │       └── B's township ── village B
    ├── 满洲里市 150781 (盟市-level, and its own 旗县市区)
    │   └── M's township ── village M
    └── 呼伦贝尔市 150700 (no village; 满洲里市 is NOT under it)
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from db import ledger, matching, settlement, workflow
from db.areas import get_area
from db.errors import JurisdictionError, XfjyError
from db.jurisdiction import area_of, covers, get_scoped, require, scoped
from db.models import (
    Account,
    AdmissionStep,
    Area,
    Attachment,
    AuditLog,
    Batch,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    Project,
    ProjectReview,
    Role,
    ServiceRecord,
    SupervisoryMember,
    User,
    Village,
    Volunteer,
)
from db.users import create_user

from .factories import Chain, donate, new_project, user

VILLAGES = ("A", "A_extra", "A2", "B", "M")
HOHHOT = {"A", "A_extra", "A2", "B"}

# Models whose rows all hang off one of the five villages.
VILLAGE_MODELS = (Village, Project, Donation, Entry, Expenditure, Disclosure, SupervisoryMember, Volunteer,
                  ServiceRecord, Attachment, ProjectReview, AdmissionStep, Evaluation)

# (whose user, role) -> the villages whose rows they see
SEES = {
    ("A", Role.VILLAGE): {"A"},
    ("A_extra", Role.VILLAGE): {"A_extra"},
    ("A", Role.TOWNSHIP): {"A", "A_extra"},
    ("A2", Role.TOWNSHIP): {"A2"},
    ("A", Role.COUNTY): {"A", "A_extra", "A2"},
    ("A", Role.PREFECTURE): HOHHOT,
    ("A", Role.REGION): set(VILLAGES),
    ("A", Role.ADMIN): set(VILLAGES),
    ("B", Role.VILLAGE): {"B"},
    ("B", Role.TOWNSHIP): {"B"},
    ("B", Role.COUNTY): {"B"},
    ("B", Role.PREFECTURE): HOHHOT,
    ("M", Role.VILLAGE): {"M"},
    ("M", Role.TOWNSHIP): {"M"},
    ("M", Role.COUNTY): {"M"},
    ("M", Role.PREFECTURE): {"M"},
    ("hulunbuir", Role.PREFECTURE): set(),
}

# Every user of the world sits on one of these areas; which areas' users each actor sees.
TUZUO_USERS = {"土默特左旗", "A.township", "A", "A_extra", "A2.township", "A2"}
HOHHOT_USERS = TUZUO_USERS | {"呼和浩特市", "托克托县", "B.township", "B"}
MANZHOULI_USERS = {"满洲里市", "M.township", "M"}
ALL_USER_AREAS = HOHHOT_USERS | MANZHOULI_USERS | {"内蒙古自治区", "呼伦贝尔市"}
SEES_USERS = {
    ("A", Role.VILLAGE): {"A"},
    ("A_extra", Role.VILLAGE): {"A_extra"},
    ("A", Role.TOWNSHIP): {"A.township", "A", "A_extra"},
    ("A2", Role.TOWNSHIP): {"A2.township", "A2"},
    ("A", Role.COUNTY): TUZUO_USERS,
    ("A", Role.PREFECTURE): HOHHOT_USERS,
    ("A", Role.REGION): ALL_USER_AREAS,
    ("A", Role.ADMIN): ALL_USER_AREAS,
    ("B", Role.VILLAGE): {"B"},
    ("B", Role.TOWNSHIP): {"B.township", "B"},
    ("B", Role.COUNTY): {"托克托县", "B.township", "B"},
    ("B", Role.PREFECTURE): HOHHOT_USERS,
    ("M", Role.VILLAGE): {"M"},
    ("M", Role.TOWNSHIP): {"M.township", "M"},
    # 满洲里市's county and prefecture users share the area 150781, so each sees the other.
    ("M", Role.COUNTY): MANZHOULI_USERS,
    ("M", Role.PREFECTURE): MANZHOULI_USERS,
    ("hulunbuir", Role.PREFECTURE): {"呼伦贝尔市"},
}


@dataclass
class World:
    chains: dict = field(default_factory=dict)
    villages: dict = field(default_factory=dict)
    actors: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)          # village key -> model -> set of ids
    area_labels: dict = field(default_factory=dict)   # area id -> label used in SEES_USERS
    orphan: Attachment | None = None

    def ids(self, model, keys) -> set[int]:
        return set().union(*(self.rows[k][model] for k in keys)) if keys else set()

    def actor(self, who, role) -> User:
        return self.actors[(who, role)]


def _fill(world: World, key: str, village: Village, village_user: User, *, projects: int = 1) -> None:
    rows = {model: set() for model in VILLAGE_MODELS}
    rows[Village].add(village.id)
    for n in range(projects):
        project = new_project(None, village, name=f"{village.full_name}项目{n + 1}")
        rows[Project].add(project.id)
        if n == 0:
            workflow.advance_project(project, "submit", village_user)
        gift = donate(project, 10_000 * (n + 1))
        rows[Donation].add(gift.id)
        rows[Entry] |= {e.id for e in Entry.select().where(Entry.donation == gift)}
        # An entry of the project that is not a donation's (part of the money moved to the 互助基金).
        rows[Entry].add(ledger.post("to_fund", ledger.special_account(project), ledger.fund_account(village), 1_000,
                                    project=project, memo="结转").id)
        spent = Expenditure.create(project=project, spent_on=dt.date(2024, 5, 1), item="路灯", payee="某照明公司",
                                   amount=1_000)
        rows[Expenditure].add(spent.id)
        post = Disclosure.create(project=project, title=f"{village.full_name}公示", body="收支明细",
                                 published_on=dt.date(2024, 5, 2), user=village_user.id)
        rows[Disclosure].add(post.id)
        for target in (dict(expenditure=spent), dict(disclosure=post)):
            rows[Attachment].add(Attachment.create(sha256="a" * 64, filename="票据.pdf", mime="application/pdf",
                                                   size=10, **target).id)
        rows[Evaluation].add(Evaluation.create(project=project, evaluated_on=dt.date(2024, 12, 1),
                                               result="good").id)
        rows[ProjectReview] |= {r.id for r in project.reviews}
    volunteer = Volunteer.create(village=village, name="志愿者", joined_on=dt.date(2024, 1, 1))
    rows[Volunteer].add(volunteer.id)
    rows[ServiceRecord].add(ServiceRecord.create(volunteer=volunteer, served_on=dt.date(2024, 2, 1), minutes=90,
                                                 activity="清扫村道").id)
    rows[SupervisoryMember] |= {m.id for m in village.supervisors}
    rows[AdmissionStep] |= {s.id for s in village.admission_steps}
    assert len(rows[SupervisoryMember]) == 3 and len(rows[AdmissionStep]) == 5
    world.rows[key] = rows


@pytest.fixture
def world(db) -> World:
    w = World()
    a, a2, b, m = Chain("150121"), Chain("150121"), Chain("150122"), Chain("150781")
    w.chains = {"A": a, "A2": a2, "B": b, "M": m}
    extra = a.add_village()
    extra_user = user(Role.VILLAGE, extra.area)
    w.villages = {"A": a.village, "A_extra": extra, "A2": a2.village, "B": b.village, "M": m.village}
    for key, chain in w.chains.items():
        for role, u in chain.users.items():
            w.actors[(key, role)] = u
    w.actors[("A_extra", Role.VILLAGE)] = extra_user
    w.actors[("hulunbuir", Role.PREFECTURE)] = user(Role.PREFECTURE, get_area("150700"))

    _fill(w, "A", a.village, a.users[Role.VILLAGE], projects=2)
    _fill(w, "A_extra", extra, extra_user)
    _fill(w, "A2", a2.village, a2.users[Role.VILLAGE])
    _fill(w, "B", b.village, b.users[Role.VILLAGE])
    _fill(w, "M", m.village, m.users[Role.VILLAGE])
    w.orphan = Attachment.create(sha256="b" * 64, filename="未关联.png", mime="image/png", size=5)

    labels = {"150000": "内蒙古自治区", "150100": "呼和浩特市", "150121": "土默特左旗", "150122": "托克托县",
              "150781": "满洲里市", "150700": "呼伦贝尔市"}
    w.area_labels = {get_area(code).id: label for code, label in labels.items()}
    for key in ("A", "A2", "B", "M"):
        w.area_labels[w.chains[key].township.id] = f"{key}.township"
    for key, village in w.villages.items():
        w.area_labels[village.area_id] = key
    return w


def _ids(query) -> set[int]:
    return {row.id for row in query}


# -- scoped ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, role", list(SEES), ids=lambda v: str(v))
def test_each_role_sees_exactly_the_rows_of_its_villages(world, who, role):
    actor = world.actor(who, role)
    visible = SEES[(who, role)]
    for model in VILLAGE_MODELS:
        expected = world.ids(model, visible)
        if role == Role.ADMIN and model is Attachment:
            expected = expected | {world.orphan.id}
        assert _ids(scoped(model.select(), actor)) == expected, model.__name__
    seen_villages = {v.full_name for v in scoped(Village.select(), actor)}
    assert seen_villages == {world.villages[k].full_name for k in visible}


@pytest.mark.parametrize("who, role", list(SEES_USERS), ids=lambda v: str(v))
def test_each_role_sees_exactly_the_users_of_its_area(world, who, role):
    actor = world.actor(who, role)
    every_user = list(User.select())
    assert {world.area_labels[u.area_id] for u in every_user} == ALL_USER_AREAS
    expected = {u.id for u in every_user if world.area_labels[u.area_id] in SEES_USERS[(who, role)]}
    assert _ids(scoped(User.select(), actor)) == expected
    assert actor.id in expected


def test_the_world_is_what_the_tables_hold(world):
    """Guards the expectations above: no row of these tables lies outside the five villages."""
    for model in VILLAGE_MODELS:
        expected = world.ids(model, VILLAGES) | ({world.orphan.id} if model is Attachment else set())
        assert _ids(model.select()) == expected, model.__name__
    assert len(world.ids(Project, {"A"})) == 2 and all(world.rows[k][Entry] for k in VILLAGES)


def test_attachments_are_seen_through_their_expenditure_or_disclosure(world):
    county = world.actor("A", Role.COUNTY)
    b_spent = next(iter(world.rows["B"][Expenditure]))
    a_post = next(iter(world.rows["A"][Disclosure]))
    mixed = Attachment.create(sha256="c" * 64, filename="x.pdf", mime="application/pdf", size=1,
                              expenditure=b_spent, disclosure=a_post)
    assert mixed.id in _ids(scoped(Attachment.select(), county))  # one link inside is enough
    assert world.orphan.id not in _ids(scoped(Attachment.select(), world.actor("A", Role.REGION)))
    assert world.orphan.id in _ids(scoped(Attachment.select(), None))


def test_scoped_composes_with_the_callers_own_joins_and_filters(world):
    prefecture = world.actor("A", Role.PREFECTURE)
    query = (Project.select().join(Village).join(Area)
             .where(Area.path.contains("/150121/")).order_by(Project.id))
    assert _ids(scoped(query, prefecture)) == world.ids(Project, {"A", "A_extra", "A2"})
    assert _ids(scoped(query, world.actor("B", Role.COUNTY))) == set()
    big = scoped(Donation.select().where(Donation.amount > 10_000), world.actor("A", Role.COUNTY))
    assert [d.amount for d in big] == [20_000]  # A's second project
    assert scoped(Entry.select(), world.actor("A", Role.TOWNSHIP)).count() == 6  # 3 projects x 2


def test_areas_are_scoped_to_the_subtree(world):
    county = world.actor("A", Role.COUNTY)
    codes = {a.code for a in scoped(Area.select(), county)}
    assert "150121" in codes and world.villages["A2"].area.code in codes
    assert not codes & {"150100", "150122", "150000", world.villages["B"].area.code}


def test_audit_log_shows_each_user_only_their_own_actions(world):
    county = world.actor("A", Role.COUNTY)
    before = _ids(scoped(AuditLog.select(), county))
    assert before and before == {log.id for log in AuditLog.select() if log.user_id == county.id}
    project = Project.get_by_id(min(world.ids(Project, {"A"})))
    workflow.advance_project(project, "approve", world.actor("A", Role.TOWNSHIP), "同意", settle=settlement.settle_remaining)
    workflow.advance_project(project, "approve", county, "同意", settle=settlement.settle_remaining)
    new = _ids(scoped(AuditLog.select(), county)) - before
    assert len(new) == 1 and AuditLog.get_by_id(new.pop()).action == "transition"
    assert not _ids(scoped(AuditLog.select(), world.actor("A", Role.PREFECTURE))) & before
    assert scoped(AuditLog.select(), None).count() == AuditLog.select().count()


def test_a_model_without_a_rule_is_refused_rather_than_shown(world):
    for model in (Account, Batch):
        with pytest.raises(JurisdictionError, match=f"未定义 {model.__name__} 的管辖范围"):
            scoped(model.select(), world.actor("A", Role.REGION))
    assert scoped(Account.select(), world.actor("A", Role.ADMIN)).count() == Account.select().count()


def test_a_federation_sees_the_funding_of_its_own_matching_pool(world):
    """A 配捐 pool's funding entry has no project; it belongs to the federation whose pool it is.

    The prefecture user posts it (``fund_pool`` only lets the pool's own federation do so) and must
    be able to see it in their ledger, as must the region above; 托克托县 and 满洲里市 must not.
    """
    hohhot = world.chains["A"].prefecture
    prefecture = world.actor("A", Role.PREFECTURE)
    entry = matching.fund_pool(hohhot, 500_000, "某爱心企业", actor=prefecture)
    assert entry.to_account.area_id == hohhot.id
    assert entry.id in _ids(scoped(Entry.select(), None))
    assert entry.id not in _ids(scoped(Entry.select(), world.actor("B", Role.COUNTY)))
    assert entry.id not in _ids(scoped(Entry.select(), world.actor("M", Role.PREFECTURE)))
    assert entry.id in _ids(scoped(Entry.select(), world.actor("A", Role.REGION)))
    assert entry.id in _ids(scoped(Entry.select(), prefecture))


# -- get_scoped ------------------------------------------------------------------------------------

GET_MODELS = (Village, Project, Donation, Entry, Expenditure, Disclosure, SupervisoryMember, Volunteer,
              ServiceRecord, Attachment, Evaluation, ProjectReview, AdmissionStep)


def _missing_message(model, actor) -> str:
    missing = (model.select(model.id).order_by(model.id.desc()).scalar() or 0) + 1000
    with pytest.raises(JurisdictionError) as error:
        get_scoped(model, actor, missing)
    return str(error.value)


@pytest.mark.parametrize("model", GET_MODELS, ids=lambda m: m.__name__)
def test_get_scoped_hides_rows_outside_the_area_like_missing_ones(world, model):
    county = world.actor("A", Role.COUNTY)
    missing = _missing_message(model, county)
    assert missing == "记录不存在或不在您的管辖范围内"
    for key in ("B", "M"):
        outside = min(world.rows[key][model])
        with pytest.raises(JurisdictionError) as error:
            get_scoped(model, county, outside)
        assert str(error.value) == missing  # nothing tells "exists elsewhere" from "does not exist"
    for key in ("A", "A_extra", "A2"):
        inside = min(world.rows[key][model])
        assert get_scoped(model, county, inside).id == inside
    outside = min(world.rows["B"][model])
    assert get_scoped(model, world.actor("A", Role.ADMIN), outside).id == outside
    assert get_scoped(model, world.actor("B", Role.PREFECTURE), outside).id == outside
    with pytest.raises(JurisdictionError, match="记录不存在或不在您的管辖范围内"):
        get_scoped(model, world.actor("hulunbuir", Role.PREFECTURE), outside)


def test_get_scoped_users(world):
    township = world.actor("A", Role.TOWNSHIP)
    assert get_scoped(User, township, world.actor("A", Role.VILLAGE).id).id == world.actor("A", Role.VILLAGE).id
    for above in (world.actor("A", Role.COUNTY), world.actor("A", Role.REGION), world.actor("A2", Role.TOWNSHIP)):
        with pytest.raises(JurisdictionError) as error:
            get_scoped(User, township, above.id)
        assert str(error.value) == _missing_message(User, township)


# -- covers, require, area_of ----------------------------------------------------------------------

def test_covers_and_require(world):
    county = world.actor("A", Role.COUNTY)
    a, a2, b, m = (world.villages[k].area for k in ("A", "A2", "B", "M"))
    assert covers(county, a) and covers(county, a2) and covers(county, get_area("150121"))
    assert not covers(county, b) and not covers(county, m)
    assert not covers(county, get_area("150100"))  # not the 盟市 above it
    assert not covers(world.actor("A", Role.VILLAGE), world.villages["A_extra"].area)
    assert covers(world.actor("A", Role.ADMIN), m) and covers(None, m)
    assert covers(world.actor("M", Role.COUNTY), m)
    assert not covers(world.actor("hulunbuir", Role.PREFECTURE), m)
    require(county, a2)
    with pytest.raises(JurisdictionError) as error:
        require(county, b)
    assert str(error.value) == "该记录不在您的管辖范围内"
    with pytest.raises(JurisdictionError, match="^该项目不在您的管辖范围内$"):
        require(county, b, "该项目")
    require(None, b)
    require(world.actor("A", Role.ADMIN), b)


@pytest.mark.parametrize("model", GET_MODELS, ids=lambda m: m.__name__)
def test_area_of_every_row_is_its_village(world, model):
    for key in ("A", "M"):
        for pk in world.rows[key][model]:
            assert area_of(model.get_by_id(pk)).id == world.villages[key].area_id


def test_area_of_areas_users_and_rows_without_an_owner(world):
    tuzuo = get_area("150121")
    assert area_of(tuzuo) == tuzuo
    county = world.actor("A", Role.COUNTY)
    assert area_of(User.get_by_id(county.id)).code == "150121"
    with pytest.raises(JurisdictionError, match="无法判断该记录的管辖范围"):
        area_of(Attachment.get_by_id(world.orphan.id))
    with pytest.raises(JurisdictionError, match="无法判断该记录的管辖范围"):
        area_of(AuditLog.select().first())


# -- 满洲里市 --------------------------------------------------------------------------------------

def test_a_county_user_of_manzhouli_sees_its_village(world):
    county = create_user("mzl-county", "mzl-secret-1", Role.COUNTY, "150781")
    assert county.area.code == "150781" and county.level == Role.LEVELS[Role.COUNTY]
    village = world.villages["M"]
    assert _ids(scoped(Village.select(), county)) == {village.id}
    assert _ids(scoped(Project.select(), county)) == world.ids(Project, {"M"})
    assert _ids(scoped(Donation.select(), county)) == world.ids(Donation, {"M"})
    assert covers(county, village.area)
    assert get_scoped(Village, county, village.id).id == village.id
    with pytest.raises(JurisdictionError, match="记录不存在或不在您的管辖范围内"):
        get_scoped(Village, county, world.villages["A"].id)
    # 呼伦贝尔市 (150700) is a 盟市 with 旗县市区 below it: no county user may act for it as a whole.
    with pytest.raises(XfjyError, match="不能以盟市「呼伦贝尔市」为管辖区域"):
        create_user("hlbe-county", "hlbe-secret-1", Role.COUNTY, "150700")
    assert _ids(scoped(Village.select(), world.actor("hulunbuir", Role.PREFECTURE))) == set()
