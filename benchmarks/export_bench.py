"""Export of 100,000 enrollments as csv and xlsx: seconds and peak memory.

    .venv/bin/python -m benchmarks.export_bench

Each (format, rows) runs in a fresh process on the same database, reading the streamed
body chunk by chunk as a WSGI server would; peak RSS at 20,000 and 100,000 rows shows
whether memory stays flat as rows grow.
"""
from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import fresh_app, id_numbers, logged_in
from models import Enrollment, Person, Unit, db


def build(path: Path, rows: int) -> None:
    """A demo database whose first unit has ``rows`` extra enrollments."""
    app, _ = fresh_app(path)
    with app.app_context():
        unit_id = db.session.scalar(sa.select(Unit.id).order_by(Unit.id).limit(1))
        ids = id_numbers(rows, seed=99)
        now = dt.datetime(2026, 11, 1)
        for start in range(0, rows, 10_000):
            chunk = ids[start:start + 10_000]
            db.session.execute(sa.insert(Person), [
                {"id_type": "01", "id_no": i, "name": f"职工{start + n}", "gender": "M",
                 "birth_date": dt.date(1990, 1, 1), "phone": None, "created_at": now}
                for n, i in enumerate(chunk)])
            person_ids = db.session.scalars(sa.select(Person.id).where(
                Person.id_no.in_(chunk))).all()
            db.session.execute(sa.insert(Enrollment), [
                {"person_id": pid, "unit_id": unit_id, "insurance_kinds": "110,310",
                 "start_date": dt.date(2020, 1, 1), "wage": 8000, "status": "active",
                 "created_at": now} for pid in person_ids])
            db.session.commit()


def trim(source: Path, target: Path, rows: int) -> None:
    """A copy of the database keeping ``rows`` of the extra enrollments."""
    shutil.copy(source, target)
    conn = sqlite3.connect(target)
    with conn:
        conn.execute("DELETE FROM enrollment WHERE id > (SELECT min(id) FROM enrollment) + ?",
                     (rows + 100,))
    conn.close()


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next reading is this step's peak."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_mib() -> float:
    with open("/proc/self/status") as handle:
        line = next(x for x in handle if x.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def measure(path: str, export_type: str) -> None:
    """Child process: export every enrollment of the unit and print one result line."""
    from app import create_app
    from benchmarks.common import CHEAP_ARGON2

    # EXPORT_JOB_ROWS 0: the export streams in the request (by default one of more than
    # 20,000 rows is a background job, and the response would be its redirect).
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "ARGON2_PARAMS": CHEAP_ARGON2, "WTF_CSRF_ENABLED": False,
                      "EXPORT_JOB_ROWS": 0})
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
            Enrollment.unit_id == 1))
    client = logged_in(app)
    client.get("/unit/unit_enrollment/")  # warm up
    reset_peak()
    before = peak_mib()
    start = time.perf_counter()
    response = client.get(f"/unit/unit_enrollment/export/{export_type}/")
    assert response.status_code == 200, response.status_code
    size = sum(len(chunk) for chunk in response.response)
    elapsed = time.perf_counter() - start
    print(f"{export_type:5s} {count:8,d} rows  {elapsed:6.2f} s  {count / elapsed:9,.0f} rows/s"
          f"  {size / 2**20:5.1f} MiB out  peak RSS during export {peak_mib():6.1f} MiB "
          f"(+{peak_mib() - before:5.1f} MiB over the warm app)")


def main() -> None:
    if len(sys.argv) == 3:  # child
        measure(sys.argv[1], sys.argv[2])
        return
    folder = Path(tempfile.mkdtemp())
    full = folder / "export-100k.sqlite3"
    start = time.perf_counter()
    build(full, 100_000)
    small = folder / "export-20k.sqlite3"
    trim(full, small, 20_000)
    print(f"built 100,000 extra enrollments in {time.perf_counter() - start:.1f} s "
          "(unit console export of 参保职工, streamed; SQLite)")
    for export_type in ("csv", "xlsx"):
        for path in (small, full):
            subprocess.run([sys.executable, "-m", "benchmarks.export_bench", str(path),
                            export_type], check=True)


if __name__ == "__main__":
    main()
