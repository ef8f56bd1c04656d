"""Deterministic demo data: the 140 pilots of 附件1 first, then further villages over the real counties.

Everything is written in bulk (14,000 villages and a million donations in about a minute), but the
money goes through :func:`db.ledger.post_many`, which applies the same balance rules as a single
posting; the workflow history follows the transitions of :data:`db.workflow.PROJECT`.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import random
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from peewee import Case, chunked, fn
from werkzeug.security import generate_password_hash

from . import (
    attachments,
    audit,
    disbursement,
    donations,
    evaluations,
    funds,
    history,
    ledger,
    matching,
    milestones,
    names,
    sampling,
)
from .areas import counties_of, prefectures
from .bulk import insert_rows
from .clock import travel
from .database import database, is_postgres, refresh_statistics
from .errors import XfjyError
from .models import (
    MODELS,
    Account,
    AdmissionStep,
    Area,
    Batch,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    Level,
    MatchingRule,
    Project,
    ProjectReview,
    Quota,
    Role,
    ServiceRecord,
    SupervisoryMember,
    User,
    Village,
    Volunteer,
)
from .totals import advance_tally
from .users import default_unit
from .workflow import (
    ADMISSION,
    ARRIVED_STATES,
    EVALUABLE_STATES,
    FUNDRAISING_OVER,
    PROJECT,
    PUBLISHED_STATES,
    REACHED_STATES,
    RECEIVING_STATES,
    UNPUBLISHED_STATES,
)

AS_OF = dt.date(2026, 11, 1)
LEFTOVER_SHARE = 0.35       # closed projects that did not spend everything (the rest went to the fund)
LATE_GIFT_SHARE = 0.25      # projects past fundraising that still received a gift or two
LATE_STATES = tuple(s for s in REACHED_STATES if s not in RECEIVING_STATES)  # a gift now is late
FUND_SPENDING_SHARE = 0.3   # villages with money in the fund that spent some of it
FUND_ITEMS = ("困难群众临时救助", "村道积雪清理", "独居老人冬季取暖补助", "村卫生室药品补充", "学生助学补助")
DEMO_PASSWORD = "xfjy-demo-2026"
DONATIONS_PER_VILLAGE = 60
SPENDING_PER_VILLAGE = 150_000 / 14_000  # about 150,000 spending lines at the region's full size
RECEIPTS_PER_PROJECT = 3  # pilot projects get a receipt PDF for their first lines only
REGION_PERSON = "内蒙古自治区慈善总会"

STATE_MIX = {
    "pilot": {"closed": 45, "acceptance": 8, "implementing": 17, "disbursing": 4, "use_applied": 4,
              "target_reached": 4, "target_missed": 8},
    "rollout": {"closed": 20, "acceptance": 8, "implementing": 20, "disbursing": 5, "use_applied": 5,
                "target_reached": 7, "target_missed": 10, "fundraising": 25},
    "full": {"draft": 8, "township_review": 6, "county_review": 6, "prefecture_filing": 5, "region_approval": 5,
             "fundraising": 40, "target_reached": 8, "target_missed": 6, "use_applied": 4, "disbursing": 3,
             "implementing": 7, "acceptance": 1, "closed": 1},
}
PROJECT_IDEAS = (
    ("道路硬化工程", "硬化村内主干道约 {n} 米，解决雨雪天出行难。"),
    ("太阳能路灯安装", "在村内主要道路安装太阳能路灯 {n} 盏，方便村民夜间出行。"),
    ("困难老人助餐项目", "为本村 {n} 名 70 岁以上独居、困难老人提供每日午餐。"),
    ("饮水安全改造", "更换老化供水管网约 {n} 米，保障全村安全饮水。"),
    ("文化活动室修缮", "修缮村文化活动室 {n} 平方米，添置桌椅和取暖设备。"),
    ("留守儿童图书角", "为 {n} 名留守儿童建设图书角，配备图书和学习用品。"),
    ("养老互助幸福院", "改造闲置房屋建设互助幸福院，可容纳 {n} 名老人日间照料。"),
    ("防汛应急物资储备", "储备防汛沙袋、水泵、救生衣等应急物资，覆盖 {n} 户。"),
    ("困难学生助学金", "资助本村 {n} 名家庭困难的在读学生。"),
    ("村卫生室设备更新", "为村卫生室购置血压计、血糖仪、理疗设备，服务 {n} 名村民。"),
)
ITEMS = ("材料采购", "施工费", "设备购置", "运输费", "人工费", "餐费补贴", "图书采购", "安装调试")
REVIEW_OPINIONS = {
    Level.TOWNSHIP: ("情况属实，同意上报。", "经初审，项目符合申报条件，同意上报旗县慈善总会。"),
    Level.COUNTY: ("经审核，项目符合要求，同意。", "预算合理，同意报盟市慈善总会备案。"),
    Level.PREFECTURE: ("予以备案。", "已备案，请按规定组织实施。"),
    Level.REGION: ("同意发布募捐。", "审批通过，同意在平台发布。"),
}
REJECT_OPINION = "项目预算明细不完整，请补充村民代表大会决议后重新提交。"


@dataclass
class Plan:
    """One village to generate, with its project's plan."""

    county: Area
    batch: str
    township: tuple | None = None
    area_id: int | None = None
    village_id: int | None = None
    state: str | None = None
    admission: str = "established"
    dates: dict = field(default_factory=dict)


def generate(villages: int, donations: int | None = None, *, seed: int = 1, attachments_root=None,
             progress: Callable[[int], None] | None = None) -> dict:
    if Area.select().where(Area.level == Level.COUNTY).count() == 0:
        raise XfjyError("请先运行 xfjy load-regions 载入区划")
    if Village.select().exists():
        raise XfjyError("数据库中已有村社，演示数据只能生成在空库中")
    rng = random.Random(seed)
    report = progress or (lambda pct: None)
    donations = DONATIONS_PER_VILLAGE * villages if donations is None else donations
    with database.atomic():
        plans = _plan_villages(rng, villages)
        _create_areas(rng, plans)
        report(10)
        _create_villages(rng, plans)
        report(20)
        projects = _create_projects(rng, plans)
        report(30)
        raised = _create_donations(rng, projects, donations, report)
        report(75)
        _set_targets(rng, projects, raised)
        _post_money(rng, projects, raised, attachments_root, round(SPENDING_PER_VILLAGE * villages))
        late = _late_gifts(rng, projects)
        report(90)
        _create_records(rng, plans, projects)
        spent_from_funds = _fund_spending(rng, plans, attachments_root)
        users = _create_users(plans)
        _fix_sequences()
        sampled = _programme(users, attachments_root)
        stats = {"村社": len(plans), "项目": len(projects), "捐赠": sum(len(p["donations"]) for p in projects),
                 "其中逾期到账": late, "互助基金支出": spent_from_funds, "演示账号": len(users),
                 "抽查验收项目": sampled}
        audit.record(None, "demo", table="village", summary="生成演示数据：" + "，".join(f"{k}{v}" for k, v in stats.items()))
    advance_tally()
    history.seal()
    refresh_statistics(MODELS)
    report(100)
    return stats


# -- villages -------------------------------------------------------------------------------------

def _plan_villages(rng: random.Random, count: int) -> list[Plan]:
    """The 附件1 pilots first (spread round-robin over each unit's counties), then the rest."""
    pilot_queues = []
    for unit in prefectures():
        quota = Quota.get_or_none(Quota.area == unit)
        counties = list(counties_of(unit))
        rng.shuffle(counties)
        pilot_queues.append([counties[i % len(counties)] for i in range(quota.count if quota else 0)])
    pilots = []
    while any(pilot_queues):
        for queue in pilot_queues:
            if queue:
                pilots.append(Plan(queue.pop(0), "pilot"))
    plans = pilots[:count]
    all_counties = list(Area.select().where(Area.county == Area.id).order_by(Area.code))
    rest = count - len(plans)
    for i in range(rest):
        county = all_counties[i % len(all_counties)] if i < len(all_counties) else rng.choice(all_counties)
        plans.append(Plan(county, "rollout" if i < rest * 0.3 else "full"))
    return plans


def _create_areas(rng: random.Random, plans: list[Plan]) -> None:
    by_county = defaultdict(list)
    for plan in plans:
        by_county[plan.county.id].append(plan)
    township_rows, village_rows = [], []
    for county_plans in by_county.values():
        county = county_plans[0].county
        urban = county.name.endswith("区")
        mongol = 0.5 if county.name.endswith("旗") else 0.1
        n_towns = max(1, math.ceil(len(county_plans) / 12))
        town_names = names.place_names(rng, n_towns, mongol)
        towns = []
        for i, name in enumerate(town_names):
            suffix = "街道" if urban or (i == 0 and rng.random() < 0.3) else (
                "苏木" if rng.random() < mongol * 0.6 else rng.choice(("镇", "镇", "乡")))
            code = f"{county.code}{(i + 1 if suffix == '街道' else 100 + i):03d}"
            towns.append((code, name + suffix, suffix))
            township_rows.append(dict(code=code, name=name + suffix, level=Level.TOWNSHIP, parent=county.id,
                                      path=f"{county.path}{code}/", prefecture=county.prefecture_id,
                                      county=county.id, official=False))
        per_town = defaultdict(list)
        for i, plan in enumerate(county_plans):
            per_town[i % n_towns].append(plan)
        for t, town_plans in per_town.items():
            code, town_name, town_kind = towns[t]
            for j, (plan, name) in enumerate(zip(town_plans, names.place_names(rng, len(town_plans), mongol))):
                kind = "社区" if town_kind == "街道" else ("嘎查" if town_kind == "苏木" or rng.random() < mongol * 0.4 else "村")
                village_code = f"{code}{(j + 1 if kind == '社区' else 200 + j):03d}"
                plan.township = (code, town_name)
                plan.dates["kind"] = kind
                plan.dates["name"] = name + ("社区" if kind == "社区" else kind)
                village_rows.append(dict(code=village_code, name=plan.dates["name"], level=Level.VILLAGE,
                                         parent=code, path=f"{county.path}{code}/{village_code}/",
                                         prefecture=county.prefecture_id, county=county.id, official=False))
                plan.dates["code"] = village_code
    _insert(Area, township_rows)
    town_ids = _ids_by_code([r["code"] for r in township_rows])
    for row in village_rows:
        row["parent"] = town_ids[row["parent"]]
    _insert(Area, village_rows)
    village_ids = _ids_by_code([r["code"] for r in village_rows])
    for plan in plans:
        plan.area_id = village_ids[plan.dates["code"]]


def _insert(model, rows: list[dict]) -> None:
    """Insert dict rows, filling what they leave out with the model's defaults."""
    if not rows:
        return
    given = list(dict.fromkeys(k for row in rows for k in row))
    defaults = {name: f.default for name, f in model._meta.fields.items()
                if name not in given and f.default is not None}
    columns = given + list(defaults)
    fixed = [d() if callable(d) else d for d in defaults.values()]
    insert_rows(model, columns, ([row.get(c) for c in given] + fixed for row in rows))


def _ids_by_code(codes):
    ids = {}
    for chunk in chunked(codes, 500):
        ids.update(Area.select(Area.code, Area.id).where(Area.code.in_(chunk)).tuples())
    return ids


def _pick(rng: random.Random, mix: dict[str, int]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _create_villages(rng: random.Random, plans: list[Plan]) -> None:
    batches = {b.code: b for b in Batch.select()}
    rows = []
    for plan in plans:
        share = 0.92 if plan.batch == "pilot" else 0.78
        if rng.random() < share:
            plan.state = _pick(rng, STATE_MIX[plan.batch])
        else:
            plan.admission = rng.choice(("draft", "applied", "township_agreed", "county_approved", "filed"))
        _plan_dates(rng, plan, batches[plan.batch])
        county, town_name = plan.county, plan.township[1]
        rows.append(dict(
            area=plan.area_id, full_name=f"{county.name}{town_name}{plan.dates['name']}", kind=plan.dates["kind"],
            address=f"内蒙古自治区{county.prefecture.name if county.prefecture_id != county.id else ''}{county.name}"
                    f"{town_name}{plan.dates['name']}",
            leader_name=names.person(rng), leader_phone=names.phone(rng), batch=batches[plan.batch].id,
            admission_state=plan.admission, fund_established_on=plan.dates.get("established"),
            created_at=dt.datetime.combine(plan.dates["applied"], dt.time(9, 0)),
        ))
    _ensure_states_covered(rng, plans)
    _insert(Village, rows)
    ids = dict(Village.select(Village.area, Village.id).where(
        Village.area.in_([p.area_id for p in plans])).tuples()) if len(plans) <= 30000 else None
    if ids is None:
        ids = dict(Village.select(Village.area, Village.id).tuples())
    steps, members = [], []
    for plan in plans:
        plan.village_id = ids[plan.area_id]
        steps += _admission_steps(rng, plan)
        if plan.admission in ("filed", "established"):
            for k in range(rng.randint(3, 5)):
                members.append(dict(village=plan.village_id, name=names.person(rng),
                                    title="主任" if k == 0 else ("副主任" if k == 1 else "委员"),
                                    phone=names.phone(rng), joined_on=plan.dates["filed"]))
    _insert(AdmissionStep, steps)
    _insert(SupervisoryMember, members)


def _ensure_states_covered(rng: random.Random, plans: list[Plan]) -> None:
    """Every project state appears at least once when there are enough villages."""
    with_projects = [p for p in plans if p.state]
    missing = [s for s in PROJECT.states if s not in {p.state for p in with_projects}]
    if len(with_projects) < len(PROJECT.states) * 2:
        return
    counts = defaultdict(int)
    for p in with_projects:
        counts[p.state] += 1
    for state in missing:
        donor = max((p for p in with_projects if counts[p.state] > 1), key=lambda p: counts[p.state])
        counts[donor.state] -= 1
        donor.state = state
        counts[state] += 1
        _plan_project_dates(rng, donor)


def _plan_dates(rng: random.Random, plan: Plan, batch: Batch) -> None:
    """Admission dates inside the batch; a project's dates follow from its state (see below)."""
    span = (min(batch.ends_on, AS_OF) - batch.starts_on).days
    applied = batch.starts_on + dt.timedelta(days=rng.randrange(max(span // 2, 1)))
    plan.dates["applied"] = applied
    day = applied
    for key in ("township", "county", "filed"):
        day += dt.timedelta(days=rng.randint(3, 12))
        plan.dates[key] = day
    if plan.admission == "established":
        plan.dates["established"] = day + dt.timedelta(days=rng.randint(5, 20))
        _plan_project_dates(rng, plan)


def _plan_project_dates(rng: random.Random, plan: Plan) -> None:
    established = plan.dates["established"]
    state = plan.state
    if state in UNPUBLISHED_STATES:
        reported = max(established + dt.timedelta(days=10), AS_OF - dt.timedelta(days=rng.randint(5, 40)))
        starts = AS_OF + dt.timedelta(days=rng.randint(20, 60))
    elif state == "fundraising":
        starts = AS_OF - dt.timedelta(days=rng.randint(10, 100))
        reported = starts - dt.timedelta(days=rng.randint(25, 45))
    else:
        reported = established + dt.timedelta(days=rng.randint(10, 40))
        starts = reported + dt.timedelta(days=rng.randint(25, 45))
    duration = rng.randint(380, 420) if rng.random() < 0.02 else rng.randint(90, 240)
    ends = starts + dt.timedelta(days=duration)
    if state == "fundraising" and ends <= AS_OF:
        ends = AS_OF + dt.timedelta(days=rng.randint(15, 90))
    if state in FUNDRAISING_OVER and ends >= AS_OF - dt.timedelta(days=40):
        shift = ends - (AS_OF - dt.timedelta(days=rng.randint(40, 120)))
        reported, starts, ends = reported - shift, starts - shift, ends - shift
    if reported < established:
        plan.dates["established"] = reported - dt.timedelta(days=rng.randint(5, 20))
    plan.dates.update(reported=reported, starts=starts, ends=ends)


def _admission_steps(rng: random.Random, plan: Plan) -> list[dict]:
    order = ["draft", "applied", "township_agreed", "county_approved", "filed", "established"]
    reached = order.index(plan.admission)
    county, town_name = plan.county, plan.township[1]
    units = {"applied": f"{plan.dates['name']}委员会", "township_agreed": f"{town_name}人民政府",
             "county_approved": f"{county.name}慈善总会",
             "filed": f"{county.prefecture.name}慈善总会", "established": f"{plan.dates['name']}委员会"}
    keys = {"applied": "applied", "township_agreed": "township", "county_approved": "county", "filed": "filed",
            "established": "established"}
    opinions = {"applied": "本村社申请参加“幸福家园”村社互助工程。", "township_agreed": "情况属实，同意上报。",
                "county_approved": "经审批，同意列为试点村社。" if plan.batch == "pilot" else "经审批，同意入选。",
                "filed": "予以备案。", "established": "监管会已成立，经村民代表大会表决设立互助基金。"}
    steps = []
    for source, target in zip(order[:reached], order[1:reached + 1]):
        transition = next(t for (s, _), t in ADMISSION.transitions.items() if s == source and t.target == target)
        day = plan.dates[keys[target]]
        steps.append(dict(village=plan.village_id, action=transition.action, from_state=source, to_state=target,
                          decision=transition.decision, person=names.person(rng), unit=units[target],
                          opinion=opinions[target], at=dt.datetime.combine(day, dt.time(rng.randint(8, 17), 0))))
    return steps


# -- projects -------------------------------------------------------------------------------------

def _project_path(state: str, missed: bool) -> list:
    """The transitions from draft to ``state`` along the main road of :data:`PROJECT`."""
    road = ["submit", "approve", "approve", "approve", "approve"]
    if missed:
        road += ["expire", "close"]
    else:
        road += ["reach_target", "apply_use", "start_disbursing", "funds_arrived", "request_acceptance", "approve"]
    path, current = [], "draft"
    for action in road:
        if current == state:
            break
        transition = PROJECT.transitions[(current, action)]
        path.append(transition)
        current = transition.target
    if current != state:
        raise XfjyError(f"演示数据：无法到达状态 {state}")
    return path


def _create_projects(rng: random.Random, plans: list[Plan]) -> list[dict]:
    projects, rows = [], []
    for plan in plans:
        if not plan.state:
            continue
        missed = plan.state == "target_missed" or (plan.state == "closed" and rng.random() < 0.3)
        idea, summary = rng.choice(PROJECT_IDEAS)
        name = plan.dates["name"] + idea
        code = f"XF{plan.dates['code']}-01"
        d = plan.dates
        rows.append(dict(
            code=code, village=plan.village_id, name=name, reporting_unit=f"{d['name']}委员会",
            reported_on=d["reported"], address=f"{plan.county.name}{plan.township[1]}{d['name']}",
            leader_name=names.person(rng), leader_phone=names.phone(rng), target=1, starts_on=d["starts"],
            ends_on=d["ends"], background=_background(rng, plan), summary=summary.format(n=rng.randint(12, 900)),
            democratic_decision=f"{d['reported'] - dt.timedelta(days=rng.randint(3, 15)):%Y年%m月%d日}召开村民代表大会，"
                                f"应到 {(n := rng.randint(25, 60))} 人，实到 {n - rng.randint(0, 4)} 人，表决通过。",
            urgent=rng.random() < 0.3, state=plan.state,
            created_at=dt.datetime.combine(d["reported"], dt.time(10, 0)),
            updated_at=dt.datetime.combine(min(d["ends"], AS_OF), dt.time(16, 0)),
        ))
        projects.append(dict(plan=plan, code=code, state=plan.state, missed=missed, donations=[]))
    _insert(Project, rows)
    ids = {}
    codes = [p["code"] for p in projects]
    for chunk in chunked(codes, 500):
        ids.update(Project.select(Project.code, Project.id).where(Project.code.in_(chunk)).tuples())
    reviews = []
    for project in projects:
        project["id"] = ids[project["code"]]
        reviews += _review_rows(rng, project)
    _insert(ProjectReview, reviews)
    return projects


def _background(rng: random.Random, plan: Plan) -> str:
    households = rng.randint(80, 900)
    return (f"{plan.dates['name']}位于{plan.county.name}{plan.township[1]}，共 {households} 户 "
            f"{households * rng.randint(2, 3)} 人，常住人口以老人和儿童为主，"
            f"{rng.choice(('以种植玉米、向日葵为主', '以牧业为主', '半农半牧', '以设施农业和务工为主'))}。")


def _review_rows(rng: random.Random, project: dict) -> list[dict]:
    plan = project["plan"]
    d = plan.dates
    path = _project_path(project["state"], project["missed"])
    units = {Level.VILLAGE: f"{d['name']}委员会", Level.TOWNSHIP: f"{plan.township[1]}人民政府",
             Level.COUNTY: f"{plan.county.name}慈善总会", Level.PREFECTURE: f"{plan.county.prefecture.name}慈善总会",
             Level.REGION: REGION_PERSON, None: "系统"}
    rows, day = [], d["reported"]
    project["steps"] = {}
    review_days = max((d["starts"] - d["reported"]).days - 2, 5)
    for i, transition in enumerate(path):
        if transition.action in ("submit", "approve") and i < 5:
            planned = d["reported"] + dt.timedelta(days=review_days * i // 5 + rng.randint(0, 2))
        elif transition.action in ("reach_target", "expire"):
            planned = d["reached"] if "reached" in d else d["ends"] + dt.timedelta(days=1)
        elif transition.action == "request_acceptance":  # the money is spent first: months, not days
            planned = day + dt.timedelta(days=rng.randint(60, 200))
        else:
            planned = day + dt.timedelta(days=rng.randint(3, 20))
        day = min(max(day, planned), AS_OF)
        if transition.action == "approve" and i < 5 and rng.random() < 0.08 and day < AS_OF:
            day += dt.timedelta(days=1)
            redo = [PROJECT.transitions[(transition.source, "reject")], PROJECT.transitions[("draft", "submit")],
                    *path[1:i]]
            for hour, step in enumerate(redo, start=8):
                opinion = REJECT_OPINION if step.decision == "reject" else (
                    "已补充材料，重新提交。" if step.action == "submit" else rng.choice(REVIEW_OPINIONS[step.level]))
                rows.append(_review(project, step, units, rng, day, opinion, hour, len(rows)))
        opinion = rng.choice(REVIEW_OPINIONS[transition.level]) if transition.level in REVIEW_OPINIONS else (
            "申请使用善款实施项目。" if transition.action == "apply_use" else "")
        rows.append(_review(project, transition, units, rng, day, opinion, 16, len(rows)))
        project["steps"][transition.action] = day
    return rows


def _review(project, transition, units, rng, day, opinion, hour, minute):
    """One review row; ``hour`` and ``minute`` keep the steps of one day in order."""
    return dict(project=project["id"], action=transition.action, from_state=transition.source,
                to_state=transition.target, decision=transition.decision,
                person=REGION_PERSON if transition.level == Level.REGION else (
                    "系统" if transition.level is None else names.person(rng)),
                unit=units[transition.level], opinion=opinion,
                at=dt.datetime.combine(day, dt.time(hour)) + dt.timedelta(minutes=minute))


# -- donations and money --------------------------------------------------------------------------

AMOUNTS = (100, 500, 1000, 2000, 5000, 6600, 8800, 10000, 16800, 20000, 30000, 50000, 66600, 100000, 200000)
AMOUNT_WEIGHTS = (3, 4, 10, 12, 16, 4, 4, 16, 5, 9, 3, 6, 2, 4, 2)


def _create_donations(rng: random.Random, projects: list[dict], total: int, report) -> dict[int, int]:
    raising = [p for p in projects if p["state"] in PUBLISHED_STATES]
    raised = defaultdict(int)
    if not raising:
        return raised
    weights = [rng.uniform(0.3, 1.7) * (1.0 if p["state"] == "fundraising" else 1.5) for p in raising]
    scale = total / sum(weights)
    next_id = (Donation.select(Donation.id).order_by(Donation.id.desc()).scalar() or 0) + 1
    batch, entries = [], []
    written = 0
    for project, weight in zip(raising, weights):
        d = project["plan"].dates
        count = max(3 if project["state"] in REACHED_STATES else 1, round(weight * scale))
        first = dt.datetime.combine(d["starts"], dt.time(8, 0))
        last_day = min(d["ends"], AS_OF)
        if project["state"] in REACHED_STATES:
            last_day = d["starts"] + dt.timedelta(days=max((last_day - d["starts"]).days * rng.randint(40, 95) // 100, 1))
            d["reached"] = last_day
        seconds = max(int((dt.datetime.combine(last_day, dt.time(22, 0)) - first).total_seconds()), 60)
        amounts = rng.choices(AMOUNTS, weights=AMOUNT_WEIGHTS, k=count)
        if rng.random() < 0.2:
            amounts[-1] = rng.randint(10, 50) * 100000
        stamps = sorted(first + dt.timedelta(seconds=rng.randrange(seconds)) for _ in range(count))
        for amount, when in zip(amounts, stamps):
            corporate = amount >= 1_000_000
            consent = "full" if corporate else rng.choices(("full", "masked", "none"), (5, 2, 3))[0]
            channel = "corporate" if corporate else rng.choices(("online", "offline", "matching"), (92, 5, 3))[0]
            donor = names.company(rng, project["plan"].county.name[:2]) if corporate else names.person(rng)
            txn = f"GYB{when:%Y%m%d}{next_id:09d}"
            batch.append((next_id, project["id"], txn, donor, consent, amount, channel, when,
                          rng.choice(names.BLESSINGS) if rng.random() < 0.4 else ""))
            entries.append((next_id, project["id"], amount, txn, when))
            project["donations"].append(next_id)
            raised[project["id"]] += amount
            next_id += 1
        if len(batch) >= 50_000:
            written += _flush_donations(batch, entries)
            report(30 + int(45 * written / max(total, 1)))
    _flush_donations(batch, entries)
    return raised


def _flush_donations(batch: list, entries: list) -> int:
    insert_rows(Donation, ("id", "project", "txn_no", "donor_name", "name_consent", "amount", "channel",
                           "donated_at", "message"), batch)
    donations.receive_donations_bulk(entries)
    n = len(batch)
    batch.clear()
    entries.clear()
    return n


def _set_targets(rng: random.Random, projects: list[dict], raised: dict[int, int]) -> None:
    """Targets follow from what was raised, so each project's state is true to its money."""
    updates = []
    for project in projects:
        s = raised.get(project["id"], 0)
        if project["missed"]:
            target = math.ceil(s / rng.uniform(0.3, 0.85) / 100000 + 1) * 100000
        elif project["state"] in REACHED_STATES:
            target = max(s * rng.randint(80, 98) // 100 // 10000 * 10000, 10000)
            target = min(target, s)
        elif project["state"] == "fundraising":
            target = math.ceil(s / rng.uniform(0.15, 0.9) / 100000 + 1) * 100000
        else:
            target = rng.randint(20, 200) * 100000
        project["target"] = target
        updates.append((project["id"], target))
    for chunk in chunked(updates, 500):
        Project.update(target=Case(Project.id, chunk)).where(Project.id.in_([i for i, _ in chunk])).execute()


def _post_money(rng: random.Random, projects: list[dict], raised: dict[int, int], attachments_root,
                spending_lines: int) -> None:
    """Matching, disbursement down the chain, the deadline settlement, spending: one entry list, in order."""
    region = Area.get(Area.code == "150000")
    nation = ledger.nation()
    rule = MatchingRule.create(area=region, kind="matching", name="自治区慈善总会配捐", ratio_bp=1000, cap=500000)
    rewards = {}
    levels = disbursement.disbursement_levels()
    keys = []
    plans = [p for p in projects if p["state"] in PUBLISHED_STATES]
    area_cache = {a.id: a for a in Area.select().where(Area.level <= Level.COUNTY)}
    rows, expenditures = [], []
    fund_ids, chains = {}, {}
    for project in plans:
        plan = project["plan"]
        county = area_cache[plan.county.id]
        nodes = disbursement.passing_through([region, area_cache[county.prefecture_id], county], levels)
        chain = [("special", nation.id)] + [("pass_through", n.id) for n in nodes] + [("project", plan.area_id)]
        chains[project["id"]] = chain
        keys += [(kind, area_id, project["id"], "") for kind, area_id in chain]
        keys.append(("fund", plan.area_id, None, ""))
        fund_ids[project["id"]] = ("fund", plan.area_id, None, "")
        pref = area_cache[county.prefecture_id]
        if pref.id not in rewards:
            rewards[pref.id] = MatchingRule.create(area=pref, kind="reward", name=f"{pref.name}慈善总会以奖代补",
                                                   ratio_bp=500, cap=200000)
    keys += [("pool", region.id, None, ""), ("sponsor", None, None, "北疆光彩爱心企业联盟（演示）")]
    keys += [("pool", pref_id, None, "") for pref_id in rewards]
    ids = ledger.ensure_accounts(keys)
    plan_matching, plan_rewards = [], []
    for project in plans:
        s = raised.get(project["id"], 0)
        if project["state"] in REACHED_STATES and rng.random() < 0.6:
            plan_matching.append((project, matching.matching_amount(rule, s)))
        if project["state"] in EVALUABLE_STATES and not project["missed"] and rng.random() < 0.3:
            pref_rule = rewards[area_cache[project["plan"].county.id].prefecture_id]
            plan_rewards.append((project, pref_rule, matching.matching_amount(pref_rule, s)))
    sponsor = ids[("sponsor", None, None, "北疆光彩爱心企业联盟（演示）")]
    region_pool = ids[("pool", region.id, None, "")]
    funding_day = dt.date(2023, 3, 1)
    need = sum(a for _, a in plan_matching if a > 0)
    if need:
        rows.append(_row("pool_funding", sponsor, region_pool, need + 10_000_000, None, funding_day, "企业注入配捐资金池"))
    per_pref = defaultdict(int)
    for _, r, a in plan_rewards:
        per_pref[r.area_id] += a
    for pref_id, amount in per_pref.items():
        if amount:
            rows.append(_row("pool_funding", sponsor, ids[("pool", pref_id, None, "")], amount + 2_000_000, None,
                             funding_day, "企业注入以奖代补资金池"))
    matched = {p["id"]: a for p, a in plan_matching if a > 0}
    rewarded = {p["id"]: (r, a) for p, r, a in plan_rewards if a > 0}
    for project in plans:
        pid, plan, state = project["id"], project["plan"], project["state"]
        d = plan.dates
        s, target = raised.get(pid, 0), project["target"]
        chain = [ids[(kind, area_id, pid, "")] for kind, area_id in chains[pid]]
        fund = ids[fund_ids[pid]]
        day = d.get("reached", d["ends"])
        if pid in matched:
            rows.append(_row("matching", region_pool, chain[-1], matched[pid], pid, day, "自治区慈善总会配捐 10%",
                             rule=rule.id))
        if project["missed"]:
            if state == "closed" or rng.random() < 0.8:
                rows.append(_row("to_fund", chain[0], fund, s, pid, d["ends"] + dt.timedelta(days=3),
                                 "期满未达成目标，善款转入村社互助基金"))
                if pid in matched:
                    rows.append(_row("to_fund", chain[-1], fund, matched[pid], pid, d["ends"] + dt.timedelta(days=3),
                                     "未达成目标项目的配捐转入村社互助基金"))
            continue
        if state == "fundraising":
            continue
        hops = {"target_reached": 0, "use_applied": 0, "disbursing": rng.randint(1, len(chain) - 2)}.get(
            state, len(chain) - 1)
        hop_day = project["steps"].get("apply_use", day)
        for k in range(hops):
            hop_day = hop_day + dt.timedelta(days=rng.randint(2, 10))
            rows.append(_row("disbursement", chain[k], chain[k + 1], target, pid, min(hop_day, AS_OF), "逐级拨付"))
        if s > target and d["ends"] < AS_OF:
            rows.append(_row("to_fund", chain[0], fund, s - target, pid, d["ends"] + dt.timedelta(days=3),
                             "超出募集目标部分转入村社互助基金"))
        if pid in rewarded:
            reward_rule, amount = rewarded[pid]
            rows.append(_row("reward", ids[("pool", reward_rule.area_id, None, "")], fund, amount, pid,
                             min(hop_day + dt.timedelta(days=30), AS_OF), reward_rule.name, rule=reward_rule.id))
        if state in ARRIVED_STATES:
            available = target + matched.get(pid, 0)
            share = rng.uniform(0.2, 0.7) if state == "implementing" else (1.0 if state == "closed" else rng.uniform(0.9, 1.0))
            if state == "closed" and rng.random() < LEFTOVER_SHARE:  # closed with money unspent: settled at closing
                share = rng.uniform(0.85, 0.97)
                rows.append(_row("to_fund", chain[-1], fund, available - int(available * share), pid,
                                 closed_on(project), "结项：村社项目账户结余转入村社互助基金"))
            expenditures.append((project, chain[-1], int(available * share), hop_day))
    ledger.post_many(rows)
    _create_expenditures(rng, expenditures, attachments_root, spending_lines)


def closed_on(project: dict) -> dt.date:
    """The day a closed project was closed (its last approval, or 结项 after a missed target)."""
    return project["steps"].get("close") or project["steps"]["approve"]


def _late_gifts(rng: random.Random, projects: list[dict]) -> int:
    """Gifts the platform collected after fundraising closed: booked late to a project still running,
    or on to the village's 互助基金 after its project closed (db.donations.gift_timing)."""
    rows, entries, to_fund = [], [], {}
    next_id = (Donation.select(Donation.id).order_by(Donation.id.desc()).scalar() or 0) + 1
    for project in projects:
        state, d = project["state"], project["plan"].dates
        if state not in LATE_STATES or project["missed"] or rng.random() >= LATE_GIFT_SHARE:
            continue
        after = closed_on(project) if state == "closed" else max(d.get("reached", d["ends"]), d["ends"])
        if after >= AS_OF - dt.timedelta(days=2):
            continue
        for _ in range(rng.randint(1, 2)):
            when = dt.datetime.combine(after + dt.timedelta(days=rng.randint(1, max(1, min(60, (AS_OF - after).days - 1)))),
                                       dt.time(rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59)))
            amount = rng.choice(AMOUNTS)
            txn = f"GYB{when:%Y%m%d}{next_id:09d}"
            rows.append((next_id, project["id"], txn, names.person(rng), "none", amount, "online", when, "",
                         "to_fund" if state == "closed" else "late"))
            entries.append((next_id, project["id"], amount, txn, when))
            if state == "closed":
                to_fund[project["id"]] = project["plan"].area_id
            project["donations"].append(next_id)
            next_id += 1
    insert_rows(Donation, ("id", "project", "txn_no", "donor_name", "name_consent", "amount", "channel",
                           "donated_at", "message", "timing"), rows)
    donations.receive_donations_bulk(entries, to_fund=to_fund)
    return len(rows)


def _fund_spending(rng: random.Random, plans: list[Plan], attachments_root) -> int:
    """Some villages spend from their 互助基金, approved by a majority of their 监管会 (db.funds)."""
    areas = {p.area_id: p for p in plans if p.admission == "established"}
    last_in = dict(Entry.select(Account.area, fn.MAX(Entry.booked_on)).join(Account, on=(Entry.to_account == Account.id))
                   .where((Account.kind == "fund") & Account.area.in_(list(areas))).group_by(Account.area).tuples())
    members = defaultdict(list)
    for village, name in SupervisoryMember.select(SupervisoryMember.village, SupervisoryMember.name).order_by(
            SupervisoryMember.id).tuples():
        members[village].append(name)
    count = 0
    for area_id in sorted(last_in):
        plan, since = areas[area_id], _as_date(last_in[area_id])
        if rng.random() >= FUND_SPENDING_SHARE or since >= AS_OF - dt.timedelta(days=10):
            continue
        village = Village.get_by_id(plan.village_id)
        balance = funds.balance(village)
        names_ = members[plan.village_id]
        majority = list(dict.fromkeys(names_))[:len(names_) // 2 + 1]  # two members may share a name
        if balance < 10_000 or not names_ or len(majority) <= len(names_) // 2:
            continue
        day = since + dt.timedelta(days=rng.randint(5, max(5, min(200, (AS_OF - since).days - 1))))
        amount = balance * rng.randint(10, 60) // 100
        line = funds.spend(village, spent_on=day, item=rng.choice(FUND_ITEMS), payee=names.person(rng), amount=amount,
                           approved_by="、".join(majority), approved_on=day - dt.timedelta(days=3),
                           voucher_no=f"JJ{day:%Y}-{rng.randrange(10000):04d}")
        if attachments_root is not None and plan.batch == "pilot":
            attachments.store(attachments_root, _receipt_pdf(dict(voucher_no=line.voucher_no, spent_on=day,
                                                                   amount=amount, id=line.id)),
                              f"收据-{line.voucher_no}.pdf", fund_spending=line)
        count += 1
    return count


def _as_date(value) -> dt.date:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _row(kind, source, target, amount, project, day, memo, rule=None):
    return dict(kind=kind, from_account=source, to_account=target, amount=int(amount), project=project,
                rule=rule, memo=memo, booked_on=day, posted_at=dt.datetime.combine(day, dt.time(15, 0)))


def _create_expenditures(rng: random.Random, plans: list, attachments_root, wanted: int) -> None:
    """About ``wanted`` spending lines over the projects that spend; implementing ones have fewer so far."""
    rows, meta = [], []
    implementing = sum(1 for plan in plans if plan[0]["state"] == "implementing")
    mean = max(4, round(wanted / max(1, len(plans) - implementing / 2)))
    for project, account_id, amount, arrived in plans:
        amount = int(amount)
        if amount <= 0:
            continue
        lines = rng.randint(1, mean) if project["state"] == "implementing" else rng.randint(mean // 2, mean * 3 // 2)
        cuts = sorted(rng.sample(range(1, amount), min(lines - 1, amount - 1))) if amount > lines else []
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, amount]) if b - a > 0]
        town = project["plan"].township[1][:2]
        day = arrived
        until = max(min(project["steps"].get("request_acceptance", AS_OF), AS_OF), arrived)  # none once 验收 is asked
        step = max(1, (until - arrived).days // max(1, len(parts)))
        for k, part in enumerate(parts):
            day = min(day + dt.timedelta(days=rng.randint(1, step)), until)
            item = rng.choice(ITEMS)
            rows.append(dict(project=project["id"], spent_on=day, item=f"{item}（第 {k + 1} 批）",
                             payee=names.company(rng, town), amount=part, voucher_no=f"PZ{day:%Y}-{rng.randrange(10000):04d}",
                             approved_by=names.person(rng), created_at=dt.datetime.combine(day, dt.time(11, 0))))
            meta.append((project, account_id, k))
    next_id = (Expenditure.select(Expenditure.id).order_by(Expenditure.id.desc()).scalar() or 0) + 1
    for i, row in enumerate(rows):
        row["id"] = next_id + i
    _insert(Expenditure, rows)
    payees = ledger.ensure_accounts([("payee", None, None, r["payee"]) for r in rows])
    ledger.post_many([
        dict(kind="expenditure", from_account=account_id, to_account=payees[("payee", None, None, r["payee"])],
             amount=r["amount"], project=r["project"], expenditure=r["id"], booked_on=r["spent_on"],
             memo=f"{r['item']}（凭证 {r['voucher_no']}）", posted_at=r["created_at"])
        for r, (project, account_id, _) in zip(rows, meta)
    ])
    if attachments_root is not None:
        for r, (project, _, k) in zip(rows, meta):
            if project["plan"].batch == "pilot" and k < RECEIPTS_PER_PROJECT:
                attachments.store(attachments_root, _receipt_pdf(r), f"收据-{r['voucher_no']}.pdf",
                                  expenditure=Expenditure(id=r["id"]))


def _receipt_pdf(row: dict) -> bytes:
    """A one-page PDF receipt (ASCII text: the demo carries no CJK font)."""
    text = (f"RECEIPT  Voucher {row['voucher_no']}  Date {row['spent_on']:%Y-%m-%d}  "
            f"Amount CNY {row['amount'] // 100}.{row['amount'] % 100:02d}  Expenditure #{row['id']}")
    stream = f"BT /F1 11 Tf 40 780 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# -- disclosures, evaluations, volunteers, users ----------------------------------------------------

def _create_records(rng: random.Random, plans: list[Plan], projects: list[dict]) -> None:
    disclosures, corrections, evaluations = [], [], []
    for project in projects:
        state, d = project["state"], project["plan"].dates
        if state not in PUBLISHED_STATES:
            continue
        start = d["starts"]
        quarter = 1
        while start + dt.timedelta(days=90 * quarter) <= min(d["ends"], AS_OF):
            end = start + dt.timedelta(days=90 * quarter)
            disclosures.append(dict(project=project["id"], title=f"募捐进展公示（第 {quarter} 期）",
                                    period_start=end - dt.timedelta(days=90), period_end=end,
                                    body=f"截至 {end:%Y年%m月%d日}，本项目募捐工作按计划推进，明细见本页捐赠与资金流向。",
                                    published_on=end + dt.timedelta(days=rng.randint(1, 10)),
                                    created_at=dt.datetime.combine(end, dt.time(9, 0))))
            quarter += 1
        if state in ("closed", "target_missed") or (state == "acceptance" and rng.random() < 0.5):
            day = min(d["ends"] + dt.timedelta(days=rng.randint(20, 80)), AS_OF)
            leftover = "期满未达成目标，已筹善款全部转入本村社互助基金，按基金规范运作。" if project["missed"] else (
                "项目善款已全部按预算使用完毕；超出目标部分已转入本村社互助基金。")
            disclosures.append(dict(project=project["id"], title="项目结项公示", period_start=d["starts"], period_end=day,
                                    body=f"本项目于 {day:%Y年%m月%d日}完成。{leftover}", published_on=day,
                                    created_at=dt.datetime.combine(day, dt.time(9, 0))))
        if state == "closed" and not project["missed"]:
            result = rng.choices(list(Evaluation.RESULTS), (30, 45, 20, 5))[0]
            evaluations.append(dict(project=project["id"], evaluated_on=min(d["ends"] + dt.timedelta(days=60), AS_OF),
                                    unit=f"{project['plan'].county.prefecture.name}慈善总会验收组",
                                    evaluator=names.person(rng), result=result,
                                    score={"excellent": 95, "good": 85, "pass": 70, "fail": 50}[result] + rng.randint(0, 4),
                                    notes="资料齐全，公示及时。" if result != "fail" else "支出凭证不全，限期整改。"))
    next_id = (Disclosure.select(Disclosure.id).order_by(Disclosure.id.desc()).scalar() or 0) + 1
    for i, row in enumerate(disclosures):
        row["id"] = next_id + i
        if rng.random() < 0.04:
            corrections.append(dict(project=row["project"], title=row["title"], period_start=row["period_start"],
                                    period_end=row["period_end"], body=row["body"] + "（已更正）",
                                    published_on=min(row["published_on"] + dt.timedelta(days=5), AS_OF),
                                    corrects=row["id"], correction_note="原公示中的统计截止日期有误，现予更正。",
                                    created_at=row["created_at"] + dt.timedelta(days=5)))
    for i, row in enumerate(corrections):
        row["id"] = next_id + len(disclosures) + i
    _insert(Disclosure, disclosures)
    _insert(Disclosure, corrections)
    _insert(Evaluation, evaluations)
    volunteers = []
    for plan in plans:
        if plan.admission != "established":
            continue
        for _ in range(rng.randint(2, 8)):
            volunteers.append(dict(village=plan.village_id, name=names.person(rng), phone=names.phone(rng),
                                   skills=rng.choice(("助老", "助学", "环境整治", "应急救援", "文艺宣传", "医疗服务")),
                                   joined_on=plan.dates["established"] + dt.timedelta(days=rng.randint(0, 60))))
    next_id = (Volunteer.select(Volunteer.id).order_by(Volunteer.id.desc()).scalar() or 0) + 1
    services = []
    for i, row in enumerate(volunteers):
        row["id"] = next_id + i
        for _ in range(rng.randint(0, 4)):
            served = min(row["joined_on"] + dt.timedelta(days=rng.randint(1, 400)), AS_OF)
            services.append(dict(volunteer=row["id"], served_on=served, minutes=rng.choice((60, 90, 120, 180, 240)),
                                 activity=rng.choice(("看望独居老人", "清扫村道", "辅导作业", "防汛巡查", "义诊服务"))))
    _insert(Volunteer, volunteers)
    _insert(ServiceRecord, services)


def _create_users(plans: list[Plan]) -> list[User]:
    """One demo account per role, all around 土默特左旗 (or wherever the first village is)."""
    village_plan = next((p for p in plans if p.county.code == "150121" and p.admission == "established"),
                        next((p for p in plans if p.admission == "established"), plans[0]))
    village_area = Area.get_by_id(village_plan.area_id)
    county = village_area.county
    accounts = [
        ("demo-region", Role.REGION, Area.get(Area.code == "150000")),
        ("demo-prefecture", Role.PREFECTURE, county.prefecture),
        ("demo-county", Role.COUNTY, county),
        ("demo-township", Role.TOWNSHIP, village_area.parent),
        ("demo-village", Role.VILLAGE, village_area),
        ("demo-auditor", Role.AUDITOR, county),
        ("demo-supervisor", Role.SUPERVISOR, village_area),
        ("demo-admin", Role.ADMIN, Area.get(Area.code == "150000")),
    ]
    password_hash = generate_password_hash(DEMO_PASSWORD)
    users = []
    for username, role, area in accounts:
        users.append(User.create(username=username, password_hash=password_hash, role=role, area=area,
                                 display_name=f"演示{Role.NAMES[role]}", unit=default_unit(role, area)))
    return users


# -- the programme's own steps and one 抽查验收 ---------------------------------------------------------

def _programme(users: list[User], attachments_root) -> int:
    """实施步骤 in each state, through the real rules: 呼和浩特市 (or the demo 盟市) with its plan and its
    training done and public, 包头市 late with its plan (returned once), 呼伦贝尔市 still drafting it, 赤峰市
    waiting for the region; 全面实施's last step moved by the region to 2027 (so some steps have not started). Then one
    finished 抽查验收 of the region's projects in 验收. Returns the number of projects sampled."""
    by_role = {u.role: u for u in users}
    region, own = by_role[Role.REGION], by_role[Role.PREFECTURE]
    pilot, full = Batch.get(Batch.code == "pilot"), Batch.get(Batch.code == "full")

    def staff(code: str) -> User:
        if own.area.code == code:
            return own
        area = Area.get(Area.code == code)
        return User.create(username=f"staff-{code}", password_hash="!", role=Role.PREFECTURE, area=area,
                           display_name=f"{area.name}经办人", unit=default_unit(Role.PREFECTURE, area))

    def at(day: dt.date, hour: int = 10):
        return travel(dt.datetime.combine(day, dt.time(hour)))

    def plan(unit: User, done: dt.date, name: str) -> None:
        with at(done):
            step = milestones.record(pilot, unit.area, 1, done_on=done, public=True, actor=unit,
                                     summary="经调研论证，落实试点村社，形成试点推进实施方案，报自治区慈善总会。")
            milestones.add_document(attachments_root, step, _document_pdf(name), f"{name}.pdf", actor=unit)
            milestones.advance(step, "submit", unit)

    if attachments_root is not None:  # a plan and a training are reported with their documents and photos
        first = own.area
        plan(own, dt.date(2023, 4, 25), f"{first.name}幸福家园试点推进实施方案")
        with at(dt.date(2023, 4, 28)):
            milestones.advance(milestones.get(pilot, first, 1), "approve", region, "同意")
        with at(dt.date(2023, 5, 26)):
            training = milestones.record(pilot, first, 2, done_on=dt.date(2023, 5, 26), public=True, actor=own,
                                         summary="集中培训与旗县区域培训相结合，覆盖全部试点村社“两委”成员。")
            for day, place, people in ((dt.date(2023, 5, 16), f"{first.name}慈善总会会议室", 46),
                                       (dt.date(2023, 5, 24), "土默特左旗察素齐镇", 38)):
                milestones.add_training(attachments_root, training, held_on=day, place=place, trainers="自治区慈善总会讲师团",
                                        participants=people, notes="讲解启动试点和设立基金的规则、操作流程。",
                                        photos=[("培训现场.png", _photo(people))],
                                        actor=own)
            milestones.advance(training, "submit", own)
        with at(dt.date(2023, 5, 30)):
            milestones.advance(training, "approve", region, "同意，培训记录齐全")
        late_code, drafting_code, waiting_code = [c for c in ("150200", "150700", "150400", "150500") if c != first.code][:3]
        baotou = staff(late_code)
        plan(baotou, dt.date(2023, 5, 12), f"{baotou.area.name}幸福家园试点推进实施方案")
        with at(dt.date(2023, 5, 15)):
            step = milestones.get(pilot, baotou.area, 1)
            milestones.advance(step, "reject", region, "请补充各旗县区试点村社名单和完成时间节点")
        with at(dt.date(2023, 5, 18)):
            milestones.advance(step, "submit", baotou)
        with at(dt.date(2023, 5, 19)):
            milestones.advance(step, "approve", region, "同意")
        hulunbuir = staff(drafting_code)
        with at(dt.date(2023, 4, 20)):
            milestones.record(pilot, hulunbuir.area, 1, done_on=None, actor=hulunbuir, summary="正在各旗市调研，方案起草中。")
        waiting = staff(waiting_code)
        plan(waiting, dt.date(2023, 4, 27), f"{waiting.area.name}幸福家园试点推进实施方案")
    with at(dt.date(2025, 1, 10)):
        milestones.set_due(full, 4, dt.date(2027, 1, 15), region)
    return _sample(region)


def _sample(region: User) -> int:
    """One region-wide draw of a tenth of the projects in 验收 (at least one per 旗县市区), every item ticked
    off: an evaluation for each, and a reason for one project the working group could not visit."""
    if not sampling.population(region.area):
        return 0
    with travel(dt.datetime.combine(AS_OF, dt.time(9))):
        drawn = sampling.draw(region.area, share_bp=1000, seed="xfjy-demo-2026", note="2026 年度抽查验收（演示）",
                              actor=region)
        items = list(sampling.checklist(drawn))
        for n, item in enumerate(items):
            project = item.project
            if n == 1:
                sampling.resolve(item, reason="村社正在整改支出凭证，工作组定于下季度复查", actor=region)
                continue
            evaluation = project.evaluations.order_by(Evaluation.id).first() or evaluations.record_evaluation(
                project, result="good" if n % 3 else "excellent", evaluated_on=AS_OF, evaluator="自治区工作组",
                score=88 if n % 3 else 95, notes="抽查验收：资料齐全，公示及时。", actor=region)
            sampling.resolve(item, evaluation=evaluation, actor=region)
    return len(items)


def _document_pdf(title: str) -> bytes:
    """A stand-in for an uploaded plan: a one-page PDF (ASCII only, as the receipts)."""
    return _receipt_pdf(dict(voucher_no=f"PLAN-{zlib.crc32(title.encode()) % 10_000:04d}",
                             spent_on=dt.date(2023, 4, 25), amount=0, id=0))


def _photo(seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40 + seed, 120, 90)).save(out, format="PNG")
    return out.getvalue()


def _fix_sequences() -> None:
    """Rows inserted with explicit ids leave PostgreSQL's sequences behind; move them on."""
    if not is_postgres():
        return
    for model in (Donation, Expenditure, Disclosure, Volunteer):
        table = model._meta.table_name
        database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))")
