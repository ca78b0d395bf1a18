"""Bulk inserts: plain tuples as one multi-row INSERT per page, straight to the driver.

A plain executemany runs the INSERT once per row. On SQLite every statement ends with a
savepoint release at which the FTS5 search tables (models.search, filled by triggers on
person and unit) flush their pending index: 10,000 people cost 10,000 flushes (~1.9 s),
against ~0.4 s as multi-row VALUES of 1,000. SQLAlchemy's own multi-row path
("insertmanyvalues") builds a parameter dictionary per row and processes it generically
(~10 µs a row); here each column's bind processor (dates as SQLite stores them, enums) is
looked up once and applied to the tuples, and the statement goes to the driver as text.
A batch repeats few values in its date and time columns (one start date, one ``now``): each
column converts a distinct value once (``_Memo``), and the new rows' keys are fetched in one
``fetchall`` per page rather than row by row.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from models.base import db

#: Rows per statement (fewer when the columns would pass the driver's parameter limit).
PAGE = 1000
#: SQLite allows 32,766 parameters a statement (since 3.32), PostgreSQL 65,535.
MAX_PARAMETERS = 30_000
PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(table: sa.Table, names: Sequence[str], rows: Sequence[tuple],
                returning: Sequence[str] = ("id",)) -> list[tuple]:
    """Insert ``rows`` (tuples of the ``names`` columns' values) within the session's
    transaction; the ``returning`` columns of the new rows, as the driver reads them (ints,
    strings), in no particular order; nothing read back when ``returning`` is empty."""
    if not rows:
        return []
    connection = db.session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    columns = [table.c[name] for name in names]
    processors = [(i, _Memo(p)) for i, c in enumerate(columns)
                  if (p := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    mark = PLACEHOLDERS[dialect.paramstyle]
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    head = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(c.name) for c in columns)}) VALUES ")
    tail = f" RETURNING {', '.join(quote(table.c[name].name) for name in returning)}" \
        if returning else ""
    page = max(1, min(PAGE, MAX_PARAMETERS // len(columns)))
    found: list[tuple] = []
    for start in range(0, len(rows), page):
        chunk = rows[start:start + page]
        flat = []
        for row in chunk:
            if processors:
                row = list(row)
                for i, process in processors:
                    row[i] = process(row[i])
            flat.extend(row)
        result = connection.exec_driver_sql(head + ", ".join([one] * len(chunk)) + tail,
                                            tuple(flat))
        if returning:
            found += [tuple(r) for r in result.all()]
    return found


class _Memo(dict):
    """A bind processor that converts each distinct value once, keyed by type and value (so
    that 1, 1.0 and True stay apart); an unhashable value is converted every time."""

    def __init__(self, process):
        super().__init__()
        self.process = process

    def __missing__(self, key):
        converted = self[key] = self.process(key[1])
        return converted

    def __call__(self, value):
        try:
            return self[type(value), value]
        except TypeError:  # unhashable
            return self.process(value)


def one_of(column: sa.ColumnElement, values: Iterable) -> sa.ColumnElement[bool]:
    """``column IN values`` as one bound parameter however many the values: a 10,000-row
    batch's ID numbers are one statement (SQLite: the values of ``json_each`` over a JSON
    array; PostgreSQL: ``= ANY`` of an array), where chunked IN lists cost a statement and
    500 rendered parameters per chunk. Text values only."""
    values = sorted(set(values))
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(sa.Text)))
    listed = sa.func.json_each(sa.bindparam(None, orjson.dumps(values).decode(), type_=sa.Text))
    return column.in_(sa.select(sa.literal_column("value")).select_from(listed))
