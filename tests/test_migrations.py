"""Upgrading a database that stopped at 001_initial: its data survives, and the ledger guards hold at head
(002's append-only triggers; the positive-amount CHECK).

Runs on a fresh SQLite file and on a fresh PostgreSQL schema (not the shared ``db`` fixture, whose
database is already at head).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid

import pytest
from peewee import PostgresqlDatabase

from db import integrity, ledger, schema
from db.database import database, open_database

from .backends import BACKENDS, pg_schema, refused

ALL = ["001_initial", "002_append_only_ledger"]
TABLES = ["area", "batch", "village", "project", "users", "account", "import_run", "donation", "entry",
          "project_review", "supervisory_member"]


@pytest.fixture(params=BACKENDS)
def fresh(request, tmp_path):
    """An empty database bound to the proxy; closed, dropped and the proxy restored afterwards."""
    previous = database.obj
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        else:
            url = stack.enter_context(pg_schema(f"xfjy_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"))
        db = open_database(url)
        db.connect()
        try:
            yield db
        finally:
            db.close()
            database.initialize(previous)


def insert(db, table: str, **values) -> int:
    """A raw INSERT (no model, no default), returning the new id."""
    columns = ", ".join(f'"{c}"' for c in values)
    marks = ", ".join([db.param] * len(values))
    sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'
    if isinstance(db, PostgresqlDatabase):
        return db.execute_sql(sql + " RETURNING id", list(values.values())).fetchone()[0]
    return db.execute_sql(sql, list(values.values())).lastrowid


def snapshot(db) -> dict[str, list[tuple]]:
    return {t: list(db.execute_sql(f'SELECT * FROM "{t}" ORDER BY id').fetchall()) for t in TABLES}


def kept(after: dict, before: dict) -> bool:
    """Every row keeps its columns; columns added later follow them, with their defaults."""
    return {t: [row[:len(before[t][0])] for row in rows] if before[t] else rows for t, rows in after.items()} == before


def fill_001(db) -> dict[str, int]:
    """A little of everything that exists at 001: areas down to a village, a project, a donation and its entry."""
    at = dt.datetime(2024, 4, 1, 10, 0, 0)
    ids = {}
    ids["nation"] = insert(db, "area", code="100000", name="全国", level=0, parent_id=None, path="/100000/",
                           prefecture_id=None, county_id=None, official=True)
    ids["region"] = insert(db, "area", code="150000", name="内蒙古自治区", level=1, parent_id=ids["nation"],
                           path="/100000/150000/", prefecture_id=None, county_id=None, official=True)
    ids["pref"] = insert(db, "area", code="150100", name="呼和浩特市", level=2, parent_id=ids["region"],
                         path="/100000/150000/150100/", prefecture_id=None, county_id=None, official=True)
    ids["county"] = insert(db, "area", code="150121", name="土默特左旗", level=3, parent_id=ids["pref"],
                           path="/100000/150000/150100/150121/", prefecture_id=ids["pref"], county_id=None,
                           official=True)
    ids["vil_area"] = insert(db, "area", code="150121100001", name="塔布赛村", level=5, parent_id=ids["county"],
                             path="/100000/150000/150100/150121/150121100001/", prefecture_id=ids["pref"],
                             county_id=ids["county"], official=False)
    db.execute_sql(f'UPDATE "area" SET prefecture_id = {db.param} WHERE id = {db.param}', [ids["pref"], ids["pref"]])
    ids["batch"] = insert(db, "batch", code="pilot", name="探索试点", starts_on=dt.date(2023, 1, 1),
                          ends_on=dt.date(2023, 12, 31), ordinal=0)
    ids["village"] = insert(db, "village", area_id=ids["vil_area"], full_name="察素齐镇塔布赛村", kind="村",
                            address="土默特左旗察素齐镇", leader_name="王建国", leader_phone="13800000000",
                            batch_id=ids["batch"], admission_state="established",
                            fund_established_on=dt.date(2023, 6, 1), created_at=at)
    insert(db, "supervisory_member", village_id=ids["village"], name="乌云其木格", title="委员", phone="",
           joined_on=None)
    ids["user"] = insert(db, "users", username="tzq-county", password_hash="x", role="county",
                         area_id=ids["county"], display_name="经办人", unit="土默特左旗慈善总会", active=True,
                         failed_logins=0, locked_until=None, last_login_at=None, created_at=at)
    ids["project"] = insert(db, "project", code="150121-2024-001", village_id=ids["village"], name="村道路灯安装",
                            reporting_unit="塔布赛村委员会", reported_on=dt.date(2024, 2, 1), address="",
                            leader_name="王建国", leader_phone="", target=1_000_000,
                            starts_on=dt.date(2024, 3, 1), ends_on=dt.date(2024, 8, 31),
                            background="常住 320 户。", summary="太阳能路灯 60 盏", democratic_decision="通过",
                            urgent=False, state="fundraising", created_at=at, updated_at=at)
    insert(db, "project_review", action="approve", from_state="region_approval", to_state="fundraising",
           decision="approve", user_id=ids["user"], person="经办人", unit="自治区慈善总会", opinion="同意",
           at=at, project_id=ids["project"])
    ids["donors"] = insert(db, "account", key="donors:::社会捐赠人", kind="donors", area_id=None, project_id=None,
                           name="社会捐赠人")
    ids["special"] = insert(db, "account", key=f"special:{ids['nation']}:{ids['project']}:", kind="special",
                            area_id=ids["nation"], project_id=ids["project"], name="")
    ids["run"] = insert(db, "import_run", kind="donations", filename="平台导出.csv", sha256="0" * 64, added=2,
                        skipped=0, user_id=ids["user"], at=at)
    for n, amount in ((1, 123_456), (2, 1)):
        donation = insert(db, "donation", project_id=ids["project"], txn_no=f"GY-{n}", donor_name="爱心人士",
                          name_consent="full", amount=amount, channel="online", donated_at=at,
                          message="祝福家乡", import_run_id=ids["run"])
        ids[f"entry{n}"] = insert(db, "entry", kind="donation", from_account_id=ids["donors"],
                                  to_account_id=ids["special"], amount=amount, project_id=ids["project"],
                                  donation_id=donation, expenditure_id=None, rule_id=None, reverses_id=None,
                                  reason="", memo=f"交易号 GY-{n}", user_id=None, posted_at=at,
                                  booked_on=at.date())
    return ids


def entry_values(ids, amount: int) -> dict:
    at = dt.datetime(2024, 5, 1, 9, 0)
    return dict(kind="donation", from_account_id=ids["donors"], to_account_id=ids["special"], amount=amount,
                project_id=ids["project"], reason="", memo="", posted_at=at, booked_on=at.date())


def test_upgrade_from_001_keeps_data_and_guards_the_ledger(fresh):
    db = fresh
    everything = schema.pending()
    assert everything[:2] == ALL  # later migrations, if any, follow these two
    assert schema.upgrade("001_initial") == ["001_initial"]
    assert schema.applied() == ["001_initial"]
    assert schema.pending() == everything[1:]
    assert not db.table_exists("setting")

    ids = fill_001(db)
    # at 001 the ledger is not guarded yet (so the checks below really test 002)
    with db.atomic() as txn:
        db.execute_sql(f'UPDATE "entry" SET memo = {db.param} WHERE id = {db.param}', ["改", ids["entry1"]])
        txn.rollback()
    before = snapshot(db)
    assert len(before["entry"]) == 2 and len(before["area"]) == 5

    assert schema.upgrade() == everything[1:]
    assert schema.pending() == []
    assert schema.applied() == everything
    assert schema.upgrade() == []

    assert kept(snapshot(db), before)
    row = db.execute_sql('SELECT code, target, state, starts_on FROM "project"').fetchone()
    assert tuple(row[:3]) == ("150121-2024-001", 1_000_000, "fundraising")
    amounts = [a for (a,) in db.execute_sql('SELECT amount FROM "entry" ORDER BY id').fetchall()]
    assert amounts == [123_456, 1]
    names = [n for (n,) in db.execute_sql('SELECT name FROM "area" ORDER BY id').fetchall()]
    assert names == ["全国", "内蒙古自治区", "呼和浩特市", "土默特左旗", "塔布赛村"]

    assert db.table_exists("setting")
    db.execute_sql(f'INSERT INTO "setting" ("key", "value") VALUES ({db.param}, {db.param})', ["k", "v"])
    assert db.execute_sql('SELECT "value" FROM "setting" WHERE "key" = \'k\'').fetchone()[0] == "v"
    assert any(i.columns == ["project_id", "donated_at"] for i in db.get_indexes("donation"))

    message = refused(db, f'UPDATE "entry" SET amount = 2 WHERE id = {db.param}', [ids["entry1"]])
    assert "append-only" in message
    assert "append-only" in refused(db, 'UPDATE "entry" SET memo = \'x\'')
    assert "append-only" in refused(db, f'DELETE FROM "entry" WHERE id = {db.param}', [ids["entry2"]])
    if isinstance(db, PostgresqlDatabase):
        assert "append-only" in refused(db, 'TRUNCATE "entry" CASCADE')
    for amount in (0, -100):
        values = entry_values(ids, amount)
        columns = ", ".join(f'"{c}"' for c in values)
        refused(db, f'INSERT INTO "entry" ({columns}) VALUES ({", ".join([db.param] * len(values))})',
                values.values())
    assert kept(snapshot(db), before)

    # a positive amount is still accepted, and the head models read the old rows
    insert(db, "entry", **entry_values(ids, 500))
    from db.models import Account, Entry, Project

    assert Entry.select().count() == 3
    assert ledger.balance(Account.get_by_id(ids["special"])) == 123_456 + 1 + 500
    assert Project.get(Project.code == "150121-2024-001").village.full_name == "察素齐镇塔布赛村"
    assert integrity.integrity_problems() == []

