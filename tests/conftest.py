"""Every database test runs twice: on SQLite (WAL, a temp file) and on PostgreSQL (127.0.0.1:5432/test).

Each backend is migrated and loaded with the real regions once per session; each test runs inside a
transaction that is rolled back. PostgreSQL being down is an error, never a skip: set
XFJY_ALLOW_NO_PG=1 to deselect those runs on a machine without it.
"""
from __future__ import annotations

import os
import uuid

import pytest

from db import areas, schema
from db.database import SQLITE_PRAGMAS, database, open_database

from .backends import BACKENDS, pg_schema
from .factories import Chain, advance_to, new_project

PG_SCHEMA = f"xfjy_test_{os.getpid()}"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("XFJY_ALLOW_NO_PG") == "1":
        items[:] = [i for i in items if "[postgres" not in i.nodeid]
    # The files marked slow (the kill and restore drills take minutes each) first: each runs whole in one
    # worker (make test: --dist loadfile) while the other works through the rest.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _prepare():
    database.connect(reuse_if_open=True)
    schema.upgrade()
    areas.load_regions()


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    db = open_database(url)
    _prepare()
    yield db
    db.close()


@pytest.fixture(scope="session")
def postgres_backend():
    with pg_schema(PG_SCHEMA) as url:
        db = open_database(url)
        _prepare()
        yield db
        db.close()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture
def db(backend):
    """A database bound to the proxy, every change rolled back after the test."""
    database.initialize(backend)
    database.connect(reuse_if_open=True)
    with database.atomic() as txn:
        yield backend
        txn.rollback()


__all__ = ["SQLITE_PRAGMAS"]


@pytest.fixture
def app(db, tmp_path):
    """The admin on the test's database (same connection, same rolled-back transaction)."""
    import os as _os

    _os.environ["XFJY_INSTANCE"] = str(tmp_path / "instance")
    from admin import create_app

    application = create_app({"TESTING": True, "DATABASE_KEEP_BOUND": True, "SECRET_KEY": "test",
                              "ATTACHMENTS_DIR": str(tmp_path / "attachments")})
    yield application
    _os.environ.pop("XFJY_INSTANCE", None)


@pytest.fixture
def keep_proxy():
    """Whatever a test binds (the CLI, a command's database), the proxy goes back to what it was afterwards.

    For modules that do not use ``db``: ``pytestmark = pytest.mark.usefixtures("keep_proxy")``."""
    previous = database.obj
    yield
    database.initialize(previous)


# -- shared rows ----------------------------------------------------------------------------------------

@pytest.fixture
def chain(db):
    """A village under 土默特左旗 with one user at each level (``factories.Chain``)."""
    return Chain()


@pytest.fixture
def project_name() -> str | None:
    """The name of the ``project`` fixture's project; a module overrides it to name it (None: new_project's)."""
    return None


@pytest.fixture
def project(chain, project_name):
    """A project of ``chain``'s village, open for donations (募捐中)."""
    named = {"name": project_name} if project_name else {}
    return advance_to(new_project(chain, **named), "fundraising", chain)


# -- real browsers --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per test module (``browser_support.launch``)."""
    from playwright.sync_api import sync_playwright

    from .browser_support import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def expect_timeout():
    """Playwright's ``expect`` waits ``browser_support.TIMEOUT_MS``; a browser module uses it for every test."""
    from playwright.sync_api import expect

    from .browser_support import TIMEOUT_MS

    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(params=BACKENDS)
def cli_url(request, tmp_path, monkeypatch, keep_proxy):
    """DATABASE_URL of an empty database that a command opens itself (no test transaction around it);
    instance files under tmp_path."""
    monkeypatch.setenv("XFJY_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # FlaskGroup sets it; restored afterwards
    if request.param == "sqlite":
        value = f"sqlite:///{tmp_path / 'data' / 'cli.sqlite3'}"
        monkeypatch.setenv("DATABASE_URL", value)
        yield value
        return
    with pg_schema(f"xfjy_cli_{os.getpid()}_{uuid.uuid4().hex[:8]}") as value:
        monkeypatch.setenv("DATABASE_URL", value)
        yield value
