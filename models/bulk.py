"""Bulk inserts as one multi-row INSERT per page of rows, not one statement per row.

A plain executemany runs the INSERT once per row. On SQLite every statement ends with a
savepoint release at which the FTS5 search tables (models.search, filled by triggers on
person and unit) flush their pending index: 10,000 people cost 10,000 flushes (~1.9 s),
against ~0.4 s as multi-row VALUES of 1,000. SQLAlchemy's "insertmanyvalues" writes those
multi-row statements on every dialect when RETURNING is asked, so the rows' keys come back
in the same round trips.
"""
from __future__ import annotations

import sqlalchemy as sa

from models.base import db


def insert_rows(table: sa.Table, rows: list[dict], *returning: sa.Column) -> list[tuple]:
    """Insert ``rows`` (dicts of column values) in multi-row statements within the session's
    transaction; the ``returning`` columns (default: the primary key) of the new rows."""
    if not rows:
        return []
    columns = returning or tuple(table.primary_key.columns)
    result = db.session.connection().execute(sa.insert(table).returning(*columns), rows)
    return [tuple(row) for row in result]
