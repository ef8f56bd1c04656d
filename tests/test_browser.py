"""The admin in a real browser: Debian's Chromium driven by Playwright, against waitress on a free port.

Each backend (a SQLite temp file, a fresh PostgreSQL schema) gets its own database with the real regions
and the demo (40 villages, 800 donations, seed 3), served for the module's tests; every test signs in as
``demo-county`` in a fresh browser context. Screenshots of each step go to ``test-artifacts/``.
With this seed ``demo-county`` is 回民区 (土默特左旗 gets no village among 40), so the 募捐中 and
待旗县市区审核 projects the tests act on are made in 回民区 with the domain API when the demo has none there.
These tests do not use the ``db`` fixture: the server's threads must see committed data.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from contextlib import ExitStack
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from db.clock import now
from db.demo import DEMO_PASSWORD
from db.models import (
    Batch,
    Donation,
    Entry,
    ImportRun,
    Milestone,
    MilestoneReview,
    Project,
    ProjectReview,
    SampleDraw,
    SampleItem,
    User,
    Village,
    Volunteer,
)
from db.totals import project_raised

from .backends import BACKENDS, pg_schema
from .browser_support import NAVIGATION_TIMEOUT_MS, TIMEOUT_MS, connected, login, running_site, screenshot

# Every test waits browser_support.TIMEOUT_MS in expect() (conftest).
pytestmark = pytest.mark.usefixtures("expect_timeout")


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    backend = request.param
    root = tmp_path_factory.mktemp(f"browser-{backend}")
    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{root / 'xfjy.sqlite3'}"
        else:
            url = stack.enter_context(pg_schema(f"xfjy_browser_{os.getpid()}_{uuid.uuid4().hex[:8]}"))
        yield stack.enter_context(running_site(backend, url, root))


@pytest.fixture
def page(browser, site):
    """A fresh browser context (no cookies); uncaught JavaScript errors and CSP refusals fail the test."""
    with _sized_tab(browser, 1400, height=900) as tab:
        yield tab


def test_sign_in_sends_back_to_the_page_asked_for(page, site):
    page.goto(f"{site.url}/admin/project/")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/project/"))  # signed out: sent to /login
    screenshot(page, site.backend, "01-login")
    page.fill("#username", "demo-county")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".alert-danger")).to_contain_text("用户名或密码错误")
    page.fill("#username", "demo-county")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/project/\??$"))
    expect(page.locator("table.model-list")).to_be_visible()
    page.goto(f"{site.url}/admin/")
    expect(page.locator("h1")).to_contain_text("工作台")
    expect(page.locator("body")).to_contain_text(f"管辖范围：{site.county}")
    screenshot(page, site.backend, "02-dashboard")


def _edit_in_grid(page, site, grid: str, column: str, pk: int, value: str, step: str) -> None:
    """Flask-Admin's x-editable: click the cell's link, type into the popup, submit, see the cell change."""
    page.goto(f"{site.url}/admin/{grid}/")
    expect(page.locator("table.model-list")).to_be_visible()
    screenshot(page, site.backend, f"{step}-list")
    cell = page.locator(f'table.model-list a[data-role^="x-editable"][name="{column}"][data-pk="{pk}"]')
    expect(cell).to_be_visible()
    cell.click()
    editor = page.locator(".editable-input input")
    expect(editor).to_be_visible()
    editor.fill(value)
    screenshot(page, site.backend, f"{step}-editing")
    with page.expect_response(lambda r: "/ajax/update/" in r.url and r.request.method == "POST") as answer:
        page.click(".editable-submit")
    assert answer.value.status == 200, answer.value.text()
    expect(cell).to_have_text(value)
    expect(page.locator(".editable-input")).to_have_count(0)
    screenshot(page, site.backend, f"{step}-saved")


def test_inline_edit_of_a_volunteer_skill_is_saved(page, site):
    login(page, site)
    skills = f"助学、义诊（{site.backend}）"
    _edit_in_grid(page, site, "volunteer", "skills", site.volunteer_id, skills, "03-volunteer")
    with connected():
        assert Volunteer.get_by_id(site.volunteer_id).skills == skills


def test_inline_edit_of_a_village_address_is_saved(page, site):
    login(page, site)
    address = f"回民区浏览器测试路 88 号（{site.backend}）"
    _edit_in_grid(page, site, "village", "address", site.village_id, address, "04-village")
    with connected():
        assert Village.get_by_id(site.village_id).address == address


def _donation_csv(code: str, prefix: str) -> bytes:
    when = (now() - dt.timedelta(days=1)).replace(hour=10, minute=30, second=0)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["交易号", "项目编号", "捐赠人", "金额", "捐赠时间", "公开姓名", "留言"])
    writer.writerow([f"{prefix}-001", code, "张三", "100.00", f"{when:%Y-%m-%d %H:%M:%S}", "是", "加油"])
    writer.writerow([f"{prefix}-002", code, "李四", "1,234.56", f"{when:%Y-%m-%d %H:%M}", "否", ""])
    writer.writerow([f"{prefix}-003", code, "", "8.88", f"{when:%Y/%m/%d}", "部分", "一点心意"])
    return buf.getvalue().encode("utf-8")


def test_import_of_donations_through_the_preview(page, site):
    prefix = f"BROWSER-{site.backend.upper()}"
    with connected():
        raised_before = project_raised(Project.get_by_id(site.fundraising_id))
    login(page, site)
    page.get_by_role("link", name="导入", exact=True).click()
    expect(page).to_have_url(f"{site.url}/admin/imports/")
    form = page.locator("#import-donations")
    form.locator("input[type=file]").set_input_files(
        {"name": "捐赠明细.csv", "mimeType": "text/csv", "buffer": _donation_csv(site.fundraising_code, prefix)})
    screenshot(page, site.backend, "05-import-form")
    form.get_by_role("button", name="预览").click()
    page.wait_for_url("**/admin/imports/preview")
    expect(page.locator("#summary")).to_contain_text("新增 3 行")
    rows = page.locator("#preview-rows tr")
    expect(rows).to_have_count(4)  # header + 3
    expect(rows.nth(2)).to_contain_text("1,234.56")
    screenshot(page, site.backend, "06-import-preview")
    with connected():
        assert Donation.select().where(Donation.txn_no.startswith(prefix)).count() == 0  # the preview writes nothing
    page.click("#confirm", timeout=30_000)  # the import's write and its tally checkpoint, on a loaded CI machine
    page.wait_for_url("**/admin/donation/")
    expect(page.locator(".alert-success")).to_contain_text("成功导入 3 条捐赠")
    screenshot(page, site.backend, "07-import-done")
    with connected():
        donations = list(Donation.select().where(Donation.txn_no.startswith(prefix)).order_by(Donation.txn_no))
        assert [(d.project_id, d.amount, d.donor_name, d.name_consent) for d in donations] == [
            (site.fundraising_id, 10000, "张三", "full"), (site.fundraising_id, 123456, "李四", "none"),
            (site.fundraising_id, 888, "", "masked")]
        run = ImportRun.get_by_id(donations[0].import_run_id)
        assert (run.added, run.skipped, run.user.username) == (3, 0, "demo-county")
        assert Entry.select().where(Entry.donation.in_([d.id for d in donations])).count() == 3
        assert project_raised(Project.get_by_id(site.fundraising_id)) == raised_before + 10000 + 123456 + 888


def test_county_approval_on_the_project_page_then_the_print_form(page, site):
    opinion = f"经审核，同意上报（浏览器测试 {site.backend}）"
    login(page, site)
    page.goto(f"{site.url}/admin/workflow/project/{site.reviewing_id}")
    expect(page.locator("#state")).to_have_text("待旗县市区审核")
    screenshot(page, site.backend, "08-project-county-review")
    page.fill("#opinion", opinion)
    page.get_by_role("button", name="旗县市区慈善总会审核通过").click()
    expect(page.locator(".alert-success")).to_contain_text("已办理")
    expect(page.locator("#state")).to_have_text("待盟市备案")
    expect(page.locator("#reviews")).to_contain_text(opinion)
    screenshot(page, site.backend, "09-project-approved")
    with connected():
        project = Project.get_by_id(site.reviewing_id)
        assert project.state == "prefecture_filing"
        step = project.reviews.order_by(ProjectReview.id.desc()).first()
        county_user = User.get(User.username == "demo-county")
        assert (step.action, step.from_state, step.user_id, step.opinion) == (
            "approve", "county_review", county_user.id, opinion)

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="打印申报表（附件2）").click()
    sheet = opened.value
    sheet.wait_for_load_state()
    assert sheet.url == f"{site.url}/admin/workflow/project/{site.reviewing_id}/print"
    expect(sheet.locator("h2")).to_have_text("村社慈善公益项目申报表")
    expect(sheet.locator("body")).to_contain_text(project.name)
    county_block = sheet.locator("tr", has=sheet.locator("th", has_text="旗县市区慈善总会审核意见"))
    expect(county_block).to_contain_text(opinion)
    expect(county_block).to_contain_text(county_user.unit)
    screenshot(sheet, site.backend, "10-print-form")


# -- a phone (390 px) and a laptop (1366 px): issue 14, items 9 and 10 ------------------------------------------

PHONE, LAPTOP = 390, 1366
AXE = Path(os.environ.get("XFJY_AXE") or Path(__file__).resolve().parents[1] / ".venv/axe/node_modules/axe-core/axe.min.js")


def _layout_pages(site) -> dict[str, str]:
    """The pages each width is checked on (the sign-in page is seen signed out, the others signed in)."""
    return {"login": "/login", "dashboard": "/admin/", "donations": "/admin/donation/",
            "project": f"/admin/workflow/project/{site.reviewing_id}"}


@contextlib.contextmanager
def _sized_tab(browser, width: int, bypass_csp: bool = False, height: int = 800):
    """A fresh context ``width`` px wide; uncaught JavaScript errors (and, unless bypassed, CSP refusals) fail."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=bypass_csp)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    errors: list[str] = []
    try:
        tab = context.new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        yield tab
    finally:
        context.close()
    assert errors == [], errors


def _each_page(tab, site):
    """Open each page of ``_layout_pages`` in turn (signing in after the sign-in page) and yield its name."""
    for name, path in _layout_pages(site).items():
        if name == "dashboard":
            login(tab, site)  # lands on the dashboard
        else:
            tab.goto(f"{site.url}{path}")
        tab.wait_for_load_state()
        yield name


# The measures, in the page: how wide the document is, cells with less than 4 px of padding at a side, and short
# words (同意, 提交, 盟市 …: 2 to 6 characters without a space) that break over more than one line.
MEASURE = r"""() => {
  const cells = [...document.querySelectorAll('td, th')].filter(c => c.getClientRects().length);
  const unpadded = cells.filter(c => { const s = getComputedStyle(c);
    return parseFloat(s.paddingLeft) < 4 || parseFloat(s.paddingRight) < 4; }).map(c => c.outerHTML.slice(0, 120));
  const lines = c => {  // the lines the cell's text is set on: boxes of text that do not overlap in height
    const boxes = [], walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      const range = document.createRange(); range.selectNodeContents(node);
      boxes.push(...[...range.getClientRects()].filter(r => r.width > 0));
    }
    boxes.sort((a, b) => a.top - b.top);
    let count = 0, bottom = -Infinity;
    for (const r of boxes) { if (r.top >= bottom - 1) { count++; bottom = r.bottom; } else bottom = Math.max(bottom, r.bottom); }
    return count;
  };
  const broken = cells.filter(c => { const text = c.textContent.trim();
    return text.length >= 2 && text.length <= 6 && !/\s/.test(text) && lines(c) > 1; }).map(c => c.textContent.trim());
  return {width: document.documentElement.scrollWidth, unpadded, broken};
}"""


def test_a_county_user_downloads_a_report_and_an_audit_pack(page, site, tmp_path):
    """报表 → an XLSX of the county as of today; the project page's 下载审计包 → a zip whose own verify.py
    passes when run on the extracted pack."""
    login(page, site)
    page.goto(f"{site.url}/admin/reports/")
    expect(page.locator("h1")).to_contain_text("统计报表")
    screenshot(page, site.backend, "11-reports")
    with page.expect_download() as report:
        page.get_by_role("button", name="下载报表（XLSX）").click()
    saved = tmp_path / report.value.suggested_filename
    report.value.save_as(saved)
    book = load_workbook(saved)
    assert book.sheetnames[0] == "封面" and len(book.sheetnames) > 1
    assert any(site.county in str(cell.value) for row in book["封面"].iter_rows() for cell in row if cell.value)

    page.goto(f"{site.url}/admin/workflow/project/{site.fundraising_id}")
    with page.expect_download() as pack:
        page.locator("#audit-pack").click()
    archive = tmp_path / pack.value.suggested_filename
    pack.value.save_as(archive)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path / "pack")
        folder = zipped.namelist()[0].split("/")[0]
    assert site.fundraising_code in folder
    checked = subprocess.run([sys.executable, str(tmp_path / "pack" / folder / "verify.py")], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_admin_pages_fit_the_screen_and_keep_words_whole(browser, site, width):
    """No page scrolls sideways (a grid scrolls inside its own box); every table cell has padding; 「同意」 is
    never 「同/意」; a screenshot of each page at each width goes to test-artifacts/."""
    with _sized_tab(browser, width) as tab:
        for name in _each_page(tab, site):
            found = tab.evaluate(MEASURE)
            screenshot(tab, site.backend, f"layout-{width}-{name}")
            assert found["width"] <= width, f"{name} 页面宽 {found['width']} px，超出屏幕 {width} px"
            assert found["unpadded"] == [], f"{name}: 单元格左右留白不足 4 px: {found['unpadded'][:5]}"
            assert found["broken"] == [], f"{name}: 短词被拆成多行: {found['broken'][:10]}"
            if name == "donations":  # the grid scrolls in a box a keyboard can reach, and names itself
                box = tab.locator("div.xfjy-scroll:has(table.model-list)")
                expect(box).to_have_attribute("tabindex", "0")
                expect(box).to_have_attribute("role", "region")
                expect(box).to_have_attribute("aria-label", re.compile("捐赠"))
                scrolls = box.evaluate("b => b.scrollWidth > b.clientWidth")
                assert scrolls == (width == PHONE), "a phone scrolls the grid inside its box; a laptop shows it whole"
        tab.goto(f"{site.url}/admin/")
        menu = tab.locator("#admin-navbar-collapse")
        if width == PHONE:  # the navbar is a 菜单 button (Bootstrap's collapse, under the CSP)
            expect(menu).to_be_hidden()
            tab.get_by_role("button", name="菜单").click()
            expect(menu.get_by_role("link", name="捐赠", exact=True)).to_be_visible()
            expect(menu.get_by_role("button", name="退出登录")).to_be_visible()
            expect(menu).to_have_class(re.compile(r"(^|\s)show(\s|$)"))  # opened all the way (no .collapsing)
            screenshot(tab, site.backend, f"layout-{width}-menu", full_page=False)
        else:  # one row: every item of the menu at the same height, the sign-out button too
            tops = {round(box["y"]) for box in (link.bounding_box() for link in menu.locator(".nav-link").all())}
            assert len(tops) == 1, f"菜单折成了 {len(tops)} 行"
            sign_out = menu.get_by_role("button", name="退出登录").bounding_box()
            assert sign_out["y"] < min(tops) + 30


def _axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core 不在 {AXE}：请运行 make test（它用 npm 把 axe-core 装到 .venv/axe），"
                    "或用 XFJY_AXE 指向 axe.min.js", pytrace=False)
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_axe_core_finds_no_violations_on_the_admin(browser, site, width):
    """axe-core (every rule it runs by default, any impact) on the sign-in page, the dashboard, the donation grid
    and a project page. The context bypasses the CSP only so that axe's own script can be put in the page."""
    source = _axe_source()
    found = {}
    with _sized_tab(browser, width, bypass_csp=True) as tab:
        for name in _each_page(tab, site):
            tab.add_script_tag(content=source)
            violations = tab.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
                .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))""")
            if violations:
                found[name] = violations
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


# -- 工程进度 and 抽查验收 (issue 16) -----------------------------------------------------------------

def _sign_in_as(tab, site, username: str) -> None:
    tab.goto(f"{site.url}/login")
    tab.fill("#username", username)
    tab.fill("#password", DEMO_PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{site.url}/admin/")


def test_a_unit_uploads_its_plan_and_the_region_approves_it(browser, site):
    """demo-prefecture (呼和浩特市) records 稳步推广's 实施方案 with a Word file and reports it; demo-region
    returns it with an opinion, then agrees; the board then says 已完成."""
    plan = f"{site.url}/admin/programme/rollout/150100/1"
    with _sized_tab(browser, LAPTOP, height=900) as tab:
        _sign_in_as(tab, site, "demo-prefecture")
        expect(tab.locator("#milestones")).to_be_visible()  # the dashboard's table
        tab.goto(plan)
        tab.fill("#done-on", "2024-02-20")
        tab.fill("#summary", "稳步推广阶段实施方案：新增实施村社 40 个。")
        tab.set_input_files("#documents-input", files=[{"name": "呼和浩特市稳步推广实施方案.docx", "buffer": _docx(),
                                                        "mimeType": "application/vnd.openxmlformats-officedocument."
                                                                    "wordprocessingml.document"}])
        tab.check("#public")
        tab.click("#record-form button")
        expect(tab.locator(".alert-success")).to_contain_text("已保存")
        expect(tab.locator("#documents")).to_contain_text("呼和浩特市稳步推广实施方案.docx")
        screenshot(tab, site.backend, "programme-01-recorded")
        tab.get_by_role("button", name="报自治区审核").click()
        expect(tab.locator("#state")).to_have_text("待自治区审核")
        screenshot(tab, site.backend, "programme-02-submitted")
    with _sized_tab(browser, LAPTOP, height=900) as tab:
        _sign_in_as(tab, site, "demo-region")
        tab.goto(plan)
        tab.get_by_role("button", name="退回修改").click()
        expect(tab.locator(".alert-danger")).to_contain_text("退回时必须填写意见")
        tab.fill("#opinion", "请补充各旗县区实施村社名单")
        tab.get_by_role("button", name="退回修改").click()
        expect(tab.locator("#state")).to_have_text("已退回修改")
    with _sized_tab(browser, LAPTOP, height=900) as tab:
        _sign_in_as(tab, site, "demo-prefecture")
        tab.goto(plan)
        expect(tab.locator("#reviews")).to_contain_text("请补充各旗县区实施村社名单")
        tab.get_by_role("button", name="报自治区审核").click()
        expect(tab.locator("#state")).to_have_text("待自治区审核")
    with _sized_tab(browser, LAPTOP, height=900) as tab:
        _sign_in_as(tab, site, "demo-region")
        tab.goto(plan)
        tab.fill("#opinion", "同意")
        tab.get_by_role("button", name="同意").click()
        expect(tab.locator("#status")).to_have_text("已完成")
        screenshot(tab, site.backend, "programme-03-approved")
        tab.goto(f"{site.url}/admin/programme/?batch=rollout")
        cell = tab.locator("#milestone-board tr:has(th:text-is('呼和浩特市')) td").first
        expect(cell).to_have_attribute("data-status", "done")
        screenshot(tab, site.backend, "programme-04-board")
    with connected():
        unit = User.get(User.username == "demo-prefecture").area_id
        step = Milestone.get((Milestone.step == 1) & (Milestone.area == unit)
                             & (Milestone.batch == Batch.get(Batch.code == "rollout")))
        assert [r.action for r in MilestoneReview.select().where(MilestoneReview.milestone == step)
                .order_by(MilestoneReview.id)] == ["submit", "reject", "submit", "approve"]


def test_the_region_draws_a_sample_and_records_an_evaluation_from_the_checklist(browser, site):
    """demo-region draws a fifth of the region's projects in 验收 with a seed it types, sees the checklist and
    its replay check, and records one 验收评估 from it; the coverage counts it."""
    with _sized_tab(browser, LAPTOP, height=900) as tab:
        _sign_in_as(tab, site, "demo-region")
        tab.goto(f"{site.url}/admin/sampling/")
        tab.fill("#draw-share", "20")
        tab.fill("#draw-seed", "browser-2026")
        tab.fill("#draw-note", "浏览器测试抽查")
        screenshot(tab, site.backend, "sampling-01-form")
        tab.click("#draw-form button")
        expect(tab.locator(".alert-success")).to_contain_text("个，清单如下")
        expect(tab.locator("#seed")).to_have_text("browser-2026")
        expect(tab.locator("#replay")).to_contain_text("结果一致")
        screenshot(tab, site.backend, "sampling-02-checklist")
        first = tab.locator("details.xfjy-section").first
        first.locator("summary").click()
        first.locator("select[name=result]").select_option("good")
        first.locator("input[name=score]").fill("87")
        first.locator("input[name=notes]").fill("资料齐全，公示及时")
        first.get_by_role("button", name="登记验收评估并勾销").click()
        expect(tab.locator(".alert-success")).to_contain_text("验收评估已登记")
        expect(tab.locator("#checklist")).to_contain_text("良好，87 分")
        screenshot(tab, site.backend, "sampling-03-evaluated")
    with connected():
        draw = SampleDraw.get(SampleDraw.seed == "browser-2026")
        done = SampleItem.select().where((SampleItem.draw == draw) & SampleItem.evaluation.is_null(False))
        assert done.count() == 1 and done.get().evaluation.score == 87


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _first_draw() -> int:
    with connected():
        return SampleDraw.select(SampleDraw.id).order_by(SampleDraw.id).scalar()


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_the_programme_pages_fit_the_screen_and_pass_axe(browser, site, width):
    """The region's board, a step's page, the dashboard with its table, 抽查验收 and the demo's finished draw: no
    sideways scrolling, no axe-core violations (screenshots in test-artifacts/)."""
    source = _axe_source()
    pages = {"board": "/admin/programme/?batch=pilot", "step": "/admin/programme/pilot/150100/2",
             "launch": "/admin/programme/pilot/150100/3", "dashboard": "/admin/", "sampling": "/admin/sampling/",
             "draw": f"/admin/sampling/{_first_draw()}"}
    found = {}
    with _sized_tab(browser, width, bypass_csp=True) as tab:
        _sign_in_as(tab, site, "demo-region")
        for name, path in pages.items():
            tab.goto(f"{site.url}{path}")
            tab.wait_for_load_state()
            measured = tab.evaluate(MEASURE)
            screenshot(tab, site.backend, f"programme-{width}-{name}")
            assert measured["width"] <= width, f"{name} 页面宽 {measured['width']} px，超出屏幕 {width} px"
            tab.add_script_tag(content=source)
            violations = tab.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
                .violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))""")
            if violations:
                found[name] = violations
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
