"""The write paths the crash tests (tests/test_crash.py) kill, each run as its users run it: the ``xfjy``
commands in-process (imports, publish), and the admin's forms through Flask's test client (receipt upload,
拨付, 结转) signed in as the user who would click. A forkserver with this module preloaded starts each one,
so a kill point falls inside the operation rather than inside Python's start-up.

A short operation (a form post takes milliseconds) is killed by itself at its N-th profiler event (every
Python and C function call and return, the database driver's included) rather than by the clock: N drawn
from 1 … the count of a whole run, so every point of the code path, the moment around the commit
included, is as likely as any other."""
from __future__ import annotations

import io
import os
import re
import signal
import sys
import uuid

from admin import create_app
from admin.cli import cli

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def run(op: str, url: str, instance: str, arg, ready, events=None, kill_at: int | None = None) -> None:
    """The child: its own process group (so a publish's workers die with it), its own database and
    instance; ``ready`` is set when what is left is the operation itself. With ``events`` (a shared
    counter) the operation's profiler events are counted, and with ``kill_at`` the process group is
    killed at that event."""
    os.setpgid(0, 0)
    os.environ.update(DATABASE_URL=url, XFJY_INSTANCE=instance)

    def start():
        if events is not None:
            sys.setprofile(_counter(events, kill_at))
        ready.set()

    try:
        {"command": command, "form": form}[op](arg, start)
    finally:
        sys.setprofile(None)


def _counter(events, kill_at: int | None):
    seen = 0

    def profile(frame, event, arg):
        nonlocal seen
        seen += 1
        if seen == kill_at:
            os.killpg(0, signal.SIGKILL)
        events.value = seen

    return profile


def command(args: list[str], ready) -> None:
    ready()
    cli.main(args=[str(a) for a in args], prog_name="xfjy", standalone_mode=False)


def form(arg: dict, ready) -> None:
    """Sign in, open the page the form is on, then post it (with its files) as a browser would."""
    client = create_app().test_client()
    token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    signed = client.post("/login", data={"username": arg["user"], "password": arg["password"], "csrf_token": token})
    assert signed.status_code == 302, signed.get_data(as_text=True)
    token = _CSRF.search(client.get(arg["page"]).get_data(as_text=True)).group(1)
    data = {**arg["form"], "csrf_token": token, "once": uuid.uuid4().hex}
    if arg.get("files"):
        data["receipts"] = [(io.BytesIO(content), name) for name, content in arg["files"]]
    ready()
    response = client.post(arg["url"], data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
