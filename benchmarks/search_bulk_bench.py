"""The search index's cost when people are inserted in bulk, before and after, side by side.

    .venv/bin/python -m benchmarks.search_bulk_bench [rows] [rounds]

Two fresh SQLite files, each with the demo data and 100,000 more people (so the FTS5 tables
are not empty), in one process:

- **before**: migrated back to 00a9b9b56c84 (``person_trigram`` and ``person_chars``, whose
  triggers index every row, 50 ``substr`` calls each); ``models.bulk`` without the pause.
- **after**: at head (``person_trigram`` and ``person_bigrams``); ``models.bulk`` pauses the
  insert triggers and fills both tables set-based (``models.search.indexed_in_bulk``).
- **after, by triggers**: the head schema with the pause off, to tell the cheaper bigram
  expression from the set-based fill.

Each round inserts ``rows`` people through ``models.bulk.insert_rows`` (what the approval of
人员批量新参保 does) in a transaction that is rolled back, then the whole approval of a
``rows``-row batch over HTTP in both apps (uploaded, saved and accepted untimed first);
interleaved round by round, medians printed.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
import statistics
import sys
import time
from pathlib import Path
import tempfile

import flask_migrate

from benchmarks.common import batch_id, fresh_app, logged_in
from benchmarks.import_bench import workbook
from models import Person, db, search
from models.bulk import insert_rows
from models.handlers import PERSON_COLUMNS

BEFORE = "00a9b9b56c84"


@contextlib.contextmanager
def _by_triggers(connection, table):
    yield lambda ids: None


@contextlib.contextmanager
def triggers_only():
    """models.bulk as before: no pause, the triggers index each row."""
    real = search.indexed_in_bulk
    search.indexed_in_bulk = _by_triggers
    try:
        yield
    finally:
        search.indexed_in_bulk = real


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘欧阳"
GIVEN = "伟明芳娜秀英敏静丽强磊军洋勇艳杰娟涛超霞平刚桂华建国红玉兰飞鹏辉"


def people(n: int, seed: int) -> list[tuple]:
    """``n`` rows of PERSON_COLUMNS with names of 2-4 characters, as a city's are."""
    rng, now = random.Random(seed), dt.datetime(2026, 11, 1)
    # 18 characters like an ID number, never one of the workbooks' (they are all digits)
    return [("01", f"B{seed:04d}{k:013d}", rng.choice(SURNAMES) + "".join(
        rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 3)))), None,
        dt.date(1990, 1, 1), "M", now) for k in range(n)]


def insert(app, rows, trig: bool) -> float:
    with app.app_context(), (triggers_only() if trig else contextlib.nullcontext()):
        start = time.perf_counter()
        insert_rows(Person.__table__, PERSON_COLUMNS, rows, returning=("id",))
        db.session.flush()
        elapsed = time.perf_counter() - start
        db.session.rollback()
    return elapsed


def approve(app, rows: int, seed: int, trig: bool) -> float:
    client = logged_in(app)
    response = client.post("/unit/import/upload/SB_ENROLL_BATCH/", data={
        "file": (io.BytesIO(workbook(rows, 0.0, seed)), "bench.xlsx")},
        content_type="multipart/form-data")
    saved = client.post(f"/unit/import/batch/{batch_id(response.location)}/save/")
    application_id = int(saved.location.rstrip("/").rsplit("/", 1)[1])
    reviewer = logged_in(app, "staff", "reviewer", "")
    url = f"/admin/admin_application/review/{application_id}/"
    reviewer.post(url, data={"action": "accept"})
    with triggers_only() if trig else contextlib.nullcontext():
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
    for app, trig in ((before, True), (after, False)):
        with app.app_context(), (triggers_only() if trig else contextlib.nullcontext()):
            insert_rows(Person.__table__, PERSON_COLUMNS, people(100_000, 99), returning=())
            db.session.commit()
    cases = [("before (00a9b9b56c84, triggers)", before, True),
             ("after, by triggers (no pause)", after, True),
             ("after (set-based fill)", after, False)]
    times = {label: [] for label, _, _ in cases}
    approvals = {"before": [], "after": []}
    for n in range(rounds):
        for label, app, trig in cases:
            times[label].append(insert(app, people(rows, 1000 + n), trig))
        approvals["before"].append(approve(before, rows, 2000 + n, True))
        approvals["after"].append(approve(after, rows, 3000 + n, False))
    print(f"{rows:,} people into 100,000, SQLite; medians of {rounds} rounds, interleaved")
    for label, values in times.items():
        print(f"  insert_rows   {label:34s} {statistics.median(values):6.3f} s  "
              f"{' '.join(f'{v:.3f}' for v in values)}")
    for label, values in approvals.items():
        print(f"  approval HTTP {label:34s} {statistics.median(values):6.3f} s  "
              f"{' '.join(f'{v:.3f}' for v in values)}")
    with open("/proc/loadavg") as handle:
        print("load average:", handle.read().strip())


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
