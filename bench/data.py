"""What the bench reads from the database between commands, and the donation files it imports."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
from contextlib import contextmanager
from pathlib import Path

from peewee import fn

from db.database import database, open_database
from db.imports import DONATION_COLUMNS
from db.models import Area, Donation, Project, Village
from db.workflow import RECEIVING_STATES

DONORS = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周丽", "吴强", "包金花", "其其格", "巴特尔", "")
CONSENTS = ("是", "否", "部分")
AMOUNTS = ("10", "50", "100", "200", "500", "88.88", "1000", "20.5")
MESSAGES = ("", "", "", "祝家乡越来越好", "一点心意", "加油")


@contextmanager
def bound(url: str):
    """The bench's own short connection to the database the commands use."""
    previous = database.obj
    db = open_database(url)
    db.connect(reuse_if_open=True)
    try:
        yield db
    finally:
        db.close()
        database.initialize(previous)


def busiest_county() -> tuple[int, str, int]:
    """The 旗县市区 (area id, name, donation count) with the most donations."""
    County = Area.alias()
    query = (Donation.select(County.id, County.name, fn.COUNT(Donation.id).alias("n"))
             .join(Project, on=(Donation.project == Project.id))
             .join(Village, on=(Project.village == Village.id))
             .join(Area, on=(Village.area == Area.id))
             .join(County, on=(Area.county == County.id))
             .group_by(County.id, County.name).order_by(fn.COUNT(Donation.id).desc(), County.id).limit(1))
    row = query.tuples().first()
    if row is None:
        raise RuntimeError("no donations")
    return row


def receiving_project_codes() -> list[str]:
    """Codes of the projects that accept donations (fundraising first; target reached if there are none)."""
    for states in (("fundraising",), RECEIVING_STATES):
        codes = [c for (c,) in Project.select(Project.code).where(Project.state.in_(states))
                 .order_by(Project.id).tuples()]
        if codes:
            return codes
    return []


def donation_count() -> int:
    return Donation.select().count()


def donation_rows(codes: list[str], rows: int, prefix: str, seed: int):
    """New rows with unique 交易号, in the platform export's columns (``db.imports.DONATION_COLUMNS``)."""
    rng = random.Random(seed)
    start = dt.datetime.combine(dt.date.today() - dt.timedelta(days=25), dt.time(8))  # all before today
    for i in range(rows):
        when = start + dt.timedelta(seconds=17 * i)
        yield (f"{prefix}{i:09d}", rng.choice(codes), rng.choice(DONORS), rng.choice(AMOUNTS),
               when.strftime("%Y-%m-%d %H:%M:%S"), rng.choice(CONSENTS), rng.choice(MESSAGES))


def write_donations(path: Path, codes: list[str], rows: int, prefix: str, seed: int) -> None:
    """A CSV (UTF-8 with BOM, as Excel saves it) or an XLSX (openpyxl write-only) of new donations."""
    if path.suffix == ".csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(DONATION_COLUMNS)
        writer.writerows(donation_rows(codes, rows, prefix, seed))
        path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
        return
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("捐赠明细")
    sheet.append(list(DONATION_COLUMNS))
    for row in donation_rows(codes, rows, prefix, seed):
        sheet.append(list(row))
    book.save(path)
