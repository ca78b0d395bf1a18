"""Stateless app servers: two gunicorn servers and one RQ worker on one PostgreSQL, one Redis
and one upload store; one user's requests move between the servers mid-import and
mid-export (upload on server 1, progress on server 2, result on server 1, 保存 on server 2,
export on server 1, its progress on server 2, its file from server 1). Exits 1 at the first
failure. Called by .ci/served, whose environment (DATABASE_URL of a seeded database,
REDIS_URL, UPLOAD_DIR, SECRET_KEY) it uses:

    .venv/bin/python .ci/stateless.py
"""
from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from journey import PASSWORD, REP_A, UNIT_A, check  # noqa: E402

from models.demo import make_id_no  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROWS = 6_000
HEADERS = "身份证号码,姓名,手机号码,参保日期,月缴费工资,参保险种"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    check(False, f"{base} answers /healthz")


def follow(client: httpx.Client, base: str, url: str, seen: list) -> dict:
    """Poll a job's status on ``base`` until it finishes; every distinct count is kept."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = client.get(f"{base}{url}").json()
        if not seen or seen[-1] != (status["rows_checked"], status["rows_written"]):
            seen.append((status["rows_checked"], status["rows_written"]))
        if status["finished"]:
            return status
        time.sleep(0.2)
    check(False, f"{url} finishes within 300 s")


def main() -> None:
    env = {**os.environ, "WEB_CONCURRENCY": "1", "EXPORT_JOB_ROWS": "10",
           "IMPORT_JOB_ROWS": "2000", "JOB_QUEUE": f"stateless-{os.getpid()}"}
    ports = [free_port(), free_port()]
    one, two = (f"http://127.0.0.1:{p}" for p in ports)
    logs = tempfile.TemporaryFile()
    processes = [start([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py"],
                       {**env, "BIND": f"127.0.0.1:{port}"}, logs) for port in ports]
    processes.append(start([str(ROOT / ".venv/bin/flask"), "worker"], env, logs))
    try:
        wait_up(one)
        wait_up(two)
        client = httpx.Client(timeout=60)  # one browser: its cookies go to both servers
        response = client.post(f"{one}/login", data={
            "csrf_token": token_at(client, one, "/login"), "kind": "unit",
            "unit_code": UNIT_A, "login": REP_A, "password": PASSWORD})
        check(response.status_code == 302, "log in on server 1")
        check(client.get(f"{two}/unit/").status_code == 200,
              "the session is known to server 2 (server-side sessions in the database)")

        rng, used = random.Random(int(time.time())), set()
        lines = [HEADERS] + [f"{make_id_no(rng, used)},人{i},,2026-11-01,8000,五险"
                             for i in range(ROWS)]
        upload = client.post(f"{one}/unit/import/upload/SB_ENROLL_BATCH/", data={
            "csrf_token": token_at(client, one, "/unit/import/")},
            files={"file": ("big.csv", "\n".join(lines).encode(), "text/csv")})
        job_url = upload.headers.get("location", "")
        check(upload.status_code == 302 and "/unit/imports/" in job_url,
              f"server 1 takes the {ROWS}-row upload as a job")
        seen: list = []
        status = follow(client, two, f"{job_url}status/", seen)
        check(status["state"] == "done" and status["rows_checked"] == ROWS,
              f"server 2 follows its progress to the end ({len(seen)} distinct counts seen)")
        page = client.get(f"{one}{job_url}").text
        batch = re.search(r"/unit/import/batch/(\d+)/", page)
        check(batch, "server 1 shows the checked batch")
        saved = client.post(f"{two}/unit/import/batch/{batch.group(1)}/save/", data={
            "csrf_token": token_at(client, two, f"/unit/import/batch/{batch.group(1)}/")})
        save_url = saved.headers.get("location", "")
        check("/unit/imports/" in save_url, "server 2 takes 保存 as a job")
        status = follow(client, one, f"{save_url}status/", [])
        filing = re.search(r"/unit/filing/(\d+)/", client.get(f"{two}{save_url}").text)
        check(status["state"] == "done" and filing, "the batch is filed, once")
        again = client.post(f"{one}/unit/import/batch/{batch.group(1)}/save/", data={
            "csrf_token": token_at(client, one, "/unit/imports/")})
        status = follow(client, two, f"{again.headers['location']}status/", [])
        check(status["state"] == "failed", "a second 保存 on the other server files nothing")

        export = client.get(f"{one}/unit/unit_enrollment/export/xlsx/")
        export_url = export.headers.get("location", "")
        check(export.status_code == 302 and "/unit/exports/" in export_url,
              "server 1 takes the xlsx export as a job")
        status = follow(client, two, f"{export_url}status/", [])
        check(status["state"] == "done", "server 2 sees the export finish")
        download = client.get(f"{one}{export_url}download/")
        check(download.status_code == 200 and download.content[:2] == b"PK",
              "server 1 serves the file the worker wrote to the shared store")
        print(f"stateless: {len(seen)} progress counts seen; all checks passed")
    except SystemExit:
        logs.seek(0)
        print(logs.read().decode(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()


def token_at(client: httpx.Client, base: str, path: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(f"{base}{path}").text)
    check(match, f"a CSRF token on {base}{path}")
    return match.group(1)


if __name__ == "__main__":
    main()
