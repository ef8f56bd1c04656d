"""The pieces of the real-browser tests: the admin on waitress over a fresh demo database, and Debian's Chromium.

The browser is never downloaded: Playwright drives ``/usr/bin/chromium`` (``make chromium`` installs it).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import waitress
from waitress import wasyncore

from db import areas, demo, schema
from db.clock import today
from db.database import database
from db.models import Area, Project, User, Village, Volunteer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 15_000
DEMO_VILLAGES, DEMO_DONATIONS, DEMO_SEED = 40, 800, 3


@dataclass
class Site:
    """A running admin and the rows the tests act on (ids, read before the server started)."""

    backend: str
    url: str
    county: str  # the demo county user's 旗县市区
    village_id: int  # a village of that county
    volunteer_id: int  # a volunteer of that county
    fundraising_id: int  # a project in 募捐中 there
    fundraising_code: str
    reviewing_id: int  # a project in 待旗县市区审核 there


def launch(playwright):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} 不存在：请先运行 make chromium（apt-get install chromium chromium-driver）", pytrace=False)
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def screenshot(page, backend: str, step: str, prefix: str = "browser", full_page: bool = True) -> Path:
    """A PNG in ``test-artifacts/``: ``<prefix>-<backend>-<step>.png`` (the public site's use ``site``).

    Full page unless ``full_page=False``: an open overlay (Material's search) is better shot as the screen shows it.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{prefix}-{backend}-{step}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


AXE = Path(os.environ.get("XFJY_AXE") or Path(__file__).resolve().parents[1] / ".venv/axe/node_modules/axe-core/axe.min.js")


def axe_violations(page) -> list[str]:
    """What axe-core finds wrong on the page as it is now (every impact), one line per rule."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} 不存在：请先运行 make test（它从 npm 安装 axe-core）", pytrace=False)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:5])}" for v in found]


def cramped_cells(page, minimum_px: float = 4) -> list[str]:
    """Table cells whose left or right padding is under ``minimum_px`` (text would touch the next column)."""
    return page.evaluate("""minimum => [...document.querySelectorAll('td, th')].filter(cell => {
        const style = getComputedStyle(cell);
        return cell.offsetParent !== null
            && (parseFloat(style.paddingLeft) < minimum || parseFloat(style.paddingRight) < minimum);
    }).slice(0, 8).map(cell => `${cell.tagName.toLowerCase()} "${cell.textContent.trim().slice(0, 20)}"`)""", minimum_px)


def login(page, site: Site, username: str = "demo-county", password: str = demo.DEMO_PASSWORD) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/admin/")
    page.wait_for_selector("#todo")  # the dashboard's to-do list


@contextlib.contextmanager
def connected():
    """The test thread's own short connection (the server threads have theirs)."""
    with database.connection_context():
        yield


# -- the server -------------------------------------------------------------------------------------

class LiveServer:
    """waitress on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app):
        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="browser-test-waitress", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        def close_everything():  # runs in the server's own loop: listening socket, trigger, open keep-alives
            self.server.close()
            wasyncore.close_all(self.server._map)

        if self.thread.is_alive():
            self.server.trigger.pull_trigger(close_everything)
            self.thread.join(10)
        else:
            close_everything()
        self.server.task_dispatcher.shutdown()
        assert not self.thread.is_alive(), "waitress did not stop"


# -- the database -----------------------------------------------------------------------------------

def _free_township_code(county: Area) -> str:
    used = {code for (code,) in Area.select(Area.code).where(Area.parent == county).tuples()}
    return next(f"{county.code}{n}" for n in range(999, 100, -1) if f"{county.code}{n}" not in used)


def _project_in(county: Area, state: str) -> Project | None:
    return (Project.select().join(Village).join(Area)
            .where((Area.county == county) & (Project.state == state)).order_by(Project.id).first())


def _prepare(attachments_root: Path) -> dict:
    """Migrate, load the regions and the demo; find (or make, with the domain API) the projects to act on."""
    from .factories import Chain, advance_to, new_project

    schema.upgrade()
    areas.load_regions()
    demo.generate(DEMO_VILLAGES, DEMO_DONATIONS, seed=DEMO_SEED, attachments_root=attachments_root)
    county = User.get(User.username == "demo-county").area
    chain = None

    def project_in(state: str, name: str) -> Project:
        nonlocal chain
        found = _project_in(county, state)
        if found is not None:
            return found
        if chain is None:
            chain = Chain(county.code, township_code=_free_township_code(county))
            village = chain.village
        else:
            village = chain.add_village()
        start = today() - dt.timedelta(days=10)
        project = new_project(chain, village, name=name, starts_on=start, ends_on=start + dt.timedelta(days=120))
        return advance_to(project, state, chain)

    fundraising = project_in("fundraising", "浏览器测试·村道路灯安装")
    reviewing = project_in("county_review", "浏览器测试·饮水安全改造")
    village = Village.select().join(Area).where(Area.county == county).order_by(Village.id).first()
    volunteer = (Volunteer.select().join(Village).join(Area).where(Area.county == county).order_by(Volunteer.id).first()
                 or Volunteer.create(village=village, name="浏览器测试志愿者", skills="助学", joined_on=today()))
    return dict(county=county.name, village_id=village.id, volunteer_id=volunteer.id, fundraising_id=fundraising.id,
                fundraising_code=fundraising.code, reviewing_id=reviewing.id)


@contextlib.contextmanager
def running_site(backend: str, url: str, root: Path):
    """The admin (``create_app``) over a new database at ``url``, served until the block ends.

    ``create_app`` binds the global proxy; it is bound back to what it was afterwards.
    """
    previous = database.obj
    saved_instance = os.environ.get("XFJY_INSTANCE")
    os.environ["XFJY_INSTANCE"] = str(root / "instance")
    server = bound = None
    try:
        from admin import create_app

        app = create_app({"DATABASE_URL": url, "ATTACHMENTS_DIR": str(root / "attachments")})
        bound = database.obj
        with connected(), database.atomic():
            rows = _prepare(root / "attachments")
        server = LiveServer(app)
        server.start()
        yield Site(backend=backend, url=server.url, **rows)
    finally:
        if server is not None:
            server.stop()
        if bound is not None and not bound.is_closed():
            bound.close()
        database.initialize(previous)
        if saved_instance is None:
            os.environ.pop("XFJY_INSTANCE", None)
        else:
            os.environ["XFJY_INSTANCE"] = saved_instance
