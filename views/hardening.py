"""Mechanisms every Flask-Admin view gets from ``ScopedModelView`` (one mixin, one place).

- Timestamps are stored in UTC and shown as YYYY-MM-DD HH:MM office time.
"""
from __future__ import annotations

import datetime as dt

from models import clock


def office_time(view, value, name=None) -> str:
    """A Flask-Admin type formatter: a stored UTC timestamp in office time."""
    return clock.shown(value)


class HardenedView:
    """Mixed into ScopedModelView before Flask-Admin's ModelView."""

    def __init__(self, *args, **kwargs):
        self.column_type_formatters = {dt.datetime: office_time,
                                       **(self.column_type_formatters or {})}
        self.column_type_formatters_export = {dt.datetime: office_time,
                                              **(self.column_type_formatters_export or {})}
        super().__init__(*args, **kwargs)
