"""site_builder/processes.py: a build's workers die with the publish that started them (issue 12, item 20)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie waiting for its reaper is gone in effect
        return handle.read().split()[2] != "Z"


def test_workers_end_when_their_parent_is_killed(tmp_path):
    script = textwrap.dedent("""
        import multiprocessing, os, sys, time
        from site_builder.processes import die_with_parent

        def work(_):
            os.write(1, f"{os.getpid()}\\n".encode())  # one write: two workers' lines never interleave
            time.sleep(60)

        with multiprocessing.get_context("fork").Pool(2, initializer=die_with_parent) as pool:
            pool.map(work, range(2))
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        with parent.stdout:
            workers = [int(parent.stdout.readline()) for _ in range(2)]
        assert all(_alive(pid) for pid in workers)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(5)
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(_alive(pid) for pid in workers), "a worker outlived the killed publish"

