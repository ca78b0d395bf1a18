"""The SQLAlchemy extension, the declarative base and shared column helpers."""
from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from collections.abc import Callable

import orjson
import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rules import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)



def json_text(value) -> str:
    """JSON columns' text, written by orjson (a 10,000-row import batch is stored, filed and
    read back several times: ~45 ms a pass with the json module, ~5 ms with orjson). Keys
    that are not strings become strings, as the json module does."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


db = SQLAlchemy(model_class=Base, engine_options={"json_serializer": json_text,
                                                  "json_deserializer": orjson.loads})

#: How long a SQLite writer waits for the write lock before "database is locked": writers
#: queue (at most WEB_CONCURRENCY × GUNICORN_THREADS of them), and until logins hash outside
#: their transaction one can hold the lock for a second on a busy machine.
SQLITE_BUSY_TIMEOUT_MS = 15_000
#: Rows ANALYZE samples per index (PRAGMA analysis_limit): statistics stay cheap to refresh.
SQLITE_ANALYSIS_LIMIT = 1000
#: A pooled connection runs PRAGMA optimize at most this often (and when returned to the pool).
SQLITE_OPTIMIZE_SECONDS = 3600


def utcnow() -> dt.datetime:
    """Timezone-naive UTC now, the one clock every stored timestamp uses."""
    return clock.utc_now().replace(tzinfo=None)


def code_column(enum, *, check_name: str | None = None, **kw):
    """A VARCHAR column holding the values of a ``Labelled`` enum, checked by the database.

    ``check_name`` names the CHECK constraint when a table has two columns of one enum.
    """
    return mapped_column(
        sa.Enum(enum, native_enum=False, create_constraint=True, length=24,
                values_callable=lambda e: [m.value for m in e],
                name=check_name or enum.__name__.lower(), validate_strings=True),
        **kw,
    )


class CreatedMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def writes_on_get(view):
    """Mark a view that writes although it answers a GET (an audit of what was viewed, a
    certificate or receipt issued): on SQLite its transaction takes the write lock up front,
    as a POST's does, instead of failing at once when another connection wrote meanwhile."""
    view.writes_on_get = True
    return view


def configure_engine(engine: sa.Engine, write_intent: Callable[[], bool] | None = None) -> None:
    """SQLite: enforce foreign keys, and let SQLAlchemy own transactions so SAVEPOINT works.

    ``write_intent`` says whether the transaction about to begin belongs to work that will
    write (the app passes "this request is a POST"). Such a transaction starts with
    ``BEGIN IMMEDIATE``: it waits for the write lock up front (the busy timeout applies),
    instead of reading first and failing at once with SQLITE_BUSY ("database is locked")
    when it tries to write after another connection committed. SQLAlchemy's pysqlite docs,
    "Serializable isolation / Savepoints / Transactional DDL", give the event recipe.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # pysqlite's own BEGIN handling is off
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        cursor.close()
        _record.info["optimized_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection, record):
        # SQLite keeps no statistics by itself: a table analysed while small (or never) is
        # planned as small for ever. PRAGMA optimize re-analyses the tables this connection
        # queried that have grown tenfold; once an hour per connection, as SQLite advises.
        if dbapi_connection is None:
            return
        if time.monotonic() - record.info.get("optimized_at", 0) >= SQLITE_OPTIMIZE_SECONDS:
            record.info["optimized_at"] = time.monotonic()
            with contextlib.suppress(sqlite3.Error):
                dbapi_connection.execute("PRAGMA optimize")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = write_intent is not None and write_intent()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
