"""Wall-clock time in China: dates on forms and receipts are Beijing dates, whatever the server's zone.

``travel`` sets the clock to a given moment for a while: a test walks one project through a year of
its life, step by step, through the same code the staff use. ``XFJY_NOW`` (ISO time) stops the clock
for a whole process, so that a demo and the site built from it can be made again byte for byte."""
from __future__ import annotations

import datetime as dt
import os
import re
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from .errors import XfjyError

CHINA = ZoneInfo("Asia/Shanghai")
_frozen: dt.datetime | None = (dt.datetime.fromisoformat(os.environ["XFJY_NOW"]).replace(microsecond=0)
                               if os.environ.get("XFJY_NOW") else None)


def now() -> dt.datetime:
    """Naive Beijing time, to the second (what every timestamp column stores)."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(CHINA).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()


@contextmanager
def travel(moment: dt.datetime):
    """The clock reads ``moment`` until the block ends."""
    global _frozen
    previous, _frozen = _frozen, moment.replace(microsecond=0)
    try:
        yield
    finally:
        _frozen = previous


def parse_day(text: str, what: str) -> dt.date:
    """A date typed as YYYY-MM-DD, or a Chinese error naming the field."""
    value = str(text).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise XfjyError(f"{what}「{text}」不是有效日期，应如 2026-06-30")
