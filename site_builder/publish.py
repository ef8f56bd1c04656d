"""Publish: build a new release beside the live one, then swap one symlink, so readers never see half a site.

``site`` (e.g. ``instance/site``) is a symlink to ``site-releases/<time>``. A publish holds an
exclusive ``flock`` on ``site.lock`` for its whole length: a second publish refuses (or waits with
``wait=True``), and a publish that is killed releases the lock with its process. A failed build
leaves the live site untouched. Every run is recorded in ``publish_run``.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from db import snapshot
from db.clock import now
from db.database import patient
from db.errors import XfjyError, storage_full
from db.models import PublishRun

from .audit import audit_site
from .build import BuildResult, build
from .check import broken_links
from .manifest import Manifest

KEEP_RELEASES = 3
# How far a publish is, in percent, when each step ends (the build's steps, then the link check and the
# audit): the bar of ``xfjy publish`` on a terminal. Rendering the villages takes most of the time.
PROGRESS = {"snapshot": 5, "theme": 15, "areas": 20, "digests": 25, "villages": 65, "assemble": 70, "finish": 72,
            "compress": 80, "links": 90, "audit": 100}
ADOPTED = "00000000-000000-adopted"  # sorts before every real release, so it is pruned first


class PublishBusy(XfjyError):
    pass


def releases_dir(site: Path) -> Path:
    return site.parent / f"{site.name}-releases"


def live_release(site: Path) -> Path | None:
    return site.resolve() if site.is_symlink() else None


def publish(site: os.PathLike, *, base_url: str = "", attachments: os.PathLike | None = None, wait: bool = False,
            requested_by: str = "", check: bool = True, workers: int = 1, full: bool = False,
            area: str | None = None, progress: Callable[[int], None] | None = None) -> PublishRun:
    """``progress(percent)`` is called as each step ends (``PROGRESS``)."""
    site = Path(site).absolute()
    site.parent.mkdir(parents=True, exist_ok=True)
    with open(site.with_name(site.name + ".lock"), "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise PublishBusy("另一次发布正在进行，本次未执行") from None
        try:
            with patient():  # a publish that ends while an import writes waits for it, not fails
                return _publish_locked(site, base_url, attachments, requested_by, check, workers, full, area,
                                       progress or _no_progress)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _no_progress(percent: int) -> None:
    pass


def _publish_locked(site: Path, base_url, attachments, requested_by: str, check: bool, workers: int,
                    full: bool, area: str | None, progress: Callable[[int], None]) -> PublishRun:
    PublishRun.update(status="interrupted", errors="发布进程中断（被终止或服务器重启）", finished_at=now()).where(
        PublishRun.status == "running").execute()
    run = PublishRun.create(started_at=now(), requested_by=requested_by)
    started = time.perf_counter()
    releases = releases_dir(site)
    releases.mkdir(exist_ok=True)
    _adopt_plain_directory(site, releases)
    _remove_leftovers(releases, keep=live_release(site))
    try:
        snapshot.prepare()
        target, result = make_release(site, f"{now():%Y%m%d-%H%M%S}-{run.id}", base_url=base_url, attachments=attachments,
                                      workers=workers, full=full, area=area, check=check, progress=progress)
    except BaseException as exc:
        _finish(run, started, status="failed", errors=str(storage_full(exc) or exc) or type(exc).__name__)
        raise
    install_release(site, target)
    _finish(run, started, status="ok", pages=result.pages, files=result.files, release=target.name,
            head_seq=result.head.get("seq"), head_hash=result.head.get("hash", ""),
            head_at=datetime.fromisoformat(result.head["at"]) if result.head.get("at") else None)
    return run


def make_release(site: Path, name: str, *, base_url: str, attachments, workers: int, full: bool, area: str | None,
                 check: bool = True, progress: Callable[[int], None] = _no_progress) -> tuple[Path, BuildResult]:
    """Build release ``name`` beside ``site``'s live one (incrementally from it unless ``full``), check its
    links and audit it; removed again if any of it fails. Nothing is swapped and nothing is written to the
    database, so that a shard can be built from a read replica (``shards.py``)."""
    target = releases_dir(site) / name
    live = live_release(site)
    manifest = None if full or live is None else _read_manifest(live)

    def step(name: str) -> None:
        if name in PROGRESS:
            progress(PROGRESS[name])

    try:
        result = build(target, base_url=base_url, attachments=attachments, workers=workers,
                       previous=live if manifest is not None else None, previous_manifest=manifest,
                       area=area, progress=step, sealed_from=live)
        laps = dict(result.timings)
        if check:
            laps.update(check_build(target, result, base_url, workers, step))
        record = {**result.manifest.to_json(), "laps": laps}  # where tonight's time went, for whoever asks
        _manifest_path(target).write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        step("audit")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        _manifest_path(target).unlink(missing_ok=True)
        raise
    result.timings = laps
    return target, result


def check_build(target: Path, result: BuildResult, base_url: str, workers: int,
                step: Callable[[str], None] = lambda name: None) -> dict[str, float]:
    """Refuse a build with a broken link or a page that its own open data contradicts (``XfjyError``);
    returns the two checks' laps. Run by every publish and by ``xfjy build-site``: one path, one cost."""
    checked_at = time.perf_counter()
    kept = result.manifest.kept()
    broken = broken_links(target, urlsplit(base_url).path or "/",
                          skip=lambda page: _of_kept_village(page.relative_to(target).parts, kept), workers=workers)
    if broken:
        raise XfjyError(f"发现 {len(broken)} 个无效链接，例如 {broken[0][0]} → {broken[0][1]}")
    step("links")
    audited_at = time.perf_counter()
    wrong = audit_site(target, result.manifest.rebuilt(), workers)  # an unchanged village was audited when first written
    if wrong:
        raise XfjyError(f"公开数据核对发现 {len(wrong)} 处不符，未发布：{wrong[0]}")
    return {"links": round(audited_at - checked_at, 3), "audit": round(time.perf_counter() - audited_at, 3)}


def install_release(site: Path, target: Path) -> None:
    """Make ``target`` the live release and prune the old ones."""
    _swap(site, target)
    _prune(releases_dir(site), keep=KEEP_RELEASES, live=target)


def _of_kept_village(parts: tuple[str, ...], kept: set[str]) -> bool:
    """A page of a village linked unchanged from the release it was checked in: its page, its 年度报告
    pages (village/<code>/<year>/) and its poster."""
    return (len(parts) >= 3 and parts[0] == "village" and parts[1] in kept
            or len(parts) == 2 and parts[0] == "poster" and parts[1].removesuffix(".html") in kept)


def _manifest_path(release: Path) -> Path:
    """Digests of what a release was built from, kept beside it (not published) for the next publish."""
    return release.with_name(release.name + ".manifest.json")


def _read_manifest(release: Path) -> Manifest | None:
    try:
        data = json.loads(_manifest_path(release).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Manifest.from_json(data) if data else None


def _finish(run: PublishRun, started: float, **fields) -> None:
    for name, value in fields.items():
        setattr(run, name, value)
    run.finished_at = now()
    run.seconds = round(time.perf_counter() - started, 3)
    run.save()


def _swap(site: Path, target: Path) -> None:
    """Point ``site`` at ``target`` with one rename (atomic on POSIX)."""
    temporary = site.with_name(f".{site.name}.swap")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(os.path.relpath(target, site.parent), temporary)
    os.replace(temporary, site)


def _adopt_plain_directory(site: Path, releases: Path) -> None:
    """A ``site`` that is a plain folder (copied by hand) becomes the first release."""
    if site.exists() and not site.is_symlink():
        adopted = releases / ADOPTED
        os.replace(site, adopted)
        _swap(site, adopted)


def _remove_leftovers(releases: Path, keep: Path | None) -> None:
    """Folders of builds that were killed before they finished (no successful run names them)."""
    finished = {name for (name,) in PublishRun.select(PublishRun.release).where(PublishRun.status == "ok").tuples()}
    for path in releases.iterdir():
        if path.is_dir() and path.resolve() != keep and path.name != ADOPTED and path.name not in finished:
            shutil.rmtree(path, ignore_errors=True)
            _manifest_path(path).unlink(missing_ok=True)


def _prune(releases: Path, keep: int, live: Path) -> None:
    """Keep the live release and the ones just before it (for a quick roll-back by hand).

    An old release is moved aside at once and deleted by a process of its own: removing 70,000
    files takes seconds that the publish need not wait for."""
    finished = sorted((p for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    trash = releases.with_name(releases.name + "-trash")
    for path in finished[:-keep]:
        if path.resolve() != live.resolve():
            trash.mkdir(exist_ok=True)
            os.replace(path, trash / path.name)
            _manifest_path(path).unlink(missing_ok=True)
    if trash.exists() and any(trash.iterdir()):
        quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]  # not the caller's pipes:
        os.posix_spawn(sys.executable, [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], True)",
                                        str(trash)], os.environ, setsid=True, file_actions=quiet)  # nobody waits on it


def is_running(site: Path) -> bool:
    """Whether a publish holds the lock right now (tried without waiting, released at once)."""
    lock_path = site.with_name(site.name + ".lock")
    if not lock_path.exists():
        return False
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False
