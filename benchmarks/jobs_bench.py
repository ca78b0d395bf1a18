"""A 50,000-row import and a 100,000-row xlsx export run as background jobs, end to end.

    .venv/bin/python -m benchmarks.jobs_bench [redis://127.0.0.1:6379/3] [database copy]

A real gunicorn server (one worker) and a real ``flask worker`` on one SQLite file (the
demo data plus 100,000 enrollments of the first unit) and Redis; the client uploads and
polls over HTTP as a browser would. Prints, per job: wall time from the request to
``finished``, rows/s, the progress counts the client saw, and the peak RSS (the kernel's
high-water mark, reset before each job) of the worker and of the web server's processes.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import REP_A, UNIT_A, make_id_no
from benchmarks.export_bench import build

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ROWS, EXPORT_ROWS = 50_000, 100_000
HEADERS = "身份证号码,姓名,手机号码,参保日期,月缴费工资,参保险种"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [pid] + [p for c in children for p in _tree(c)]


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peaks(pids: list[int]) -> None:
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _follow(client: httpx.Client, base: str, job_url: str) -> tuple[dict, int]:
    seen = set()
    while True:
        answer = client.get(f"{base}{job_url}status/")
        assert answer.headers.get("content-type", "").startswith("application/json"), \
            (job_url, answer.status_code, answer.text[:300])
        status = answer.json()
        seen.add((status["rows_checked"], status["rows_written"], status["percent"]))
        if status["finished"]:
            return status, len(seen)
        time.sleep(0.2)


def _token(client: httpx.Client, url: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).text).group(1)


def main(redis_url: str, kept: str | None = None) -> None:
    folder = Path(tempfile.mkdtemp())
    database = folder / "jobs.sqlite3"
    if kept and Path(kept).exists():  # a database an earlier run built (and kept)
        shutil.copy(kept, database)
    else:
        print(f"building the database ({EXPORT_ROWS:,} extra enrollments) …", flush=True)
        build(database, EXPORT_ROWS)
        if kept:
            shutil.copy(database, kept)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": redis_url,
           "UPLOAD_DIR": str(folder / "uploads"), "SECRET_KEY": "bench",
           "JOB_QUEUE": f"bench-{os.getpid()}", "WEB_CONCURRENCY": "1",
           "BIND": f"127.0.0.1:{port}", "EXPORT_MAX_ROWS": str(EXPORT_ROWS + 1000),
           "LOG_FORMAT": "text"}
    quiet = subprocess.DEVNULL
    web = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py"],
                           cwd=ROOT, env=env, stdout=quiet, stderr=quiet)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                              cwd=ROOT, env=env, stdout=quiet, stderr=quiet)
    try:
        client = httpx.Client(timeout=120)
        for _ in range(120):
            try:
                if client.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        response = client.post(f"{base}/login", data={
            "csrf_token": _token(client, f"{base}/login"), "kind": "unit",
            "unit_code": UNIT_A, "login": REP_A, "password": "Demo@2026"})
        assert response.status_code == 302, response.status_code
        rng, used = random.Random(50), set()
        body = "\n".join([HEADERS] + [f"{make_id_no(rng, used)},人{i},,2026-11-01,8000,五险"
                                      for i in range(IMPORT_ROWS)]).encode()
        client.get(f"{base}/unit/unit_enrollment/")  # warm the web worker

        rows = []
        for what, count, start in (
                ("import 50,000 rows (csv: read, check, store)", IMPORT_ROWS, lambda: client.post(
                    f"{base}/unit/import/upload/SB_ENROLL_BATCH/",
                    data={"csrf_token": _token(client, f"{base}/unit/import/")},
                    files={"file": ("big.csv", body, "text/csv")})),
                ("export 100,000 rows (xlsx)", None, lambda: client.get(
                    f"{base}/unit/unit_enrollment/export/xlsx/"))):
            web_pids = _tree(web.pid)
            _reset_peaks([worker.pid, *web_pids])
            web_before = sum(_rss_mib(p) for p in web_pids)
            began = time.perf_counter()
            response = start()
            job_url = response.headers.get("location", "").removeprefix(base)
            assert "/unit/imports/" in job_url or "/unit/exports/" in job_url, \
                (response.status_code, job_url, response.text[:300])
            status, updates = _follow(client, base, job_url)
            wall = time.perf_counter() - began
            assert status["state"] == "done", status
            done_rows = count or status["rows_written"]
            rows.append((what, wall, done_rows / wall, updates, _peak_mib(worker.pid),
                         web_before, sum(_peak_mib(p) for p in web_pids)))
            if count is None:
                began = time.perf_counter()
                size = len(client.get(f"{base}{job_url}download/").content)
                print(f"  download of the {size / 2**20:.1f} MiB file from the web server: "
                      f"{time.perf_counter() - began:.2f} s", flush=True)
        print("\n| job | wall | rows/s | progress updates seen | worker peak RSS "
              "| web server RSS before → peak |")
        print("|---|---:|---:|---:|---:|---:|")
        for what, wall, rate, updates, worker_peak, web_before, web_peak in rows:
            print(f"| {what} | {wall:.1f} s | {rate:,.0f} | {updates} | {worker_peak:.0f} MiB "
                  f"| {web_before:.0f} → {web_peak:.0f} MiB |")
    finally:
        for process in (web, worker):
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/3",
         sys.argv[2] if len(sys.argv) > 2 else None)
