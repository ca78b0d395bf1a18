"""Upload + 保存 + approval of 10,000 rows over HTTP with models.bulk's per-column memo of
bind processors (after) and without it (before: every value converted), interleaved round
by round in one process on one database.

    .venv/bin/python -m benchmarks.import_memo_ab [rounds]
"""
from __future__ import annotations

import io
import statistics
import sys
import time

from benchmarks.common import batch_id, fresh_app, logged_in
from benchmarks.import_bench import workbook
from models import bulk

ROWS = 10_000


class Plain:
    """The processor called for every value, as before the memo."""

    def __init__(self, process):
        self.process = process

    def __call__(self, value):
        return self.process(value)


def one(app, seed: int) -> float:
    data = workbook(ROWS, 0.0, seed)
    client, reviewer = logged_in(app), logged_in(app, "staff", "reviewer", "")
    start = time.perf_counter()
    uploaded = client.post("/unit/import/upload/SB_ENROLL_BATCH/", data={
        "file": (io.BytesIO(data), "bench.xlsx")}, content_type="multipart/form-data")
    saved = client.post(f"/unit/import/batch/{batch_id(uploaded.location)}/save/")
    elapsed = time.perf_counter() - start
    url = f"/admin/admin_application/review/{saved.location.rstrip('/').rsplit('/', 1)[1]}/"
    reviewer.post(url, data={"action": "accept"})  # not timed, as in peers_io
    start = time.perf_counter()
    approved = reviewer.post(url, data={"action": "approve"})
    assert approved.status_code == 302, approved.status_code
    return elapsed + time.perf_counter() - start


def main(rounds: int = 4) -> None:
    memo = bulk._Memo
    app, _ = fresh_app()
    results: dict[str, list[float]] = {"before": [], "after": []}
    for n in range(rounds):
        for label in ("before", "after") if n % 2 else ("after", "before"):
            bulk._Memo = memo if label == "after" else Plain
            results[label].append(one(app, 1000 + 2 * n + (label == "after")))
    bulk._Memo = memo
    for label, times in results.items():
        median = statistics.median(times)
        print(f"{label:6s} median {median:.3f} s ({ROWS / median:,.0f} rows/s); "
              f"runs {', '.join(f'{t:.3f}' for t in times)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
