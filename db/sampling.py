"""抽查验收: the region (or a 盟市, for its own area) draws projects in 验收 for acceptance checks.

The draw is stratified by 旗县市区 and reproducible: the seed and a SHA-256 digest of the population are
recorded, and the same seed over the same population gives the same list (``choose`` is a pure function
of them). Each sampled project then waits on a checklist until it has a 验收评估 or a reason why not."""
from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from peewee import JOIN

from . import audit
from .clock import now
from .database import is_postgres, write_transaction
from .errors import JurisdictionError, XfjyError
from .jurisdiction import covers, require_write
from .models import Area, Evaluation, Level, Project, ProjectReview, Role, SampleDraw, SampleItem, Village
from .totals import totals_by_project
from .workflow import EVALUABLE_STATES

FULL_SHARE_BP = 10_000
MAX_SEED = 64
MAX_REASON = 500


@dataclass(frozen=True)
class Member:
    """One project of the population: what the draw reads of it, and all it reads."""

    project_id: int
    code: str
    county_id: int
    county_code: str
    raised: int  # fen, net of refunds (db.totals)


@dataclass(frozen=True)
class Coverage:
    sampled: int
    evaluated: int
    skipped: int
    open: int
    by_grade: dict[str, int]  # every Evaluation.RESULTS key, in its order


def population(area: Area) -> list[Member]:
    """The projects in 验收, or 结项 after it, within ``area``, by code, with their 旗县市区 (满洲里市 and 二连浩特市 are
    their own, through ``Area.county``) and what they raised."""
    County = Area.alias()
    query = (Project.select(Project.id, Project.code, County.id, County.code)
             .join(Village).join(Area).join(County, on=(Area.county == County.id))
             .where(Project.state.in_(EVALUABLE_STATES) & Area.path.startswith(area.path)
                    & Project.id.in_(ProjectReview.select(ProjectReview.project)  # 结项 after a missed target: no 验收
                                     .where(ProjectReview.to_state == "acceptance")))
             .order_by(Project.code))
    rows = list(query.tuples())
    raised = totals_by_project([project_id for project_id, *_ in rows]) if rows else {}
    return [Member(project_id, code, county_id, county_code, raised[project_id].raised if project_id in raised else 0)
            for project_id, code, county_id, county_code in rows]


def population_hash(members: list[Member], weighted: bool) -> str:
    """SHA-256 of the sorted population: each project and its stratum, and what it raised when that weighs."""
    lines = sorted(f"{m.project_id}\t{m.code}\t{m.county_code}" + (f"\t{m.raised}" if weighted else "")
                   for m in members)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def allocate(sizes: dict[str, int], *, share_bp: int | None = None, count: int | None = None,
             seed: str = "") -> dict[str, int]:
    """How many to draw from each stratum (by county code). A share gives every non-empty stratum at least
    one; a count is split in proportion by largest remainder, at least one each while it covers the strata
    (fewer: the largest strata, ties in a seeded order)."""
    if share_bp is not None:
        return {k: min(n, max(1, (share_bp * n + FULL_SHARE_BP // 2) // FULL_SHARE_BP)) for k, n in sizes.items()}
    total = sum(sizes.values())
    count = min(count, total)
    quota = {k: Fraction(count * n, total) for k, n in sizes.items()}
    floor = 1 if count >= len(sizes) else 0
    taken = {k: min(sizes[k], max(floor, math.floor(q))) for k, q in quota.items()}
    tie = random.Random(f"{seed}:allocate")
    rank = {k: tie.random() for k in sorted(sizes)}
    while sum(taken.values()) < count:
        k = max((k for k in sizes if taken[k] < sizes[k]), key=lambda k: (quota[k] - taken[k], rank[k]))
        taken[k] += 1
    while sum(taken.values()) > count:  # the floor of one gave some small strata more than their share
        k = min((k for k in sizes if taken[k] > floor), key=lambda k: (quota[k] - taken[k], rank[k]))
        taken[k] -= 1
    return taken


def choose(members: list[Member], *, seed: str, share_bp: int | None = None, count: int | None = None,
           weighted: bool = False) -> list[Member]:
    """The sample, stratum by stratum (county code order), each in its drawn order: a pure function of the
    population, the seed and the size, so anyone can draw it again."""
    if not members:
        return []
    strata: dict[str, list[Member]] = defaultdict(list)
    for m in sorted(members, key=lambda m: m.code):
        strata[m.county_code].append(m)
    sizes = allocate({k: len(v) for k, v in strata.items()}, share_bp=share_bp, count=count, seed=seed)
    chosen = []
    for county_code in sorted(strata):
        group, n = strata[county_code], sizes[county_code]
        rng = random.Random(f"{seed}:{county_code}")
        if weighted:  # Efraimidis–Spirakis without replacement, keys log(u) / w kept exact in floating point
            keys = [(math.log(1.0 - rng.random()) / (max(m.raised, 0) + 1), m) for m in group]
            chosen += [m for _, m in sorted(keys, key=lambda key: key[0], reverse=True)[:n]]
        else:
            chosen += rng.sample(group, n)
    return chosen


def may_draw(actor, area: Area) -> bool:
    """The region's federation for the region or any 盟市, a 盟市's for its own; the system (None) too."""
    if area.level not in (Level.REGION, Level.PREFECTURE):
        return False
    if actor is None:
        return True
    if actor.role == Role.REGION:
        return covers(actor, area)
    return actor.role == Role.PREFECTURE and actor.area_id == area.id


def draw(area: Area, *, share_bp: int | None = None, count: int | None = None, weighted: bool = False,
         seed: str | int | None = None, note: str = "", actor=None) -> SampleDraw:
    """Draw a sample of ``area``'s projects in 验收 and record it, its checklist and its audit row at once."""
    require_write(actor)
    if area.level not in (Level.REGION, Level.PREFECTURE):
        raise XfjyError("抽查验收由自治区或盟市慈善总会组织")
    if not may_draw(actor, area):
        raise JurisdictionError(f"您不能为{area.name}组织抽查验收：自治区可抽查全区或任一盟市，盟市只能抽查本盟市")
    _check_size(share_bp, count)
    seed = str(secrets.randbits(64) if seed is None else seed).strip()
    if not seed or len(seed) > MAX_SEED:
        raise XfjyError(f"随机种子不能为空，且不超过 {MAX_SEED} 个字符")
    with write_transaction():
        members = population(area)
        if not members:
            raise XfjyError(f"{area.name}没有处于验收或结项阶段的项目，无法抽查")
        chosen = choose(members, seed=seed, share_bp=share_bp, count=count, weighted=weighted)
        sample = SampleDraw.create(area=area, drawn_by=actor.id if actor is not None else None, seed=seed,
                                   share_bp=share_bp, count=count, weighted=bool(weighted), note=note.strip(),
                                   population_hash=population_hash(members, weighted), population_size=len(members))
        SampleItem.insert_many([dict(draw=sample.id, project=m.project_id, stratum=m.county_id, position=i)
                                for i, m in enumerate(chosen, 1)]).execute()
        size = f"比例 {share_bp / 100:g}%" if share_bp is not None else f"数量 {count}"
        audit.record(actor, "create", sample, after={**audit.snapshot(sample), "projects": [m.code for m in chosen]},
                     summary=f"{area.name}抽查验收：从 {len(members)} 个项目中抽取 {len(chosen)} 个"
                             f"（{size}{'，按筹款额加权' if weighted else ''}，种子 {seed}）")
    return sample


def _check_size(share_bp, count) -> None:
    if (share_bp is None) == (count is None):
        raise XfjyError("请填写抽查比例或抽查数量，二者选一")
    if share_bp is not None and not (isinstance(share_bp, int) and 1 <= share_bp <= FULL_SHARE_BP):
        raise XfjyError("抽查比例应在 0.01% 到 100% 之间")
    if count is not None and not (isinstance(count, int) and count >= 1):
        raise XfjyError("抽查数量至少为 1")


def replay(sample: SampleDraw) -> list[int] | None:
    """The project ids the recorded seed and size draw from today's population, in position order; None
    when the population is no longer the one recorded (its hash differs), as a check of the record."""
    members = population(sample.area)
    if population_hash(members, sample.weighted) != sample.population_hash:
        return None
    chosen = choose(members, seed=sample.seed, share_bp=sample.share_bp, count=sample.count, weighted=sample.weighted)
    return [m.project_id for m in chosen]


def checklist(sample: SampleDraw):
    """The draw's items in position order, with what a checklist shows and ``may_resolve`` reads of each (one query)."""
    Scope, Stratum = Area.alias(), Area.alias()
    return (SampleItem.select(SampleItem, SampleDraw, Scope, Project, Village, Area, Stratum, Evaluation)
            .join(SampleDraw).join(Scope, on=(SampleDraw.area == Scope.id))
            .switch(SampleItem).join(Project).join(Village).join(Area)
            .switch(SampleItem).join(Stratum, on=(SampleItem.stratum == Stratum.id))
            .switch(SampleItem).join(Evaluation, JOIN.LEFT_OUTER, on=(SampleItem.evaluation == Evaluation.id))
            .where(SampleItem.draw == sample).order_by(SampleItem.position))


def may_resolve(actor, item: SampleItem, *, evaluated: bool) -> bool:
    """Whether ``actor`` may tick an open item off: with a 验收评估, a federation (旗县市区 and above) over the
    project; with a reason why not, the federation that drew (``may_draw``)."""
    if item.resolved_at is not None:
        return False
    if not evaluated:
        return may_draw(actor, item.draw.area)
    return actor is None or (actor.role in (Role.COUNTY, Role.PREFECTURE, Role.REGION)
                             and covers(actor, item.project.village.area))


def resolve(item: SampleItem, *, evaluation: Evaluation | None = None, reason: str = "", actor=None) -> SampleItem:
    """Tick a sampled project off: with a 验收评估 of that project (by whoever may evaluate it), or a reason why
    not (by the federation that drew it). Once only: a second click finds it done and says by whom."""
    require_write(actor)
    reason = (reason or "").strip()
    if (evaluation is None) == (not reason):
        raise XfjyError("请关联一份验收评估，或填写未评估的原因，二者选一")
    if len(reason) > MAX_REASON:
        raise XfjyError(f"未评估原因不超过 {MAX_REASON} 字")
    with write_transaction():
        if is_postgres():
            SampleItem.select(SampleItem.id).where(SampleItem.id == item.id).for_update().execute()
        item = SampleItem.get_by_id(item.id)
        project = item.project
        if item.resolved_at is not None:
            who = item.resolved_by.username if item.resolved_by_id is not None else "系统"
            raise XfjyError(f"「{project.name}」已于 {item.resolved_at:%m-%d %H:%M} 由 {who} 处理，无需重复提交")
        if evaluation is not None and evaluation.project_id != item.project_id:
            raise XfjyError(f"所选验收评估不属于项目「{project.name}」")
        if not may_resolve(actor, item, evaluated=evaluation is not None):
            raise JurisdictionError("验收评估由旗县市区及以上慈善总会办理" if evaluation is not None
                                    else "未评估的原因由组织抽查的慈善总会填写")
        before = audit.snapshot(item)
        item.evaluation, item.skipped_reason = evaluation, reason
        item.resolved_at, item.resolved_by = now(), actor.id if actor is not None else None
        item.save()
        audit.record(actor, "update", item, before=before,
                     summary=f"抽查验收「{project.name}」：" + (f"验收评估 {Evaluation.RESULTS[evaluation.result]}"
                                                             if evaluation is not None else f"未评估，{reason}"))
    return item


def coverage(sample: SampleDraw) -> Coverage:
    """How far the checklist has come, and the grades of the evaluations on it."""
    items = list(SampleItem.select(SampleItem.evaluation, SampleItem.skipped_reason, SampleItem.resolved_at,
                                   Evaluation.result)
                 .join(Evaluation, on=(SampleItem.evaluation == Evaluation.id), join_type=JOIN.LEFT_OUTER)
                 .where(SampleItem.draw == sample).tuples())
    by_grade = dict.fromkeys(Evaluation.RESULTS, 0)
    for _, _, _, result in items:
        if result is not None:
            by_grade[result] += 1
    evaluated = sum(1 for evaluation, *_ in items if evaluation is not None)
    skipped = sum(1 for evaluation, _, resolved_at, _ in items if evaluation is None and resolved_at is not None)
    return Coverage(sampled=len(items), evaluated=evaluated, skipped=skipped, open=len(items) - evaluated - skipped,
                    by_grade=by_grade)
