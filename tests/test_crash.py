"""Crash safety (issue 17): every write path killed with SIGKILL at seeded random points leaves the database
fully before or fully after the operation, every referenced attachment whole, nothing unreferenced that the
sweep does not clean, ``integrity_problems() == []``, and the operation can simply be run again; the same
with the disk full. Both databases.

Each operation is first run to its end once, which gives its duration T and the state after it; each of
``POINTS`` attempts then starts it on the state before and kills its process group at U(0, T) (seeded, so a
failure reproduces). An attempt that landed is followed by a fresh restore of the state before (the base
instance's backup), so that every kill point meets the same "before" and "after". The tallies are written
to ``test-artifacts/crash-<backend>.json``."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from openpyxl import Workbook
from peewee import fn
from werkzeug.security import generate_password_hash

from bench import data
from db import attachments, backup, disbursement, settlement
from db.database import database, is_sqlite
from db.imports import DONATION_COLUMNS, VILLAGE_COLUMNS
from db.integrity import integrity_problems
from db.models import Attachment, AuditLog, Donation, Entry, Project, User
from db.users import create_user

from . import crash_ops
from .backends import bound, pg_schema
from .factories import PDF

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("keep_proxy")]

POINTS = 20
SEED = 17
PASSWORD = "crash-test-pass"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CLI = [sys.executable, "-m", "admin.cli"]
_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload(["tests.crash_ops"])


def xfjy(*args, url: str, instance: Path) -> str:
    env = {**os.environ, "DATABASE_URL": url, "XFJY_INSTANCE": str(instance)}
    done = subprocess.run([*CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


# -- the base instance: a demo with the users who click, the files they import, and its backup ---------------

@dataclasses.dataclass
class Base:
    backend: str
    archive: Path
    ops: dict[str, tuple[str, object]]  # operation → (crash_ops kind, argument)
    schemas: contextlib.ExitStack

    def fresh(self, folder: Path) -> tuple[str, Path]:
        """A new instance holding exactly the base state: the backup restored into an empty database."""
        folder.mkdir(parents=True)
        if self.backend == "sqlite":
            url = f"sqlite:///{folder / 'xfjy.sqlite3'}"
        else:
            url = self.schemas.enter_context(pg_schema(f"xfjy_crash_{os.getpid()}_{uuid.uuid4().hex[:8]}"))
        with bound(url):
            backup.restore(self.archive, folder / "attachments")
        return url, folder


def _user(username: str, role: str, area_code: str) -> User:
    user = create_user(username, PASSWORD, role, area_code)
    User.update(password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")).where(
        User.id == user.id).execute()
    return user


def _first(state: str) -> Project:
    project = Project.select().where(Project.state == state).order_by(Project.id).first()
    assert project is not None, f"the demo has no project in {state}"
    return project


def _settleable() -> tuple[Project, User]:
    """A project past its deadline with money still to move to the 互助基金, and its county's user."""
    for project in Project.select().where(Project.state.in_(("target_missed", "target_reached"))).order_by(Project.id):
        county = project.village.area.county
        user = (User.get_or_none(User.username == f"crash-county-{county.code}")
                or _user(f"crash-county-{county.code}", "county", county.code))
        if not settlement.settle_refusal(project, user) and settlement.settlement_amount(project) > 0:
            return project, user
    pytest.fail("the demo has no project to settle")


def _village_file(path: Path, rows: int) -> None:
    """New villages under five new townships of 土默特左旗, as the 村社 list of a 旗县 arrives."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("村社")
    sheet.append(list(VILLAGE_COLUMNS))
    for i in range(rows):
        town = f"15012199{i % 5}"
        sheet.append([f"{town}{i:03d}", f"新村{i:03d}", town, f"新设镇{town[-2:]}", "", "村", "", "", "", "稳步推广"])
    book.save(path)


def _receipts() -> list[tuple[str, bytes]]:
    """Three scanned receipts of 256 KB each (large enough that writing them takes a while)."""
    return [(f"收据-{i}.pdf", PDF[:-6] + b"%" + hashlib.sha256(bytes([i])).digest() * 8192 + b"\n%%EOF\n")
            for i in range(3)]


@pytest.fixture(scope="module", params=["sqlite"])  # PostgreSQL: tests/test_crash_postgres.py, another worker
def base(request, tmp_path_factory):
    yield from build_base(request.param, tmp_path_factory)


def build_base(backend: str, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"crash-{backend}")
    previous = database.obj
    with contextlib.ExitStack() as schemas:
        schemas.callback(database.initialize, previous)
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'base' / 'xfjy.sqlite3'}"
        else:
            url = schemas.enter_context(pg_schema(f"xfjy_crash_{os.getpid()}_{uuid.uuid4().hex[:8]}"))
        instance = folder / "base"
        for args in (["init-db"], ["load-regions"], ["demo", "--villages", "20", "--donations", "600", "--seed", "4"],
                     ["publish"]):
            xfjy(*args, url=url, instance=instance)
        gifts, villages, late = folder / "gifts.csv", folder / "villages.xlsx", folder / "late.csv"
        with bound(url):  # a gift from before a reached project's deadline, imported after it: money to settle
            reached = _first("target_reached")
            when = dt.datetime.combine(reached.ends_on - dt.timedelta(days=1), dt.time(10))
            late.write_text(",".join(DONATION_COLUMNS) + f"\nLATE-1,{reached.code},张三,1000,{when:%Y-%m-%d %H:%M:%S},是,\n",
                            encoding="utf-8")
        xfjy("import-donations", late, url=url, instance=instance)
        with bound(url):
            data.write_donations(gifts, data.receiving_project_codes(), 100_000, prefix="CRASH-", seed=SEED)
            _village_file(villages, 500)
            spending = _first("implementing")
            recorder = _user("crash-village", "village", spending.village.area.code)
            missed, county = _settleable()
            applied = _first("use_applied")
            region = _user("crash-region", "region", "150000")
            hop = disbursement.next_hop(applied, region)
            page = "/admin/workflow/project/{}"
            ops = {
                "donation import": ("command", ["import-donations", gifts]),
                "village import": ("command", ["import-villages", villages]),
                "receipt upload": ("form", {
                    "user": recorder.username, "password": PASSWORD, "page": page.format(spending.id),
                    "url": page.format(spending.id) + "/expenditure", "files": _receipts(),
                    "form": {"spent_on": "2026-11-20", "item": "水泥", "payee": "某建材商店", "amount": "10.00",
                             "voucher_no": "PZ-CRASH-1", "approved_by": "监管会"}}),
                "disbursement": ("form", {
                    "user": region.username, "password": PASSWORD, "page": page.format(applied.id),
                    "url": page.format(applied.id) + "/disburse",
                    "form": {"expected": str(hop.amount), "source": str(hop.source.id)}}),
                "settlement": ("form", {
                    "user": county.username, "password": PASSWORD, "page": page.format(missed.id),
                    "url": page.format(missed.id) + "/settle", "form": {}}),
                "publish": ("command", ["publish", "--full"]),
            }
            archive = folder / "base.tar"
            backup.backup(archive, instance / "attachments")
        yield Base(backend, archive, ops, schemas)


# -- one attempt, and what it left --------------------------------------------------------------------------

def attempt(op: tuple[str, object], url: str, instance: Path, *, after: float | None = None,
            at_event: int | None = None, counted: bool = False) -> tuple[float, int | None, int]:
    """Run the operation; kill its process group ``after`` seconds after it is ready, or at its
    ``at_event``-th profiler event (neither: let it end). Returns the seconds from ready to the end, the
    exit code (None: killed) and the profiler events seen (when counted or killed at one)."""
    ready = _forks.Event()
    events = _forks.RawValue("q", 0) if counted or at_event else None
    child = _forks.Process(target=crash_ops.run, args=(op[0], url, str(instance), op[1], ready, events, at_event))
    child.start()
    assert ready.wait(120), "the operation never became ready"
    started = time.perf_counter()
    if after is not None:
        child.join(after)
        if child.exitcode is None:
            os.killpg(child.pid, signal.SIGKILL)
    child.join(900)
    seconds = time.perf_counter() - started
    assert child.exitcode is not None, "the operation did not end"
    return seconds, (None if child.exitcode == -signal.SIGKILL else child.exitcode), events.value if events else 0


def state(url: str) -> dict:
    """What an operation changes: rows per table (publish runs and sign-ins apart: a form's user signs in
    before the operation starts), the projects' states, the money."""
    with bound(url):
        counts = backup.table_counts()
        counts.pop("publish_run")
        counts["audit_log"] = AuditLog.select().where(AuditLog.action != "login").count()
        states = hashlib.sha256(repr(list(Project.select(Project.id, Project.state).order_by(Project.id).tuples()))
                                .encode()).hexdigest()
        return {"rows": counts, "states": states,
                "entries": int(Entry.select(fn.COALESCE(fn.SUM(Entry.amount), 0)).scalar()),
                "gifts": int(Donation.select(fn.COALESCE(fn.SUM(Donation.amount), 0)).scalar())}


def whole(url: str, instance: Path) -> int:
    """The instance is consistent: the books balance, the database file is sound, every referenced file
    is there with its hash, and the sweep takes exactly the files nobody refers to. Returns how many."""
    root = instance / "attachments"
    with bound(url):
        assert integrity_problems() == []
        if is_sqlite():
            assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
        referenced = {sha for (sha,) in Attachment.select(Attachment.sha256).distinct().tuples()}
        for sha in referenced:
            assert attachments.file_sha256(attachments.path_for(root, sha)) == sha
        swept = attachments.sweep(root, grace=dt.timedelta(0))
        assert not {p.name for p in swept} & referenced
        assert {p.name for p in attachments.stored_files(root)} == referenced
    return len(swept)


def live_release(instance: Path) -> str:
    """The release the site serves: complete (its manifest written after the links and the audit passed)."""
    site = instance / "site"
    target = site.resolve()
    assert site.is_symlink() and (target / "index.html").is_file(), "the site serves no complete release"
    assert target.with_name(target.name + ".manifest.json").is_file(), f"{target.name} was never completed"
    return target.name


def fresh(base: Base, name: str, folder: Path) -> tuple[str, Path]:
    """The state before: the base restored, and for a publish a site already served (the old one to keep)."""
    url, instance = base.fresh(folder)
    if name == "publish":
        assert attempt(base.ops["publish"], url, instance)[1] == 0
    return url, instance


OPS = ("donation import", "village import", "receipt upload", "disbursement", "settlement", "publish")
BY_EVENT = ("receipt upload", "disbursement", "settlement")  # milliseconds long: killed at a profiler event


@pytest.mark.parametrize("name", OPS)
def test_a_kill_at_any_point_leaves_the_state_before_or_after(base, name, tmp_path):
    op = base.ops[name]
    rng = random.Random(f"{SEED}-{base.backend}-{name}")
    url, instance = fresh(base, name, tmp_path / "calibrate")
    before = state(url)
    old_site = live_release(instance) if name == "publish" else None
    by_event = name in BY_EVENT
    seconds, code, events = attempt(op, url, instance, counted=by_event)
    assert code == 0, f"{name} failed when left alone"
    after = state(url)
    if name == "publish":
        assert after == before and live_release(instance) != old_site
    else:
        assert after != before, f"{name} changed nothing"
    whole(url, instance)

    tally = {"points": 0, "before": 0, "after": 0, "half-written": 0, "orphans swept": 0,
             "kill": "at a profiler event" if by_event else "after a time", "T_seconds": round(seconds, 3),
             "events": events}
    url, instance = fresh(base, name, tmp_path / "0")
    for point in range(1, POINTS + 1):
        serving = live_release(instance) if name == "publish" else None
        if by_event:
            _, code, _ = attempt(op, url, instance, at_event=rng.randint(1, events))
        else:
            _, code, _ = attempt(op, url, instance, after=rng.uniform(0, seconds))
        assert code in (None, 0), f"{name} failed at point {point} (exit {code})"
        tally["points"] += 1
        now = state(url)
        if now == before and (name != "publish" or live_release(instance) == serving):
            tally["before"] += 1
        elif now == after:
            tally["after"] += 1
        else:
            tally["half-written"] += 1
            pytest.fail(f"{name}: point {point} left neither the state before nor after: "
                        f"{ {k: (before[k], now[k]) for k in now if now[k] != before[k]} }")
        tally["orphans swept"] += whole(url, instance)
        if now == after and name != "publish":
            url, instance = fresh(base, name, tmp_path / str(point))
    _, code, _ = attempt(op, url, instance)  # simply run again
    assert code == 0 and state(url) == after
    whole(url, instance)
    if name == "publish":
        live_release(instance)
        releases = instance / "site-releases"
        assert all(r.with_name(r.name + ".manifest.json").is_file() for r in releases.iterdir() if r.is_dir()), \
            "a killed publish's unfinished release was not removed by the next one"
    record(base.backend, name, tally)


def record(backend: str, name: str, tally: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"crash-{backend}.json"
    kept = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    kept[name] = tally
    path.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{backend} {name}: {tally}")
