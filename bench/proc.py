"""Run a command as a subprocess: wall time, and the peak RSS of its whole process tree (no psutil).

The tree is walked through ``/proc/<pid>/task/*/children`` and each process's ``VmRSS`` is read from
``/proc/<pid>/status``, every 0.1 s. Forked workers share copy-on-write pages with their parent, which
this sum counts once per process: it is an upper bound of the memory really in use. The sum of each
process's ``Pss`` (``/proc/<pid>/smaps_rollup``: a shared page counted as a share of it in each process
that maps it) is the memory the tree really uses, sampled with it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "admin.cli"]
INTERVAL = 0.1
PSS_EVERY = 10  # samples: PSS once a second


@dataclass
class Outcome:
    args: list[str]
    returncode: int
    seconds: float
    peak_bytes: int
    stdout: str
    stderr: str
    peak_pss_bytes: int = 0

    @property
    def peak_pss_mb(self) -> float:
        return self.peak_pss_bytes / 1024 / 1024

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 1024 / 1024

    def failure(self) -> str:
        """One line saying why the command failed (its last error line)."""
        lines = [line for line in (self.stderr or self.stdout).strip().splitlines() if line.strip()]
        return f"exit {self.returncode}: {lines[-1][:300] if lines else 'no output'}"


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (children of all its threads, recursively)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
            except OSError:
                continue
    return found


def _kilobytes(path: str, field: str) -> int:
    """A ``field:   N kB`` line of a /proc file, in bytes (0 once the process is gone)."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss(pid: int) -> int:
    """Resident memory of one process in bytes."""
    return _kilobytes(f"/proc/{pid}/status", "VmRSS:")


def pss(pid: int) -> int:
    """Proportional set size of one process in bytes."""
    return _kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:")


def tree_rss(pid: int) -> int:
    return sum(rss(p) for p in descendants(pid))


class PeakSampler(threading.Thread):
    """Samples the tree's RSS and PSS sums until stopped; ``peak`` and ``peak_pss`` are the largest seen."""

    def __init__(self, pid: int, interval: float = INTERVAL):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.peak_pss = pid, interval, 0, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        beat = 0
        while not self._stop_event.is_set():
            tree = descendants(self.pid)
            self.peak = max(self.peak, sum(map(rss, tree)))
            if beat % PSS_EVERY == 0:  # the kernel walks every page table for it: not ten times a second
                self.peak_pss = max(self.peak_pss, sum(map(pss, tree)))
            beat += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def run(args: list[str], env: dict[str, str], timeout: float | None = None, cwd: Path = ROOT) -> Outcome:
    """Run ``args`` to the end, timing it and sampling its memory."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = PeakSampler(process.pid)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        stderr += f"\n超时（{timeout} 秒），已终止"
    seconds = time.perf_counter() - started
    peak = sampler.stop()
    return Outcome(list(args), process.returncode, seconds, peak, stdout, stderr, sampler.peak_pss)


def xfjy(*args: str, env: dict[str, str], timeout: float | None = None) -> Outcome:
    """One real ``xfjy`` command (``admin.cli.main``) in its own Python process."""
    return run([*CLI, *map(str, args)], env, timeout)


def module(name: str, *args: str, env: dict[str, str], timeout: float | None = None) -> Outcome:
    """``python -m <name> args`` (the bench's own helpers: naive baseline, 1 % change)."""
    return run([sys.executable, "-m", name, *map(str, args)], env, timeout)


if __name__ == "__main__":  # python -m bench.proc CMD...: one command's wall time and peak memory
    import json

    done = run(sys.argv[1:], dict(os.environ))
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    print(json.dumps({"returncode": done.returncode, "wall_s": round(done.seconds, 1),
                      "peak_rss_sum_mb": round(done.peak_mb), "peak_pss_sum_mb": round(done.peak_pss_mb)}))
    sys.exit(done.returncode)
