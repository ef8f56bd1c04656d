"""One database handle for the whole process, bound at start-up from ``DATABASE_URL``."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "recursive_triggers": 1,  # REPLACE's implicit delete fires the delete triggers (the ledger refuses it)
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -64000,
}


def default_url(instance_path: str | os.PathLike) -> str:
    return f"sqlite:///{Path(instance_path) / 'xfjy.sqlite3'}"


def open_database(url: str):
    """Open (but do not connect) the database named by ``url`` and bind the proxy to it."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = connect(url, pragmas=SQLITE_PRAGMAS, timeout=10)
    elif url.startswith(("postgres://", "postgresql://")):
        db = connect(url.replace("postgres://", "postgresql://", 1))
    else:
        raise ValueError(f"不支持的 DATABASE_URL：{url}（应为 sqlite:///路径 或 postgresql://…）")
    db.url = url
    database.initialize(db)
    return db


def database_url() -> str:
    """The URL the bound database was opened from, for another process to open it too."""
    return getattr(database.obj, "url", None) or os.environ["DATABASE_URL"]


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def refresh_statistics(models) -> None:
    """PostgreSQL's planner statistics of these tables, after a bulk load (ours only: the database may hold
    other schemas). A freshly loaded table is otherwise planned as if nearly empty, and autovacuum may be
    off or far behind: at 14,000 villages the dashboard's 实施步骤 board took 11 s before ANALYZE, 50 ms
    after. SQLite's plans here are chosen without statistics, and stay so."""
    if is_postgres() and models:
        database.execute_sql("ANALYZE " + ", ".join(f'"{m._meta.table_name}"' for m in models))


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


@contextmanager
def read_transaction():
    """One consistent read of many queries: REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite
    (taken at the first read). Inside a transaction already, that one is used as it is."""
    outermost = not database.in_transaction()
    with database.atomic():
        if is_postgres() and outermost:
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def write_transaction():
    """A transaction that takes the write lock at once on SQLite, so balance checks cannot race."""
    if is_sqlite() and not database.in_transaction():
        return database.atomic("IMMEDIATE")
    return database.atomic()


PATIENT_MS = 15 * 60 * 1000


@contextmanager
def patient():
    """Wait for SQLite's write lock as long as a long write holds it (an import of 100,000 rows does,
    for its whole transaction), not ``busy_timeout``'s 10 s: for work that must not fail at its last
    step over a lock, such as a publish recording itself. PostgreSQL waits for row locks anyway."""
    if not is_sqlite():
        yield
        return
    database.execute_sql(f"PRAGMA busy_timeout = {PATIENT_MS}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {SQLITE_PRAGMAS['busy_timeout']}")


def init_app(app) -> None:
    """Bind the database from ``app.config['DATABASE_URL']`` and open/close it per request."""
    if app.config.get("DATABASE_KEEP_BOUND") and database.obj is not None:
        pass  # tests bind the proxy themselves (inside a transaction they roll back)
    else:
        url = app.config.get("DATABASE_URL") or os.environ.get("DATABASE_URL") or default_url(app.instance_path)
        app.config["DATABASE_URL"] = url
        open_database(url)

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not database.is_closed() and not database.in_transaction():
            database.close()
