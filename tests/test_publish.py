"""``xfjy publish`` and ``xfjy build-site`` as real processes, on a fresh SQLite file and a fresh PostgreSQL schema.

Each backend gets one small demo database (module scope) that its tests share, in file order: every
test reads the state it starts from (the live release, the runs recorded so far) instead of assuming
it. The commands run as subprocesses because what is tested is what happens to processes: a kill in
the middle of a build, two publishes at once, a publish waiting for the lock.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from db.clock import now
from db.database import database
from db.models import Area, PublishRun, Village
from site_builder.check import broken_links
from site_builder.opendata import open_region
from site_builder.publish import KEEP_RELEASES, _of_kept_village, is_running

from .backends import BACKENDS, bound, pg_schema
from .factories import file_tree

ROOT = Path(__file__).resolve().parent.parent
SITE_URL = "http://127.0.0.1:8000/"
BUSY = "另一次发布正在进行"
MISSING_RECEIPT = "票据文件缺失"
COMMAND_TIMEOUT = 300


@dataclass
class Backend:
    name: str
    url: str
    tmp: Path

    @property
    def instance(self) -> Path:
        return self.tmp / "instance"

    @property
    def site(self) -> Path:
        return self.instance / "site"

    @property
    def releases(self) -> Path:
        return self.instance / "site-releases"

    @property
    def lock(self) -> Path:
        return self.instance / "site.lock"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XFJY_") and k != "DATABASE_URL"}
        env.update(DATABASE_URL=self.url, XFJY_INSTANCE=str(self.instance), XFJY_SITE_URL=SITE_URL,
                   PYTHONUNBUFFERED="1", **extra)
        return env

    def start(self, *args: str, **extra_env: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "admin.cli", *map(str, args)],
                                cwd=ROOT, env=self.env(**extra_env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT, **extra_env: str) -> subprocess.CompletedProcess:
        proc = self.start(*args, **extra_env)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def ok(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
        result = self.run(*args, **extra_env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result


# Whatever the test binds to read the database, the proxy goes back to what it was (conftest's keep_proxy).
pytestmark = pytest.mark.usefixtures("keep_proxy")


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory):
    """A fresh database with schema, regions and a small demo (receipts in ``<instance>/attachments``)."""
    tmp = tmp_path_factory.mktemp(f"publish-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'data' / 'publish.sqlite3'}"
        else:
            url = stack.enter_context(pg_schema(f"xfjy_publish_{os.getpid()}_{uuid.uuid4().hex[:8]}"))
        b = Backend(request.param, url, tmp)
        b.ok("init-db")
        b.ok("load-regions")
        b.ok("demo", "--villages", "12", "--donations", "200", "--seed", "2")
        assert any((b.instance / "attachments").rglob("*")), "the demo stored no receipts"
        previous = database.obj
        try:
            yield b
        finally:
            database.initialize(previous)
            _wait_unlocked(b)


def _wait_unlocked(b: Backend) -> None:
    """No publish of this module may outlive it (the PostgreSQL schema is dropped next)."""
    deadline = time.monotonic() + 60
    while b.lock.exists() and is_running(b.site) and time.monotonic() < deadline:
        time.sleep(0.2)


def runs(b: Backend) -> list[PublishRun]:
    with bound(b.url):
        return list(PublishRun.select().order_by(PublishRun.id))


def last_run_id(b: Backend) -> int:
    return max((r.id for r in runs(b)), default=0)


def public_village_codes(b: Backend) -> list[str]:
    with bound(b.url):
        return [code for (code,) in Village.select(Area.code).join(Area).where(
            Village.fund_established_on.is_null(False)).tuples()]


def release_dirs(b: Backend) -> set[str]:
    return {p.name for p in b.releases.iterdir()} if b.releases.exists() else set()


def live(b: Backend) -> Path:
    assert b.site.is_symlink(), f"{b.site} is not a symlink"
    target = b.site.resolve()
    assert target.parent == b.releases.resolve(), target
    return target


def ensure_published(b: Backend) -> Path:
    """The live release, publishing once if this backend has none yet (a test run on its own)."""
    if not b.site.is_symlink():
        b.ok("publish")
    return live(b)


def complete(site: Path) -> None:
    """A whole site: home, every public village, the search index and the region's open data; no broken link."""
    site = site.resolve()
    assert (site / "index.html").is_file()
    assert "幸福家园" in (site / "index.html").read_text(encoding="utf-8")
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert len(index["docs"]) > 10
    assert broken_links(site) == []


def published_villages(b: Backend, site: Path) -> None:
    codes = public_village_codes(b)
    assert codes, "the demo has no public village"
    for code in codes:
        page = site / "village" / code / "index.html"
        assert page.is_file(), page
    files = {p.name for p in (site / "data" / "region").iterdir()}
    assert files >= {"donations.csv.gz", "projects.csv", "ledger.csv.gz", "spending.csv.gz", "annual.csv"}
    with open_region(site, "donations") as f:
        donations = f.read().splitlines()
    assert donations[0].startswith("village_code,") and len(donations) > 1
    assert {line.split(",", 1)[0] for line in donations[1:]} <= set(codes)
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert all(f"village/{code}/" in locations for code in codes), sorted(locations)


def blocked_on_lock(pid: int) -> bool:
    """Whether process ``pid`` is waiting for an ``flock`` (a ``->`` line of /proc/locks)."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and "FLOCK" in fields and str(pid) in fields:
            return True
    return False


@contextlib.contextmanager
def holding_lock(b: Backend):
    with open(b.lock, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def lock_is_free(b: Backend) -> bool:
    with open(b.lock, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(lock, fcntl.LOCK_UN)
        return True


# -- 1. publish, swap, keep, prune, record -------------------------------------------------------

def test_publish_swaps_releases_keeps_three_and_records_runs(backend):
    b = backend
    since = last_run_id(b)
    # Two older finished releases, as earlier publishes leave them (a folder and an "ok" run naming it),
    # named to sort before any real one so that pruning has something to remove.
    b.releases.mkdir(parents=True, exist_ok=True)
    fakes = []
    with bound(b.url):
        for i in (1, 2):
            name = f"20000101-00000{i}-{900 + i}"
            (b.releases / name).mkdir()
            (b.releases / name / "index.html").write_text("old", encoding="utf-8")
            run = PublishRun.create(status="ok", release=name, pages=1, files=1, seconds=1.0,
                                    started_at=dt.datetime(2000, 1, 1), finished_at=dt.datetime(2000, 1, 1))
            fakes.append((name, run.id))
    fake_ids = {run_id for _, run_id in fakes}

    first = b.ok("publish")
    assert "公示网站已发布" in first.stdout
    r1 = live(b)
    complete(r1)
    published_villages(b, r1)
    assert (b.site / "index.html").read_bytes() == (r1 / "index.html").read_bytes()

    second = b.ok("publish")
    assert "公示网站已发布" in second.stdout
    # Issue 14, item 12: one line, and nothing on stderr (no jieba loading messages; the bar is for a terminal)
    assert [first.stderr, second.stderr] == ["", ""] and len(second.stdout.splitlines()) == 1
    r2 = live(b)
    assert r2 != r1, "the second publish did not swap to a new release"
    complete(r2)
    published_villages(b, r2)
    assert (r1 / "index.html").is_file(), "the previous release is gone"

    remaining = sorted(p.name for p in b.releases.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(remaining) == KEEP_RELEASES, remaining
    manifests = sorted(p.name for p in b.releases.iterdir() if p.name.endswith(".manifest.json"))
    assert manifests == sorted(f"{r.name}.manifest.json" for r in (r1, r2)), "each publish keeps its digests beside it"
    assert remaining[-2:] == sorted([r1.name, r2.name])
    assert fakes[0][0] not in remaining, "a release older than the newest three was kept"
    assert not any(name.startswith(".") for name in release_dirs(b)), release_dirs(b)
    assert not b.instance.joinpath(".site.swap").exists()

    mine = [r for r in runs(b) if r.id > since and r.id not in fake_ids]
    assert [(r.status, r.release) for r in mine] == [("ok", r1.name), ("ok", r2.name)]
    for run in mine:
        assert run.pages > 0 and run.files > 0, run.__data__
        assert run.seconds is not None and run.seconds > 0, run.__data__
        assert run.finished_at is not None and run.finished_at >= run.started_at, run.__data__
        assert run.errors == "" and run.requested_by == "命令行"
    assert not is_running(b.site) and lock_is_free(b)


# -- 2. killed in the middle of a build ----------------------------------------------------------

def test_publish_killed_mid_build_keeps_live_site_and_next_publish_cleans_up(backend):
    b = backend
    before = ensure_published(b)
    index = (before / "index.html").read_bytes()
    existing = release_dirs(b)
    since = last_run_id(b)

    proc = b.start("publish")
    deadline = time.monotonic() + 60
    appeared = set()
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            appeared = release_dirs(b) - existing
            if appeared:
                break
            time.sleep(0.02)
    finally:
        proc.kill()
        out, err = proc.communicate(timeout=30)
    assert appeared, f"no build folder appeared within 60 s (exit {proc.returncode}): {out} {err}"
    assert proc.returncode == -9, (proc.returncode, out, err)

    assert live(b) == before, "a killed publish moved the live site"
    assert (b.site / "index.html").read_bytes() == index
    complete(b.site)
    assert not is_running(b.site)
    assert lock_is_free(b)
    killed = [r for r in runs(b) if r.id > since]
    assert [r.status for r in killed] == ["running"], [r.__data__ for r in killed]
    leftovers = release_dirs(b) - existing
    assert leftovers, "the killed build left nothing behind (killed too late to test the clean-up)"

    b.ok("publish")
    after = live(b)
    assert after != before
    complete(after)
    assert not (release_dirs(b) & leftovers), f"leftovers of the killed build remain: {release_dirs(b) & leftovers}"
    assert not any(name.startswith(".xfjy-stage-") for name in release_dirs(b))
    by_id = {r.id: r for r in runs(b)}
    interrupted = by_id[killed[0].id]
    assert interrupted.status == "interrupted" and interrupted.finished_at is not None, interrupted.__data__
    newest = max(by_id.values(), key=lambda r: r.id)
    assert (newest.status, newest.release) == ("ok", after.name)


# -- 3. never two publishes at once --------------------------------------------------------------

def test_publish_refuses_while_another_holds_the_lock(backend):
    b = backend
    before = ensure_published(b)
    index = (before / "index.html").read_bytes()
    existing, since = release_dirs(b), last_run_id(b)
    with holding_lock(b):
        assert is_running(b.site)
        result = b.run("publish", timeout=60)  # a publish that waited for the lock would hang here
        assert result.returncode != 0, result.stdout
        assert BUSY in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert live(b) == before and (b.site / "index.html").read_bytes() == index
        assert release_dirs(b) == existing
        assert last_run_id(b) == since, "a refused publish recorded a run"
    assert not is_running(b.site)


def test_publish_wait_waits_for_the_lock(backend):
    b = backend
    before = ensure_published(b)
    existing, since = release_dirs(b), last_run_id(b)
    with holding_lock(b):
        proc = b.start("publish", "--wait")
        try:
            deadline = time.monotonic() + 60
            while not blocked_on_lock(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert blocked_on_lock(proc.pid), f"publish --wait is not waiting for the lock (exit {proc.poll()})"
            time.sleep(1.0)  # still waiting a while later, and has started nothing
            assert proc.poll() is None, proc.communicate()
            assert live(b) == before
            assert release_dirs(b) == existing
            assert last_run_id(b) == since
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        released_at = now()
    out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
    assert proc.returncode == 0, (out, err)
    assert "公示网站已发布" in out
    after = live(b)
    assert after != before
    complete(after)
    newest = runs(b)[-1]
    assert (newest.id > since, newest.status, newest.release) == (True, "ok", after.name)
    assert newest.started_at >= released_at, "the waiting publish started before the lock was released"


def test_two_publishes_at_once_do_not_overlap(backend):
    b = backend
    before = ensure_published(b)
    since = last_run_id(b)
    procs = [b.start("publish"), b.start("publish")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
        results.append((proc.returncode, out, err))
    succeeded = [r for r in results if r[0] == 0]
    failed = [r for r in results if r[0] != 0]
    assert succeeded, results
    for _, _, err in failed:
        assert BUSY in err, err
    after = live(b)
    assert after != before
    complete(b.site)
    mine = [r for r in runs(b) if r.id > since]
    assert [r.status for r in mine] == ["ok"] * len(succeeded), [r.__data__ for r in mine]
    assert after.name == mine[-1].release
    for a, c in zip(mine, mine[1:]):
        assert c.started_at >= a.finished_at, "two publishes overlapped"
    assert not any(name.startswith(".") for name in release_dirs(b))


# -- 4. a failed build keeps the previous site ---------------------------------------------------

def test_failed_build_keeps_previous_site(backend, tmp_path):
    b = backend
    before = ensure_published(b)
    index = (before / "index.html").read_bytes()
    existing, since = release_dirs(b), last_run_id(b)
    empty = tmp_path / "no-attachments"
    empty.mkdir()

    # --full: an incremental publish of unchanged data links receipts from the live release instead
    result = b.run("publish", "--full", XFJY_ATTACHMENTS_DIR=str(empty))
    assert result.returncode != 0, result.stdout
    assert MISSING_RECEIPT in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

    assert live(b) == before
    assert (b.site / "index.html").read_bytes() == index
    assert release_dirs(b) == existing, "the failed build left files behind"
    assert lock_is_free(b)
    mine = [r for r in runs(b) if r.id > since]
    assert len(mine) == 1, [r.__data__ for r in mine]
    failed = mine[0]
    assert failed.status == "failed" and MISSING_RECEIPT in failed.errors, failed.__data__
    assert failed.finished_at is not None and failed.seconds is not None, failed.__data__
    assert failed.release == "" and failed.pages == 0


# -- 5. build-site writes only where it is told --------------------------------------------------

def test_build_site_builds_elsewhere_without_touching_the_live_site(backend, tmp_path):
    b = backend
    before = ensure_published(b)
    index = (before / "index.html").read_bytes()
    existing, since = release_dirs(b), last_run_id(b)
    out = tmp_path / "preview"

    result = b.ok("build-site", "--out", out)
    assert str(out) in result.stdout

    complete(out)
    published_villages(b, out)
    assert live(b) == before
    assert (b.site / "index.html").read_bytes() == index
    assert release_dirs(b) == existing
    assert last_run_id(b) == since, "build-site recorded a publish"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview"], "build-site left its staging folder"


def test_workers_read_one_snapshot_and_write_the_same_site_as_one_process(backend, tmp_path):
    """Two worker processes (an SQLite backup, or PostgreSQL's exported snapshot) give the same bytes."""
    b = backend
    b.ok("build-site", "--out", tmp_path / "one", "--workers", "1")
    b.ok("build-site", "--out", tmp_path / "two", "--workers", "2")
    one, two = file_tree(tmp_path / "one"), file_tree(tmp_path / "two")
    assert sorted(one) == sorted(two) and len(one) > 100
    assert [name for name in one if one[name] != two[name]] == []


def test_only_a_kept_villages_own_pages_and_poster_skip_the_link_check():
    """An incremental publish checks the links of what it wrote, not those of 13,000 linked villages."""
    kept = {"150102001001"}
    assert _of_kept_village(("village", "150102001001", "index.html"), kept)
    assert _of_kept_village(("village", "150102001001", "2024", "index.html"), kept)  # its 年度报告 pages
    assert _of_kept_village(("poster", "150102001001.html"), kept)
    assert not _of_kept_village(("village", "150102001002", "index.html"), kept)
    assert not _of_kept_village(("area", "150102001001", "index.html"), kept)
    assert not _of_kept_village(("village", "index.html"), kept)
