"""One public site from shards built apart: each 盟市 or 省级 area published by a job of its own, on
whichever machine takes it from the queue, reading the database (a read replica) and writing only files;
then the shards are put side by side under one site, ``/<area code>/``, with a portal page above them.

The queue is RQ over Redis (``rq worker xfjy-shards`` on each machine, ``xfjy shard-worker`` here): a job
is the shard's ``make_release`` (the same build, link check and audit as ``xfjy publish``, incremental from
the shard's previous release), installed in ``<root>/<area>/site``. The writes a publish makes first (the
tallies and the public history's new links) are made once, on the primary, before the jobs are queued.

``rq`` and ``redis`` are imported where they are used: 0.25 s that no other ``xfjy`` command should pay.
"""
from __future__ import annotations

import csv
import fcntl
import filecmp
import json
import os
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from db.areas import get_area
from db.clock import now
from db.database import open_database
from db.money import format_fen, parse_fen

from .opendata import open_region
from .output import write
from .pages import environment
from .publish import PublishBusy, install_release, live_release, make_release, releases_dir

QUEUE = "xfjy-shards"
POLL = 2  # seconds a wait for a job's result blocks at a time
JOB_TIMEOUT = 3 * 3600  # seconds: a province of 14,000 villages takes minutes; a stuck job is stopped


@dataclass(frozen=True)
class ShardJob:
    """What a worker needs to publish one shard: everything is passed, nothing read from its own config."""

    area: str
    root: str           # where the shard's releases live: <root>/<area>/site
    base_url: str       # the shard's address under the one site: <site>/<area>/
    database_url: str   # a read replica, or the primary itself
    attachments: str | None
    workers: int
    full: bool = False


def publish_shard(job: ShardJob) -> dict:
    """The job a worker runs: the shard's new release, built, checked and installed; returns its figures."""
    started = time.perf_counter()
    open_database(job.database_url).connect()
    site = Path(job.root) / job.area / "site"
    releases = releases_dir(site)
    releases.mkdir(parents=True, exist_ok=True)
    with open(site.with_name("site.lock"), "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishBusy(f"区划 {job.area} 的分片正在生成，本次未执行") from None
        live = live_release(site)
        for path in releases.iterdir():  # a release without its manifest was never finished
            if path.is_dir() and path.resolve() != live and not path.with_name(path.name + ".manifest.json").exists():
                shutil.rmtree(path, ignore_errors=True)
        target, result = make_release(site, f"{now():%Y%m%d-%H%M%S}-{os.getpid()}", base_url=job.base_url,
                                      attachments=job.attachments, workers=job.workers, full=job.full, area=job.area)
        install_release(site, target)
    usage = [resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return {"area": job.area, "release": str(target), "pages": result.pages, "files": result.files,
            "rendered": result.rendered, "seconds": round(time.perf_counter() - started, 3), "laps": result.timings,
            "bytes": _size(target), "max_rss_mb": round(max(usage) / 1024, 1), "head": result.head}


def _size(folder: Path) -> int:
    """Bytes of the files in ``folder``, each hard-linked file once."""
    seen, total = set(), 0
    for directory, _, names in os.walk(folder):
        for name in names:
            stat = os.lstat(os.path.join(directory, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


def enqueue(jobs: list[ShardJob], redis_url: str, queue_name: str = QUEUE) -> list:
    """Put the jobs on the queue; returns RQ's jobs, to ``wait`` for."""
    from redis import Redis
    from redis.exceptions import ConnectionError as NoRedis
    from rq import Queue

    queue = Queue(queue_name, connection=Redis.from_url(redis_url))
    try:
        return [queue.enqueue(publish_shard, job, job_timeout=JOB_TIMEOUT, result_ttl=7 * 24 * 3600,
                              failure_ttl=7 * 24 * 3600, description=f"公示网站分片 {job.area}") for job in jobs]
    except NoRedis as exc:
        raise ShardFailed(f"无法连接任务队列（Redis，{redis_url}）：{exc}") from exc


def wait(queued: list, timeout: float) -> list[dict]:
    """Each job's figures, in order; raises ``ShardFailed`` naming the first shard that failed or timed out,
    after cancelling the jobs not yet taken (a late worker must not publish them behind the caller's back)."""
    deadline, done = time.monotonic() + timeout, []
    try:
        for job in queued:
            result = job.latest_result()
            while result is None and time.monotonic() < deadline:  # short blocks: redis-py reads time out at 5 s
                result = job.latest_result(timeout=POLL)
            if result is None:
                raise ShardFailed(f"分片 {job.args[0].area} 在 {timeout:.0f} 秒内没有完成"
                                  "（是否有分片任务进程 xfjy shard-worker 在运行？）")
            if result.type != result.Type.SUCCESSFUL:
                last = (result.exc_string or "").strip().splitlines()[-1:] or ["未知错误"]
                raise ShardFailed(f"分片 {job.args[0].area} 生成失败：{last[0]}")
            done.append(result.return_value)
    except ShardFailed:
        for job in queued:
            if job.get_status(refresh=True) == "queued":
                job.cancel()
        raise
    return done


class ShardFailed(RuntimeError):
    pass


def work(redis_url: str, queue_name: str = QUEUE, burst: bool = False) -> None:
    """An RQ worker on the shards' queue (``rq worker -u URL xfjy-shards`` does the same)."""
    from redis import Redis
    from rq import Queue, Worker

    connection = Redis.from_url(redis_url)
    Worker([Queue(queue_name, connection=connection)], connection=connection).work(burst=burst)


# -- one site ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shard:
    """A shard's line on the portal, summed from its own open data (``data/region/projects.csv``)."""

    code: str
    name: str
    villages: int
    projects: int
    raised: int
    disbursed: int
    spent: int
    as_of: str

    def row(self) -> dict:
        return {"code": self.code, "name": self.name, "villages_with_projects": self.villages, "projects": self.projects,
                "raised_yuan": format_fen(self.raised, unit=False), "disbursed_yuan": format_fen(self.disbursed, unit=False),
                "spent_yuan": format_fen(self.spent, unit=False), "as_of": self.as_of, "url": f"{self.code}/"}


def read_shard(code: str, release: Path) -> Shard:
    villages, projects, sums = set(), 0, {"raised_yuan": 0, "disbursed_yuan": 0, "spent_yuan": 0}
    with open_region(release, "projects") as handle:
        for row in csv.DictReader(handle):
            villages.add(row["village_code"])
            projects += 1
            for column in sums:
                sums[column] += parse_fen(row[column].replace(",", ""))
    head = json.loads((release / "data" / "history" / "head.json").read_text(encoding="utf-8"))
    return Shard(code, get_area(code).name, len(villages), projects, sums["raised_yuan"], sums["disbursed_yuan"],
                 sums["spent_yuan"], head.get("at", "")[:10])


def assemble(site: Path, shards: dict[str, Path]) -> Path:
    """Put each shard's live release (``shards``: area code → release) under ``<site>/<code>/`` by hard links,
    with the portal page and ``shards.json``, as a new release of ``site``; returns it."""
    site = Path(site).absolute()
    releases = releases_dir(site)
    releases.mkdir(parents=True, exist_ok=True)
    target = releases / f"{now():%Y%m%d-%H%M%S}-shards"
    try:
        lines, shared = [], {}
        for code, release in sorted(shards.items()):
            shutil.copytree(release, target / code, copy_function=os.link)
            _share(target / code, shared)
            lines.append(read_shard(code, release))
        write(target / "index.html", portal(lines))
        write(target / "shards.json", json.dumps([s.row() for s in lines], ensure_ascii=False, indent=1))
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    install_release(site, target)
    return target


SHARED = ("assets/", "data/history/")  # the theme's files, and the public history's sealed files: alike in every shard


def _share(shard: Path, seen: dict[str, Path]) -> None:
    """Files of ``SHARED`` folders that an earlier shard has with the same bytes become links to its copy,
    so that the one site stores the theme and the sealed history once."""
    for folder in SHARED:
        for path in sorted((shard / folder).rglob("*")):
            if not path.is_file() or (folder == "data/history/" and not path.name.endswith(".jsonl.gz")):
                continue
            key = path.relative_to(shard).as_posix()
            first = seen.setdefault(key, path)
            if first is not path and not os.path.samefile(first, path) and filecmp.cmp(first, path, shallow=False):
                temporary = path.with_name(path.name + ".link")
                os.link(first, temporary)
                os.replace(temporary, path)


def portal(shards: list[Shard]) -> str:
    """The page above the shards: each one's name, figures and link (its figures are in ``shards.json``)."""
    return environment().get_template("portal.html").render(shards=[s.row() for s in shards])
