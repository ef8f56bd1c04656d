"""``xfjy publish-shards``: shards built by RQ workers (real processes, the Redis at 127.0.0.1:6379) and put
together as one site, on both databases."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from db.models import Area, Project, Village
from db.totals import totals_by_project
from db.workflow import PUBLISHED_STATES
from site_builder.check import broken_links
from site_builder.opendata import open_region

from .backends import BACKENDS, bound, pg_schema

ROOT = Path(__file__).resolve().parent.parent
SITE_URL = "http://127.0.0.1:8000/"
REDIS = os.environ.get("XFJY_TEST_REDIS", "redis://127.0.0.1:6379/0")
SHARDS = ("150000", "150400")  # the province and one 盟市 in it

pytestmark = pytest.mark.usefixtures("keep_proxy")


class Instance:
    def __init__(self, url: str, tmp: Path):
        self.url, self.instance, self.queue = url, tmp / "instance", f"xfjy-test-{uuid.uuid4().hex[:12]}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XFJY_") and k != "DATABASE_URL"}
        return env | {"DATABASE_URL": self.url, "XFJY_INSTANCE": str(self.instance), "XFJY_SITE_URL": SITE_URL,
                      "XFJY_REDIS_URL": REDIS, "PYTHONUNBUFFERED": "1"}

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "admin.cli", *args], cwd=ROOT, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "admin.cli", *args], cwd=ROOT, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def shards(self, *extra: str, timeout: int = 240) -> subprocess.CompletedProcess:
        areas = [arg for code in SHARDS for arg in ("--area", code)]
        return self.run("publish-shards", "--queue", self.queue, *areas, "--timeout", str(timeout), *extra,
                        timeout=timeout + 60)

    @property
    def site(self) -> Path:
        return self.instance / "shards" / "site"


@pytest.fixture(scope="module", params=BACKENDS)
def instance(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"shards-{request.param}")
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp / 'shards.sqlite3'}" if request.param == "sqlite" else \
            stack.enter_context(pg_schema(f"xfjy_shards_{os.getpid()}_{uuid.uuid4().hex[:8]}"))
        b = Instance(url, tmp)
        b.ok("init-db")
        b.ok("load-regions")
        b.ok("demo", "--villages", "12", "--donations", "200", "--seed", "2")
        yield b


@contextlib.contextmanager
def workers(b: Instance, count: int = 2):
    """``count`` shard workers on the instance's own queue, stopped (warm shutdown) afterwards."""
    procs = [b.start("shard-worker", "--queue", b.queue) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


def figures_of(url: str, code: str) -> dict:
    """What the portal must say of an area, from the ledger: its published projects' totals."""
    with bound(url):
        root = Area.get(Area.code == code)
        projects = list(Project.select(Project.id, Area.code).join(Village).join(Area)
                        .where(Area.path.startswith(root.path) & Project.state.in_(PUBLISHED_STATES)).tuples())
        totals = totals_by_project()
    chosen = [totals[pid] for pid, _ in projects]
    return {"projects": len(projects), "villages": len({village for _, village in projects}),
            "raised": sum(t.raised for t in chosen), "disbursed": sum(t.disbursed for t in chosen),
            "spent": sum(t.spent for t in chosen)}


def fen(text: str) -> int:
    yuan, cents = text.replace(",", "").split(".")
    return int(yuan) * 100 + int(cents)


def test_no_worker_means_a_clear_failure_and_no_site(instance):
    done = instance.shards(timeout=3)
    assert done.returncode != 0
    assert "没有完成" in done.stderr and "worker" in done.stderr, done.stderr
    assert not instance.site.exists()


def test_two_workers_build_the_shards_and_one_site_holds_them(instance):
    with workers(instance):
        done = instance.shards()
    assert done.returncode == 0, (done.stdout, done.stderr)
    site = instance.site.resolve()
    assert sorted(p.name for p in site.iterdir() if p.is_dir()) == sorted(SHARDS)
    assert broken_links(site, "/") == []  # every shard's links resolve under /<code>/, the portal's too

    rows = {row["code"]: row for row in json.loads((site / "shards.json").read_text(encoding="utf-8"))}
    portal = (site / "index.html").read_text(encoding="utf-8")
    for code in SHARDS:
        expected, row = figures_of(instance.url, code), rows[code]
        assert (row["projects"], row["villages_with_projects"]) == (expected["projects"], expected["villages"])
        assert [fen(row[k]) for k in ("raised_yuan", "disbursed_yuan", "spent_yuan")] == \
            [expected["raised"], expected["disbursed"], expected["spent"]]
        assert f'href="{code}/"' in portal and row["raised_yuan"] in portal
        with open_region(site / code, "projects") as handle:
            villages = {r["village_code"] for r in csv.DictReader(handle)}
        assert {p.name for p in (site / code / "village").iterdir() if (p / "index.html").exists()} >= villages
    with bound(instance.url):
        chifeng = Area.get(Area.code == "150400")
        inside = {c for (c,) in Village.select(Area.code).join(Area).where(
            Area.path.startswith(chifeng.path) & Village.fund_established_on.is_null(False)).tuples()}
    assert {p.name for p in (site / "150400" / "village").iterdir() if (p / "index.html").exists()} == inside
    assert len(list((site / "150000" / "village").glob("*/index.html"))) > len(inside)
    assert rows["150000"]["projects"] > rows["150400"]["projects"]
    shared = [p.relative_to(site / "150400") for p in (site / "150400").rglob("*")
              if p.is_file() and p.parts[len(site.parts) + 1] == "assets"]
    assert shared and all(os.path.samefile(site / "150400" / p, site / "150000" / p) for p in shared)

    with workers(instance, count=1):  # nothing changed: each shard links every village from its last release
        again = instance.shards()
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("重新生成村社 0，") == len(SHARDS), again.stdout
    assert json.loads((instance.site.resolve() / "shards.json").read_text(encoding="utf-8")) == list(rows.values())
