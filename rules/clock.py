"""The office clock, pure: today, now and display in a given time zone.

Stored timestamps are naive UTC (``models.base.utcnow``); the office's day, deadlines and
settlement periods are Beijing time. These helpers take the zone (and, for tests, the UTC
instant) as arguments; ``models.clock`` reads the zone from the app config.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"
SHOWN = "%Y-%m-%d %H:%M"


@lru_cache(maxsize=16)
def zone(name: str | None) -> ZoneInfo:
    """The ZoneInfo of ``name`` (the office's default when empty)."""
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def utc_now() -> dt.datetime:
    """The current instant, aware, in UTC (the one call of the system clock)."""
    return dt.datetime.now(dt.UTC)


def now_in(tz: str | None, instant: dt.datetime | None = None) -> dt.datetime:
    """The office's wall-clock time (aware) at ``instant`` (default: now)."""
    return (instant or utc_now()).astimezone(zone(tz))


def today_in(tz: str | None, instant: dt.datetime | None = None) -> dt.date:
    """The office's date at ``instant`` (default: now)."""
    return now_in(tz, instant).date()


def local_from_utc(value: dt.datetime, tz: str | None) -> dt.datetime:
    """A stored naive-UTC timestamp as the office's wall-clock time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone(tz))


def shown(value, tz: str | None) -> str:
    """A stored timestamp as YYYY-MM-DD HH:MM office time; dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return local_from_utc(value, tz).strftime(SHOWN)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def day_start(day: dt.date, tz: str | None) -> dt.datetime:
    """The start of the office day ``day``, as naive UTC (what the database stores)."""
    midnight = dt.datetime.combine(day, dt.time(), zone(tz))
    return midnight.astimezone(dt.UTC).replace(tzinfo=None)


def next_day_start(moment: dt.datetime, tz: str | None) -> dt.datetime:
    """The start of the office day after the naive-UTC ``moment``, as naive UTC (a lock or a
    quota that lasts "until tomorrow")."""
    return day_start(local_from_utc(moment, tz).date() + dt.timedelta(days=1), tz)
