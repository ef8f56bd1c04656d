"""Fast bulk inserts: peewee builds SQL value by value, which costs more than the insert itself at
a million rows; here the driver's own batch call does it (executemany / psycopg2 execute_values)."""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence

from psycopg2.extras import execute_values

from .database import database, is_postgres


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence], page: int = 5000) -> None:
    """Insert tuples whose values follow ``columns`` (model field names), in the current transaction."""
    meta = model._meta
    names = ", ".join(f'"{meta.fields[c].column_name}"' for c in columns)
    cursor = database.cursor()
    if is_postgres():
        execute_values(cursor, f'INSERT INTO "{meta.table_name}" ({names}) VALUES %s', rows, page_size=page)
    else:
        marks = ", ".join("?" * len(columns))
        cursor.executemany(f'INSERT INTO "{meta.table_name}" ({names}) VALUES ({marks})', rows)
    cursor.close()


def raw_rows(query) -> list[tuple]:
    """Rows of a query as plain tuples straight from the driver (no per-row model conversion)."""
    sql, params = query.sql()
    return database.execute_sql(sql, params).fetchall()


# Dates as peewee stores them in SQLite (our own adapters: the sqlite3 module's defaults are deprecated).
sqlite3.register_adapter(dt.datetime, lambda value: value.isoformat(" "))
sqlite3.register_adapter(dt.date, lambda value: value.isoformat())
