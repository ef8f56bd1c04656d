"""Creating and upgrading the schema, always through the migrations in ``db/migrations``."""
from __future__ import annotations

import logging
from pathlib import Path

from peewee_migrate import Router

from .database import database

MIGRATIONS = Path(__file__).with_name("migrations")


def router() -> Router:
    logger = logging.getLogger("xfjy.migrate")
    return Router(database.obj, migrate_dir=MIGRATIONS, ignore=["basemodel"], logger=logger)


def upgrade(to: str | None = None) -> list[str]:
    """Apply the migrations not yet applied (all of them on a new database); return their names."""
    return router().run(to)


def applied() -> list[str]:
    """The migrations applied, read without peewee-migrate creating its table: the app's PostgreSQL role
    (deploy/postgres.sql) may not create anything."""
    if not database.table_exists("migratehistory"):
        return []
    return [name for (name,) in database.execute_sql("SELECT name FROM migratehistory ORDER BY id")]


def pending() -> list[str]:
    done = set(applied())
    return [name for name in router().todo if name not in done]
