"""The public site in a real browser, on a phone: Debian's Chromium driven by Playwright at 390×844.

Each backend (a SQLite temp file, a fresh PostgreSQL schema) gets its own database with the real regions
and the demo (30 villages, 600 donations, seed 5); ``site_builder.build`` turns it into the static site,
which ``site_builder.serve.site_app`` (WhiteNoise) serves on waitress for the module's tests. Every test
opens a fresh phone-sized browser context (``is_mobile``, touch, zh-CN) and fails on any uncaught
JavaScript error. Screenshots go to ``test-artifacts/site-<backend>-*.png``.
These tests do not use the ``db`` fixture: the database is only needed to build the site, and is closed
(and the global proxy bound back to what it was) before the browser starts.
"""
from __future__ import annotations

import os
import re
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .backends import BACKENDS, pg_schema
from .browser_support import NAVIGATION_TIMEOUT_MS, TIMEOUT_MS, LiveServer, axe_violations, cramped_cells, screenshot

# Every test waits browser_support.TIMEOUT_MS in expect() (conftest).
pytestmark = pytest.mark.usefixtures("expect_timeout")

PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
OVERFLOW_SLACK_PX = 4  # sub-pixel rounding; anything wider scrolls the whole page sideways
SEARCH_TIMEOUT_MS = 15_000  # Material's search worker fetches and indexes search/search_index.json first


@dataclass
class PublicSite:
    """The served site and the village the tests look for (read from the database before it was closed)."""

    backend: str
    url: str  # http://127.0.0.1:<port>, no trailing slash
    village_code: str
    village_name: str
    county_code: str
    county_name: str
    prefecture_code: str
    prefecture_name: str
    gift_txn: str  # a donation to the village's project: what its donor would type into 捐赠查询
    gift_amount: int
    gift_day: str
    project_name: str

    @property
    def village_path(self) -> str:
        return f"/village/{self.village_code}/"


def _target_village() -> dict:
    """The first village with a fund and a project in 募捐中, under a 盟市 that has a 旗县市区 level."""
    from db.models import Area, Donation, Project, Village

    village = (Village.select().join(Area).switch(Village).join(Project)
               .where(Village.fund_established_on.is_null(False) & (Project.state == "fundraising")
                      & (Area.prefecture != Area.county))
               .order_by(Village.id).first())
    assert village is not None, "the demo (30 villages, seed 5) has no village with a fund and a project in 募捐中"
    area = village.area
    project = village.projects.where(Project.state == "fundraising").order_by(Project.id).first()
    gift = project.donations.order_by(Donation.id).first()
    assert gift is not None, "the village's project has no donation"
    return dict(gift_txn=gift.txn_no, gift_amount=gift.amount, gift_day=f"{gift.donated_at:%Y-%m-%d}",
                project_name=project.name, village_code=area.code, village_name=area.name, county_code=area.county.code,
                county_name=area.county.name, prefecture_code=area.prefecture.code,
                prefecture_name=area.prefecture.name)


def _build(url: str, root: Path) -> dict:
    """A new database at ``url`` with the regions and the demo, built into ``root/site``; the proxy is restored."""
    from db.database import database, open_database

    previous = database.obj
    db = open_database(url)
    try:
        database.connect()
        from db import areas, demo, schema
        from site_builder.build import build

        schema.upgrade()
        areas.load_regions()
        demo.generate(30, 600, seed=5, attachments_root=root / "attachments")
        target = _target_village()
        result = build(root / "site", base_url="http://127.0.0.1/", attachments=root / "attachments")
        assert result.pages > 0
        assert (root / "site" / "village" / target["village_code"] / "index.html").is_file()
        return target
    finally:
        if not db.is_closed():
            db.close()
        database.initialize(previous)


@pytest.fixture(scope="module", params=BACKENDS)
def public_site(request, tmp_path_factory):
    backend = request.param
    root = tmp_path_factory.mktemp(f"site-{backend}")
    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{root / 'xfjy.sqlite3'}"
        else:
            url = stack.enter_context(pg_schema(f"xfjy_site_{os.getpid()}_{uuid.uuid4().hex[:8]}"))
        target = _build(url, root)
        from site_builder.serve import site_app

        server = LiveServer(site_app(root / "site"))
        server.start()
        stack.callback(server.stop)
        yield PublicSite(backend=backend, url=server.url, **target)


@pytest.fixture
def context(browser):
    """A fresh phone-sized browser context; uncaught JavaScript errors on any of its pages fail the test."""
    ctx = browser.new_context(**PHONE)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    errors: list[str] = []
    ctx.on("page", lambda tab: tab.on("pageerror", lambda exc: errors.append(f"{tab.url}: {exc}")))
    try:
        yield ctx
    finally:
        ctx.close()
    assert errors == [], errors


@pytest.fixture
def page(context):
    return context.new_page()


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _widest(page, limit: int) -> list[str]:
    """What sticks out past ``limit`` px (for the failure message), outermost first.

    Not ``window.innerWidth``: on a mobile viewport Chromium widens the layout viewport to fit what overflows
    (and zooms the page out), so the element that overflows never looks wider than the window."""
    return page.evaluate("""limit => {
        const found = [];
        for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.width && box.right > limit + 1 && !found.some(f => f.el.contains(el)))
                found.push({el, text: `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string'
                    ? '.' + el.className.trim().split(/\\s+/).join('.') : ''} right=${Math.round(box.right)}`});
        }
        return found.slice(0, 8).map(f => f.text);
    }""", limit)


def _overflow(page, name: str) -> str | None:
    width, phone = _page_width(page), PHONE["viewport"]["width"]
    if width <= phone + OVERFLOW_SLACK_PX:
        return None
    return f"{name} ({page.url}) is {width}px wide on a {phone}px phone: {_widest(page, phone)}"


def test_walk_down_from_home_to_a_village(page, public_site):
    site = public_site
    page.goto(f"{site.url}/")
    expect(page.get_by_role("heading", name="全区汇总")).to_be_visible()
    expect(page.locator("svg.xfjy-chart")).to_be_visible()
    screenshot(page, site.backend, "home", prefix="site")
    overflows = [_overflow(page, "首页")]

    prefectures = page.locator("h2#prefectures + .xfjy-scroll table")  # the 各盟市 table
    prefectures.get_by_role("link", name=site.prefecture_name, exact=True).click()
    page.wait_for_url(f"{site.url}/area/{site.prefecture_code}/")
    expect(page.locator("h1")).to_have_text(site.prefecture_name)
    screenshot(page, site.backend, "prefecture", prefix="site")
    overflows.append(_overflow(page, site.prefecture_name))

    page.locator("h2#units + .xfjy-scroll table").get_by_role("link", name=site.county_name, exact=True).click()
    page.wait_for_url(f"{site.url}/area/{site.county_code}/")
    expect(page.locator("h1")).to_have_text(site.county_name)
    screenshot(page, site.backend, "county", prefix="site")
    overflows.append(_overflow(page, site.county_name))

    page.locator("h2#villages + .xfjy-scroll table").get_by_role("link", name=site.village_name, exact=True).click()
    page.wait_for_url(f"{site.url}{site.village_path}")
    expect(page.locator("h1")).to_have_text(site.village_name)
    expect(page.locator(".xfjy-card-label", has_text="已筹善款")).to_be_visible()
    expect(page.get_by_role("heading", name="支出明细").first).to_be_visible()  # one per project
    screenshot(page, site.backend, "village", prefix="site")
    overflows.append(_overflow(page, site.village_name))

    problems = [o for o in overflows if o]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("width", [390, 1366])
def test_every_kind_of_page_passes_axe_with_readable_tables_and_no_sideways_scroll(browser, public_site, width):
    """Home, a 盟市, a 旗县市区, a village, its poster and 捐赠查询: no axe-core violation of any impact, table cells
    with padding, and (on the phone) a page no wider than the screen: wide tables scroll in their box."""
    site = public_site
    phone = width < 600
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=phone, has_touch=phone,
                                  locale="zh-CN")
    pages = {"home": "/", "prefecture": f"/area/{site.prefecture_code}/", "county": f"/area/{site.county_code}/",
             "village": site.village_path, "poster": f"/poster/{site.village_code}.html", "gift": "/gift/"}
    problems: list[str] = []
    try:
        for name, path in pages.items():
            page = context.new_page()
            page.goto(f"{site.url}{path}")
            expect(page.locator("h1").first).to_be_visible()
            screenshot(page, site.backend, f"{name}-{width}", prefix="site")
            problems += [f"{name}: {v}" for v in axe_violations(page)]
            problems += [f"{name}: no padding in {cell}" for cell in cramped_cells(page)]
            if phone:
                problems.append(_overflow(page, name))
            page.close()
    finally:
        context.close()
    problems = [p for p in problems if p]
    assert problems == [], "\n".join(problems)


def test_the_site_has_its_own_icon_where_browsers_look_for_it(page, public_site):
    icon = page.request.get(f"{public_site.url}/favicon.ico")
    assert icon.status == 200 and icon.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page.goto(f"{public_site.url}/")
    linked = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(page.url + linked).status == 200 and linked.endswith("favicon.png")


def test_search_finds_a_village_by_its_chinese_name(page, public_site):
    site = public_site
    page.goto(f"{site.url}/")
    page.locator('label[for="__search"]').first.click()  # the magnifier in the phone header
    query = page.locator("input.md-search__input")
    expect(query).to_be_focused()
    # Playwright types characters outside the keyboard layout as IME text (no key events); Material reads
    # the box on ``keyup``, which a phone's IME sends when the word is committed.
    query.press_sequentially(site.village_name)
    query.press("End")
    hit = page.locator(".md-search-result__item a.md-search-result__link",
                       has=page.locator("h1", has_text=site.village_name))
    hit = hit.and_(page.locator(f'a[href$="{site.village_path}"]'))
    expect(hit.first).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    # As the phone shows it: while open, Material's search overlay is a circle scaled 45× (clipped by the
    # page), which a full-page shot would stretch to ~1260 px wide.
    screenshot(page, site.backend, "search", prefix="site", full_page=False)
    hit.first.click()
    page.wait_for_url(re.compile(re.escape(f"{site.url}{site.village_path}") + r"(\?.*)?(#.*)?$"))
    expect(page.locator("h1")).to_have_text(site.village_name)


def test_nothing_is_loaded_from_outside_the_site(context, page, public_site):
    site = public_site
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))  # pages and their workers
    own = f"{site.url}/"
    for path in ("/", site.village_path):
        # the search worker fetches the index after the page has loaded: wait for it, so that it is recorded
        with context.expect_event("request", lambda r: r.url == f"{own}search/search_index.json",
                                  timeout=SEARCH_TIMEOUT_MS):
            page.goto(f"{site.url}{path}")
        page.wait_for_load_state("networkidle")
        expect(page.locator("h1").first).to_be_visible()
    assert f"{site.url}{site.village_path}" in requested
    assert any(url.startswith(f"{own}assets/") for url in requested), requested
    outside = [url for url in requested if not (url.startswith(own) or url.startswith("data:"))]
    assert outside == [], outside


def test_a_donor_finds_a_gift_by_its_transaction_number_and_nothing_else(context, page, public_site):
    """捐赠查询 from static files: the right number shows the gift and its project; a wrong one shows
    nothing; the number typed never leaves the phone (no request carries it)."""
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    page.goto(public_site.url + "/gift/")
    page.fill("#gift-txn", f"  {public_site.gift_txn} ")
    page.click("#gift-form button[type=submit]")
    result = page.locator("#gift-result")
    fen = public_site.gift_amount
    expect(result).to_contain_text(f"{fen // 100:,}.{fen % 100:02d} 元，{public_site.gift_day}")
    expect(result).to_contain_text(public_site.project_name)
    expect(result).to_contain_text(public_site.village_name)
    screenshot(page, public_site.backend, "gift", prefix="site")
    shard = [u for u in requested if "/data/gift/" in u]
    assert len(shard) == 1 and re.search(r"/data/gift/[0-9a-f]{3}\.json$", shard[0])
    page.click("#gift-result a")
    expect(page).to_have_url(re.compile(re.escape(public_site.village_path) + r"#p\d+$"))
    page.goto(public_site.url + "/gift/")
    page.fill("#gift-txn", public_site.gift_txn + "0")
    page.click("#gift-form button[type=submit]")
    expect(result).to_contain_text("没有找到这个交易号的捐赠")
    expect(result).not_to_contain_text(public_site.project_name)
    assert not [u for u in requested if public_site.gift_txn in u]


def test_the_verify_page_shows_the_published_head(page, public_site):
    page.goto(public_site.url + "/verify/")
    expect(page.locator("#history-head")).to_contain_text(re.compile(r"共 \d+ 条记录，最后一条的哈希是 [0-9a-f]{64}"))
