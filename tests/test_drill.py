"""The restore drill (issue 17): a demo instance is backed up while a publish and a 100,000-row donation import
run against it, the instance is wiped, and the backup restored. The restored instance holds exactly what the
backup's snapshot held (the state before the import, which had not committed), the site built from it is
byte-identical to the one built before, and ``xfjy verify`` accepts it as the same history. Each step is a
real ``xfjy`` process, as an operator would run them."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from bench import data
from db import backup, history
from db.models import Donation

from .backends import bound
from .test_cli import ok, ready

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("keep_proxy")]

ROWS = 100_000
MOMENT = "2026-06-30T12:00:00"  # the clock of both site builds, so that "today" agrees between them
CLI = [sys.executable, "-m", "admin.cli"]


def xfjy(*args, env=None, **popen) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *map(str, args)], env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **popen)


def run(*args, env=None) -> str:
    process = xfjy(*args, env=env)
    out, _ = process.communicate(timeout=600)
    assert process.returncode == 0, (args, out)
    return out


def digests(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


def writer_inside(url: str) -> bool:
    """Another connection holds an open write transaction on the donations: the import is in its transaction."""
    if url.startswith("sqlite"):
        probe = sqlite3.connect(url.split(":///", 1)[1], timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return False
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return True
        finally:
            probe.close()
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    schema = parse_qs(parts.query).get("options", [""])[0]
    with psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                          dbname=parts.path.lstrip("/"), options=schema) as probe, probe.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'donation' AND c.relnamespace = current_schema()::regnamespace "
                    "AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()")
        return cur.fetchone()[0] > 0


def wait_for(condition, what: str, timeout: float = 120, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: the process ended first: {process.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def test_a_backup_taken_during_a_publish_and_an_import_restores_to_the_same_site(cli_url, tmp_path):
    instance = Path(os.environ["XFJY_INSTANCE"])
    clock = {"XFJY_NOW": MOMENT}
    ready(cli_url)
    ok("demo", "--villages", "30", "--donations", "3000", "--seed", "7")
    run("publish")  # everything sealed, one release live: the state a running system is in
    with bound(cli_url):
        before = backup.table_counts()
        head = history.head()
        file = tmp_path / "gifts.csv"
        data.write_donations(file, data.receiving_project_codes(), ROWS, prefix="DRILL-", seed=7)
    run("build-site", "--out", tmp_path / "expected", env=clock)

    releases = instance / "site-releases"
    known = set(os.listdir(releases))
    publishing = xfjy("publish", "--full")
    wait_for(lambda: set(os.listdir(releases)) - known, "the publish builds its release", process=publishing)
    importing = xfjy("import-donations", file)
    wait_for(lambda: writer_inside(cli_url), "the import writes inside its transaction", process=importing)
    archive = tmp_path / "during.tar"
    taken = run("backup", archive)
    assert importing.poll() is None, "the import ended before the backup did: no drill"
    assert publishing.poll() is None or "已发布" in publishing.stdout.read(), "publish failed during the backup"
    for process in (importing, publishing):
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out
    with bound(cli_url):
        assert Donation.select().count() == before["donation"] + ROWS  # the import did land, after the snapshot

    manifest = backup.read_manifest(archive)
    held = {table: entry["rows"] for table, entry in manifest["tables"].items()}
    assert held.pop("publish_run") in (before["publish_run"], before["publish_run"] + 1)  # the running publish's row
    assert held == {t: n for t, n in before.items() if t != "publish_run"}, taken
    assert (manifest["history"]["seq"], manifest["history"]["hash"]) == head

    with bound(cli_url):
        backup.wipe(cli_url, instance)
    restored = run("restore", archive)
    assert "核对通过" in restored
    with bound(cli_url):
        counts = backup.table_counts()
        assert counts == {t: manifest["tables"][t]["rows"] for t in counts}
        assert history.head() == head
    run("build-site", "--out", tmp_path / "restored", env=clock)
    expected, got = digests(tmp_path / "expected"), digests(tmp_path / "restored")
    differing = sorted(set(expected) ^ set(got)) + sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
    assert not differing, f"{len(differing)} of {len(expected)} files differ, e.g. {differing[:5]}"
    verified = run("verify", tmp_path / "expected", tmp_path / "restored")
    assert "核验通过" in verified and "新增 0 条" in verified
