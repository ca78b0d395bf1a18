"""The office clock of the running app: today and now in ``OFFICE_TIMEZONE``.

Every "today" of the code comes from here, so a test can freeze one clock and a server on
UTC still files on Beijing's date.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context

from rules import clock


def office_timezone() -> str:
    """The configured office time zone (default Asia/Shanghai)."""
    if has_app_context():
        return current_app.config.get("OFFICE_TIMEZONE") or clock.DEFAULT_TIMEZONE
    return clock.DEFAULT_TIMEZONE


def today() -> dt.date:
    """The office's date now."""
    return clock.today_in(office_timezone())


def now() -> dt.datetime:
    """The office's wall-clock time now (aware)."""
    return clock.now_in(office_timezone())


def shown(value) -> str:
    """A stored (UTC) timestamp as YYYY-MM-DD HH:MM office time."""
    return clock.shown(value, office_timezone())


def next_day_start(moment: dt.datetime) -> dt.datetime:
    """The start of the office day after ``moment`` (naive UTC), as naive UTC."""
    return clock.next_day_start(moment, office_timezone())


def day_start(day: dt.date) -> dt.datetime:
    """The start of the office day ``day``, as naive UTC: the bound a query on stored
    timestamps uses for "filed on that day"."""
    return clock.day_start(day, office_timezone())
