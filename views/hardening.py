"""Mechanisms every Flask-Admin view gets from ``ScopedModelView`` (one mixin, one place).

- Timestamps are stored in UTC and shown as YYYY-MM-DD HH:MM office time.
- List arguments (page, sort, search, filters) are parsed once, defensively: a value a
  list cannot use is ignored with a Chinese message instead of reaching the database.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from flask import flash

from models import clock

#: The furthest page a list may be asked for, and the longest search or filter value.
MAX_PAGE = 100_000
MAX_ARG_CHARS = 100
#: Integers beyond a signed 64-bit column overflow the database driver.
MAX_INT = 2**63 - 1


def office_time(view, value, name=None) -> str:
    """A Flask-Admin type formatter: a stored UTC timestamp in office time."""
    return clock.shown(value)


def clean_text(value: str | None) -> str | None:
    """A search or filter text without NUL characters, at most MAX_ARG_CHARS long."""
    if value is None:
        return None
    return value.replace("\x00", "")[:MAX_ARG_CHARS]


def _usable(value) -> bool:
    """True if a cleaned filter value can reach the database."""
    if isinstance(value, (list, tuple)):
        return all(_usable(v) for v in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_INT
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_INT
    if isinstance(value, Decimal):
        return value.is_finite() and abs(value) <= MAX_INT
    if isinstance(value, (dt.date, dt.datetime)):
        return 1 <= value.year <= 9999
    return True


def _options(flt) -> set[str] | None:
    options = getattr(flt, "options", None)
    if callable(options):
        options = options()
    if not options:
        return None
    return {str(key) for key, _ in options}


def _acceptable(flt, value: str) -> bool:
    if "\x00" in value or len(value) > MAX_ARG_CHARS:
        return False
    allowed = _options(flt)
    if allowed is not None:
        parts = value.split(",") if "InList" in type(flt).__name__ else [value]
        if any(p.strip() not in allowed for p in parts):
            return False
    try:
        return _usable(flt.clean(value))
    except (ValueError, TypeError, ArithmeticError):
        return False


class HardenedView:
    """Mixed into ScopedModelView before Flask-Admin's ModelView."""

    def __init__(self, *args, **kwargs):
        self.column_type_formatters = {dt.datetime: office_time,
                                       **(self.column_type_formatters or {})}
        self.column_type_formatters_export = {dt.datetime: office_time,
                                              **(self.column_type_formatters_export or {})}
        super().__init__(*args, **kwargs)

    def _get_list_extra_args(self):
        args = super()._get_list_extra_args()
        if args.page is not None and not 0 <= args.page <= MAX_PAGE:
            flash("页码无效，已显示第一页", "error")
            args.page = 0
        if args.sort is not None and not 0 <= args.sort < MAX_PAGE:
            args.sort = None
        args.search = clean_text(args.search) or None
        return args

    def _get_list_filter_args(self):
        filters = super()._get_list_filter_args()
        if not filters:
            return filters
        kept = []
        for idx, name, value in filters:
            if _acceptable(self._filters[idx], str(value)):
                kept.append((idx, name, value))
            else:
                flash(f"筛选条件“{name}”的值无效，已忽略", "error")
        return kept
