"""``python -m bench``: build the dataset, measure every figure of issue 5 on each backend, print the table.

Per backend, in this order (the imports change the data, so they come after the publish figures):

1. ``xfjy init-db`` and ``load-regions`` on a fresh database (a new SQLite file, or a new PostgreSQL
   schema), then ``xfjy demo --villages N --donations D`` — timed;
2. ``xfjy publish --full`` — wall time and peak memory; the naive baseline (``bench/naive.py``) right
   after it, in the same run; the largest village page and the gzipped search index of the release;
3. 1 % of villages changed (``bench/change.py``), then ``xfjy publish`` (incremental) — timed — and
   ``xfjy build-site`` (a full build) — compared with the published release file by file;
4. ``xfjy serve``: the donation list filtered by 旗县市区 under 8 concurrent clients, and the dashboard;
5. ``xfjy import-donations``: 100,000 new rows as CSV, then as XLSX, each imported twice.

Exits 0 even when targets are missed: it is a report.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import admin_load, data, proc, report

ROOT = proc.ROOT
FULL_VILLAGES, FULL_DONATIONS = 14_000, 1_000_000
PG_BASE = "postgresql://127.0.0.1:5432/test"
SITE_URL = "http://127.0.0.1:8000/"
TIMEOUT = 3600


def log(backend: str, message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] [{backend}] {message}", file=sys.stderr, flush=True)


class Step(Exception):
    """A step that failed; its message goes into the report under the figure it was measuring."""


class Backend:
    """One database with its instance folder, and the figures measured on it."""

    def __init__(self, name: str, workdir: Path, args):
        self.name, self.args = name, args
        self.root = workdir / name
        self.instance = self.root / "instance"
        self.figures: dict[str, object] = {}
        self.errors: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.details: dict[str, object] = {}
        self.schema = f"xfjy_bench_{os.getpid()}" if name == "postgres" else None
        if name == "sqlite":
            self.url = f"sqlite:///{self.instance / 'xfjy.sqlite3'}"
        else:
            self.url = f"{PG_BASE}?options=-c%20search_path%3D{self.schema}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XFJY_") and k != "DATABASE_URL"}
        env.update(DATABASE_URL=self.url, XFJY_INSTANCE=str(self.instance), XFJY_SITE_URL=SITE_URL,
                   PYTHONUNBUFFERED="1")
        return env

    @property
    def site(self) -> Path:
        return self.instance / "site"

    def xfjy(self, *args, timeout: float = TIMEOUT) -> proc.Outcome:
        return proc.xfjy(*args, env=self.env, timeout=timeout)

    def fail(self, keys: list[str], message: str) -> None:
        for key in keys:
            self.errors.setdefault(key, message)

    def result(self) -> dict:
        return {"url": self.url, "figures": self.figures, "errors": self.errors, "notes": self.notes,
                "details": self.details}


# -- databases -----------------------------------------------------------------------------------------

def pg_admin():
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, dbname="test")
    connection.autocommit = True
    return connection


def pg_version() -> str:
    try:
        with pg_admin() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return cursor.fetchone()[0]
    except Exception as exc:  # reported, not fatal: the SQLite half can still run
        return f"unavailable ({type(exc).__name__})"


def create_database(backend: Backend) -> None:
    if backend.instance.exists():
        shutil.rmtree(backend.instance)
    backend.instance.mkdir(parents=True)
    if backend.schema:
        connection = pg_admin()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{backend.schema}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{backend.schema}"')
        connection.close()


def drop_database(backend: Backend) -> None:
    if backend.schema:
        connection = pg_admin()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{backend.schema}" CASCADE')
        connection.close()


# -- the steps -----------------------------------------------------------------------------------------

def checked(outcome: proc.Outcome, what: str) -> proc.Outcome:
    if not outcome.ok:
        raise Step(f"{what} failed ({outcome.failure()})")
    return outcome


def step_dataset(b: Backend, villages: int, donations: int, seed: int) -> None:
    checked(b.xfjy("init-db"), "init-db")
    checked(b.xfjy("load-regions"), "load-regions")
    log(b.name, f"demo --villages {villages} --donations {donations} …")
    outcome = checked(b.xfjy("demo", "--villages", villages, "--donations", donations, "--seed", seed), "demo")
    b.figures["demo_s"] = round(outcome.seconds, 2)
    b.details["demo"] = {"seconds": outcome.seconds, "peak_mb": round(outcome.peak_mb, 1),
                         "output": outcome.stdout.strip()[-500:]}
    log(b.name, f"demo: {outcome.seconds:.1f} s, peak {outcome.peak_mb:.0f} MB")


def step_full_publish(b: Backend) -> None:
    log(b.name, "publish --full …")
    outcome = checked(b.xfjy("publish", "--full"), "publish --full")
    b.figures["publish_full_s"] = round(outcome.seconds, 2)
    b.details["publish_full"] = {"seconds": outcome.seconds, "peak_mb": round(outcome.peak_mb, 1),
                                 "output": outcome.stdout.strip()}
    b.figures["publish_peak_mb"] = round(outcome.peak_mb, 1)
    b.figures["publish_peak_pss_mb"] = round(outcome.peak_pss_mb, 1)
    log(b.name, f"publish --full: {outcome.seconds:.1f} s, peak {outcome.peak_mb:.0f} MB RSS, "
                f"{outcome.peak_pss_mb:.0f} MB PSS")


def step_naive(b: Backend) -> None:
    out = b.root / "naive-site"
    log(b.name, "naive baseline …")
    outcome = checked(proc.module("bench.naive", "--out", out, env=b.env, timeout=TIMEOUT), "naive baseline")
    b.figures["naive_s"] = round(outcome.seconds, 2)
    b.figures["naive_peak_mb"] = round(outcome.peak_mb, 1)
    b.details["naive"] = {"seconds": outcome.seconds, "peak_mb": round(outcome.peak_mb, 1),
                          "output": outcome.stdout.strip()[-1000:]}
    if "publish_full_s" in b.figures:
        b.figures["full_vs_naive"] = round(b.figures["publish_full_s"] / outcome.seconds, 3)
    log(b.name, f"naive: {outcome.seconds:.1f} s, peak {outcome.peak_mb:.0f} MB")
    if not b.args.keep:
        shutil.rmtree(out, ignore_errors=True)


def step_sizes(b: Backend) -> None:
    site = b.site.resolve()
    pages = list((site / "village").glob("*/index.html"))
    if not pages:
        raise Step(f"no village pages in {site}")
    largest = max(pages, key=lambda p: p.stat().st_size)
    b.figures["village_page_kb"] = round(largest.stat().st_size / report.KIB, 1)
    b.details["village_page"] = {"largest": str(largest.relative_to(site)), "bytes": largest.stat().st_size,
                                 "pages": len(pages)}
    index = (site / "search" / "search_index.json").read_bytes()
    packed = gzip.compress(index, compresslevel=6)
    b.figures["search_gzip_mb"] = round(len(packed) / report.MIB, 3)
    b.details["search_index"] = {"bytes": len(index), "gzip_bytes": len(packed)}


def step_incremental(b: Backend) -> None:
    log(b.name, "1 % change …")
    outcome = checked(proc.module("bench.change", env=b.env, timeout=TIMEOUT), "1 % change")
    import json

    changed = json.loads(outcome.stdout.strip().splitlines()[-1])
    b.details["change"] = changed
    b.figures["changed_villages"] = changed["changed"]
    b.notes["1 % 变更"] = (f"{changed['changed']} 个村社：捐赠 {changed['donation']}，支出 {changed['spending']}，"
                         f"编辑 {changed['edit']}" + (f"（{changed['spending_fell_back_to_donation']} 个支出改为捐赠）"
                                                     if changed["spending_fell_back_to_donation"] else ""))
    log(b.name, "publish (incremental) …")
    outcome = checked(b.xfjy("publish"), "publish (incremental)")
    b.figures["publish_incremental_s"] = round(outcome.seconds, 2)
    b.details["publish_incremental"] = {"seconds": outcome.seconds, "peak_mb": round(outcome.peak_mb, 1),
                                        "output": outcome.stdout.strip()}
    b.figures["publish_peak_mb"] = round(max(b.figures.get("publish_peak_mb", 0), outcome.peak_mb), 1)
    b.figures["publish_peak_pss_mb"] = round(max(b.figures.get("publish_peak_pss_mb", 0), outcome.peak_pss_mb), 1)
    rendered = rerendered_villages(b.site)
    if rendered is not None:
        b.details["publish_incremental"]["villages_rendered"] = rendered
        b.notes["增量发布"] = f"重新生成 {rendered} 个村社页面，其余从上一版硬链接"
    log(b.name, f"publish: {outcome.seconds:.1f} s, peak {outcome.peak_mb:.0f} MB, {rendered} village pages rendered")
    full = b.root / "full-build"
    log(b.name, "build-site (full, for comparison) …")
    outcome = checked(b.xfjy("build-site", "--out", full), "build-site")
    b.figures["build_after_change_s"] = round(outcome.seconds, 2)
    differing = compare_trees(b.site.resolve(), full)
    b.figures["incremental_identical"] = "yes" if not differing else "no"
    b.figures["incremental_differing_files"] = len(differing)
    b.details["differing_files"] = differing[:50]
    if differing:
        b.notes["不同的文件"] = ", ".join(differing[:5]) + (" …" if len(differing) > 5 else "")
    if not b.args.keep:
        shutil.rmtree(full, ignore_errors=True)


def rerendered_villages(site: Path) -> int | None:
    """Village pages of the live release that are not hard links of the previous release's."""
    live = site.resolve()
    releases = sorted(p for p in live.parent.iterdir() if p.is_dir() and not p.name.startswith(".") and p != live)
    if not releases:
        return None
    previous = releases[-1]
    count = 0
    for page in (live / "village").glob("*/index.html"):
        before = previous / page.relative_to(live)
        if not before.exists() or before.stat().st_ino != page.stat().st_ino:
            count += 1
    return count


def compare_trees(left: Path, right: Path) -> list[str]:
    """Relative paths that differ: missing on one side, or different bytes."""
    def files(root: Path) -> dict[str, Path]:
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}

    a, b = files(left), files(right)
    differing = sorted(set(a) ^ set(b))
    for name in sorted(set(a) & set(b)):
        pa, pb = a[name], b[name]
        if pa.stat().st_size != pb.stat().st_size or pa.read_bytes() != pb.read_bytes():
            differing.append(name)
    return sorted(differing)


@contextmanager
def server(b: Backend):
    port = admin_load.free_port()
    logfile = open(b.root / "serve.log", "w")
    process = subprocess.Popen([*proc.CLI, "serve", "--port", str(port), "--site-port", "0"], env=b.env, cwd=ROOT,
                               stdout=logfile, stderr=subprocess.STDOUT)
    try:
        admin_load.wait_until_up(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        logfile.close()


def step_admin(b: Backend, clients: int = 8, requests_each: int = 25, dashboard_times: int = 10) -> None:
    from db.demo import DEMO_PASSWORD

    with data.bound(b.url):
        county_id, county_name, count = data.busiest_county()
    log(b.name, f"admin: serve; donation list of {county_name} ({count:,} donations), {clients}×{requests_each} …")
    with server(b) as base:
        first = admin_load.Client(base)
        first.login("demo-region", DEMO_PASSWORD)
        path, label = admin_load.county_filter_url(first, county_id)
        others = [admin_load.Client(base) for _ in range(clients - 1)]
        for client in others:
            client.login("demo-region", DEMO_PASSWORD)
        team = [first, *others]
        admin_load.timed_gets(first, path, 0, warmup=1)
        result = admin_load.load(team, path, requests_each)
        b.figures["admin_list_median_ms"] = round(result.median, 1) if result.median is not None else None
        b.figures["admin_list_p95_ms"] = round(result.p95, 1) if result.p95 is not None else None
        b.figures["admin_list_errors"] = result.errors
        b.details["admin_list"] = {"path": path, "county": label, "county_donations": count,
                                   "requests": len(result.latencies_ms), "rows_on_page": result.rows_on_page,
                                   "max_ms": round(max(result.latencies_ms), 1), "error_samples": result.error_samples}
        b.notes["捐赠列表"] = f"{label}（{count:,} 笔捐赠），{path}，每页 {result.rows_on_page} 行"
        dashboard = admin_load.timed_gets(first, "/admin/", dashboard_times, warmup=1)
        b.figures["dashboard_median_ms"] = round(dashboard.median, 1)
        b.details["dashboard"] = {"latencies_ms": [round(x, 1) for x in dashboard.latencies_ms],
                                  "errors": dashboard.errors, "error_samples": dashboard.error_samples}
        if dashboard.errors:
            b.errors["dashboard_median_ms"] = f"{dashboard.errors} of {dashboard_times} requests failed"
    log(b.name, f"admin: list median {result.median:.0f} ms, p95 {result.p95:.0f} ms, {result.errors} errors; "
                f"dashboard {dashboard.median:.0f} ms")


def step_reports(b: Backend) -> None:
    """The region's 统计报表 as of today and its 年度报告 of last year, each a whole XLSX (issue 15: < 10 s at
    2,000 villages, the bench's quick mode)."""
    out = b.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    today = dt.date.today()
    made = checked(b.xfjy("report", "--area", "150000", "--as-of", f"{today:%Y-%m-%d}", "--out", out / "report.xlsx",
                          "--by", "bench"), "report")
    b.figures["report_region_s"] = round(made.seconds, 2)
    annual = checked(b.xfjy("annual-report", "--area", "150000", "--year", str(today.year - 1), "--out",
                            out / "annual.xlsx", "--by", "bench"), "annual-report")
    b.figures["annual_region_s"] = round(annual.seconds, 2)
    b.details["reports"] = {"report": made.stdout.strip(), "annual": annual.stdout.strip(),
                            "peak_mb": round(max(made.peak_mb, annual.peak_mb), 1)}
    log(b.name, f"reports: 统计报表 {made.seconds:.1f} s, 年度报告 {annual.seconds:.1f} s")


def step_import(b: Backend, kind: str, rows: int, seed: int) -> None:
    path = b.root / "imports" / f"donations-{kind}.{kind}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with data.bound(b.url):
        codes = data.receiving_project_codes()
        before = data.donation_count()
    if not codes:
        raise Step("no project accepts donations")
    log(b.name, f"import: writing {rows:,} rows as {kind.upper()} over {len(codes)} projects …")
    data.write_donations(path, codes, rows, prefix=f"BENCH-{kind.upper()}-", seed=seed)
    b.details[f"import_{kind}_file"] = {"bytes": path.stat().st_size, "projects": len(codes)}
    outcome = checked(b.xfjy("import-donations", path), f"import-donations {path.name}")
    with data.bound(b.url):
        middle = data.donation_count()
    b.figures[f"import_{kind}_s"] = round(outcome.seconds, 2)
    if middle - before != rows:
        b.errors[f"import_{kind}_s"] = f"added {middle - before:,} rows, expected {rows:,}"
    outcome2 = checked(b.xfjy("import-donations", path), f"import-donations {path.name} (again)")
    with data.bound(b.url):
        after = data.donation_count()
    b.figures[f"import_{kind}_again_s"] = round(outcome2.seconds, 2)
    b.figures[f"import_{kind}_again_added"] = after - middle
    b.details[f"import_{kind}"] = {"first": outcome.stdout.strip(), "again": outcome2.stdout.strip(),
                                   "peak_mb": round(max(outcome.peak_mb, outcome2.peak_mb), 1)}
    log(b.name, f"import {kind}: {outcome.seconds:.1f} s, again {outcome2.seconds:.1f} s (+{after - middle})")


STEPS_AFTER_DATASET = [
    ("publish", step_full_publish, ["publish_full_s", "publish_peak_mb", "publish_peak_pss_mb", "full_vs_naive"]),
    ("naive", step_naive, ["naive_s", "naive_peak_mb", "full_vs_naive"]),
    ("sizes", step_sizes, ["village_page_kb", "search_gzip_mb"]),
    ("incremental", step_incremental, ["publish_incremental_s", "incremental_identical", "incremental_differing_files"]),
    ("admin", step_admin, ["admin_list_median_ms", "admin_list_p95_ms", "admin_list_errors", "dashboard_median_ms"]),
    ("reports", step_reports, ["report_region_s", "annual_region_s"]),
]
NEEDS_PUBLISH = {"sizes", "incremental"}


def run_backend(b: Backend, villages: int, donations: int, args) -> None:
    log(b.name, f"database {b.url}, instance {b.instance}")
    try:
        create_database(b)
        step_dataset(b, villages, donations, args.seed)
    except Exception as exc:
        b.fail([f.key for f in report.FIGURES], f"dataset: {exc}")
        log(b.name, f"FAILED: {exc}")
        return
    published = True
    for name, step, keys in STEPS_AFTER_DATASET:
        if name in args.skip:
            b.fail(keys, "skipped: --skip " + name)
            continue
        if name in NEEDS_PUBLISH and not published:
            b.fail(keys, "skipped: the full publish failed")
            continue
        try:
            step(b)
        except Exception as exc:
            message = str(exc) if isinstance(exc, Step) else f"{type(exc).__name__}: {exc}"
            b.fail(keys, message)
            log(b.name, f"{name} FAILED: {message}")
            if name == "publish":
                published = False
    for kind in ("csv", "xlsx"):
        keys = [f"import_{kind}_s", f"import_{kind}_again_s", f"import_{kind}_again_added"]
        if "imports" in args.skip:
            b.fail(keys, "skipped: --skip imports")
            continue
        try:
            step_import(b, kind, args.import_rows, args.seed + (1 if kind == "csv" else 2))
        except Exception as exc:
            message = str(exc) if isinstance(exc, Step) else f"{type(exc).__name__}: {exc}"
            b.fail(keys, message)
            log(b.name, f"import {kind} FAILED: {message}")


# -- the command ---------------------------------------------------------------------------------------

def git_state() -> str:
    """The commit measured (with ``+dirty`` when the working tree has changes), or "" outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if dirty else "") if head else ""


def machine() -> dict:
    from importlib.metadata import version

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "postgresql": pg_version(), "mkdocs": version("mkdocs"), "mkdocs_material": version("mkdocs-material"),
            "platform": platform.platform()}


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description="幸福家园 performance bench (issue 5)")
    parser.add_argument("--villages", type=int, default=FULL_VILLAGES,
                        help=f"villages in the dataset (default {FULL_VILLAGES:,}; 2000 for a quick run)")
    parser.add_argument("--donations", type=int, default=None,
                        help="donations (default 1,000,000 × villages / 14,000)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows per import file (default 100,000)")
    parser.add_argument("--workdir", type=Path, default=None, help="work folder (default: a new one under /tmp)")
    parser.add_argument("--skip", action="append", default=[], metavar="STEP",
                        choices=[name for name, *_ in STEPS_AFTER_DATASET] + ["imports"],
                        help="leave a step out (repeatable), e.g. the 10-minute naive baseline on a second run")
    parser.add_argument("--keep", action="store_true", help="keep the work folder, the sites and the PostgreSQL schema")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table as Markdown")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    villages = args.villages
    donations = args.donations if args.donations is not None else round(FULL_DONATIONS * villages / FULL_VILLAGES)
    if args.workdir is None:
        workdir, created = Path(tempfile.mkdtemp(prefix="xfjy-bench-", dir="/tmp")), True
    else:
        workdir, created = args.workdir.resolve(), not args.workdir.exists()
        workdir.mkdir(parents=True, exist_ok=True)
    names = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    results = {"started_at": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
               "dataset": {"villages": villages, "donations": donations, "seed": args.seed,
                           "import_rows": args.import_rows, "quick": villages < FULL_VILLAGES},
               "workdir": str(workdir), "git": git_state(), "backends": {}}
    print("\n".join(report.machine_lines(dict(results, seconds=0))[:2]), file=sys.stderr, flush=True)
    backends = [Backend(name, workdir, args) for name in names]
    try:
        for b in backends:
            try:
                run_backend(b, villages, donations, args)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a bug of the bench itself: reported, the other backend still runs
                b.fail([f.key for f in report.FIGURES], f"bench error: {type(exc).__name__}: {exc}")
            results["backends"][b.name] = b.result()
    finally:
        if not args.keep:
            for b in backends:
                try:
                    drop_database(b)
                except Exception as exc:
                    log(b.name, f"could not drop schema {b.schema}: {exc}")
                shutil.rmtree(b.root, ignore_errors=True)
            if created:
                shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work folder kept: {workdir}", file=sys.stderr)
    results["seconds"] = time.perf_counter() - started
    if git_state() != results["git"]:
        results["git"] += f" → {git_state()} (the code changed during the run)"
    print()
    print(report.text_table(results))
    if args.json:
        report.write_json(args.json, results)
    if args.markdown:
        args.markdown.write_text(report.markdown_table(results), encoding="utf-8")
    return 0
