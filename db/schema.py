"""Creating and upgrading the schema, always through the migrations in ``db/migrations``."""
from __future__ import annotations

from pathlib import Path

from peewee_migrate import Router

from .database import database

MIGRATIONS = Path(__file__).with_name("migrations")


def router() -> Router:
    import logging

    logger = logging.getLogger("xfjy.migrate")
    return Router(database.obj, migrate_dir=MIGRATIONS, ignore=["basemodel"], logger=logger)


def upgrade(to: str | None = None) -> list[str]:
    """Apply the migrations not yet applied (all of them on a new database); return their names."""
    return router().run(to)


def applied() -> list[str]:
    return list(router().done)


def pending() -> list[str]:
    return list(router().diff)
