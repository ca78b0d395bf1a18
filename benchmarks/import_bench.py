"""Import of a generated 10,000-row 人员批量新参保 xlsx: parse, validate, save, end to end.

    .venv/bin/python -m benchmarks.import_bench [rows]

Prints rows per second per step and end to end through the HTTP client (valid rows, then a
variant with 5% bad rows), and the raw floor: sqlite3 executemany of the same tuples in one
transaction, with the ratio.
"""
from __future__ import annotations

import io
import sqlite3
import sys
import tempfile
import time

from openpyxl import load_workbook

from benchmarks.common import batch_id, fresh_app, id_numbers, logged_in
from models import ImportBatch, db
from models.imports import check_rows, read_table, store_batch
from rules.imports import SCHEMAS
from views.spreadsheets import template_workbook

SCHEMA = SCHEMAS["SB_ENROLL_BATCH"]
UNIT_ID = 1  # the first demo unit


def workbook(rows: int, bad_share: float, seed: int) -> bytes:
    book = load_workbook(io.BytesIO(template_workbook(SCHEMA)))
    sheet = book["数据"]
    sheet.delete_rows(2)
    for n, id_no in enumerate(id_numbers(rows, seed)):
        wage = 8000 + n % 500
        if bad_share and n % int(1 / bad_share) == 0:
            wage = 5  # below the minimum wage: a bad row
        sheet.append([id_no, f"职工{n}", f"139{n:08d}", "2026-11-01", wage, "五险"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def raw_floor(values: list[tuple]) -> float:
    with tempfile.NamedTemporaryFile(suffix=".sqlite3") as handle:
        conn = sqlite3.connect(handle.name)
        conn.execute("CREATE TABLE t (id_no TEXT UNIQUE, name TEXT, phone TEXT, start TEXT,"
                     " wage TEXT, kinds TEXT)")
        start = time.perf_counter()
        with conn:
            conn.executemany("INSERT INTO t VALUES (?,?,?,?,?,?)", values)
        elapsed = time.perf_counter() - start
        conn.close()
    return elapsed


def main(rows: int = 10_000) -> None:
    app, _ = fresh_app()
    print(f"人员批量新参保 import, {rows} rows, SQLite, Python {sys.version.split()[0]}")
    for label, bad_share, seed in (("valid", 0.0, 11), ("5% bad", 0.05, 12)):
        data = workbook(rows, bad_share, seed)
        with app.app_context():
            t_parse, table = timed(lambda data=data: list(read_table(data, SCHEMA)))
            t_check, (results, problems) = timed(
                lambda table=table: check_rows(SCHEMA, UNIT_ID, table))
            assert not problems, problems
            good = sum(r.ok for r in results)

            def store(results=results, problems=problems, data=data):
                batch = store_batch(SCHEMA, results, problems, unit_id=UNIT_ID, item_id=1,
                                    account_id=1, file_name="bench.xlsx", data=data)
                db.session.commit()
                return batch
            t_save, batch = timed(store)
            db.session.execute(db.delete(ImportBatch).where(ImportBatch.id == batch.id))
            db.session.commit()
        client = logged_in(app)
        start = time.perf_counter()
        response = client.post("/unit/import/upload/SB_ENROLL_BATCH/", data={
            "file": (io.BytesIO(data), "bench.xlsx")}, content_type="multipart/form-data")
        saved = client.post(f"/unit/import/batch/{batch_id(response.location)}/save/")
        t_http = time.perf_counter() - start
        assert saved.status_code == 302, saved.status_code
        application_id = int(saved.location.rstrip("/").rsplit("/", 1)[1])
        reviewer = logged_in(app, "staff", "reviewer", "")
        url = f"/admin/admin_application/review/{application_id}/"
        reviewer.post(url, data={"action": "accept"})
        start = time.perf_counter()
        reviewer.post(url, data={"action": "approve"})
        t_approve = time.perf_counter() - start
        floor = raw_floor([(r.values["id_no"], r.values["name"], r.values.get("phone"),
                            str(r.values["start_date"]), str(r.values["wage"]),
                            r.values["insurance_kinds"]) for r in results if r.ok])
        print(f"\n[{label}] good {good}, bad {rows - good}, file {len(data) / 1024:.0f} KiB")
        for name, seconds in (("parse (xlsx read)", t_parse),
                              ("validate (rules + set lookups)", t_check),
                              ("save (store batch rows)", t_save),
                              ("end to end via HTTP (upload + 保存)", t_http),
                              ("approve: apply every row (HTTP)", t_approve),
                              ("raw floor: sqlite3 executemany", floor)):
            print(f"  {name:38s} {seconds:7.3f} s  {rows / seconds:10,.0f} rows/s")
        print(f"  end to end / raw floor: {t_http / floor:,.0f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
