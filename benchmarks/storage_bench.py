"""Time and peak memory of materials moving through the file store, on each backend.

    .venv/bin/python -m benchmarks.storage_bench

For the local directory and for S3 (moto's server, a process of its own so its memory is not
counted), the app runs in a server process of its own (werkzeug, threaded) on a seeded SQLite
copy; this process is the browser (httpx, streaming). Each figure is the median time of three
runs (after one warm-up run) and the largest peak RSS the operation added to the process doing
it (the kernel's high-water mark VmHWM, reset through /proc/PID/clear_refs just before):

- save 20 MB / 80 MB: ``storage.save`` of a generated stream, what an accepted upload does
  after its checks (measured in this process): memory must not grow with the size;
- HTTP upload 10 MB: a 10 MB PDF posted to a filing (the largest material the office takes),
  through the checks, the spool and the store (measured in the server process);
- HTTP download 20 MB: a 20 MB attachment downloaded through the scope-checked view,
  streamed from the store (measured in the server process).
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MIB = 1024 * 1024
BUCKET = "wangban-bench"
RUNS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status_mib(pid: int | str, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def _reset_peak(pid: int | str) -> float:
    """Reset the process's peak RSS; returns its RSS now."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _status_mib(pid, "VmRSS")


class Generated(io.RawIOBase):
    """``size`` bytes made as they are read; never held whole."""

    def __init__(self, size: int, head: bytes = b"%PDF-1.4\n") -> None:
        self.left, self.head = size, head

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        block, self.head = (self.head + b"0" * size)[:size], b""
        self.left -= size
        return block


def config(database: str, uploads: str, storage_url: str, endpoint: str) -> dict:
    from benchmarks.common import CHEAP_ARGON2

    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "bench",
            "ARGON2_PARAMS": CHEAP_ARGON2, "WTF_CSRF_ENABLED": False, "UPLOAD_DIR": uploads,
            "STORAGE_URL": storage_url or None, "S3_ENDPOINT_URL": endpoint or None,
            "S3_ADDRESSING_STYLE": "path", "LOG_FORMAT": "text"}


def serve(database: str, uploads: str, storage_url: str, endpoint: str, port: str) -> None:
    """The app alone in this process (a thread per request), until it is killed."""
    import logging

    from werkzeug.serving import make_server

    from app import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app(config(database, uploads, storage_url, endpoint))
    make_server("127.0.0.1", int(port), app, threaded=True).serve_forever()


def measure(backend: str, database: Path, uploads: Path, storage_url: str,
            endpoint: str) -> dict:
    from app import create_app
    import sqlalchemy as sa

    from benchmarks.common import REP_A, UNIT_A
    from models import Application, Attachment, Unit, db, storage

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.storage_bench", "--serve",
                               str(database), str(uploads), storage_url, endpoint, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        client = httpx.Client(base_url=base, timeout=120)
        login = client.post("/login", data={"kind": "unit", "login": REP_A,
                                            "unit_code": UNIT_A, "password": "Demo@2026"})
        assert login.status_code == 302, login.status_code
        app = create_app(config(str(database), str(uploads), storage_url, endpoint))
        figures = {}

        # save 20 and 80 MB through the store, in this process (a warm-up run first)
        with app.app_context():
            for size in (20, 80):
                times, peaks = [], []
                for run in range(RUNS + 1):
                    before = _reset_peak("self")
                    started = time.perf_counter()
                    written = storage.save(f"bench/save-{run}", Generated(size * MIB))
                    times.append(time.perf_counter() - started)
                    peaks.append(_status_mib("self", "VmHWM") - before)
                    assert written == size * MIB
                figures[f"save {size} MB"] = (times[1:], peaks[1:])

        # HTTP upload of a 10 MB material to a filing unit A may change, measured in the server
        with app.app_context():
            filing, material = next(
                (f"/unit/filing/{draft.id}/", m["code"])
                for draft in db.session.scalars(sa.select(Application).join(Unit).where(
                    Unit.uscc == UNIT_A, Application.state.in_(("draft", "rejected"))))
                for m in draft.spec.materials
                if (m.get("max_mb") or 10) >= 10 and "pdf" in (m.get("types") or ["pdf"]))
        client.post(f"{filing}upload/", data={"material": material},
                    files={"file": ("warm.pdf", b"%PDF-1.4 warm", "application/pdf")})
        times, peaks = [], []
        for run in range(RUNS + 1):  # the first run warms the server up and is not counted
            body = Path(tempfile.mkstemp(suffix=".pdf")[1])
            with body.open("wb") as out:
                shutil.copyfileobj(Generated(10 * MIB - 1024, b"%PDF-1.4\n%run" +
                                             bytes([48 + run]) + b"\n"), out)
            before = _reset_peak(server.pid)
            started = time.perf_counter()
            with body.open("rb") as handle:
                response = client.post(f"{filing}upload/", data={"material": material},
                                        files={"file": ("big.pdf", handle, "application/pdf")})
            times.append(time.perf_counter() - started)
            peaks.append(_status_mib(server.pid, "VmHWM") - before)
            body.unlink()
            assert response.status_code == 302, response.status_code
        figures["HTTP upload 10 MB"] = (times[1:], peaks[1:])

        # HTTP download of a 20 MB attachment, streamed, measured in the server
        with app.app_context():
            application_id = int(filing.strip("/").rsplit("/", 1)[1])
            size = storage.save("bench/download", Generated(20 * MIB))
            attachment = Attachment(application_id=application_id, material=material,
                                    file_name="big.pdf", content_type="application/pdf",
                                    size=size, sha256="0" * 64, stored_path="bench/download")
            db.session.add(attachment)
            db.session.commit()
            attachment_id = attachment.id
            assert db.session.get(Application, application_id) is not None
        times, peaks = [], []
        for _ in range(RUNS + 1):
            before = _reset_peak(server.pid)
            started = time.perf_counter()
            digest, received = hashlib.sha256(), 0
            with client.stream("GET", f"/unit/filing/attachment/{attachment_id}/") as response:
                assert response.status_code == 200, response.status_code
                for chunk in response.iter_bytes():
                    digest.update(chunk)
                    received += len(chunk)
            times.append(time.perf_counter() - started)
            peaks.append(_status_mib(server.pid, "VmHWM") - before)
            assert received == 20 * MIB
        figures["HTTP download 20 MB"] = (times[1:], peaks[1:])
        figures["server RSS at rest"] = _status_mib(server.pid, "VmRSS")
        return figures
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    from benchmarks.common import fresh_app

    work = Path(tempfile.mkdtemp())
    endpoint = f"http://127.0.0.1:{_free_port()}"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                           "AWS_DEFAULT_REGION")})
    moto = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                             "127.0.0.1", "-p", endpoint.rsplit(":", 1)[1]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint)
        for _ in range(100):
            try:
                s3.create_bucket(Bucket=BUCKET)
                break
            except Exception:  # not up yet
                time.sleep(0.2)
        _, database = fresh_app(work / "bench.sqlite3")
        uploads = work / "uploads"
        print(f"{'backend':<8}{'operation':<22}{'median time':>12}{'peak RSS added':>16}")
        for backend, url in (("local", ""), ("S3", f"s3://{BUCKET}/uploads")):
            figures = measure(backend, database, uploads, url, endpoint)
            for label in ("save 20 MB", "save 80 MB", "HTTP upload 10 MB",
                          "HTTP download 20 MB"):
                times, peaks = figures[label]
                print(f"{backend:<8}{label:<22}{statistics.median(times):>10.2f} s"
                      f"{max(peaks):>12.1f} MiB")
            print(f"{backend:<8}{'server RSS at rest':<22}{'':>12}"
                  f"{figures['server RSS at rest']:>12.1f} MiB")
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:])
    else:
        main()
