import csv

from db import areas, workflow
from db.areas import REGIONS_CSV, get_area, quota_report
from db.models import Area, Batch, Level, Quota

from .factories import Chain

# 附件1 as printed in the plan.
ANNEX_1 = {
    "呼和浩特市": 19, "包头市": 10, "呼伦贝尔市": 19, "兴安盟": 8, "通辽市": 11, "赤峰市": 15,
    "锡林郭勒盟": 14, "乌兰察布市": 12, "鄂尔多斯市": 10, "巴彦淖尔市": 8, "乌海市": 5, "阿拉善盟": 5,
    "满洲里市": 2, "二连浩特市": 2,
}


def test_reference_data_has_every_county_level_unit(db):
    counties = Area.select().where(Area.county == Area.id)
    assert counties.count() == 103  # Inner Mongolia's 旗县市区, 满洲里市 and 二连浩特市 included
    assert Area.select().where(Area.level == Level.PREFECTURE).count() == 14
    assert get_area("150121").name == "土默特左旗"
    assert get_area("150121").prefecture.name == "呼和浩特市"
    assert get_area("152223").name == "扎赉特旗" and get_area("152223").prefecture.name == "兴安盟"
    with open(REGIONS_CSV, encoding="utf-8") as f:
        codes = [row["code"] for row in csv.DictReader(f)]
    assert len(codes) == len(set(codes))


def test_manzhouli_and_erlianhaote_are_their_own_units(db):
    for code in ("150781", "152501"):
        unit = get_area(code)
        assert unit.level == Level.PREFECTURE and unit.parent.code == "150000"
        assert unit.prefecture_id == unit.id and unit.county_id == unit.id
        assert list(areas.counties_of(unit)) == [unit]
    assert "满洲里市" not in [c.name for c in areas.counties_of(get_area("150700"))]


def test_batches_have_the_plan_dates(db):
    batches = {b.name: (b.starts_on.isoformat(), b.ends_on.isoformat()) for b in Batch.select()}
    assert batches["探索试点"] == ("2023-02-01", "2023-12-31")
    assert batches["稳步推广"] == ("2023-12-01", "2024-12-31")
    assert batches["全面实施"] == ("2025-01-01", "2026-01-31")


def test_quota_report_matches_annex_1(db):
    report = quota_report()
    assert {line.prefecture.name: line.quota for line in report} == ANNEX_1
    assert sum(line.quota for line in report) == 140
    assert all(line.set_up == 0 for line in report)
    assert {line.prefecture.name: line.counties for line in report}["呼和浩特市"] == 9


def test_quota_report_counts_established_pilots_and_names_counties_without(db):
    chain = Chain("150121")
    chain.add_village(established=False)  # applied but no fund yet: does not count
    line = {line.prefecture.name: line for line in quota_report()}["呼和浩特市"]
    assert line.set_up == 1
    assert "土默特左旗" not in [c.name for c in line.counties_without_pilot]
    assert len(line.counties_without_pilot) == 8
    assert line.remaining == 18


def test_quota_report_within_a_county_shows_only_that_county(db):
    Chain("150121")
    county = get_area("150122")
    report = quota_report(within=county)
    assert [line.prefecture.name for line in report] == ["呼和浩特市"]
    assert report[0].set_up == 0 and [c.name for c in report[0].counties_without_pilot] == ["托克托县"]


def test_reloading_regions_changes_nothing(db):
    before = Area.select().count(), Quota.select().count()
    areas.load_regions()
    assert (Area.select().count(), Quota.select().count()) == before
    assert workflow.ADMISSION.label("filed") == "已备案"
