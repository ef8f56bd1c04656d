"""The review chains (附件2): a project's life from 草稿 to 结项, and a village's admission.

The legal steps are parametrized from ``workflow.PROJECT.transitions`` itself, but every expectation
(target state, decision, who may act, the Chinese messages) is written out here by hand, so a change
to the table that is not also a change to these expectations fails.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from db import donations, integrity, ledger, matching, settlement, workflow
from db.areas import get_area
from db.errors import TransitionError, XfjyError
from db.jurisdiction import covers
from db.models import (
    AdmissionStep,
    AuditLog,
    Entry,
    Level,
    MatchingRule,
    Project,
    ProjectReview,
    Role,
    SupervisoryMember,
    Village,
)
from db.totals import project_raised
from db.villages import create_project

from .factories import Chain, donate, new_project, project_in, ready_for, reload, reviews, step_id, user

PROJECT, ADMISSION = workflow.PROJECT, workflow.ADMISSION

# After the default project's collection period (2024-03-01 .. 2024-08-31).
ON = dt.datetime(2024, 9, 2, 9, 30)
OPINION = "  材料齐全，同意。  "

STATE_LABELS = {
    "draft": "草稿",
    "township_review": "待街道/镇初审",
    "county_review": "待旗县市区审核",
    "prefecture_filing": "待盟市备案",
    "region_approval": "待自治区审批",
    "fundraising": "募捐中",
    "target_reached": "目标达成",
    "target_missed": "期满未达成",
    "use_applied": "使用申请",
    "disbursing": "拨付中",
    "implementing": "实施中",
    "acceptance": "验收",
    "closed": "结项",
}

# (state, action) -> (target state, decision, acting level; None for a system step)
EXPECTED = {
    ("draft", "submit"): ("township_review", "submit", Level.VILLAGE),
    ("township_review", "approve"): ("county_review", "approve", Level.TOWNSHIP),
    ("township_review", "reject"): ("draft", "reject", Level.TOWNSHIP),
    ("county_review", "approve"): ("prefecture_filing", "approve", Level.COUNTY),
    ("county_review", "reject"): ("draft", "reject", Level.COUNTY),
    ("prefecture_filing", "approve"): ("region_approval", "approve", Level.PREFECTURE),
    ("prefecture_filing", "reject"): ("draft", "reject", Level.PREFECTURE),
    ("region_approval", "approve"): ("fundraising", "approve", Level.REGION),
    ("region_approval", "reject"): ("draft", "reject", Level.REGION),
    ("fundraising", "reach_target"): ("target_reached", "record", None),
    ("fundraising", "expire"): ("target_missed", "record", None),
    ("target_reached", "apply_use"): ("use_applied", "submit", Level.VILLAGE),
    ("use_applied", "start_disbursing"): ("disbursing", "record", None),
    ("disbursing", "funds_arrived"): ("implementing", "record", None),
    ("implementing", "request_acceptance"): ("acceptance", "submit", Level.VILLAGE),
    ("acceptance", "approve"): ("closed", "approve", Level.COUNTY),
    ("acceptance", "reject"): ("implementing", "reject", Level.COUNTY),
    ("target_missed", "close"): ("closed", "approve", Level.COUNTY),
}

ROLE_OF = {Level.VILLAGE: Role.VILLAGE, Level.TOWNSHIP: Role.TOWNSHIP, Level.COUNTY: Role.COUNTY,
           Level.PREFECTURE: Role.PREFECTURE, Level.REGION: Role.REGION}
# Who the refusal names: the level's name, or the system / a federation for system steps.
WHO = {Level.VILLAGE: "村社", Level.TOWNSHIP: "乡镇/街道", Level.COUNTY: "旗县市区", Level.PREFECTURE: "盟市",
       Level.REGION: "自治区", None: "系统或上级慈善总会"}
ALL_ROLES = (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY, Role.PREFECTURE, Role.REGION, Role.ADMIN)
# System steps (deadline passed, money arrived) may also be taken by federation staff of the area.
SYSTEM_ROLES = (Role.COUNTY, Role.PREFECTURE, Role.REGION)

TRANSITIONS = sorted(PROJECT.transitions)
SYSTEM_TRANSITIONS = [k for k in TRANSITIONS if PROJECT.transitions[k].level is None]
REJECTS = [k for k in TRANSITIONS if k[1] == "reject"]


# -- helpers ---------------------------------------------------------------------------------------

def transition_logs(project: Project):
    return (AuditLog.select()
            .where((AuditLog.table == "project") & (AuditLog.object_id == str(project.id))
                   & (AuditLog.action == "transition"))
            .order_by(AuditLog.id))


def assert_unchanged(project: Project, state: str, n_reviews: int, n_logs: int) -> None:
    assert reload(project).state == state
    assert reviews(project) == n_reviews
    assert transition_logs(project).count() == n_logs


# -- the table -------------------------------------------------------------------------------------

def test_project_states_and_transitions_are_the_documented_chain(db):
    assert PROJECT.states == STATE_LABELS
    assert {k: (t.target, t.decision, t.level) for k, t in PROJECT.transitions.items()} == EXPECTED
    assert workflow.OPEN_STATES == tuple(s for s in STATE_LABELS if s != "closed")


def test_available_steps_are_the_buttons_of_each_user(db):
    chain = Chain()
    names = lambda state, actor: sorted(t.action for t in PROJECT.available(state, actor))  # noqa: E731
    assert names("county_review", chain.users[Role.COUNTY]) == ["approve", "reject"]
    assert names("county_review", chain.users[Role.TOWNSHIP]) == []
    assert names("draft", chain.users[Role.VILLAGE]) == ["submit"]
    assert names("fundraising", None) == ["expire", "reach_target"]
    assert names("fundraising", chain.users[Role.REGION]) == ["expire", "reach_target"]
    assert names("fundraising", chain.users[Role.TOWNSHIP]) == []
    assert names("closed", chain.users[Role.COUNTY]) == []
    for state in STATE_LABELS:
        assert PROJECT.available(state, chain.users[Role.ADMIN]) == []


# -- every legal step ------------------------------------------------------------------------------

@pytest.mark.parametrize("key", TRANSITIONS, ids=step_id)
def test_legal_step_by_the_right_level_is_recorded_and_audited(db, key):
    target, decision, level = EXPECTED[key]
    chain = Chain()
    project = ready_for(chain, key)
    actor = chain.users[ROLE_OF[level]] if level is not None else None
    n_logs = transition_logs(project).count()

    step = workflow.advance_project(project, key[1], actor, OPINION, on=ON, settle=settlement.settle_remaining)

    assert reload(project).state == target
    review = ProjectReview.get_by_id(step.id)
    assert review.project_id == project.id
    assert (review.action, review.from_state, review.to_state, review.decision) == (key[1], key[0], target, decision)
    assert review.opinion == "材料齐全，同意。"
    assert review.at == ON
    if actor is None:
        assert (review.user_id, review.person, review.unit) == (None, "系统", "")
    else:
        assert review.user_id == actor.id
        assert review.person == actor.display_name and review.person
        assert review.unit == actor.unit and review.unit
    logs = list(transition_logs(project))
    assert len(logs) == n_logs + 1
    log = logs[-1]
    assert log.user_id == (actor.id if actor else None)
    assert log.username == (actor.username if actor else "system")
    assert project.name in log.summary and STATE_LABELS[target] in log.summary
    assert json.loads(log.before)["state"] == key[0]
    assert json.loads(log.after)["state"] == target


def test_a_step_without_a_date_is_stamped_now_in_beijing(db):
    chain = Chain()
    project = new_project(chain)
    before = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None, microsecond=0)
    step = workflow.advance_project(project, "submit", chain.users[Role.VILLAGE])
    after = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    assert before <= ProjectReview.get_by_id(step.id).at <= after
    assert step.opinion == ""


@pytest.mark.parametrize("key", SYSTEM_TRANSITIONS, ids=step_id)
@pytest.mark.parametrize("role", SYSTEM_ROLES)
def test_system_steps_are_open_to_federation_staff_of_the_area(db, key, role):
    chain = Chain()
    project = ready_for(chain, key)
    actor = chain.users[role]
    step = workflow.advance_project(project, key[1], actor, on=ON, settle=settlement.settle_remaining)
    assert reload(project).state == EXPECTED[key][0]
    assert step.user_id == actor.id and step.decision == "record"


def test_the_whole_road_from_draft_to_closed(db):
    chain = Chain()
    project = project_in(chain, "implementing")
    workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE], "工程完工")
    workflow.advance_project(project, "approve", chain.users[Role.COUNTY], "验收合格", settle=settlement.settle_remaining)
    assert reload(project).state == "closed"
    path = [(r.from_state, r.to_state) for r in project.reviews.order_by(ProjectReview.id)]
    assert path == [
        ("draft", "township_review"), ("township_review", "county_review"), ("county_review", "prefecture_filing"),
        ("prefecture_filing", "region_approval"), ("region_approval", "fundraising"),
        ("fundraising", "target_reached"), ("target_reached", "use_applied"), ("use_applied", "disbursing"),
        ("disbursing", "implementing"), ("implementing", "acceptance"), ("acceptance", "closed"),
    ]
    assert workflow.open_project_of(chain.village) is None


# -- wrong roles -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", TRANSITIONS, ids=step_id)
def test_every_other_role_is_refused_and_nothing_changes(db, key):
    level = EXPECTED[key][2]
    allowed = SYSTEM_ROLES if level is None else (ROLE_OF[level],)
    wrong = [r for r in ALL_ROLES if r not in allowed]
    assert Role.ADMIN in wrong and wrong
    chain = Chain()
    project = ready_for(chain, key)
    n_reviews, n_logs = reviews(project), transition_logs(project).count()
    for role in wrong:
        with pytest.raises(TransitionError, match=f"只能由{WHO[level]}办理") as error:
            workflow.advance_project(project, key[1], chain.users[role], OPINION, on=ON, settle=settlement.settle_remaining)
        assert f"「{PROJECT.transitions[key].label}」" in str(error.value), role
        assert_unchanged(project, key[0], n_reviews, n_logs)


@pytest.mark.parametrize("key", [k for k in TRANSITIONS if EXPECTED[k][2] is not None], ids=step_id)
def test_a_level_step_is_not_a_system_step(db, key):
    chain = Chain()
    project = ready_for(chain, key)
    n_reviews, n_logs = reviews(project), transition_logs(project).count()
    with pytest.raises(TransitionError, match="只能由"):
        workflow.advance_project(project, key[1], None, OPINION, on=ON, settle=settlement.settle_remaining)
    assert_unchanged(project, key[0], n_reviews, n_logs)


def _outsider(chain: Chain, level):
    """A user of the acting level whose area does not contain ``chain.village``."""
    if level == Level.VILLAGE:
        return user(Role.VILLAGE, chain.add_village().area)  # a neighbour in the same township
    if level == Level.TOWNSHIP:
        return Chain(chain.county.code).users[Role.TOWNSHIP]  # another township of the same county
    if level == Level.COUNTY:
        return user(Role.COUNTY, get_area("150122"))  # 托克托县, same 盟市
    if level == Level.PREFECTURE:
        return user(Role.PREFECTURE, get_area("150200"))  # 包头市
    raise AssertionError(level)


@pytest.mark.parametrize("key", [k for k in TRANSITIONS if EXPECTED[k][2] != Level.REGION], ids=step_id)
def test_the_right_level_of_another_area_is_refused(db, key):
    level = EXPECTED[key][2]
    chain = Chain()
    project = ready_for(chain, key)
    outsiders = [_outsider(chain, level)] if level is not None else [
        _outsider(chain, Level.COUNTY), _outsider(chain, Level.PREFECTURE)]
    n_reviews, n_logs = reviews(project), transition_logs(project).count()
    for outsider in outsiders:
        assert not covers(outsider, chain.village.area)
        with pytest.raises(TransitionError, match="不在您的管辖范围内"):
            workflow.advance_project(project, key[1], outsider, OPINION, on=ON, settle=settlement.settle_remaining)
        assert_unchanged(project, key[0], n_reviews, n_logs)


def test_a_tuoketuo_county_user_cannot_review_a_tumote_project(db):
    chain = Chain("150121")
    other = Chain("150122")
    project = project_in(chain, "county_review")
    with pytest.raises(TransitionError, match="该记录不在您的管辖范围内"):
        workflow.advance_project(project, "approve", other.users[Role.COUNTY], "同意", settle=settlement.settle_remaining)
    with pytest.raises(TransitionError, match="该记录不在您的管辖范围内"):
        workflow.advance_project(project, "reject", other.users[Role.COUNTY], "不同意")
    assert reload(project).state == "county_review"
    # ... while the same-prefecture federation above both still acts on its own level only.
    with pytest.raises(TransitionError, match="只能由旗县市区办理"):
        workflow.advance_project(project, "approve", other.users[Role.PREFECTURE], "同意", settle=settlement.settle_remaining)
    workflow.advance_project(project, "approve", chain.users[Role.COUNTY], "同意", settle=settlement.settle_remaining)
    assert reload(project).state == "prefecture_filing"


# -- steps not in the table ------------------------------------------------------------------------

ACTIONS = sorted({action for _, action in PROJECT.transitions} | {"delete", "reopen"})


@pytest.mark.parametrize("state", list(STATE_LABELS))
def test_every_step_not_in_the_table_is_refused(db, state):
    chain = Chain()
    project = project_in(chain, state)
    if state == "fundraising":
        donate(project, project.target)  # even with the money in, only the listed steps exist
    n_reviews, n_logs = reviews(project), transition_logs(project).count()
    refused = [a for a in ACTIONS if (state, a) not in EXPECTED]
    assert refused
    for action in refused:
        for actor in (None, chain.users[Role.VILLAGE], chain.users[Role.COUNTY], chain.users[Role.REGION]):
            with pytest.raises(TransitionError) as error:
                workflow.advance_project(project, action, actor, OPINION, on=ON, settle=settlement.settle_remaining)
            assert str(error.value) == f"项目当前为「{STATE_LABELS[state]}」，不能执行「{action}」"
        assert_unchanged(project, state, n_reviews, n_logs)


@pytest.mark.parametrize("state, action, role", [
    ("draft", "approve", Role.TOWNSHIP),
    ("draft", "reject", Role.TOWNSHIP),
    ("fundraising", "submit", Role.VILLAGE),
    ("fundraising", "apply_use", Role.VILLAGE),
    ("township_review", "submit", Role.VILLAGE),
    ("county_review", "reach_target", Role.COUNTY),
    ("target_reached", "expire", Role.COUNTY),
    ("implementing", "approve", Role.COUNTY),
    ("closed", "reject", Role.COUNTY),
    ("closed", "submit", Role.VILLAGE),
])
def test_familiar_wrong_steps_are_refused_by_state(db, state, action, role):
    chain = Chain()
    project = project_in(chain, state)
    with pytest.raises(TransitionError, match=f"当前为「{STATE_LABELS[state]}」，不能执行「{action}」"):
        workflow.advance_project(project, action, chain.users[role], OPINION, on=ON, settle=settlement.settle_remaining)
    assert reload(project).state == state


# -- reject ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", REJECTS, ids=step_id)
def test_reject_needs_an_opinion_and_sends_the_project_back(db, key):
    chain = Chain()
    project = project_in(chain, key[0])
    actor = chain.users[ROLE_OF[EXPECTED[key][2]]]
    n_reviews, n_logs = reviews(project), transition_logs(project).count()
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(TransitionError, match="退回时必须填写意见"):
            workflow.advance_project(project, "reject", actor, blank)
        assert_unchanged(project, key[0], n_reviews, n_logs)

    step = workflow.advance_project(project, "reject", actor, "  预算明细不全，请补充。 ")
    back = "implementing" if key[0] == "acceptance" else "draft"
    assert reload(project).state == back
    assert (step.decision, step.from_state, step.to_state) == ("reject", key[0], back)
    assert ProjectReview.get_by_id(step.id).opinion == "预算明细不全，请补充。"
    assert "退回修改" in transition_logs(project).order_by(AuditLog.id.desc()).first().summary


def test_a_rejected_project_can_be_corrected_and_submitted_again(db):
    chain = Chain()
    project = project_in(chain, "county_review")
    workflow.advance_project(project, "reject", chain.users[Role.COUNTY], "请补充村民代表大会决议")
    assert reload(project).state == "draft"
    workflow.advance_project(project, "submit", chain.users[Role.VILLAGE])
    assert reload(project).state == "township_review"
    decisions = [r.decision for r in project.reviews.order_by(ProjectReview.id)]
    assert decisions == ["submit", "approve", "reject", "submit"]


def test_rejected_acceptance_returns_to_implementing_and_can_be_requested_again(db):
    chain = Chain()
    project = project_in(chain, "acceptance")
    workflow.advance_project(project, "reject", chain.users[Role.COUNTY], "路灯尚有 5 盏未安装")
    assert reload(project).state == "implementing"
    workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE], "已全部安装")
    workflow.advance_project(project, "approve", chain.users[Role.COUNTY], "验收合格", settle=settlement.settle_remaining)
    assert reload(project).state == "closed"


# -- system steps ----------------------------------------------------------------------------------

def test_reach_target_waits_for_the_money(db):
    chain = Chain()
    project = project_in(chain, "fundraising", target=500_000)
    with pytest.raises(TransitionError, match="尚未达到募集目标"):
        workflow.advance_project(project, "reach_target", None)
    donate(project, 499_999)
    with pytest.raises(TransitionError, match="尚未达到募集目标"):
        workflow.advance_project(project, "reach_target", None)
    assert reload(project).state == "fundraising" and reviews(project) == 5
    donate(project, 1)
    workflow.advance_project(project, "reach_target", None)
    assert reload(project).state == "target_reached"


def test_reach_target_counts_donations_net_of_refunds(db):
    chain = Chain()
    project = project_in(chain, "fundraising", target=500_000)
    donate(project, 300_000)
    refunded = donate(project, 200_000)
    donations.refund_donation(refunded, "捐赠人要求退款")
    assert project_raised(project) == 300_000
    with pytest.raises(TransitionError, match="尚未达到募集目标"):
        workflow.advance_project(project, "reach_target", None)
    donate(project, 250_000)  # more than the target: still reached
    workflow.advance_project(project, "reach_target", chain.users[Role.COUNTY])
    assert reload(project).state == "target_reached"


def test_expire_only_after_the_deadline_and_only_if_the_target_was_missed(db):
    chain = Chain()
    project = project_in(chain, "fundraising", target=500_000)  # 2024-03-01 .. 2024-08-31
    donate(project, 100_000)
    for when in (dt.datetime(2024, 6, 1, 12, 0), dt.datetime(2024, 8, 31, 23, 59, 59)):
        with pytest.raises(TransitionError, match="募集期限至 2024-08-31，尚未期满"):
            workflow.advance_project(project, "expire", None, on=when)
    assert reload(project).state == "fundraising"
    workflow.advance_project(project, "expire", None, on=dt.datetime(2024, 9, 1, 0, 0))
    assert reload(project).state == "target_missed"


def test_expire_is_refused_once_the_target_is_reached(db):
    chain = Chain()
    project = project_in(chain, "fundraising", target=500_000)
    donate(project, 500_000)
    with pytest.raises(TransitionError, match="已达到目标，应记为目标达成"):
        workflow.advance_project(project, "expire", None, on=ON)
    assert reload(project).state == "fundraising"
    workflow.advance_project(project, "reach_target", None, on=ON)
    assert reload(project).state == "target_reached"


def test_closing_a_missed_project_moves_what_it_raised_to_the_fund_in_the_same_step(db):
    chain = Chain()
    project = project_in(chain, "fundraising", target=500_000)
    donate(project, 120_000)
    workflow.advance_project(project, "expire", None, on=ON)
    step = workflow.advance_project(project, "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    assert reload(project).state == "closed"
    assert ledger.balance(ledger.fund_account(chain.village)) == 120_000
    assert settlement.unused(reload(project)) == 0
    moved = Entry.select().where((Entry.project == project) & (Entry.kind == "to_fund")).get()
    assert (moved.amount, moved.user_id, moved.booked_on) == (120_000, chain.users[Role.COUNTY].id, step.at.date())
    assert "结余转入村社互助基金" in moved.memo


def test_closing_a_missed_project_also_moves_matching_money_held_by_the_village(db):
    """配捐 sits in the village's project account: closing moves it too, from where it is."""
    chain = Chain()
    project = project_in(chain, "fundraising", target=500_000)
    prefecture = chain.users[Role.PREFECTURE]
    matching.fund_pool(chain.prefecture, 1_000_000, "某爱心企业", actor=prefecture)
    rule = MatchingRule.create(area=chain.prefecture, kind="matching", name="呼和浩特市配捐", ratio_bp=5000,
                               cap=1_000_000)
    gift = donate(project, 100_000)
    matching.post_matching(rule, project, prefecture)
    donations.refund_donation(gift, "捐赠人要求退款")
    workflow.advance_project(project, "expire", None, on=ON)
    project = reload(project)
    assert ledger.balance(ledger.special_account(project)) == 0
    assert ledger.balance(ledger.project_account(project)) == 50_000
    workflow.advance_project(project, "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    assert reload(project).state == "closed"
    assert ledger.balance(ledger.fund_account(chain.village)) == 50_000
    assert ledger.balance(ledger.project_account(project)) == 0


def test_accepting_a_project_with_money_left_settles_every_level_to_the_fund(db):
    """Seen on the site: a county closed a project with 19,000 元 unspent and 结转 then found nothing."""
    chain = Chain()
    project = project_in(chain, "implementing", target=1_000_000)
    donate(project, 500_000, when=dt.datetime(2024, 9, 2, 9, 30))  # a late gift above the target, never passed down
    from db import spending

    spending.record_expenditure(project, spent_on=dt.date(2024, 10, 1), item="路灯", payee="某灯具厂", amount=810_000,
                                actor=chain.users[Role.VILLAGE])
    workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE])
    assert settlement.unused(reload(project)) == 190_000 + 500_000
    workflow.advance_project(reload(project), "approve", chain.users[Role.COUNTY], "验收合格", settle=settlement.settle_remaining)
    project = reload(project)
    assert project.state == "closed"
    assert settlement.unused(project) == 0
    assert ledger.balance(ledger.fund_account(chain.village)) == 690_000
    moves = sorted((e.from_account.kind, e.amount) for e in Entry.select().where(
        (Entry.project == project) & (Entry.kind == "to_fund")))
    assert moves == [("project", 190_000), ("special", 500_000)]
    assert integrity.integrity_problems() == []


def test_manzhouli_reviews_its_own_projects_at_county_and_prefecture_level(db):
    chain = Chain("150781")  # 满洲里市: a 盟市-level unit that is its own 旗县市区
    assert chain.users[Role.COUNTY].area == chain.users[Role.PREFECTURE].area
    project = project_in(chain, "fundraising")
    levels = [(r.to_state, r.user_id) for r in project.reviews.order_by(ProjectReview.id)]
    assert levels[2] == ("prefecture_filing", chain.users[Role.COUNTY].id)
    assert levels[3] == ("region_approval", chain.users[Role.PREFECTURE].id)
    with pytest.raises(TransitionError, match="不在您的管辖范围内"):
        workflow.advance_project(project, "reach_target", user(Role.COUNTY, get_area("150702")), raised=10**9)


def test_system_steps_are_refused_to_village_and_township_even_in_their_area(db):
    chain = Chain()
    project = project_in(chain, "fundraising")
    donate(project, project.target)
    for role in (Role.VILLAGE, Role.TOWNSHIP, Role.ADMIN):
        with pytest.raises(TransitionError, match="只能由系统或上级慈善总会办理"):
            workflow.advance_project(project, "reach_target", chain.users[role])
    assert reload(project).state == "fundraising"


# -- one open project per village; only villages with a fund ---------------------------------------

def test_one_open_project_per_village(db):
    chain = Chain()
    first = new_project(chain, name="村道路灯安装")
    second = new_project(chain, name="村卫生室改造")
    village_user = chain.users[Role.VILLAGE]
    workflow.advance_project(first, "submit", village_user)
    with pytest.raises(TransitionError) as error:
        workflow.advance_project(second, "submit", village_user)
    assert "已有未结项的项目" in str(error.value) and "只申报一个项目" in str(error.value)
    assert chain.village.full_name in str(error.value)
    assert reload(second).state == "draft" and reviews(second) == 0

    # Still refused while the first is collecting money ...
    for role in (Role.TOWNSHIP, Role.COUNTY, Role.PREFECTURE, Role.REGION):
        workflow.advance_project(first, "approve", chain.users[role], "同意", settle=settlement.settle_remaining)
    assert reload(first).state == "fundraising"
    with pytest.raises(TransitionError, match="已有未结项的项目"):
        workflow.advance_project(second, "submit", village_user)
    # ... and allowed once the first is closed.
    workflow.advance_project(first, "expire", None, on=ON)
    workflow.advance_project(first, "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    workflow.advance_project(second, "submit", village_user)
    assert reload(second).state == "township_review"


def test_other_drafts_and_other_villages_do_not_block_a_submission(db):
    chain = Chain()
    new_project(chain, name="村卫生室改造")  # a second draft of the same village
    neighbour = chain.add_village()
    workflow.advance_project(new_project(chain, neighbour), "submit", user(Role.VILLAGE, neighbour.area))
    project = new_project(chain)
    workflow.advance_project(project, "submit", chain.users[Role.VILLAGE])
    assert reload(project).state == "township_review"


@pytest.mark.parametrize("admission", ["draft", "applied", "county_approved", "filed"])
def test_a_village_without_an_established_fund_cannot_submit(db, admission):
    chain = Chain()
    village = chain.add_village(established=False)
    Village.update(admission_state=admission).where(Village.id == village.id).execute()
    project = new_project(chain, Village.get_by_id(village.id))
    with pytest.raises(TransitionError, match="尚未设立互助基金，不能申报项目"):
        workflow.advance_project(project, "submit", user(Role.VILLAGE, village.area))
    assert reload(project).state == "draft" and reviews(project) == 0


# -- check_project ---------------------------------------------------------------------------------

@pytest.mark.parametrize("starts_on, ends_on, flagged", [
    (dt.date(2024, 3, 1), dt.date(2024, 8, 31), False),
    (dt.date(2024, 3, 1), dt.date(2025, 3, 1), False),    # exactly one year
    (dt.date(2024, 3, 1), dt.date(2025, 3, 2), True),
    (dt.date(2023, 3, 1), dt.date(2024, 2, 29), False),   # ends on a leap day within the year
    (dt.date(2024, 2, 29), dt.date(2025, 2, 28), False),  # from a leap day: one year ends 2025-02-28
    (dt.date(2024, 2, 29), dt.date(2025, 3, 1), True),
    (dt.date(2024, 2, 29), dt.date(2026, 2, 28), True),
    (dt.date(2024, 5, 10), dt.date(2024, 5, 10), False),  # one day
])
def test_projects_over_one_year_are_flagged_not_refused(db, starts_on, ends_on, flagged):
    chain = Chain()
    project, warnings = create_project(chain.village, name="村道硬化", target=800_000, starts_on=starts_on,
                                       ends_on=ends_on)
    assert bool(warnings) is flagged
    assert project.over_one_year is flagged
    if flagged:
        assert len(warnings) == 1 and "超过一年" in warnings[0]
    assert workflow.check_project(reload(project)) == warnings
    workflow.advance_project(project, "submit", chain.users[Role.VILLAGE])  # a warning never blocks
    assert reload(project).state == "township_review"


@pytest.mark.parametrize("target", [0, -100, None])
def test_a_target_of_zero_or_less_is_refused(db, target):
    chain = Chain()
    before = Project.select().count()
    with pytest.raises(XfjyError, match="善款募集目标必须大于零"):
        create_project(chain.village, name="村道硬化", target=target, starts_on=dt.date(2024, 3, 1),
                       ends_on=dt.date(2024, 8, 31))
    assert Project.select().count() == before


def test_an_end_before_the_start_is_refused(db):
    chain = Chain()
    with pytest.raises(XfjyError, match="结束日期早于开始日期"):
        create_project(chain.village, name="村道硬化", target=800_000, starts_on=dt.date(2024, 3, 1),
                       ends_on=dt.date(2024, 2, 29))
    with pytest.raises(XfjyError, match="项目名称不能为空"):
        create_project(chain.village, name="   ", target=800_000, starts_on=dt.date(2024, 3, 1),
                       ends_on=dt.date(2024, 8, 31))


def test_submit_checks_the_form_again(db):
    chain = Chain()
    project = new_project(chain)
    Project.update(target=0).where(Project.id == project.id).execute()
    with pytest.raises(XfjyError, match="必须大于零"):
        workflow.advance_project(project, "submit", chain.users[Role.VILLAGE])
    Project.update(target=1_000, ends_on=dt.date(2024, 1, 1)).where(Project.id == project.id).execute()
    with pytest.raises(XfjyError, match="结束日期早于开始日期"):
        workflow.advance_project(project, "submit", chain.users[Role.VILLAGE])
    assert reload(project).state == "draft" and reviews(project) == 0


# -- admission -------------------------------------------------------------------------------------

ADMISSION_LABELS = {"draft": "未申请", "applied": "待街道/镇意见", "township_agreed": "待旗县市区审批",
                    "county_approved": "待盟市备案", "filed": "已备案", "established": "互助基金已设立"}
ADMISSION_EXPECTED = {
    ("draft", "apply"): ("applied", "submit", Level.VILLAGE),
    ("applied", "approve"): ("township_agreed", "approve", Level.TOWNSHIP),
    ("applied", "reject"): ("draft", "reject", Level.TOWNSHIP),
    ("township_agreed", "approve"): ("county_approved", "approve", Level.COUNTY),
    ("township_agreed", "reject"): ("draft", "reject", Level.COUNTY),
    ("county_approved", "approve"): ("filed", "approve", Level.PREFECTURE),
    ("county_approved", "reject"): ("draft", "reject", Level.PREFECTURE),
    ("filed", "establish_fund"): ("established", "record", Level.VILLAGE),
}
ADMISSION_ROAD = [("apply", Role.VILLAGE), ("approve", Role.TOWNSHIP), ("approve", Role.COUNTY),
                  ("approve", Role.PREFECTURE)]


def fresh_village(chain: Chain):
    village = chain.add_village(established=False)
    return village, user(Role.VILLAGE, village.area)


def village_in(chain: Chain, state: str, supervisors: int = 0):
    village, local = fresh_village(chain)
    actors = {**chain.users, Role.VILLAGE: local}
    for action, role in ADMISSION_ROAD:
        if Village.get_by_id(village.id).admission_state == state:
            break
        workflow.advance_village(village, action, actors[role], "同意")
    for i in range(supervisors):
        SupervisoryMember.create(village=village, name=f"委员{i}", title="委员")
    village = Village.get_by_id(village.id)
    assert village.admission_state == state
    return village, actors


def test_admission_table(db):
    assert ADMISSION.states == ADMISSION_LABELS
    assert {k: (t.target, t.decision, t.level) for k, t in ADMISSION.transitions.items()} == ADMISSION_EXPECTED


def test_admission_chain_from_application_to_fund(db):
    chain = Chain()
    village, local = fresh_village(chain)
    assert village.admission_state == "draft" and village.fund_established_on is None
    road = [
        ("apply", local, "applied", "submit"),
        ("approve", chain.users[Role.TOWNSHIP], "township_agreed", "approve"),
        ("approve", chain.users[Role.COUNTY], "county_approved", "approve"),
        ("approve", chain.users[Role.PREFECTURE], "filed", "approve"),
    ]
    when = dt.datetime(2023, 3, 1, 10, 0)
    for action, actor, target, decision in road:
        before = Village.get_by_id(village.id).admission_state
        step = workflow.advance_village(village, action, actor, " 同意 ", on=when)
        step = AdmissionStep.get_by_id(step.id)
        assert Village.get_by_id(village.id).admission_state == target
        assert (step.village_id, step.from_state, step.to_state, step.decision) == (village.id, before, target, decision)
        assert (step.user_id, step.person, step.unit, step.opinion, step.at) == (
            actor.id, actor.display_name, actor.unit, "同意", when)
        log = AuditLog.select().where((AuditLog.table == "village") & (AuditLog.object_id == str(village.id))
                                      & (AuditLog.action == "transition")).order_by(AuditLog.id.desc()).first()
        assert log.user_id == actor.id and village.full_name in log.summary
        assert json.loads(log.after)["admission_state"] == target
        assert Village.get_by_id(village.id).fund_established_on is None

    for name in ("李秀英", "张海军"):
        workflow.add_supervisor(village, name, "委员", local)
    with pytest.raises(TransitionError, match="监管会至少需要 3 名成员，目前 2 名"):
        workflow.advance_village(village, "establish_fund", local, on=dt.datetime(2023, 4, 1, 9, 0))
    village = Village.get_by_id(village.id)
    assert village.admission_state == "filed" and village.fund_established_on is None
    assert village.admission_steps.count() == 4

    workflow.add_supervisor(village, "乌云其木格", "主任", local)
    step = workflow.advance_village(village, "establish_fund", local, on=dt.datetime(2023, 4, 1, 9, 0))
    village = Village.get_by_id(village.id)
    assert village.admission_state == "established"
    assert village.fund_established_on == dt.date(2023, 4, 1)
    assert (step.from_state, step.to_state, step.decision) == ("filed", "established", "record")

    # Now, and only now, the village may submit a project.
    project = new_project(chain, village)
    workflow.advance_project(project, "submit", local)
    assert reload(project).state == "township_review"


@pytest.mark.parametrize("members", [0, 1, 2])
def test_establish_fund_needs_three_supervisors(db, members):
    chain = Chain()
    village, actors = village_in(chain, "filed", supervisors=members)
    with pytest.raises(TransitionError, match=f"至少需要 3 名成员，目前 {members} 名"):
        workflow.advance_village(village, "establish_fund", actors[Role.VILLAGE])
    village = Village.get_by_id(village.id)
    assert (village.admission_state, village.fund_established_on) == ("filed", None)
    assert village.admission_steps.where(AdmissionStep.action == "establish_fund").count() == 0


def test_establish_fund_without_a_date_uses_today(db):
    chain = Chain()
    village, actors = village_in(chain, "filed", supervisors=3)
    workflow.advance_village(village, "establish_fund", actors[Role.VILLAGE])
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    assert Village.get_by_id(village.id).fund_established_on in (today, today - dt.timedelta(days=1))


@pytest.mark.parametrize("key", sorted(ADMISSION_EXPECTED), ids=step_id)
def test_admission_steps_refuse_every_other_role(db, key):
    level = ADMISSION_EXPECTED[key][2]
    chain = Chain()
    village, actors = village_in(chain, key[0], supervisors=3)
    n_steps = village.admission_steps.count()
    for role in ALL_ROLES:
        if role == ROLE_OF[level]:
            continue
        with pytest.raises(TransitionError, match=f"只能由{WHO[level]}办理"):
            workflow.advance_village(village, key[1], actors[role], "意见")
    with pytest.raises(TransitionError, match=f"只能由{WHO[level]}办理"):
        workflow.advance_village(village, key[1], None, "意见")
    village = Village.get_by_id(village.id)
    assert village.admission_state == key[0] and village.admission_steps.count() == n_steps
    # And the right role does move it.
    workflow.advance_village(village, key[1], actors[ROLE_OF[level]], "意见")
    assert Village.get_by_id(village.id).admission_state == ADMISSION_EXPECTED[key][0]


@pytest.mark.parametrize("key", [k for k in sorted(ADMISSION_EXPECTED) if k[1] == "reject"], ids=step_id)
def test_admission_reject_needs_an_opinion_and_returns_to_not_applied(db, key):
    chain = Chain()
    village, actors = village_in(chain, key[0])
    actor = actors[ROLE_OF[ADMISSION_EXPECTED[key][2]]]
    with pytest.raises(TransitionError, match="退回时必须填写意见"):
        workflow.advance_village(village, "reject", actor, " ")
    assert Village.get_by_id(village.id).admission_state == key[0]
    step = workflow.advance_village(village, "reject", actor, "申请材料缺村民代表签字")
    assert Village.get_by_id(village.id).admission_state == "draft"
    assert step.opinion == "申请材料缺村民代表签字" and step.decision == "reject"
    workflow.advance_village(village, "apply", actors[Role.VILLAGE])
    assert Village.get_by_id(village.id).admission_state == "applied"


def test_admission_steps_not_in_the_table_are_refused(db):
    chain = Chain()
    village, actors = village_in(chain, "draft")
    for action in ("approve", "reject", "establish_fund"):
        with pytest.raises(TransitionError, match=f"村社入选当前为「未申请」，不能执行「{action}」"):
            workflow.advance_village(village, action, actors[Role.VILLAGE], "意见")
    for action in ("apply", "approve", "reject", "establish_fund"):
        with pytest.raises(TransitionError, match="当前为「互助基金已设立」"):
            workflow.advance_village(chain.village, action, chain.users[Role.COUNTY], "意见")
    assert Village.get_by_id(village.id).admission_state == "draft"


def test_admission_by_another_county_is_refused(db):
    chain = Chain("150121")
    village, _ = village_in(chain, "township_agreed")
    outsider = Chain("150122").users[Role.COUNTY]
    with pytest.raises(TransitionError, match="不在您的管辖范围内"):
        workflow.advance_village(village, "approve", outsider, "同意")
    assert Village.get_by_id(village.id).admission_state == "township_agreed"


def test_supervisors_are_added_only_within_the_area(db):
    chain = Chain()
    village, actors = village_in(chain, "filed")
    with pytest.raises(TransitionError, match="不在您的管辖范围内"):
        workflow.add_supervisor(village, "赵六", "委员", Chain("150122").users[Role.COUNTY])
    with pytest.raises(XfjyError, match="姓名不能为空"):
        workflow.add_supervisor(village, "  ", "委员", actors[Role.VILLAGE])
    member = workflow.add_supervisor(village, " 赵六 ", "委员", chain.users[Role.TOWNSHIP])
    assert member.name == "赵六" and village.supervisors.count() == 1
