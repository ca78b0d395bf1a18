"""The search index's cost when people are inserted in bulk, before and after, side by side.

    .venv/bin/python -m benchmarks.search_bulk_bench [rows] [rounds]

Three fresh SQLite files, each with the demo data and 100,000 more people (so the FTS5 tables
are not empty), in one process:

- **before**: migrated back to 00a9b9b56c84: ``person_trigram`` and ``person_chars``, whose
  trigger computes 50 ``substr`` calls a row.
- **after**: at head: ``person_trigram`` and ``person_bigrams``, whose trigger computes a
  name's bigrams by a CASE on its length.
- **no search index**: the head schema with the search tables' triggers dropped, the floor.

Each round inserts ``rows`` people through ``models.bulk.insert_rows`` (what the approval of
人员批量新参保 does) in a transaction that is rolled back, then the whole approval of a
``rows``-row batch over HTTP in each app (uploaded, saved and accepted untimed first);
interleaved round by round, medians printed.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import flask_migrate
import sqlalchemy as sa

from benchmarks.common import batch_id, fresh_app, logged_in
from benchmarks.import_bench import workbook
from models import Person, db, search
from models.bulk import insert_rows
from models.handlers import PERSON_COLUMNS

BEFORE = "00a9b9b56c84"


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘欧阳"
GIVEN = "伟明芳娜秀英敏静丽强磊军洋勇艳杰娟涛超霞平刚桂华建国红玉兰飞鹏辉"


def people(n: int, seed: int) -> list[tuple]:
    """``n`` rows of PERSON_COLUMNS with names of 2-4 characters, as a city's are."""
    rng, now = random.Random(seed), dt.datetime(2026, 11, 1)
    # 18 characters like an ID number, never one of the workbooks' (they are all digits)
    return [("01", f"B{seed:04d}{k:013d}", rng.choice(SURNAMES) + "".join(
        rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 3)))), None,
        dt.date(1990, 1, 1), "M", now) for k in range(n)]


def insert(app, rows) -> float:
    with app.app_context():
        start = time.perf_counter()
        insert_rows(Person.__table__, PERSON_COLUMNS, rows, returning=("id",))
        db.session.flush()
        elapsed = time.perf_counter() - start
        db.session.rollback()
    return elapsed


def approve(app, rows: int, seed: int) -> float:
    client = logged_in(app)
    response = client.post("/unit/import/upload/SB_ENROLL_BATCH/", data={
        "file": (io.BytesIO(workbook(rows, 0.0, seed)), "bench.xlsx")},
        content_type="multipart/form-data")
    saved = client.post(f"/unit/import/batch/{batch_id(response.location)}/save/")
    application_id = int(saved.location.rstrip("/").rsplit("/", 1)[1])
    reviewer = logged_in(app, "staff", "reviewer", "")
    url = f"/admin/admin_application/review/{application_id}/"
    reviewer.post(url, data={"action": "accept"})
    start = time.perf_counter()
    answer = reviewer.post(url, data={"action": "approve"})
    elapsed = time.perf_counter() - start
    assert answer.status_code == 302, answer.status_code
    return elapsed


def main(rows: int = 10_000, rounds: int = 7) -> None:
    before, _ = fresh_app(Path(tempfile.mkdtemp()) / "before.sqlite3")
    with before.app_context():
        flask_migrate.downgrade(revision=BEFORE)
    after, _ = fresh_app(Path(tempfile.mkdtemp()) / "after.sqlite3")
    bare, _ = fresh_app(Path(tempfile.mkdtemp()) / "bare.sqlite3")
    with bare.app_context():
        for table in search.FTS:
            for suffix in ("ai", "ad", "au"):
                db.session.execute(sa.text(f"DROP TRIGGER {table}_{suffix}"))
        db.session.commit()
    for app in (before, after, bare):
        with app.app_context():
            insert_rows(Person.__table__, PERSON_COLUMNS, people(100_000, 99))
            db.session.commit()
    cases = {"before (00a9b9b56c84)": before, "after": after, "no search index": bare}
    times = {label: [] for label in cases}
    approvals = {label: [] for label in cases}
    for n in range(rounds):
        for k, (label, app) in enumerate(cases.items()):
            times[label].append(insert(app, people(rows, 1000 + n)))
            approvals[label].append(approve(app, rows, 2000 + 10 * n + k))
    print(f"{rows:,} people into 100,000, SQLite; medians of {rounds} rounds, interleaved")
    for name, results in (("insert_rows", times), ("approval HTTP", approvals)):
        for label, values in results.items():
            print(f"  {name:13s} {label:22s} {statistics.median(values):6.3f} s  "
                  f"({' '.join(f'{v:.3f}' for v in values)})")
    with open("/proc/loadavg") as handle:
        print("load average:", handle.read().strip())


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
