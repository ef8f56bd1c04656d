"""Every database test runs twice: on SQLite (WAL, a temp file) and on PostgreSQL (127.0.0.1:5432/test).

Each backend is migrated and loaded with the real regions once per session; each test runs inside a
transaction that is rolled back. PostgreSQL being down is an error, never a skip: set
XFJY_ALLOW_NO_PG=1 to deselect those runs on a machine without it.
"""
from __future__ import annotations

import contextlib
import os

import pytest
from peewee import OperationalError, PostgresqlDatabase

from db import areas, schema
from db.database import SQLITE_PRAGMAS, database, open_database

PG_URL = os.environ.get("XFJY_TEST_PG", "postgresql://127.0.0.1:5432/test")
PG_SCHEMA = f"xfjy_test_{os.getpid()}"
BACKENDS = ["sqlite", "postgres"]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("XFJY_ALLOW_NO_PG") == "1":
        items[:] = [i for i in items if "[postgres" not in i.nodeid]


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


@contextlib.contextmanager
def pg_schema(name: str):
    """A fresh PostgreSQL schema for the duration; yields the DATABASE_URL that works inside it."""
    admin = PostgresqlDatabase(None)
    admin.init(**_pg_params())
    try:
        admin.connect()
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL 不可用（{PG_URL}）：{exc}。PostgreSQL 测试不能跳过。", pytrace=False)
    admin.execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    admin.execute_sql(f'CREATE SCHEMA "{name}"')
    admin.close()
    try:
        yield f"{PG_URL}?options=-c%20search_path%3D{name}"
    finally:
        admin.connect()
        admin.execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.close()


@pytest.fixture(scope="session")
def postgres_backend():
    with pg_schema(PG_SCHEMA) as url:
        db = open_database(url)
        _prepare()
        yield db
        db.close()


def _pg_params():
    from urllib.parse import urlparse

    url = urlparse(PG_URL)
    return dict(database=url.path.lstrip("/"), host=url.hostname, port=url.port or 5432,
                user=url.username or None)


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


def login(client, user) -> str:
    """Sign ``user`` in through /login (password ``secret-pass``) and return a CSRF token for later posts."""
    import re

    from werkzeug.security import generate_password_hash

    from db.models import User

    User.update(password_hash=generate_password_hash("secret-pass", method="pbkdf2:sha256:1000")).where(
        User.id == user.id).execute()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": user.username, "password": "secret-pass", "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return token
