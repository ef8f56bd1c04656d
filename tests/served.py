"""The admin as it is deployed: ``xfjy serve`` in a process of its own on loopback, and (on PostgreSQL)
signed in as the role of ``deploy/postgres.sql``, which owns nothing."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests

from .admin_support import csrf_token, flashes
from .backends import PG_URL

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "secret-pass-2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def xfjy_serve(database_url: str, instance: Path, threads: int = 8):
    """Run ``xfjy serve`` (waitress) against ``database_url``; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "XFJY_INSTANCE": str(instance)}
    log = instance.with_suffix(".log")
    instance.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("xfjy")), "serve", "--port", str(port),
                                    "--site-port", "0", "--threads", str(threads)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"xfjy serve exited {process.returncode}: {log.read_text()[-2000:]}")
            try:
                if requests.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"xfjy serve did not answer in 30 s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def signed_in(base: str, username: str) -> tuple[requests.Session, str]:
    """A browser of its own signed in as ``username``; returns it and its CSRF token."""
    session = requests.Session()
    page = session.get(f"{base}/login").text
    token = csrf_token(page)
    response = session.post(f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    return session, token


def set_password(*users) -> None:
    from werkzeug.security import generate_password_hash

    from db.models import User

    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    User.update(password_hash=digest).where(User.id.in_([u.id for u in users])).execute()


# -- the least-privileged PostgreSQL role -----------------------------------------------------------

def _psql(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", PG_URL, "-q", *args], capture_output=True, text=True)


@contextlib.contextmanager
def app_role(schema: str):
    """Apply ``deploy/postgres.sql`` to ``schema`` (migrated by the owner); yields the app's DATABASE_URL,
    signed in as the new role. The role is dropped afterwards (roles are cluster-wide)."""
    role = f"xfjy_app_{uuid.uuid4().hex[:10]}"
    try:
        result = _psql("-v", f"app_role={role}", "-v", "app_password=not-used-here", "-v", f"schema={schema}",
                       "-f", str(ROOT / "deploy" / "postgres.sql"))
        assert result.returncode == 0 and "ERROR" not in result.stderr, result.stderr
        url = urlparse(PG_URL)
        yield f"postgresql://{role}@{url.hostname}:{url.port or 5432}{url.path}?options=-c%20search_path%3D{schema}"
    finally:
        _psql("-c", f'DROP OWNED BY "{role}"')  # fails harmlessly if the role was never made
        _psql("-c", f'DROP ROLE IF EXISTS "{role}"')


def hidden_fields(page: str, marker: str) -> dict[str, str]:
    """The hidden inputs of the form whose opening tag contains ``marker`` (what a browser would send)."""
    form = page[page.index(marker):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def flashed(session: requests.Session, response: requests.Response) -> list[str]:
    """The messages on the page a POST redirected to."""
    assert response.status_code == 302, (response.status_code, response.text[:300])
    return flashes(session.get(urljoin(response.url, response.headers["Location"])).text)
