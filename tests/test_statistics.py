"""SQLite keeps planner statistics current by itself: a table that grew is re-analysed."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import base


@pytest.fixture
def engine(tmp_path, monkeypatch):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'stats.sqlite3'}")
    base.configure_engine(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE filing (id INTEGER PRIMARY KEY, state TEXT)")
        conn.exec_driver_sql("CREATE INDEX ix_filing_state ON filing (state)")
        conn.exec_driver_sql("ANALYZE")  # analysed while empty, as after a first migration
        conn.exec_driver_sql("INSERT INTO filing (state) SELECT 'done' FROM "
                             "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                             "WHERE i < 5000) SELECT i FROM n)")
    yield engine
    engine.dispose()


def _stat(engine):
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_filing_state'").scalar()


def _use(engine):
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM filing WHERE state = 'done'").scalar()


def test_a_grown_table_is_reanalysed_when_its_connection_returns(engine, monkeypatch):
    assert _stat(engine) is None
    monkeypatch.setattr(base, "SQLITE_OPTIMIZE_SECONDS", 0)
    _use(engine)
    assert int(_stat(engine).split()[0]) > 1000  # sampled (analysis_limit), near 5000


def test_optimize_waits_for_its_interval(engine, monkeypatch):
    monkeypatch.setattr(base, "SQLITE_OPTIMIZE_SECONDS", 3600)
    _use(engine)
    assert _stat(engine) is None
