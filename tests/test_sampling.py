"""抽查验收 (db.sampling): a stratified, reproducible draw of projects in 验收, its checklist and coverage."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pytest

from db import sampling, settlement, workflow
from db.errors import JurisdictionError, XfjyError
from db.evaluations import record_evaluation
from db.models import AuditLog, Level, Project, Role, SampleItem
from db.sampling import Member

from .factories import Chain, advance_to, donate, new_project, project_in, reload, user


def accepted(chain: Chain, target: int = 1_000_000) -> Project:
    """A project in 验收 in a new village of ``chain`` (one open project per village)."""
    village = chain.add_village()
    project = advance_to(new_project(chain, village, target=target), "implementing", chain)
    workflow.advance_project(project, "request_acceptance", chain.actor(Level.VILLAGE, village))
    return reload(project)


@dataclass
class Pool:
    tumote: Chain      # 土默特左旗 (呼和浩特市): four projects in 验收
    togtoh: Chain      # 托克托县 (呼和浩特市): two in 验收 and one still 实施中
    manzhouli: Chain   # 满洲里市: a 盟市-level unit, its own 旗县市区, one project 结项
    implementing: Project

    @property
    def region(self):
        return self.tumote.region

    @property
    def hohhot(self):
        return self.tumote.prefecture


@pytest.fixture
def pool(db) -> Pool:
    tumote, togtoh, manzhouli = Chain("150121"), Chain("150122"), Chain("150781")
    for target in (500_000, 1_000_000, 2_000_000, 4_000_000):
        accepted(tumote, target)
    accepted(togtoh)
    accepted(togtoh)
    village = togtoh.add_village()
    implementing = advance_to(new_project(togtoh, village), "implementing", togtoh)
    closed = accepted(manzhouli)
    workflow.advance_project(closed, "approve", manzhouli.users[Role.COUNTY], "验收通过", settle=settlement.settle_remaining)
    project_in(manzhouli, "closed")  # 结项 after a missed target: never in 验收, not in the population
    return Pool(tumote, togtoh, manzhouli, implementing)


def drawn(sample) -> list[int]:
    return [item.project_id for item in sampling.checklist(sample)]


def members(strata: dict[str, int], raised=lambda n: 0) -> list[Member]:
    """A population without a database: ``strata`` maps a county code to its number of projects."""
    return [Member(project_id=int(county) * 1000 + n, code=f"XF{county}-{n:03d}", county_id=int(county),
                   county_code=county, raised=raised(n))
            for county, size in strata.items() for n in range(size)]


# -- the population --------------------------------------------------------------------------------------

def test_the_population_is_the_projects_in_acceptance_or_closed_with_their_county(pool):
    population = sampling.population(pool.region)
    assert len(population) == 7
    assert pool.implementing.id not in {m.project_id for m in population}
    assert Counter(m.county_code for m in population) == {"150121": 4, "150122": 2, "150781": 1}
    assert sorted(m.raised for m in population if m.county_code == "150121") == [500_000, 1_000_000, 2_000_000,
                                                                                4_000_000]
    hohhot = sampling.population(pool.hohhot)
    assert {m.county_code for m in hohhot} == {"150121", "150122"}
    assert {m.county_code for m in sampling.population(pool.manzhouli.prefecture)} == {"150781"}


def test_the_hash_changes_when_a_project_enters_the_population(pool):
    before = sampling.draw(pool.region, share_bp=5000, seed="7")
    workflow.advance_project(pool.implementing, "request_acceptance",
                             pool.togtoh.actor(Level.VILLAGE, pool.implementing.village))
    after = sampling.draw(pool.region, share_bp=5000, seed="7")
    assert (before.population_size, after.population_size) == (7, 8)
    assert before.population_hash != after.population_hash
    assert sampling.replay(before) is None  # the recorded population is no longer today's
    assert sampling.replay(after) == drawn(after)


def test_the_weighted_hash_changes_when_raised_changes(pool):
    population = sampling.population(pool.region)
    weighted, plain = sampling.population_hash(population, True), sampling.population_hash(population, False)
    assert weighted != plain
    donate(Project.get_by_id(population[0].project_id), 100)
    population = sampling.population(pool.region)
    assert sampling.population_hash(population, True) != weighted
    assert sampling.population_hash(population, False) == plain  # raised does not weigh an unweighted draw
    assert sampling.population_hash(list(reversed(population)), True) == sampling.population_hash(population, True)


# -- the draw --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
def test_the_same_seed_over_the_same_population_draws_the_same_list(pool, weighted):
    first = sampling.draw(pool.region, share_bp=5000, weighted=weighted, seed="20240901")
    second = sampling.draw(pool.region, share_bp=5000, weighted=weighted, seed=20240901)
    assert drawn(first) == drawn(second)
    assert first.population_hash == second.population_hash and first.seed == second.seed == "20240901"
    assert sampling.replay(first) == drawn(first)
    assert [item.position for item in sampling.checklist(first)] == list(range(1, len(drawn(first)) + 1))


def test_a_seed_is_chosen_and_recorded_when_none_is_given(pool):
    sample = sampling.draw(pool.region, count=3)
    assert sample.seed.isdigit()
    assert sampling.replay(sample) == drawn(sample)


def test_different_seeds_draw_different_lists():
    population = members({"150121": 80, "150122": 60, "150781": 20})
    lists = {tuple(m.project_id for m in sampling.choose(population, seed=str(seed), share_bp=1000))
             for seed in range(20)}
    assert len(lists) == 20


def test_every_stratum_with_projects_gets_one_with_a_small_share(pool):
    sample = sampling.draw(pool.region, share_bp=1, seed="1")
    items = list(sampling.checklist(sample))
    assert sorted(item.stratum.code for item in items) == ["150121", "150122", "150781"]
    assert all(item.stratum_id == item.project.village.area.county_id for item in items)


@pytest.mark.parametrize("share_bp, expected", [(1, {"a": 1, "b": 1, "c": 1}), (2500, {"a": 25, "b": 3, "c": 1}),
                                                (10_000, {"a": 100, "b": 10, "c": 1})])
def test_a_share_rounds_each_stratum_and_never_below_one(share_bp, expected):
    assert sampling.allocate({"a": 100, "b": 10, "c": 1}, share_bp=share_bp) == expected


@pytest.mark.parametrize("count", [3, 4, 7, 10, 50, 111, 500])
def test_a_count_is_split_in_proportion_and_sums_to_it(count):
    sizes = {"150121": 100, "150122": 10, "150781": 1}
    allocation = sampling.allocate(sizes, count=count, seed="s")
    assert sum(allocation.values()) == min(count, 111)
    assert all(1 <= allocation[k] <= sizes[k] for k in sizes)
    assert allocation["150121"] >= allocation["150122"] >= allocation["150781"]


def test_a_count_below_the_strata_takes_the_largest_strata():
    allocation = sampling.allocate({"a": 5, "b": 50, "c": 20, "d": 1}, count=2, seed="s")
    assert allocation == {"a": 0, "b": 1, "c": 1, "d": 0}


def test_a_count_draws_that_many(pool):
    sample = sampling.draw(pool.region, count=4, seed="x")
    assert len(drawn(sample)) == 4 and sample.count == 4 and sample.share_bp is None
    assert {item.stratum.code for item in sampling.checklist(sample)} == {"150121", "150122", "150781"}
    assert len(drawn(sampling.draw(pool.region, count=100, seed="x"))) == 7  # at most the population


def test_a_weighted_draw_prefers_big_raisers():
    population = members({"150121": 10}, raised=lambda n: 1_000 if n == 0 else 100_000 if n == 9 else 10_000)
    hits = Counter(m.project_id for seed in range(300)
                   for m in sampling.choose(population, seed=f"w{seed}", count=3, weighted=True))
    smallest, biggest = population[0].project_id, population[9].project_id
    assert hits[biggest] > 250 and hits[smallest] < 30
    plain = Counter(m.project_id for seed in range(300) for m in sampling.choose(population, seed=f"w{seed}", count=3))
    assert abs(plain[biggest] - plain[smallest]) < 60  # unweighted: about 90 each


def test_the_draw_is_in_the_audit_log(pool):
    sample = sampling.draw(pool.region, share_bp=3000, seed="audit", actor=pool.tumote.users[Role.REGION])
    row = AuditLog.get((AuditLog.table == "sample_draw") & (AuditLog.object_id == str(sample.id)))
    assert row.action == "create" and row.username == pool.tumote.users[Role.REGION].username
    assert "种子 audit" in row.summary and sample.population_hash in row.after
    codes = [Project.get_by_id(p).code for p in drawn(sample)]
    assert all(code in row.after for code in codes)


@pytest.mark.parametrize("size, message", [
    (dict(), "二者选一"), (dict(share_bp=100, count=1), "二者选一"), (dict(share_bp=0), "比例"),
    (dict(share_bp=10_001), "比例"), (dict(count=0), "数量"),
])
def test_a_draw_takes_a_share_or_a_count(pool, size, message):
    with pytest.raises(XfjyError, match=message):
        sampling.draw(pool.region, **size)


def test_an_empty_population_is_refused(db):
    chain = Chain("152501")  # 二连浩特市: no project in 验收
    with pytest.raises(XfjyError, match="没有处于验收"):
        sampling.draw(chain.prefecture, share_bp=1000)


# -- who may draw ----------------------------------------------------------------------------------------

def test_the_region_draws_for_the_region_or_any_prefecture(pool):
    region = pool.tumote.users[Role.REGION]
    assert len(drawn(sampling.draw(pool.region, share_bp=5000, actor=region))) >= 3
    assert {i.stratum.code for i in sampling.checklist(sampling.draw(pool.manzhouli.prefecture, count=1,
                                                                       actor=region))} == {"150781"}


def test_a_prefecture_draws_for_its_own_area_only(pool):
    hohhot = pool.tumote.users[Role.PREFECTURE]
    sample = sampling.draw(pool.hohhot, share_bp=5000, actor=hohhot)
    assert {i.stratum.code for i in sampling.checklist(sample)} == {"150121", "150122"}
    with pytest.raises(JurisdictionError):
        sampling.draw(pool.manzhouli.prefecture, share_bp=5000, actor=hohhot)
    with pytest.raises(JurisdictionError):
        sampling.draw(pool.region, share_bp=5000, actor=hohhot)


@pytest.mark.parametrize("role", [Role.COUNTY, Role.TOWNSHIP, Role.VILLAGE, Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN])
def test_other_roles_cannot_draw(pool, role):
    actor = pool.tumote.users[role]
    with pytest.raises(JurisdictionError):
        sampling.draw(pool.hohhot, share_bp=5000, actor=actor)
    assert not SampleItem.select().exists()


def test_a_prefecture_auditor_cannot_draw(pool):
    with pytest.raises(JurisdictionError):
        sampling.draw(pool.hohhot, share_bp=5000, actor=user(Role.AUDITOR, pool.hohhot))


def test_a_draw_is_for_the_region_or_a_prefecture(pool):
    with pytest.raises(XfjyError, match="自治区或盟市"):
        sampling.draw(pool.tumote.county, share_bp=5000)


# -- the checklist ---------------------------------------------------------------------------------------

def evaluate(item, chain: Chain, result: str = "good"):
    return record_evaluation(item.project, result=result, evaluated_on=dt.date(2024, 10, 1),
                             actor=chain.users[Role.COUNTY])


@pytest.fixture
def checklist(pool):
    sample = sampling.draw(pool.hohhot, share_bp=10_000, seed="all", actor=pool.tumote.users[Role.PREFECTURE])
    return sample, list(sampling.checklist(sample))


def chain_of(pool: Pool, item) -> Chain:
    return pool.tumote if item.stratum.code == "150121" else pool.togtoh


def test_an_item_takes_an_evaluation_or_a_reason(pool, checklist):
    sample, items = checklist
    first, second = items[0], items[1]
    evaluation = evaluate(first, chain_of(pool, first))
    done = sampling.resolve(first, evaluation=evaluation, actor=chain_of(pool, first).users[Role.COUNTY])
    assert done.evaluation_id == evaluation.id and done.resolved_at is not None and done.skipped_reason == ""
    skipped = sampling.resolve(second, reason="村社遭受洪灾，道路中断", actor=pool.tumote.users[Role.PREFECTURE])
    assert skipped.skipped_reason == "村社遭受洪灾，道路中断" and skipped.evaluation_id is None
    row = AuditLog.select().where((AuditLog.table == "sample_item") & (AuditLog.object_id == str(second.id))).get()
    assert row.action == "update" and "洪灾" in row.summary


def test_not_both_not_neither(pool, checklist):
    _, items = checklist
    evaluation = evaluate(items[0], chain_of(pool, items[0]))
    with pytest.raises(XfjyError, match="二者选一"):
        sampling.resolve(items[0], evaluation=evaluation, reason="也写了原因")
    with pytest.raises(XfjyError, match="二者选一"):
        sampling.resolve(items[0], reason="   ")


def test_not_twice(pool, checklist):
    _, items = checklist
    sampling.resolve(items[0], reason="无法联系")
    with pytest.raises(XfjyError, match="无需重复提交"):
        sampling.resolve(items[0], reason="再次提交")
    evaluation = evaluate(items[0], chain_of(pool, items[0]))
    with pytest.raises(XfjyError, match="无需重复提交"):
        sampling.resolve(SampleItem.get_by_id(items[0].id), evaluation=evaluation)
    assert SampleItem.get_by_id(items[0].id).skipped_reason == "无法联系"


def test_the_evaluation_must_be_of_the_items_project(pool, checklist):
    _, items = checklist
    other = evaluate(items[1], chain_of(pool, items[1]))
    with pytest.raises(XfjyError, match="不属于"):
        sampling.resolve(items[0], evaluation=other)


def test_who_may_tick_an_item_off(pool, checklist):
    _, items = checklist
    item = next(i for i in items if i.stratum.code == "150121")
    evaluation = evaluate(item, pool.tumote)
    with pytest.raises(JurisdictionError):  # a reason why not is for the federation that drew
        sampling.resolve(item, reason="不便前往", actor=pool.tumote.users[Role.COUNTY])
    with pytest.raises(JurisdictionError):  # another county's federation
        sampling.resolve(item, evaluation=evaluation, actor=pool.togtoh.users[Role.COUNTY])
    with pytest.raises(JurisdictionError):
        sampling.resolve(item, evaluation=evaluation, actor=pool.tumote.users[Role.AUDITOR])
    sampling.resolve(item, evaluation=evaluation, actor=pool.tumote.users[Role.COUNTY])


def test_coverage(pool, checklist):
    sample, items = checklist
    assert sampling.coverage(sample) == sampling.Coverage(sampled=6, evaluated=0, skipped=0, open=6,
                                                          by_grade={"excellent": 0, "good": 0, "pass": 0, "fail": 0})
    for item, result in zip(items[:3], ("excellent", "good", "good"), strict=True):
        sampling.resolve(item, evaluation=evaluate(item, chain_of(pool, item), result))
    sampling.resolve(items[3], reason="项目已并入乡镇统一验收")
    assert sampling.coverage(sample) == sampling.Coverage(sampled=6, evaluated=3, skipped=1, open=2,
                                                          by_grade={"excellent": 1, "good": 2, "pass": 0, "fail": 0})
