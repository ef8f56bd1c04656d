"""The two databases every test runs on, for tests that make their own: the PostgreSQL URL, a fresh schema,
a short connection of the test's own, and a statement the database must refuse."""
from __future__ import annotations

import contextlib
import os
from urllib.parse import urlparse

import pytest
from peewee import DatabaseError, OperationalError, PostgresqlDatabase

from db.database import open_database

PG_URL = os.environ.get("XFJY_TEST_PG", "postgresql://127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def pg_params() -> dict:
    url = urlparse(PG_URL)
    return dict(database=url.path.lstrip("/"), host=url.hostname, port=url.port or 5432,
                user=url.username or None)


@contextlib.contextmanager
def pg_schema(name: str):
    """A fresh PostgreSQL schema for the duration; yields the DATABASE_URL that works inside it."""
    admin = PostgresqlDatabase(None)
    admin.init(**pg_params())
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


@contextlib.contextmanager
def bound(url: str):
    """The test's own short connection to the database at ``url`` (the commands' or the CLI's), closed afterwards."""
    db = open_database(url)
    db.connect(reuse_if_open=True)
    try:
        yield db
    finally:
        db.close()


def refused(db, sql: str, params=()) -> str:
    """The database's error message for ``sql``, which it must refuse (the transaction is rolled back)."""
    with pytest.raises(DatabaseError) as info:
        with db.atomic():
            db.execute_sql(sql, list(params))
    return str(info.value)
