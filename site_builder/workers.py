"""The worker pool of a build: village pages rendered by forked processes that read the parent's snapshot."""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass

from peewee import chunked

from .processes import die_with_parent


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def share(items: list, count: int) -> list[list]:
    """``items`` in at most ``count`` consecutive parts of (nearly) equal size."""
    if not items:
        return []
    count = max(1, min(count, len(items)))
    return list(chunked(items, -(-len(items) // count)))


@dataclass(frozen=True)
class _Work:
    task: Callable
    parts: list
    before: Callable[[], None]


_work: _Work | None = None  # in a worker: what it was started with (see _started)


def in_workers(task: Callable, parts: list, before: Callable[[], None], meanwhile: Callable[[], None]) -> list:
    """``task(part)`` for each part, each in a process of its own that runs ``before()`` first (to join
    the snapshot); this process runs ``meanwhile()`` while they work. Returns the results in order.

    The processes are forked and handed the work as they start, so nothing of it is pickled; only
    the results come back through the pool."""
    context = multiprocessing.get_context("fork")
    with context.Pool(len(parts), initializer=_started, initargs=(_Work(task, parts, before),)) as pool:
        pending = pool.map_async(_run, range(len(parts)))
        meanwhile()
        return pending.get()


def _started(work: _Work) -> None:
    global _work
    die_with_parent()
    _work = work


def _run(index: int):
    _work.before()
    return _work.task(_work.parts[index])
