"""The area tree (全国 → … → 村社), its reference data, batches and the 附件1 quota report."""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from peewee import fn

from .database import database
from .errors import XfjyError
from .milestones import ensure_dues
from .models import Area, Batch, Level, Quota, Village
from .public import federation

REGIONS_CSV = Path(__file__).with_name("data") / "regions.csv"

BATCHES = [
    ("pilot", "探索试点", dt.date(2023, 2, 1), dt.date(2023, 12, 31)),
    ("rollout", "稳步推广", dt.date(2023, 12, 1), dt.date(2024, 12, 31)),
    ("full", "全面实施", dt.date(2025, 1, 1), dt.date(2026, 1, 31)),
]


def read_regions(path: Path = REGIONS_CSV) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_regions(path: Path = REGIONS_CSV) -> int:
    """Load (or refresh) the real areas down to 旗县市区, the batches and the pilot quotas."""
    rows = read_regions(path)
    with database.atomic():
        for ordinal, (code, name, starts, ends) in enumerate(BATCHES):
            Batch.insert(code=code, name=name, starts_on=starts, ends_on=ends, ordinal=ordinal).on_conflict(
                conflict_target=[Batch.code],
                update={Batch.name: name, Batch.starts_on: starts, Batch.ends_on: ends},
            ).execute()
        for batch in Batch.select():
            ensure_dues(batch)
        pilot = Batch.get(Batch.code == "pilot")
        for row in rows:
            parent = Area.get(Area.code == row["parent"]) if row["parent"] else None
            add_area(row["code"], row["name"], int(row["level"]), parent)
            if row["pilot_quota"]:
                area = Area.get(Area.code == row["code"])
                Quota.insert(area=area, batch=pilot, count=int(row["pilot_quota"])).on_conflict(
                    conflict_target=[Quota.area, Quota.batch], update={Quota.count: int(row["pilot_quota"])}
                ).execute()
    return len(rows)


def add_area(code: str, name: str, level: int, parent: Area | None, *, official: bool = True) -> Area:
    """Insert or rename one node, deriving its path and its 盟市 / 旗县市区 ancestors."""
    if parent is not None and level <= parent.level:
        raise XfjyError(f"区划 {code} {name} 的级别必须低于上级 {parent.name}")
    area = Area.get_or_none(Area.code == code)
    if area is None:
        area = Area(code=code)
    area.name, area.level, area.parent, area.official = name, level, parent, official
    area.path = (parent.path if parent else "/") + code + "/"
    area.save()
    if level == Level.PREFECTURE:
        area.prefecture = area
    else:
        area.prefecture_id = parent.prefecture_id if parent is not None else None
    if level == Level.COUNTY or (level == Level.PREFECTURE and _acts_as_county(code)):
        area.county = area
    else:
        area.county_id = parent.county_id if parent is not None else None
    area.save()
    return area


def _acts_as_county(code: str) -> bool:
    """A 盟市-level unit carrying a county-level code (满洲里市, 二连浩特市) is its own 旗县市区."""
    return not code.endswith("00")


FEDERATION_LEVELS = (Level.REGION, Level.PREFECTURE, Level.COUNTY)


def is_federation(area: Area) -> bool:
    """自治区, 盟市 and 旗县市区 each have a charity federation (满洲里市 and 二连浩特市 sit at the 盟市 level)."""
    return area.level in FEDERATION_LEVELS


def federation_name(area: Area) -> str:
    return federation(area.name, area.level)


def get_area(code: str) -> Area:
    area = Area.get_or_none(Area.code == str(code).strip())
    if area is None:
        raise XfjyError(f"找不到区划代码 {code}")
    return area


def ancestors(area: Area) -> list[Area]:
    """From the top (全国) down to ``area`` itself."""
    codes = [c for c in area.path.strip("/").split("/")]
    by_code = {a.code: a for a in Area.select().where(Area.code.in_(codes))}
    return [by_code[c] for c in codes]


def prefectures():
    return Area.select().where(Area.level == Level.PREFECTURE).order_by(Area.id)


def counties_of(prefecture: Area):
    """The 旗县市区 of a 盟市-level unit (for 满洲里市 and 二连浩特市: the unit itself)."""
    return Area.select().where((Area.prefecture == prefecture) & (Area.county == Area.id)).order_by(Area.code)


@dataclass
class QuotaLine:
    prefecture: Area
    quota: int
    set_up: int
    counties: int
    counties_without_pilot: list[Area] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return max(self.quota - self.set_up, 0)


def quota_report(batch_code: str = "pilot", within: Area | None = None) -> list[QuotaLine]:
    """Per 盟市: pilot villages whose 互助基金 is set up vs the 附件1 quota, and counties with none.

    A village counts as set up once its fund is established; ``within`` limits the report to one
    user's area (a county user sees their own 盟市's line, restricted to their county).
    """
    batch = Batch.get(Batch.code == batch_code)
    VillageArea = Area.alias()
    set_up = (
        Village.select(VillageArea.county, fn.COUNT(Village.id).alias("n"))
        .join(VillageArea, on=(Village.area == VillageArea.id))
        .where((Village.batch == batch) & Village.fund_established_on.is_null(False))
    )
    if within is not None:
        set_up = set_up.where(VillageArea.path.startswith(within.path))
    per_county = dict(set_up.group_by(VillageArea.county).tuples())
    quotas = {q.area_id: q.count for q in Quota.select().where(Quota.batch == batch)}
    lines = []
    for pref in prefectures():
        if within is not None and not (pref.contains(within) or within.contains(pref)):
            continue
        counties = [c for c in counties_of(pref) if within is None or within.contains(c) or c.contains(within)]
        line = QuotaLine(pref, quotas.get(pref.id, 0), 0, len(counties))
        for county in counties:
            n = per_county.get(county.id, 0)
            line.set_up += n
            if n == 0:
                line.counties_without_pilot.append(county)
        lines.append(line)
    return lines
