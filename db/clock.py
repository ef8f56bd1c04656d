"""Wall-clock time in China: dates on forms and receipts are Beijing dates, whatever the server's zone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """Naive Beijing time, to the second (what every timestamp column stores)."""
    return dt.datetime.now(CHINA).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()
