"""The one clock: every date the product shows, prints, stores or compares is the campaign's.

A server keeps UTC; the campaign lives in Beijing time.  Between 00:00 and 08:00
Beijing time the two disagree on the date, and the portal once said 11月21日
while the notices beside it were dated 11月22日.  Everything asks this module
instead of ``date.today()`` or ``datetime.now()``: record times, document dates,
the portal's "today", calendar phases, ages from ID numbers, deadlines.

The zone is the TIME_ZONE setting (``CANBAO_TIME_ZONE``, Asia/Shanghai by default).
Tests fix the instant by replacing :func:`utc_now`.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"


def utc_now() -> dt.datetime:
    """The instant, from the system clock (the one thing tests replace)."""
    return dt.datetime.now(dt.UTC)


def zone_name() -> str:
    try:
        from flask import current_app
        return current_app.config.get("TIME_ZONE") or DEFAULT_ZONE
    except RuntimeError:  # outside an app (the CLI's portal build, a worker thread): the environment
        return os.environ.get("CANBAO_TIME_ZONE") or DEFAULT_ZONE


@lru_cache(maxsize=8)
def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone(dt.timedelta(hours=8), "CST")  # no tz database: Beijing time has no DST


def zone() -> dt.tzinfo:
    return _zone(zone_name())


def now() -> dt.datetime:
    """Now, in the campaign's time zone (aware)."""
    return utc_now().astimezone(zone())


def today() -> dt.date:
    return now().date()


def now_iso() -> str:
    """A record's time stamp: seconds, with its offset (2026-11-22T09:30:00+08:00)."""
    return now().isoformat(timespec="seconds")
