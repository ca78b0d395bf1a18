"""Query pages at a city's scale: page time against the bare SQL behind it.

    .venv/bin/flask --app app seed-scale         # or let this script build the database
    .venv/bin/python -m benchmarks.scale_bench [sqlite-file]

Each page is fetched through the HTTP client (median of 5); every statement it ran is
replayed on a plain sqlite3 connection for the SQL time, and EXPLAIN QUERY PLAN flags full
scans of the large tables.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from benchmarks.common import CHEAP_ARGON2
from models import Account, Enrollment, Grant, Person, Unit, db, hash_password

LARGE = ("person", "enrollment", "contribution", "pension_account", "unit")
DEFAULT = Path("/tmp/wangban-scale.sqlite3")


def build(path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "FLASK_APP": "app"}
    flask = [sys.executable, "-m", "flask"]
    for command in (["db", "upgrade"], ["seed-demo"], ["seed-scale"]):
        subprocess.run(flask + command, env=env, check=True)


def scale_member(app) -> tuple[str, str, str, str]:
    """A legal representative of one synthetic unit, and a person to look up there."""
    with app.app_context():
        unit = db.session.scalar(sa.select(Unit).where(Unit.unit_no.like("S%"))
                                 .order_by(Unit.id.desc()).limit(1))
        person = db.session.scalar(sa.select(Person).join(Enrollment).where(
            Enrollment.unit_id == unit.id).limit(1))
        if db.session.scalar(sa.select(Grant).where(Grant.unit_id == unit.id)) is None:
            db.session.add(Grant(unit_id=unit.id, person_id=person.id, level="legal_rep",
                                 valid_from=dt.date(2024, 1, 1)))
            db.session.add(Account(kind="unit_member", person_id=person.id, unit_id=unit.id,
                                   login_key=f"unit:{unit.id}:{person.id}",
                                   password_hash=hash_password("Bench#2026"),
                                   must_change_password=False, display_name=person.name))
            db.session.commit()
        return unit.uscc, person.id_no, person.name, person.phone


def login(app, kind, name, code, password):
    client = app.test_client()
    response = client.post("/login", data={"kind": kind, "login": name, "unit_code": code,
                                           "password": password})
    assert response.status_code == 302, response.status_code
    return client


def measure(app, client, url, raw: sqlite3.Connection) -> tuple[float, float, list[str]]:
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    client.get(url)  # warm
    times = []
    for _ in range(5):
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", capture)
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        sa.event.remove(db.engine, "before_cursor_execute", capture)
        assert response.status_code == 200, (url, response.status_code)
    sql_times, scans = [], []
    for _ in range(5):
        start = time.perf_counter()
        for statement, parameters in statements:
            raw.execute(statement, parameters).fetchall()
        sql_times.append(time.perf_counter() - start)
    for statement, parameters in statements:
        if statement.lstrip().upper().startswith("SELECT"):
            for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters):
                match = re.match(r"SCAN (\w+)", row[-1])
                if match and match.group(1) in LARGE and "COVERING INDEX" not in row[-1]:
                    scans.append(row[-1])
    return statistics.median(times), statistics.median(sql_times), scans


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        start = time.perf_counter()
        build(path)
        print(f"built the scale database in {time.perf_counter() - start:.0f} s")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "ARGON2_PARAMS": CHEAP_ARGON2, "WTF_CSRF_ENABLED": False})
    uscc, id_no, name, _ = scale_member(app)
    with app.app_context():
        counts = {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in LARGE}
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    unit = login(app, "unit", id_no, uscc, "Bench#2026")
    staff = login(app, "staff", "admin", "", "Demo@2026")
    pages = [
        (unit, "/unit/"),
        (unit, "/unit/unit_enrollment/"),
        (unit, "/unit/query/payables/?period=202610"),
        (unit, "/unit/query/payables/202610/110/"),
        (unit, "/unit/query/benefits/?period=202610"),
        (unit, f"/unit/query/pension/?id_no={id_no}&name={name}"),
        (unit, "/unit/query/payments/"),
        (unit, "/unit/unit_application/"),
        (staff, "/admin/"),
        (staff, "/admin/admin_person/"),
        (staff, f"/admin/admin_person/?search={id_no}"),
        (staff, f"/admin/admin_person/?search={name[:2]}"),
        (staff, "/admin/admin_enrollment/"),
        (staff, "/admin/admin_application/"),
    ]
    raw = sqlite3.connect(path)
    print(f"{'page':58s} {'page ms':>8s} {'SQL ms':>8s}  full scans of large tables")
    for client, url in pages:
        with app.app_context():
            page, sql, scans = measure(app, client, url, raw)
        shown = url if len(url) < 58 else url[:55] + "..."
        print(f"{shown:58s} {page * 1000:8.1f} {sql * 1000:8.2f}  {'; '.join(scans) or '-'}")


if __name__ == "__main__":
    main()
