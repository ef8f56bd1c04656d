"""统计报表 (db.reports, admin.reports, ``xfjy report``): figures as of a date, checked against sums of the
entry rows made here (not through db.totals), unchanged by entries posted later; states from the review
history; the workbook's cells; the command's errors."""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections import Counter

import openpyxl
import pytest
from click.testing import CliRunner

from admin.cli import cli
from admin.reports import COLUMNS, GENERATED_AT, MONEY, workbook_bytes
from db import disbursement, donations, matching, settlement, spending, workflow
from db.areas import get_area
from db.clock import today, travel
from db.deadlines import facts_of, schedule
from db.errors import XfjyError
from db.models import Disclosure, Donation, Entry, Evaluation, Level, Project, Role
from db.money import fen_to_text
from db.reports import STATES, build_report
from db.totals import project_raised, project_totals

from .admin_support import login
from .factories import HOHHOT, TOGTOH, Chain, advance_to, new_project, rule

AS_OF = dt.date(2024, 12, 31)


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour))


def gift(project, amount: int, day: str, channel: str = "online") -> Donation:
    donation = Donation.create(project=project, txn_no=f"R{uuid.uuid4().hex[:12]}", donor_name="爱心人士",
                               amount=amount, channel=channel, donated_at=at(day))
    donations.receive_donation(donation)
    return donation


def to_implementing(project, chain) -> Project:
    """From 募捐中 to 实施中 at the clock's date: top the gifts up, apply, pass the money down every hop."""
    short = project.target - project_raised(project)
    if short > 0:
        gift(project, short, f"{today():%Y-%m-%d}")
    workflow.advance_project(project, "reach_target", None)
    workflow.advance_project(project, "apply_use", chain.users[Role.VILLAGE])
    for sender in (Role.REGION, Role.REGION, Role.PREFECTURE, Role.COUNTY):
        disbursement.disburse(Project.get_by_id(project.id), chain.users[sender])
    project = Project.get_by_id(project.id)
    assert project.state == "implementing"
    return project


@pytest.fixture
def scene(db):
    """Two villages under 土默特左旗 (two townships) and one under 托克托县, with a year of money by 2024-12-31."""
    with travel(at("2024-02-01")):
        left, left_two, togtoh = Chain(), Chain(), Chain(TOGTOH)
        a, b = new_project(left), new_project(togtoh, name="村卫生室改造")
        c = new_project(left_two, name="文化广场")
    with travel(at("2024-03-01")):
        a, b, c = (advance_to(p, "fundraising", ch) for p, ch in ((a, left), (b, togtoh), (c, left_two)))
    with travel(at("2024-04-01")):
        gift(a, 300_000, "2024-04-01")
        gift(a, 150_000, "2024-04-02", channel="offline")
        wrong = gift(a, 5_000, "2024-04-03")
        gift(b, 250_000, "2024-04-05", channel="corporate")
        gift(c, 80_000, "2024-04-06")
    with travel(at("2024-04-10")):
        donations.refund_donation(wrong, "捐赠人要求退款")
    with travel(at("2024-05-01")):
        matching.fund_pool(get_area("150121"), 200_000, "本级配套资金", on=dt.date(2024, 5, 1))
        matching.post_matching(rule("150121", ratio_bp=2000), a, left.users[Role.COUNTY])
        Disclosure.create(project=a, title="募捐进展", published_on=dt.date(2024, 5, 20))
    with travel(at("2024-09-05")):
        a = to_implementing(a, left)
    with travel(at("2024-10-01")):
        spending.record_expenditure(a, spent_on=dt.date(2024, 10, 1), item="太阳能路灯", payee="某照明公司",
                                    amount=200_000)
        Evaluation.create(project=a, evaluated_on=dt.date(2024, 10, 2), result="good")
    return {"chains": (left, left_two, togtoh), "projects": (a, b, c)}


def post_later(scene) -> None:
    """Entries, a gift and a review step dated after AS_OF."""
    a, b, _ = scene["projects"]
    left = scene["chains"][0]
    with travel(at("2025-02-01")):
        line = spending.record_expenditure(a, spent_on=dt.date(2025, 2, 1), item="电缆", payee="某电缆厂", amount=50_000)
        spending.cancel_expenditure(line, "重复登记")
        gift(b, 70_000, "2025-02-01")
        spending.record_expenditure(a, spent_on=dt.date(2025, 2, 2), item="灯杆", payee="某厂", amount=30_000)
        Evaluation.create(project=a, evaluated_on=dt.date(2025, 2, 3), result="good")
    with travel(at("2025-03-01")):
        workflow.advance_project(Project.get_by_id(a.id), "request_acceptance", left.users[Role.VILLAGE])
    with travel(at("2025-03-10")):
        workflow.advance_project(Project.get_by_id(a.id), "approve", left.users[Role.COUNTY], "验收通过",
                                 settle=settlement.settle_remaining)


def expected(code: str, as_of: dt.date, start: dt.date | None = None) -> Counter:
    """The report's money figures for ``code``'s subtree, added up here from the entry rows themselves."""
    path = get_area(code).path
    sums = Counter()
    for e in Entry.select():
        if e.booked_on > as_of:
            continue
        sign = -1 if e.reverses_id is not None else 1
        source, target = e.from_account, e.to_account
        for acct, side in ((target, 1), (source, -1)):
            if acct.external:
                continue
            home = acct.project.village.area if acct.project_id is not None else acct.area
            if home.path.startswith(path):
                name = {"special": "held_nation", "project": "held_village", "fund": "fund_balance",
                        "pool": "pool_balance"}.get(acct.kind) or {
                    Level.REGION: "held_region", Level.PREFECTURE: "held_prefecture",
                    Level.COUNTY: "held_county"}[acct.area.level]
                sums[name] += side * e.amount
        if e.project_id is None or not e.project.village.area.path.startswith(path):
            continue
        if start is not None and e.booked_on < start:
            continue
        net = sign * e.amount
        if e.kind in ("donation", "refund"):
            signed = net if e.kind == "donation" else -net
            sums["raised"] += signed
            sums["raised_online" if e.donation.channel == "online" else "raised_offline"] += signed
        elif e.kind == "disbursement":
            sender, receiver = (source, target) if sign > 0 else (target, source)
            sums[{0: "from_nation", 1: "from_region", 2: "from_prefecture", 3: "from_county"}[sender.area.level]] += net
            if receiver.kind == "project":
                sums["arrived"] += net
        else:
            sums[{"matching": "matched", "reward": "rewarded", "expenditure": "spent", "to_fund": "to_fund"}[e.kind]] += net
    return sums


MONEY_FIELDS = ("raised", "raised_online", "raised_offline", "matched", "rewarded", "from_nation", "from_region",
                "from_prefecture", "from_county", "arrived", "spent", "to_fund", "held_nation", "held_region",
                "held_prefecture", "held_county", "held_village", "fund_balance", "pool_balance")


def check_against_entries(report, start=None) -> None:
    for level in report.levels:
        for row in (*level.rows, level.total):
            code = report.code if row is level.total else row.code
            want = expected(code, report.as_of, start)
            assert {f: getattr(row, f) for f in MONEY_FIELDS} == {f: want[f] for f in MONEY_FIELDS}, (level.name, code)


def test_figures_match_the_entries(scene):
    report = build_report(HOHHOT, AS_OF)
    assert [lv.name for lv in report.levels] == ["旗县市区", "乡镇", "村社"]
    check_against_entries(report)
    total = report.total
    assert total.raised == 300_000 + 150_000 + 250_000 + 80_000 + (1_000_000 - 450_000)  # topped up to the target
    assert total.raised_offline == 150_000 + 250_000 and total.matched > 0 and total.spent == 200_000
    assert total.from_nation == total.from_region == total.from_prefecture == total.from_county == total.arrived == 1_000_000
    assert total.evaluations == 1 and total.fund_villages == 3 and total.projects == 3
    assert total.quota == 19  # 呼和浩特市's 附件1 pilot quota
    counties = {row.code: row for row in report.levels[0].rows}
    assert counties["150121"].quota is None and counties["150121"].raised == total.raised - 250_000
    assert sum(r.raised for r in report.levels[2].rows) == total.raised
    region = build_report("150000", AS_OF)
    assert [lv.name for lv in region.levels] == ["盟市", "旗县市区", "乡镇", "村社"]
    assert region.total.quota == 140 and region.total.raised == total.raised
    check_against_entries(region)


def test_flows_from_a_start_date_and_balances_as_of(scene):
    post_later(scene)
    start, as_of = dt.date(2024, 4, 2), dt.date(2025, 6, 30)
    report = build_report(HOHHOT, as_of, start)
    check_against_entries(report, start)
    whole = build_report(HOHHOT, as_of)
    assert report.total.raised < whole.total.raised
    for name in ("held_nation", "held_village", "fund_balance", "pool_balance", "projects", "fund_villages"):
        assert getattr(report.total, name) == getattr(whole.total, name), name
    assert report.total.evaluations == 2 and build_report(HOHHOT, as_of, dt.date(2025, 1, 1)).total.evaluations == 1


def cells(data: bytes) -> dict:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {(sheet.title, cell.coordinate): (cell.value, cell.number_format)
            for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None}


def test_a_past_report_does_not_change_when_later_entries_are_posted(scene):
    before = build_report(HOHHOT, AS_OF)
    first = workbook_bytes(before, by="测试员", generated_at=dt.datetime(2026, 7, 1, 9, 0))
    post_later(scene)
    after = build_report(HOHHOT, AS_OF)
    assert after.levels == before.levels
    assert build_report(HOHHOT, dt.date(2025, 6, 30)).total != before.total  # the later entries are there
    second = workbook_bytes(after, by="测试员", generated_at=dt.datetime(2026, 7, 2, 9, 30))
    old, new = cells(first), cells(second)
    generated = ("封面", GENERATED_AT)
    assert old.pop(generated)[0] == "2026-07-01 09:00:00" and new.pop(generated)[0] == "2026-07-02 09:30:00"
    assert old == new
    assert workbook_bytes(after, by="测试员", generated_at=dt.datetime(2026, 7, 1, 9, 0)) == first  # byte for byte


def test_projects_by_state_follow_the_review_history(db):
    with travel(at("2024-02-01")):
        chain = Chain()
    with travel(at("2024-02-20")):
        project = new_project(chain)
    with travel(at("2024-02-25")):
        project = advance_to(project, "township_review", chain)
    with travel(at("2024-03-01")):
        for action, actor in (("approve", Role.TOWNSHIP), ("approve", Role.COUNTY), ("approve", Role.PREFECTURE),
                              ("approve", Role.REGION)):
            workflow.advance_project(project, action, chain.users[actor], "同意")
    with travel(at("2024-09-05")):
        project = to_implementing(project, chain)
    assert Project.get_by_id(project.id).state == "implementing"

    def states(day: str) -> dict:
        return {s: n for s, n in build_report("150121", dt.date.fromisoformat(day)).total.by_state.items() if n}

    assert states("2024-02-19") == {}
    assert states("2024-02-20") == {"draft": 1}
    assert states("2024-02-28") == {"township_review": 1}
    assert states("2024-08-31") == {"fundraising": 1}
    assert states("2024-09-05") == {"implementing": 1}
    assert list(build_report("150121", AS_OF).total.by_state) == list(STATES)


def test_disclosure_windows_as_of_the_date(scene):
    a, b, c = scene["projects"]
    report = build_report(HOHHOT, AS_OF)
    want = Counter()
    for facts in facts_of([a.id, b.id, c.id]).values():
        for deadline in schedule(facts, AS_OF):
            want[deadline.status(AS_OF)] += 1
    total = report.total
    assert (total.disclosures_met, total.disclosures_late, total.disclosures_missing) == (
        want["met"], want["late"], want["overdue"])
    assert total.disclosures_met + total.disclosures_late + total.disclosures_missing > 0
    # A project that reaches a milestone after the date: the report for the date does not know it yet.
    before = build_report(HOHHOT, dt.date(2024, 9, 4)).total
    with travel(at("2025-03-01")):
        post_later(scene)
    assert build_report(HOHHOT, dt.date(2024, 9, 4)).total == before


def test_workbook_cells(scene):
    report = build_report(HOHHOT, AS_OF, dt.date(2024, 1, 1))
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report, by="王会计", generated_at=dt.datetime(2026, 7, 1))))
    assert book.sheetnames == ["封面", "旗县市区", "乡镇", "村社"]
    cover = [row for row in book["封面"].iter_rows(values_only=True)]
    text = "\n".join(str(v) for row in cover for v in row if v is not None)
    assert "呼和浩特市" in text and "2024-01-01 至 2024-12-31" in text and "王会计" in text and "序号 " in text
    assert book.properties.created == book.properties.modified == dt.datetime(2024, 12, 31)
    headers = [c.header for c in COLUMNS]
    for level in report.levels:
        sheet = book[level.name]
        assert sheet.freeze_panes == "C2"
        assert [c.value for c in sheet[1]] == headers
        assert sheet.max_row == len(level.rows) + 2
        total = sheet[sheet.max_row]
        assert total[1].value == "呼和浩特市合计"
        raised = total[headers.index("已筹善款")]
        assert raised.data_type == "n" and raised.number_format == MONEY and raised.value == report.total.raised / 100
        for column in COLUMNS:
            if column.kind == "money":
                for cell in sheet[sheet.cell(row=1, column=headers.index(column.header) + 1).column_letter][1:]:
                    assert isinstance(cell.value, (int, float)) and cell.number_format == MONEY
        assert sheet.column_dimensions["B"].width >= 20
        quota = total[headers.index("附件1试点任务数")]
        assert quota.value == 19
        assert sheet[2][headers.index("附件1试点任务数")].value is None  # no quota below the 盟市 level


# -- the command ------------------------------------------------------------------------------------------

def xfjy(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="xfjy")


def test_typed_text_in_the_workbook_is_never_a_formula(scene):
    """Who made the report (a user's display name) and the area names are typed by people: a cell
    starting like a formula must stay text (db.text.spreadsheet_safe, as in every other export)."""
    report = build_report(HOHHOT, AS_OF)
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report, by='=HYPERLINK("http://evil.example","点我")',
                                                            generated_at=dt.datetime(2026, 7, 1))))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(c.value == '\'=HYPERLINK("http://evil.example","点我")' for c in cells)


def test_report_command(cli_url, tmp_path):
    for args in (["init-db"], ["load-regions"]):
        assert xfjy(*args).exit_code == 0
    out = tmp_path / "report.xlsx"
    result = xfjy("report", "--area", "150100", "--as-of", "2026-06-30", "--from", "2026-01-01", "--out", out,
                  "--by", "张三")
    assert result.exit_code == 0, result.output
    assert "已生成统计报表" in result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["封面", "旗县市区"]  # no townships or villages in this database
    assert "张三" in [c.value for c in book["封面"]["B"]]
    bad = {
        ("--area", "999999", "--as-of", "2026-06-30"): "找不到区划代码 999999",
        ("--area", "150100", "--as-of", "2026-06-30", "--from", "2026-07-01"): "起始日期 2026-07-01 晚于统计截止日期 2026-06-30",
        ("--area", "150100", "--as-of", "2026/06/30"): "统计截止日期「2026/06/30」不是有效日期",
        ("--area", "150100", "--as-of", "2026-02-30"): "统计截止日期「2026-02-30」不是有效日期",
        ("--area", "150100", "--as-of", "2026-06-30", "--from", "明天"): "起始日期「明天」不是有效日期",
    }
    for args, message in bad.items():
        result = xfjy("report", *args, "--out", tmp_path / "bad.xlsx")
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and message in errors[0], (args, result.stderr)
    assert not (tmp_path / "bad.xlsx").exists()


# -- the admin's 报表 -------------------------------------------------------------------------------------

def test_admin_downloads_the_report_within_the_users_area(app, scene):
    left = scene["chains"][0]
    client = app.test_client()
    login(client, left.users[Role.COUNTY])
    page = client.get("/admin/reports/").get_data(as_text=True)
    assert "土默特左旗" in page and "托克托县" not in page and "呼和浩特市（" not in page
    response = client.get("/admin/reports/download?area=150121&start=2024-01-01&as_of=2024-12-31")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["封面", "乡镇", "村社"]
    cover = "\n".join(str(c.value) for c in book["封面"]["B"] if c.value)
    assert left.users[Role.COUNTY].username in cover and "2024-01-01 至 2024-12-31" in cover
    report = build_report("150121", AS_OF, dt.date(2024, 1, 1))
    expected_cells = cells(workbook_bytes(report, by=f"{left.users[Role.COUNTY]}（{left.users[Role.COUNTY].username}）"))
    got = cells(response.data)
    expected_cells.pop(("封面", GENERATED_AT)), got.pop(("封面", GENERATED_AT))
    assert got == expected_cells
    for args in ("area=150100&as_of=2024-12-31", "area=150122&as_of=2024-12-31", "area=150121&as_of=2024-13-01",
                 "area=150121&as_of=2024-12-31&start=2025-01-01"):
        refused = client.get(f"/admin/reports/download?{args}", follow_redirects=True)
        assert refused.mimetype == "text/html", args
        assert "不在您的管辖范围内" in refused.get_data(as_text=True) or "日期" in refused.get_data(as_text=True), args


def test_village_users_have_no_report_screen(app, scene):
    client = app.test_client()
    login(client, scene["chains"][0].users[Role.VILLAGE])
    assert client.get("/admin/reports/").status_code == 403
    assert client.get("/admin/reports/download?area=150121&as_of=2024-12-31").status_code == 403


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_project_grid_export_has_raised_spent_and_unused(app, scene, kind):
    a, _, c = scene["projects"]
    client = app.test_client()
    login(client, scene["chains"][0].users[Role.COUNTY])
    response = client.get(f"/admin/project/export/{kind}/")
    assert response.status_code == 200
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    else:
        rows = [[cell for cell in row] for row in openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
                .iter_rows(values_only=True)]
    header, body = rows[0], rows[1:]
    assert header[-3:] == ["已筹", "已支出", "结余"]
    by_code = {row[header.index("项目编号") if "项目编号" in header else 0]: row for row in body}
    assert set(by_code) == {a.code, c.code}  # 托克托县's project is outside the county
    for project in (a, c):
        figures = project_totals(project)
        assert by_code[project.code][-3:] == [fen_to_text(figures.raised), fen_to_text(figures.spent),
                                              fen_to_text(figures.unused)]


def test_a_village_has_no_report(scene):
    village = scene["chains"][0].village
    with pytest.raises(XfjyError, match="是村社，没有下级区划可以统计"):
        build_report(village.area.code, AS_OF)
    with pytest.raises(XfjyError, match="找不到区划代码 123"):
        build_report("123", AS_OF)
    with pytest.raises(XfjyError, match="晚于统计截止日期"):
        build_report(HOHHOT, AS_OF, AS_OF + dt.timedelta(days=1))
