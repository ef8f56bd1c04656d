"""年度报告 (db.annual; its site pages and open data; the admin's XLSX and print views): a village and its
areas through two years of real postings — gifts, a refund, 配捐, 以奖代补, hops, spending and a reversed
line, closing to the 互助基金, a late gift, fund payments and a reversed one — checked against figures
worked out by hand, the balance identities, a past year unchanged by later postings, and what the site
and the admin show of it."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from pathlib import Path

import openpyxl
import pytest

from admin.reports import MONEY
from admin.views.reports import XLSX
from db import donations, funds, ledger, matching, settlement, spending, workflow
from db.annual import annual_report, compute
from db.areas import get_area
from db.clock import travel
from db.errors import XfjyError
from db.models import AuditLog, Disclosure, Donation, Project, Role
from site_builder.audit import audit_site
from site_builder.build import build
from site_builder.check import broken_links

from .admin_support import login
from .backends import bound
from .factories import HOHHOT, TOGTOH, Chain, advance_to, new_project, rule
from .test_reports import at, gift, to_implementing

LEFT = "150121"  # 土默特左旗


def late_gift(project, amount: int, day: str) -> Donation:
    """A gift the platform collected after the project closed: booked and moved on to the 互助基金."""
    donation = Donation.create(project=project, txn_no=f"L{uuid.uuid4().hex[:12]}", donor_name="爱心人士",
                               amount=amount, donated_at=at(day), timing="to_fund")
    donations.receive_donation(donation)
    return donation


@pytest.fixture
def story(db):
    """One village of 土默特左旗 with a project through 2024; a village of 托克托县 with a gift."""
    with travel(at("2024-02-01")):
        left, togtoh = Chain(), Chain(TOGTOH)
        a, b = new_project(left), new_project(togtoh, name="村卫生室改造")
    with travel(at("2024-03-01")):
        a, b = advance_to(a, "fundraising", left), advance_to(b, "fundraising", togtoh)
    with travel(at("2024-04-01")):
        gift(a, 300_000, "2024-04-01")
        gift(a, 150_000, "2024-04-02", channel="offline")
        wrong = gift(a, 5_000, "2024-04-03")
        gift(b, 250_000, "2024-04-05", channel="corporate")
    with travel(at("2024-04-10")):
        donations.refund_donation(wrong, "捐赠人要求退款")
    with travel(at("2024-05-01")):
        matching.fund_pool(get_area(LEFT), 200_000, "本级配套资金", on=dt.date(2024, 5, 1))
        matching.post_matching(rule(LEFT, ratio_bp=2000), a, left.users[Role.COUNTY])  # 20% of 450,000
        Disclosure.create(project=a, title="募捐进展", published_on=dt.date(2024, 5, 20))
    with travel(at("2024-09-05")):
        a = to_implementing(a, left)  # tops the gifts up online by 550,000 and passes 1,000,000 down four hops
    with travel(at("2024-10-01")):
        spending.record_expenditure(a, spent_on=dt.date(2024, 10, 1), item="太阳能路灯", payee="某照明公司",
                                    amount=200_000)
        twice = spending.record_expenditure(a, spent_on=dt.date(2024, 10, 2), item="太阳能路灯", payee="某照明公司",
                                            amount=30_000)
    with travel(at("2024-10-03")):
        spending.cancel_expenditure(twice, "重复登记")
    with travel(at("2024-10-05")):
        matching.post_matching(rule(LEFT, kind="reward", ratio_bp=1000, cap=1_000_000), a, left.users[Role.COUNTY])
    return {"left": left, "togtoh": togtoh, "a": a, "b": b}


def into_2025(story) -> None:
    """The village's second year: spending, closing (the rest to the 互助基金), a late gift, fund payments."""
    a, left = story["a"], story["left"]
    village = left.village
    with travel(at("2025-01-15")):
        Disclosure.create(project=a, title="募捐情况全面公开", published_on=dt.date(2025, 1, 15))
    with travel(at("2025-02-01")):
        spending.record_expenditure(a, spent_on=dt.date(2025, 2, 1), item="电缆", payee="某电缆厂", amount=50_000)
    with travel(at("2025-03-01")):
        workflow.advance_project(Project.get_by_id(a.id), "request_acceptance", left.users[Role.VILLAGE])
    with travel(at("2025-03-10")):
        workflow.advance_project(Project.get_by_id(a.id), "approve", left.users[Role.COUNTY], "验收通过",
                                 settle=settlement.settle_remaining)
    with travel(at("2025-04-01")):
        Disclosure.create(project=a, title="项目结项公开", published_on=dt.date(2025, 4, 1))
    with travel(at("2025-05-01")):
        late_gift(Project.get_by_id(a.id), 20_000, "2025-05-01")
    with travel(at("2025-06-01")):
        funds.spend(village, spent_on=dt.date(2025, 6, 1), item="困难户临时救助", payee="张大爷", amount=60_000,
                    approved_by="李秀英、张海军", approved_on=dt.date(2025, 5, 30))
        wrong = funds.spend(village, spent_on=dt.date(2025, 6, 2), item="困难户临时救助", payee="李大娘", amount=10_000,
                            approved_by="李秀英、张海军", approved_on=dt.date(2025, 5, 30))
    with travel(at("2025-06-03")):
        funds.cancel(wrong, "收款方有误")


def money(figures) -> dict:
    return {name: getattr(figures, name) for name in (
        "opening", "raised_online", "raised_offline", "matched", "rewarded", "spent", "fund_spent", "closing",
        "held_nation", "held_village", "fund_closing", "from_nation", "from_region", "from_prefecture",
        "from_county", "arrived", "to_fund", "fund_opening", "fund_carried", "fund_late_gifts", "fund_reward",
        "pool_opening", "pool_in", "pool_out", "pool_closing")}


def identities(f) -> None:
    """The balance identities every report keeps."""
    assert f.opening + f.income - f.outflow == f.closing, f
    assert f.held_nation + f.held_region + f.held_prefecture + f.held_county + f.held_village + f.fund_closing \
        == f.closing, f
    assert f.fund_opening + f.fund_income - f.fund_spent == f.fund_closing, f
    assert f.pool_opening + f.pool_in - f.pool_out == f.pool_closing, f
    assert f.to_fund == f.fund_carried + f.fund_late_gifts and f.rewarded == f.fund_reward, f


# -- the figures ---------------------------------------------------------------------------------------------

def test_a_village_year_worked_out_by_hand(story):
    with travel(at("2026-03-01")):
        into_2025(story)
        first = annual_report(story["left"].village.area.code, 2024)
        second = annual_report(story["left"].village.area.code, 2025)
    assert money(first.figures) == {
        "opening": 0, "raised_online": 300_000 + 5_000 - 5_000 + 550_000, "raised_offline": 150_000,
        "matched": 90_000, "rewarded": 100_000, "spent": 200_000, "fund_spent": 0,
        "closing": 1_000_000 + 90_000 + 100_000 - 200_000, "held_nation": 0, "held_village": 890_000,
        "fund_closing": 100_000, "from_nation": 1_000_000, "from_region": 1_000_000, "from_prefecture": 1_000_000,
        "from_county": 1_000_000, "arrived": 1_000_000, "to_fund": 0, "fund_opening": 0, "fund_carried": 0,
        "fund_late_gifts": 0, "fund_reward": 100_000, "pool_opening": 0, "pool_in": 0, "pool_out": 0,
        "pool_closing": 0}
    assert (first.figures.started, first.figures.closed, first.figures.disclosures_made) == (1, 0, 1)
    # The report due after fundraising ended (by 2024-11-30) was not made in 2024.
    assert (first.figures.disclosures_met, first.figures.disclosures_late, first.figures.disclosures_missing) == (0, 0, 1)
    assert money(second.figures) == {
        "opening": 990_000, "raised_online": 20_000, "raised_offline": 0, "matched": 0, "rewarded": 0,
        "spent": 50_000, "fund_spent": 60_000, "closing": 990_000 + 20_000 - 50_000 - 60_000, "held_nation": 0,
        "held_village": 0, "fund_closing": 900_000, "from_nation": 0, "from_region": 0, "from_prefecture": 0,
        "from_county": 0, "arrived": 0, "to_fund": 840_000 + 20_000, "fund_opening": 100_000, "fund_carried": 840_000,
        "fund_late_gifts": 20_000, "fund_reward": 0, "pool_opening": 0, "pool_in": 0, "pool_out": 0, "pool_closing": 0}
    assert (second.figures.started, second.figures.closed, second.figures.disclosures_made) == (0, 1, 2)
    # Implementation ran over six months (2024-09-05 to 2025-03-10), so it needed a disclosure every three months:
    # the two of 2025 went, late, to the windows due in 2024; the two windows due in 2025 stayed unmet.
    assert (second.figures.disclosures_met, second.figures.disclosures_late, second.figures.disclosures_missing) \
        == (0, 0, 2)
    for report in (first, second):
        identities(report.figures)
        assert report.levels == ()  # a village has nothing below it
    assert [(p.code, p.raised, p.spent, p.started, p.closed, p.state) for p in first.projects] == [
        (story["a"].code, 1_000_000, 200_000, True, False, "实施中")]
    assert [(p.spent, p.closed, p.state) for p in second.projects] == [(50_000, True, "结项")]


def test_an_area_holds_its_own_money_and_its_villages(story):
    a_village, b_village = story["left"].village.area.code, story["togtoh"].village.area.code
    with travel(at("2026-03-01")):
        into_2025(story)
        county = annual_report(LEFT, 2024)
        prefecture = annual_report(HOHHOT, 2024)
        region = annual_report("150000", 2025)
        village = annual_report(a_village, 2024)
    # The county's 配捐 pool is the county's own money: 200,000 put in, 190,000 paid out as 配捐 and 以奖代补.
    assert (county.figures.pool_opening, county.figures.pool_in, county.figures.pool_out, county.figures.pool_closing) \
        == (0, 200_000, 190_000, 10_000)
    assert {k: v for k, v in money(county.figures).items() if not k.startswith("pool")} \
        == {k: v for k, v in money(village.figures).items() if not k.startswith("pool")}
    assert [lv.name for lv in county.levels] == ["乡镇", "村社"]
    rows = {row.code: row.figures for lv in prefecture.levels for row in lv.rows}
    assert rows[LEFT] == county.figures and rows[a_village] == village.figures
    assert rows[b_village].raised_offline == 250_000 and rows[b_village].held_nation == 250_000
    assert prefecture.figures.raised == county.figures.raised + 250_000
    assert prefecture.figures.closing == county.figures.closing + 250_000
    assert prefecture.figures.held_nation == 250_000  # 托克托县's gift still at 中华慈善总会
    for report in (county, prefecture, region):
        identities(report.figures)
        for level in report.levels:
            for row in level.rows:
                identities(row.figures)
            # each level adds up to the area (its pools are at its own level and above)
            for name in ("raised_online", "raised_offline", "spent", "fund_spent", "opening", "closing", "started"):
                assert sum(getattr(r.figures, name) for r in level.rows) == getattr(report.figures, name), name
    assert region.figures.opening == prefecture.figures.closing  # 2024's close is 2025's open
    assert region.figures.closed == 1 and region.figures.fund_spent == 60_000


def test_a_past_year_is_unchanged_by_later_postings(story):
    code = story["left"].village.area.code
    with travel(at("2025-01-05")):
        before = [annual_report(c, 2024) for c in (code, LEFT, "150000")]
        running = annual_report(code, 2025)
    assert running.figures.as_of == dt.date(2025, 1, 5) and not running.figures.complete
    with travel(at("2026-03-01")):
        into_2025(story)
        after = [annual_report(c, 2024) for c in (code, LEFT, "150000")]
    assert [(r.figures, r.levels, r.projects) for r in after] == [(r.figures, r.levels, r.projects) for r in before]
    assert all(r.figures.complete for r in after)


def test_one_grouped_read_gives_every_area_and_year(story):
    """``compute`` over the region for several years is what a report per area and year says."""
    with travel(at("2026-03-01")):
        into_2025(story)
        everything = compute(get_area("150000"), [2023, 2024, 2025, 2026], dt.date(2026, 3, 1))
        for code in (story["left"].village.area.code, LEFT, TOGTOH, HOHHOT, "150000"):
            for year in (2024, 2025):
                assert everything.of(code, year) == annual_report(code, year).figures, (code, year)
    village = story["left"].village.area.code
    assert everything.active_years(village) == [2024, 2025]  # 2026 holds the fund's balance, nothing more
    assert everything.of(village, 2026).closing == 900_000 and not everything.of(village, 2026).active
    assert everything.of(village, 2023) == everything.of(village, 2023).__class__(2023, dt.date(2023, 12, 31))


def test_years_and_codes_that_have_no_report(story):
    with travel(at("2025-06-01")):
        with pytest.raises(XfjyError, match="2026 年尚未开始"):
            annual_report(LEFT, 2026)
        with pytest.raises(XfjyError, match="找不到区划代码 999"):
            annual_report("999", 2024)
        with pytest.raises(XfjyError, match="不是有效年份"):
            annual_report(LEFT, 1999)


# -- the public site ------------------------------------------------------------------------------------------

HIDDEN = "尚在审核的项目"
_CELL = re.compile(r'data-figure="([a-z_]+)">([^<]*)<')


def unpublished_with_money(story) -> Project:
    """A second project of the village, still in review, with an entry on it (as another office's system
    might post): the admin's report counts it, the public site must not."""
    left = story["left"]
    with travel(at("2025-07-01")):
        hidden = advance_to(new_project(left, name=HIDDEN, starts_on=dt.date(2025, 8, 1), ends_on=dt.date(2026, 1, 31)),
                            "township_review", left)
        ledger.post("donation", ledger.donors_account(), ledger.special_account(hidden), 77_700, project=hidden,
                    booked_on=dt.date(2025, 7, 1))
    return hidden


def shown(page: Path) -> dict[str, str]:
    return dict(_CELL.findall(page.read_text(encoding="utf-8")))


def region_rows(site: Path) -> dict[tuple[str, int], dict]:
    with open(site / "data" / "region" / "annual.csv", encoding="utf-8-sig", newline="") as f:
        return {(row["code"], int(row["year"])): row for row in csv.DictReader(f)}


def test_the_site_has_a_page_per_year_linked_and_in_the_open_data(story, tmp_path):
    village = story["left"].village.area.code
    with travel(at("2025-01-05")):
        build(tmp_path / "early", base_url="https://xfjy.example.org/")
    with travel(at("2026-03-01")):
        into_2025(story)
        unpublished_with_money(story)
        staff = {year: annual_report(village, year).figures for year in (2024, 2025)}
        county = annual_report(LEFT, 2025).figures
        build(tmp_path / "site", base_url="https://xfjy.example.org/")
    site = tmp_path / "site"
    assert broken_links(site) == [] and audit_site(site) == []

    page = (site / "village" / village / "index.html").read_text(encoding="utf-8")
    assert f'href="../../village/{village}/2024/"' in page and f'href="../../village/{village}/2025/"' in page
    assert not (site / "village" / village / "2026").exists()  # nothing happened in 2026 (the fund only stood)
    first, second = (shown(site / "village" / village / str(y) / "index.html") for y in (2024, 2025))
    assert first["closing"] == "9,900.00" and first["spent"] == "2,000.00" and first["disclosures_missing"] == "1"
    # The project in review is the staff's business: its 777.00 is in the admin's figures, not on the site.
    assert staff[2025].raised_offline == 77_700 and staff[2025].closing == 900_000 + 77_700  # no gift row: not online
    assert (second["raised_offline"], second["raised_online"], second["closing"], second["fund_spent"]) == (
        "0.00", "200.00", "9,000.00", "600.00")
    assert second["opening"] == first["closing"]
    for path in [*site.rglob("index.html"), site / "data" / "region" / "annual.csv"]:
        assert HIDDEN not in path.read_text(encoding="utf-8"), path

    rows = region_rows(site)
    assert {year for code, year in rows if code == village} == {2024, 2025}
    assert rows[village, 2024]["closing_yuan"] == "9900.00" and rows[village, 2025]["fund_closing_yuan"] == "9000.00"
    assert rows[LEFT, 2025]["level"] == "旗县市区" and rows["150000", 2024]["level"] == "自治区"
    assert rows[LEFT, 2025]["raised_offline_yuan"] == f"{(county.raised_offline - 77_700) / 100:.2f}"
    assert rows[LEFT, 2025]["closing_yuan"] == f"{(county.closing - 77_700) / 100:.2f}"
    assert rows[LEFT, 2024]["pool_closing_yuan"] == "100.00"
    own = (site / "data" / "village" / village / "annual.csv").read_text(encoding="utf-8-sig")
    assert own.splitlines()[1:] == [line for line in (site / "data" / "region" / "annual.csv").read_text(
        encoding="utf-8-sig").splitlines() if f",{village}," in line]

    area = (site / "area" / LEFT / "index.html").read_text(encoding="utf-8")
    assert f'href="../../area/{LEFT}/2024/"' in area
    county_page = (site / "area" / LEFT / "2024" / "index.html").read_text(encoding="utf-8")
    assert f'href="../../../village/{village}/2024/"' in county_page and shown(site / "area" / LEFT / "2024" / "index.html")[
        "pool_closing"] == "100.00"
    assert 'href="../area/150000/2024/"' in (site / "area" / "index.html").read_text(encoding="utf-8")
    assert 'href="area/150000/2025/"' in (site / "index.html").read_text(encoding="utf-8")
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    assert f"village/{village}/2025/</loc>" in sitemap and "area/150000/2024/</loc>" in sitemap
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    yearly = re.compile(r"^(village|area)/\d+/\d{4}/")
    assert not [d for d in index["docs"] if yearly.match(d["location"])]  # the yearly pages stay out of search
    assert [d for d in index["docs"] if d["location"].startswith(f"village/{village}/")]  # the village page is in it
    assert "annual" in (site / "data" / "index.html").read_text(encoding="utf-8")

    # 2024, as the site showed it in January 2025, is what it shows after everything later.
    assert shown(tmp_path / "early" / "village" / village / "2024" / "index.html") == first
    assert not (tmp_path / "early" / "village" / village / "2025").exists()  # nothing had happened in 2025 yet
    assert "年尚未结束" not in (site / "village" / village / "2025" / "index.html").read_text(encoding="utf-8")


def test_the_site_audit_finds_a_yearly_figure_that_is_not_the_ledger(story, tmp_path):
    village, other = story["left"].village.area.code, story["togtoh"].village.area.code
    with travel(at("2026-03-01")):
        into_2025(story)
        gift(story["b"], 1_000, "2026-02-01")
        build(tmp_path / "site", base_url="https://xfjy.example.org/")
    assert audit_site(tmp_path / "site") == []
    running = (tmp_path / "site" / "village" / other / "2026" / "index.html").read_text(encoding="utf-8")
    assert "2026 年尚未结束" in running and "截至 2026-03-01" in running
    assert shown(tmp_path / "site" / "village" / other / "2026" / "index.html")["raised_online"] == "10.00"
    page = tmp_path / "site" / "village" / village / "2025" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace('data-figure="fund_spent">600.00<',
                                                              'data-figure="fund_spent">60.00<'), encoding="utf-8")
    rows = tmp_path / "site" / "data" / "village" / village / "annual.csv"
    rows.write_text(rows.read_text(encoding="utf-8-sig").replace(",9900.00,", ",9990.00,", 1), encoding="utf-8-sig")
    found = [str(m) for m in audit_site(tmp_path / "site")]
    assert any(f"village/{village}/2025/" in m and "fund_spent" in m and "60.00" in m for m in found), found
    assert any(f"village/{village}/2024/" in m and "annual.csv 2024 年的 closing" in m for m in found), found


# -- the admin ------------------------------------------------------------------------------------------------

def sheet_values(sheet) -> dict[str, object]:
    """A label → value sheet (the 年度报告 statement), first column to second."""
    return {row[0].value: row[1] for row in sheet.iter_rows() if row[0].value is not None and len(row) > 1}


def test_the_admin_downloads_the_workbook_with_real_numbers(app, story):
    with travel(at("2026-03-01")):
        into_2025(story)
        client = app.test_client()
        county = story["left"].users[Role.COUNTY]
        login(client, county)
        response = client.get(f"/admin/reports/annual.xlsx?area={LEFT}&year=2025")
        by_village = client.get(f"/admin/reports/annual.xlsx?area={LEFT}&village={story['left'].village.area.code}&year=2024")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["封面", "年度报告", "乡镇", "村社", "项目"]
    statement = sheet_values(book["年度报告"])
    closing = statement["年末余额"]
    assert closing.data_type == "n" and closing.value == 9_000 and closing.number_format == MONEY
    assert statement["年初余额"].value == 9_900 and statement["互助基金支出"].value == 600
    assert statement["结项的项目"].value == 1 and statement["结项的项目"].number_format == "#,##0"
    villages = list(book["村社"].iter_rows(values_only=True))
    header, (row,) = villages[0], villages[1:]
    assert row[0] == story["left"].village.area.code and row[header.index("项目支出")] == 500
    projects = list(book["项目"].iter_rows(values_only=True))
    assert projects[1][:2] == (story["a"].code, story["a"].name) and projects[1][-2:] == ("否", "是")
    cover = "\n".join(str(c.value) for c in book["封面"]["B"] if c.value)
    assert "土默特左旗" in cover and county.username in cover and "2025-01-01 至 2025-12-31" in cover
    small = openpyxl.load_workbook(io.BytesIO(by_village.data))
    assert small.sheetnames == ["封面", "年度报告", "项目"]
    assert sheet_values(small["年度报告"])["年末余额"].value == 9_900
    logged = AuditLog.select().where((AuditLog.action == "export") & (AuditLog.user == county.id))
    assert sorted(e.summary for e in logged) == sorted(["下载 年度报告-土默特左旗-2025.xlsx",
                                                         f"下载 年度报告-{story['left'].village.area.name}-2024.xlsx"])


def test_the_printed_reports_are_a4_with_room_for_the_stamp(app, story):
    with travel(at("2026-03-01")):
        into_2025(story)
        client = app.test_client()
        auditor = story["left"].users[Role.AUDITOR]  # reads and exports what its county reads
        login(client, auditor)
        annual = client.get(f"/admin/reports/annual/print?area={LEFT}&year=2024")
        statistics = client.get(f"/admin/reports/print?area={LEFT}&as_of=2024-12-31&start=2024-01-01")
    for response in (annual, statistics):
        assert response.status_code == 200 and response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "@page { size: A4" in page
        for room in ("单位（盖章）", "负责人（签字）", "经办人（签字）", "日期"):
            assert room in page
        assert "onclick" not in page and 'nonce="' in page  # the print button runs under the CSP
    cells = dict(_CELL.findall(annual.get_data(as_text=True)))
    assert cells["closing"] == "9,900.00" and cells["pool_closing"] == "100.00" and cells["started"] == "1"
    assert "各乡镇" in annual.get_data(as_text=True) and story["a"].name in annual.get_data(as_text=True)
    stats = dict(_CELL.findall(statistics.get_data(as_text=True)))
    assert stats["spent"] == "2,000.00" and stats["pool_balance"] == "100.00"
    assert AuditLog.select().where((AuditLog.action == "export") & (AuditLog.user == auditor.id)).count() == 2


def test_the_admin_pages_stay_within_the_users_area(app, story):
    left, togtoh = story["left"], story["togtoh"]
    outside = (f"area={TOGTOH}&year=2024", f"area={LEFT}&village={togtoh.village.area.code}&year=2024",
               f"area={HOHHOT}&year=2024", "area=999999&year=2024")
    with travel(at("2025-06-01")):
        county = app.test_client()
        login(county, left.users[Role.COUNTY])
        for args in outside:
            for path in ("annual.xlsx", "annual/print"):
                assert county.get(f"/admin/reports/{path}?{args}").status_code == 404, (path, args)
        assert county.get(f"/admin/reports/annual/print?area={LEFT}&year=2024").status_code == 200
        refused = county.get(f"/admin/reports/annual.xlsx?area={LEFT}&year=2027", follow_redirects=True)
        assert refused.mimetype == "text/html" and "2027 年尚未开始" in refused.get_data(as_text=True)
        assert "年度报告" in county.get("/admin/reports/").get_data(as_text=True)
        for role in (Role.VILLAGE, Role.SUPERVISOR):
            client = app.test_client()
            login(client, left.users[role])
            for path in ("annual.xlsx", "annual/print", "print"):
                assert client.get(f"/admin/reports/{path}?area={left.village.area.code}&year=2024").status_code == 403


def test_the_annual_report_command(cli_url, tmp_path):
    from .test_cli import ok, one_line_error, xfjy

    ok("init-db")
    ok("load-regions")
    with bound(cli_url):
        matching.fund_pool(get_area(HOHHOT), 500_000, "本级配套资金", on=dt.date(2024, 3, 1))
    out = tmp_path / "annual.xlsx"
    result = ok("annual-report", "--area", HOHHOT, "--year", "2024", "--out", out, "--by", "张三")
    assert "年初 0.00 元，收入 0.00 元，支出 0.00 元，年末 0.00 元" in result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:2] == ["封面", "年度报告"] and "旗县市区" in book.sheetnames
    cover = [c.value for row in book["封面"].iter_rows() for c in row]
    assert "张三" in cover
    statement = {row[0]: row[1] for row in book["年度报告"].iter_rows(values_only=True) if row and row[0]}
    assert statement["注入资金池"] == 5000 and statement["配捐资金池年末余额"] == 5000
    for args, message in {("--area", HOHHOT, "--year", "二〇二四"): "年度「二〇二四」不是有效年份",
                          ("--area", HOHHOT, "--year", "2999"): "2999 年尚未开始",
                          ("--area", "999999", "--year", "2024"): "找不到区划代码 999999"}.items():
        assert message in one_line_error(xfjy("annual-report", *args, "--out", tmp_path / "bad.xlsx"))
    assert not (tmp_path / "bad.xlsx").exists()
