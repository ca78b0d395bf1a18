"""An embedded (SQLite) office with filings upgrades in place: batch-mode migrations rebuild
tables that other rows point at, which fails while SQLite enforces foreign keys."""
from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

#: The revision before the filing's delivery columns (a table rebuild of ``application``).
BEFORE_DELIVERIES = "b2a11758bb04"


def _flask(path, *args):
    env = {"DATABASE_URL": f"sqlite:///{path}", "FLASK_APP": "app", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "flask", *args], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_sqlite_database_holding_filings_goes_down_and_up_again(tmp_path):
    path = tmp_path / "office.sqlite3"
    _flask(path, "db", "upgrade")
    _flask(path, "seed-demo")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        filings = conn.scalar(sa.text("SELECT count(*) FROM application"))
    assert filings > 0
    _flask(path, "db", "downgrade", BEFORE_DELIVERIES)
    _flask(path, "db", "upgrade")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM application")) == filings
        assert conn.scalar(sa.text("PRAGMA foreign_key_check")) is None
