"""``db.database``: the planner statistics a bulk load refreshes."""
from __future__ import annotations

from db.database import database, is_postgres, refresh_statistics
from db.models import Area, Volunteer


def _estimate(table: str) -> float:
    """The row count PostgreSQL's planner believes (-1: never analysed), in this schema."""
    return database.execute_sql("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (table,)).fetchone()[0]


def test_refresh_statistics_analyses_the_named_tables_only(db):
    Area.insert_many([{"code": f"15990000{i:04d}", "name": f"统计测试{i}", "level": 5, "path": f"/stat/{i}/"}
                      for i in range(300)]).execute()
    if not is_postgres():
        refresh_statistics([Area])
        assert not database.table_exists("sqlite_stat1")  # SQLite's plans stay the ones chosen without statistics
        return
    untouched = _estimate("volunteer")
    refresh_statistics([Area])
    assert _estimate("area") == Area.select().count()
    assert _estimate("volunteer") == untouched
    assert Volunteer._meta.table_name == "volunteer"
