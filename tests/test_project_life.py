"""One project's whole life through the admin's own HTTP endpoints, a year of it under ``db.clock.travel``:
declared, reviewed at four levels, gifts imported (one early), the target reached, the money passed down
four hops, a late gift, spending with a receipt, disclosures (one late, one window missed), acceptance
with money left (settled to the 互助基金 at closing), a gift after closing, and spending from the fund
approved by the 监管会. The ledger sums to zero over all accounts after every step. Then the public site
is built, audited from its own files, and the village page is opened in Chromium at 390 px.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re

from playwright.sync_api import sync_playwright

from db import disbursement, integrity, ledger, settlement
from db.clock import travel
from db.models import Account, Donation, Entry, FundSpending, Project, Role
from db.money import format_fen

from .admin_support import Desk, errors, messages, successes
from .browser_support import LiveServer, launch, screenshot
from .factories import PDF, Chain, csv_bytes

T = dt.datetime


def balanced() -> None:
    """Money is conserved and nothing internal is overdrawn (db.integrity.integrity_problems)."""
    total = sum(ledger.balances([a for (a,) in Account.select(Account.id).tuples()]).values())
    assert total == 0
    assert integrity.integrity_problems() == []


def import_gifts(desk: Desk, who, rows, name: str) -> str:
    client, token = desk.client(who)
    preview = client.post("/admin/imports/preview", data={"kind": "donations", "csrf_token": token,
                                                          "file": (io.BytesIO(csv_bytes(rows)), name)},
                          content_type="multipart/form-data").get_data(as_text=True)
    assert 'id="problems"' not in preview, preview[:2000]
    form = dict(re.findall(r'name="(kind|sha256|name)" value="([^"]*)"', preview))
    response = client.post("/admin/imports/confirm", data={**form, "csrf_token": token})
    assert response.status_code == 302
    client.get(response.headers["Location"])
    return preview


def test_a_project_from_declaration_to_fund_spending(app, db, tmp_path):
    chain = Chain()
    desk = Desk(app, chain)
    village, county = chain.users[Role.VILLAGE], chain.users[Role.COUNTY]

    with travel(T(2025, 12, 20, 9)):
        page = desk.post(village, "/admin/project/new/", {
            "village": str(chain.village.id), "name": "村道路灯安装", "reporting_unit": "", "reported_on": "2025-12-20",
            "address": "", "leader_name": "王建国", "leader_phone": "", "target": "30,000.00",
            "starts_on": "2026-01-05", "ends_on": "2026-08-31", "background": "常住 320 户。",
            "summary": "为村内主干道安装太阳能路灯 60 盏。", "democratic_decision": "经村民代表大会表决通过。",
            "donation_url": "https://gongyi.example.cn/project/12345"})
        project = Project.get(Project.village == chain.village)
        assert project.target == 3_000_000 and project.donation_url.startswith("https://"), messages(page)
    step = f"/admin/workflow/project/{project.id}/step"
    for day, role, action in ((21, Role.VILLAGE, "submit"), (22, Role.TOWNSHIP, "approve"), (24, Role.COUNTY, "approve"),
                              (26, Role.PREFECTURE, "approve"), (30, Role.REGION, "approve")):
        with travel(T(2025, 12, day, 10)):
            page = desk.post(role, step, {"action": action, "opinion": "同意"})
            assert successes(page) == ["已办理"], messages(page)
    assert Project.get_by_id(project.id).state == "fundraising"
    balanced()

    with travel(T(2026, 3, 1, 9)):
        rows = [["GY-E1", project.code, "张三", "100.00", "2026-01-03 08:00:00", "是", "提前捐赠"]]
        rows += [[f"GY-{n}", project.code, "李四", "2,995.00", f"2026-02-{n:02d} 12:{n:02d}:00", "否", ""]
                 for n in range(1, 11)]
        preview = import_gifts(desk, county, rows, "平台导出.csv")
        assert 'id="warnings"' in preview and "早于募集开始日期 2026-01-05" in preview
    assert Donation.get(Donation.txn_no == "GY-E1").timing == "early"
    balanced()
    with travel(T(2026, 3, 2, 10)):
        assert successes(desk.post(county, step, {"action": "reach_target", "opinion": "已达成"})) == ["已办理"]
    with travel(T(2026, 3, 5, 10)):
        assert successes(desk.post(village, step, {"action": "apply_use", "opinion": "申请使用"})) == ["已办理"]
    disburse = f"/admin/workflow/project/{project.id}/disburse"
    for day, role in ((10, Role.REGION), (11, Role.REGION), (15, Role.PREFECTURE), (20, Role.COUNTY)):
        with travel(T(2026, 3, day, 10)):
            hop = disbursement.next_hop(Project.get_by_id(project.id), chain.users[role])
            assert hop.amount == 3_000_000  # the target; the 50 元 above it stays as surplus
            page = desk.post(role, disburse, {"expected": str(hop.amount)})
            assert successes(page) == ["已拨付并记账"], messages(page)
            balanced()
    assert Project.get_by_id(project.id).state == "implementing"

    with travel(T(2026, 4, 1, 9)):
        import_gifts(desk, county, [["GY-L1", project.code, "王五", "500.00", "2026-03-28 20:15:00", "否", ""]], "补.csv")
    assert Donation.get(Donation.txn_no == "GY-L1").timing == "late"
    balanced()
    spend = f"/admin/workflow/project/{project.id}/expenditure"
    for day, item, amount in ((5, "太阳能路灯 60 盏", "20,000.00"), (20, "安装人工", "5,000.00")):
        with travel(T(2026, 5, day, 15)):
            page = desk.post(village, spend, {
                "spent_on": f"2026-05-{day:02d}", "item": item, "payee": "土左旗光明照明工程有限公司", "amount": amount,
                "voucher_no": f"PZ2026-{day:04d}", "approved_by": "李秀英", "receipts": [(io.BytesIO(PDF), "收据.pdf")]},
                content_type="multipart/form-data")
            assert successes(page) == ["支出已登记并记账"], messages(page)
            balanced()
    disclose = f"/admin/workflow/project/{project.id}/disclosure"
    for day, title in ((T(2026, 6, 5, 9), "募捐情况全面公开"), (T(2026, 6, 10, 9), "项目实施公示（第 1 期）")):
        with travel(day):
            page = desk.post(village, disclose, {"title": title, "body": "明细见本页。"}, content_type="multipart/form-data")
            assert successes(page) == ["公示已发布"], messages(page)

    with travel(T(2026, 10, 10, 9)):
        assert successes(desk.post(village, step, {"action": "request_acceptance", "opinion": "已完工"})) == ["已办理"]
    with travel(T(2026, 10, 15, 9)):
        page = desk.post(county, step, {"action": "approve", "opinion": "验收合格"})
        # 5,000 元 unspent in the village's account; 50 元 above the target and the late 500 元 at 中华慈善总会
        assert successes(page) == [f"已结项，结余 {format_fen(555_000)} 已转入村社互助基金"], messages(page)
    closed = Project.get_by_id(project.id)
    assert closed.state == "closed" and settlement.unused(closed) == 0
    assert ledger.balance(ledger.fund_account(chain.village)) == 555_000
    balanced()
    with travel(T(2026, 11, 2, 9)):
        import_gifts(desk, county, [["GY-A1", project.code, "赵六", "200.00", "2026-11-01 18:00:00", "否", ""]], "晚.csv")
    assert Donation.get(Donation.txn_no == "GY-A1").timing == "to_fund"
    assert ledger.balance(ledger.fund_account(chain.village)) == 575_000
    balanced()

    fund_form = f"/admin/workflow/village/{chain.village.id}/fund-spending"
    with travel(T(2026, 11, 10, 9)):
        page = desk.post(village, fund_form, {"spent_on": "2026-11-10", "item": "独居老人冬季取暖补助",
                                              "payee": "困难户张某", "amount": "3,000.00", "voucher_no": "JJ2026-01",
                                              "approved_by": "李秀英", "approved_on": "2026-11-08"},
                         content_type="multipart/form-data")
        assert errors(page) and "过半数" in errors(page)[0]
        page = desk.post(village, fund_form, {"spent_on": "2026-11-10", "item": "独居老人冬季取暖补助",
                                              "payee": "困难户张某", "amount": "3,000.00", "voucher_no": "JJ2026-01",
                                              "approved_by": "李秀英、张海军", "approved_on": "2026-11-08",
                                              "receipts": [(io.BytesIO(PDF), "取暖补助收据.pdf")]},
                         content_type="multipart/form-data")
        assert successes(page) == ["互助基金支出已登记并记账"], messages(page)
        assert f'id="fund-balance">{format_fen(275_000)}<' in page  # the fund's balance after it
    assert FundSpending.get().attachments.count() == 1
    balanced()

    with travel(T(2026, 12, 1, 20)):
        site = publish_and_audit(tmp_path)
    code = chain.village.area.code
    summary = json.loads((site / "data" / "village" / code / "summary.json").read_text(encoding="utf-8"))
    (p,) = summary["projects"]
    assert (p["raised_yuan"], p["to_fund_yuan"], p["unused_yuan"], summary["fund_balance_yuan"]) == (
        "30750.00", "5750.00", "0.00", "2750.00")
    assert [(w["due"], w["status"], w["days_late"]) for w in p["disclosures"]] == [
        ("2026-06-02", "late", 3), ("2026-06-19", "on_time", 0), ("2026-09-19", "missing", 0),
        ("2027-01-15", "due", 0)]
    look_at_the_page(site, code, db)
    assert Entry.select().where(Entry.kind == "to_fund").count() == 3


def publish_and_audit(tmp_path):
    from site_builder.audit import audit_site
    from site_builder.build import build

    site = tmp_path / "site"
    build(site, base_url="http://127.0.0.1/", attachments=tmp_path / "attachments")
    assert audit_site(site) == []
    return site


def look_at_the_page(site, code: str, db) -> None:
    """The village page tells the late disclosure, the missed window and what happened to the leftover."""
    from site_builder.serve import site_app

    backend = "postgres" if "Postgres" in type(db).__name__ else "sqlite"
    server = LiveServer(site_app(site))
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                for width in (390, 1366):
                    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                                                  is_mobile=width < 600, has_touch=width < 600)
                    page = context.new_page()
                    page.goto(f"{server.url}/village/{code}/")
                    text = page.locator("article.md-content__inner").inner_text()
                    assert "2026-06-05 公示，逾期 3 天" in text
                    assert "应于 2026-09-19 前公示，至今未公示" in text
                    assert "已有 5,750.00 元 转入本村社互助基金，按基金规定运作。项目已结项，项目账户已无结余。" in text
                    assert "项目结项后到账，转入村社互助基金" in text and "互助基金余额 2,750.00 元" in text
                    assert "李秀英、张海军" in text and "去捐赠" not in text  # closed: no call to give
                    assert "委员 李秀英" in text and "13800000000" not in text  # the 监管会, never a phone
                    assert "2026-01-03 起" in text  # fundraising really began with the early gift
                    assert "2026-02-10 12:10" in text  # each gift's time of day
                    screenshot(page, backend, f"life-village-{width}", prefix="site")
                    context.close()
            finally:
                browser.close()
    finally:
        server.stop()
