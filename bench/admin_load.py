"""The admin figures: the donation list filtered by 旗县市区 under 8 concurrent clients, and the dashboard.

Each client is its own ``urllib`` opener with its own cookie jar, signed in through ``/login`` like a
browser (the form's ``csrf_token`` hidden input, then a POST). The 旗县市区 filter's URL argument is read
from the list page Flask-Admin renders (``#filter-groups-data``), not guessed.
"""
from __future__ import annotations

import html
import http.cookiejar
import json
import re
import socket
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, process, timeout: float = 120) -> None:
    """Poll ``/login`` until it answers 200; fail early if the server process exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"serve did not answer within {timeout} s")


class Client:
    """A signed-in browser: one opener, one cookie jar."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str, str]:
        """Status, final URL and body (errors are returned as their status, not raised)."""
        try:
            with self.opener.open(self.base + path, timeout=TIMEOUT) as response:
                return response.status, response.geturl(), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode("utf-8", "replace")

    def login(self, username: str, password: str) -> None:
        status, _, page = self.get("/login")
        match = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page)
        token = re.search(r'value="([^"]*)"', match.group(0)) if match else None
        if status != 200 or token is None:
            raise RuntimeError(f"/login: status {status}, no csrf_token")
        data = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrf_token": html.unescape(token.group(1))}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=TIMEOUT) as response:
            final, body = response.geturl(), response.read().decode("utf-8", "replace")
        if "/login" in urllib.parse.urlsplit(final).path:
            alert = re.search(r'class="alert[^"]*"[^>]*>([^<]*)<', body)
            raise RuntimeError(f"login as {username} failed: {alert.group(1).strip() if alert else final}")


def filter_groups(client: Client, path: str = "/admin/donation/") -> dict:
    """The filters Flask-Admin renders on a list page: group label → [{index, arg, operation, options}]."""
    status, _, page = client.get(path)
    match = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
    if status != 200 or match is None:
        raise RuntimeError(f"{path}: status {status}, no filter-groups-data")
    return json.loads(match.group(1))


def county_filter_url(client: Client, county_id: int, label: str = "旗县市区") -> tuple[str, str]:
    """The list URL filtered to one 旗县市区 (``flt0_<arg>=<area id>``), and the county's name."""
    groups = filter_groups(client)
    if label not in groups:
        raise RuntimeError(f"no filter {label!r} on the donation list (have {', '.join(groups)})")
    spec = groups[label][0]
    options = {str(value): name for value, name in spec.get("options") or []}
    if str(county_id) not in options:
        raise RuntimeError(f"county {county_id} is not among the {label} filter's options")
    return f"/admin/donation/?flt0_{spec['arg']}={county_id}", options[str(county_id)]


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    rows_on_page: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    @property
    def p95(self) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def load(clients: list[Client], path: str, requests_each: int) -> LoadResult:
    """Every client in its own thread, ``requests_each`` GETs of ``path`` one after another."""
    result = LoadResult()
    lock = threading.Lock()
    start = threading.Barrier(len(clients))

    def worker(client: Client) -> None:
        start.wait()
        for _ in range(requests_each):
            began = time.perf_counter()
            try:
                status, _, body = client.get(path)
            except Exception as exc:  # a timeout or a reset connection is an error, not a crash
                status, body = None, repr(exc)
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                result.latencies_ms.append(elapsed)
                if status != 200:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(f"{status}: {body[:200]}")
                elif not result.rows_on_page:
                    result.rows_on_page = body.count('name="rowid"')

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def timed_gets(client: Client, path: str, times: int, warmup: int = 1) -> LoadResult:
    result = LoadResult()
    for i in range(warmup + times):
        began = time.perf_counter()
        status, _, body = client.get(path)
        elapsed = (time.perf_counter() - began) * 1000
        if i < warmup:
            continue
        result.latencies_ms.append(elapsed)
        if status != 200:
            result.errors += 1
            result.error_samples.append(f"{status}: {body[:200]}")
    return result
