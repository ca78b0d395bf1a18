"""Peak server memory for each hostile upload, and for a valid 50,000-row file.

    .venv/bin/python -m benchmarks.hostile_bench

The files are written to a temporary directory first (a zip bomb is streamed to disk). Each
upload then runs in its own subprocess: the app on a seeded SQLite copy, logged in, warmed
up with a small upload; then the kernel's peak RSS is reset (/proc/self/clear_refs) and the
upload goes through the HTTP test client: the figure is the peak RSS (VmHWM) above the RSS
just before the upload, and tracemalloc's peak of Python allocations during it.
Limit: no refused file adds 100 MiB.
"""
from __future__ import annotations

import gc
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

LIMIT_MIB = 100
UPLOAD = "/unit/import/upload/SB_ENROLL_BATCH/"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mib(field: str) -> float:
    """A figure of /proc/self/status (Linux): VmRSS now, VmHWM the peak since reset."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return _peak_mib()


def _reset_peak() -> None:
    """Reset the kernel's peak RSS (VmHWM) of this process, so it measures the upload only."""
    Path("/proc/self/clear_refs").write_text("5")


def child(database: str, file: str, traced: bool) -> None:
    """Upload one file as the demo unit's legal representative; print the figures as JSON."""
    from app import create_app
    from benchmarks.common import CHEAP_ARGON2, batch_id, logged_in
    from models import ImportBatch, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "SECRET_KEY": "bench", "ARGON2_PARAMS": CHEAP_ARGON2,
                      "WTF_CSRF_ENABLED": False,
                      "UPLOAD_DIR": str(Path(database).parent / "uploads")})
    client = logged_in(app)
    warm = ",".join(["身份证号码", "姓名", "手机号码", "参保日期", "月缴费工资", "参保险种"])
    client.post(UPLOAD, data={"file": (io.BytesIO(warm.encode() + b"\n1,2,,,,\n"), "w.csv")},
                content_type="multipart/form-data")
    data = Path(file).read_bytes()
    gc.collect()
    if traced:  # tracemalloc's own bookkeeping inflates RSS: a separate run
        tracemalloc.start()
    _reset_peak()
    before = _status_mib("VmRSS")
    response = client.post(UPLOAD, data={"file": (io.BytesIO(data), Path(file).name)},
                           content_type="multipart/form-data")
    after = _status_mib("VmHWM")
    traced_mib = tracemalloc.get_traced_memory()[1] / 1024 / 1024 if traced else 0.0
    tracemalloc.stop()
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id(response.location))
        outcome = "；".join(batch.problems) if batch.problems else \
            f"{batch.rows_good} good rows, {batch.rows_bad} bad"
    print(json.dumps({"added_mib": max(0.0, after - before), "traced_mib": traced_mib,
                      "bytes": len(data), "outcome": outcome}, ensure_ascii=False))


def main() -> None:
    from benchmarks import hostile_files
    from benchmarks.common import fresh_app
    from benchmarks.import_bench import workbook

    work = Path(tempfile.mkdtemp())
    try:
        _, database = fresh_app(work / "bench.sqlite3")
        files = {}
        for label, make in hostile_files.HOSTILE.items():
            suffix = ".csv" if label.startswith("csv") else ".xlsx"
            files[label] = make(work / f"{make.__name__}{suffix}")
        valid = work / "valid.xlsx"
        valid.write_bytes(workbook(50_000, 0.0, 21))
        files["valid xlsx, 50,000 rows"] = valid
        print(f"{'upload':<42}{'file':>10}{'peak RSS added':>16}{'traced peak':>13}  outcome")
        worst = 0.0
        for label, path in files.items():
            figures = {}
            for mode in ("rss", "traced"):
                result = subprocess.run(
                    [sys.executable, "-m", "benchmarks.hostile_bench", "--child", mode,
                     str(database), str(path)], capture_output=True, text=True)
                if result.returncode:
                    sys.exit(f"{label}: the upload failed\n{result.stderr[-2000:]}")
                measured = json.loads(result.stdout.strip().splitlines()[-1])
                figures.setdefault("added_mib", measured["added_mib"])
                figures.update({k: v for k, v in measured.items() if k != "added_mib"})
            if label != "valid xlsx, 50,000 rows":
                worst = max(worst, figures["added_mib"])
            size = figures["bytes"]
            shown = f"{size / 1024:.1f} KB" if size < 1024 * 1024 else \
                f"{size / 1024 / 1024:.1f} MB"
            print(f"{label:<42}{shown:>10}{figures['added_mib']:>12.1f} MiB"
                  f"{figures['traced_mib']:>9.1f} MiB  {figures['outcome'][:60]}")
        print(f"largest addition by a refused file: {worst:.1f} MiB (limit {LIMIT_MIB} MiB)")
        if worst > LIMIT_MIB:
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[3], sys.argv[4], traced=sys.argv[2] == "traced")
    else:
        main()
