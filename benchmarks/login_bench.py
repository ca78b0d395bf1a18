"""Login under a burst: p50/p99 of 50 parallel logins and the server's peak memory.

A threaded server (one process, a thread per request, as gunicorn's gthread worker) serves a
fresh SQLite database with 50 individual accounts; 50 clients post the login form at the same
moment, three rounds. Each argon2 profile runs in a new server process, so its peak resident
memory (VmHWM) is its own. Also: how long a wrong password takes for a known and an unknown
login name (the timing must not tell which names exist).

    .venv/bin/python -m benchmarks.login_bench
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from argon2 import PasswordHasher

from app import ARGON2_PRODUCTION
from benchmarks.common import fresh_app
from models import Account, Person, db
from models.demo import DEMO_PASSWORD

CLIENTS = 50
ROUNDS = 3
PORT = 5391
PROFILES = [
    # name, argon2 parameters, concurrent hashes per process
    ("OWASP 19 MiB t=2 p=1, 4 slots (chosen)", ARGON2_PRODUCTION, 4),
    ("OWASP 19 MiB t=2 p=1, unbounded", ARGON2_PRODUCTION, CLIENTS),
    ("RFC 9106 64 MiB t=3 p=4, unbounded (before)",
     {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}, CLIENTS),
]


def _people(n: int) -> list[str]:
    """ID numbers of ``n`` people of the demo data, each given an individual account."""
    people = db.session.scalars(db.select(Person).where(
        ~Person.id.in_(db.select(Account.person_id).where(Account.person_id.is_not(None))))
        .order_by(Person.id).limit(n)).all()
    for person in people:
        db.session.add(Account(kind="individual", person_id=person.id, display_name=person.name,
                               login_key=f"person:{person.id}", password_hash="!",
                               must_change_password=False))
    db.session.commit()
    return [p.id_no for p in people]


def _set_hashes(app, params: dict) -> None:
    digest = PasswordHasher(**params).hash(DEMO_PASSWORD)
    with app.app_context():
        db.session.execute(db.update(Account).where(Account.kind == "individual")
                           .values(password_hash=digest, failed_logins=0, locked_until=None))
        db.session.commit()


def serve(path: str, port: int, time_cost: int, memory_cost: int, parallelism: int,
          slots: int) -> None:
    """The server side: the app on ``path`` with one argon2 profile, threaded."""
    from werkzeug.serving import make_server

    from app import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
        "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_CONCURRENCY": slots,
        "ARGON2_PARAMS": {"time_cost": time_cost, "memory_cost": memory_cost,
                          "parallelism": parallelism},
        "RATELIMIT_LOGIN_ADDRESS": "100000 per minute",
    })
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def _post_login(login: str, password: str = DEMO_PASSWORD) -> tuple[int, float]:
    data = urllib.parse.urlencode({"kind": "person", "login": login, "unit_code": "",
                                   "password": password}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/login", data=data)
    opener = urllib.request.build_opener(_NoRedirect)
    start = time.perf_counter()
    try:
        status = opener.open(request, timeout=120).status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, (time.perf_counter() - start) * 1000


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _memory(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _burst(logins: list[str]) -> tuple[list[float], list[int]]:
    barrier = threading.Barrier(len(logins))
    times, statuses = [], []
    lock = threading.Lock()

    def one(login):
        barrier.wait()
        status, ms = _post_login(login)
        with lock:
            times.append(ms)
            statuses.append(status)

    threads = [threading.Thread(target=one, args=(login,)) for login in logins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, statuses


def _wait_for_server(process) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login", timeout=1)
            return
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.05)
    raise SystemExit("the server did not answer")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_profile(app, path: Path, logins: list[str], name: str, params: dict, slots: int):
    _set_hashes(app, params)
    process = subprocess.Popen([
        sys.executable, "-m", "benchmarks.login_bench", "--serve", str(path), str(PORT),
        str(params["time_cost"]), str(params["memory_cost"]), str(params["parallelism"]),
        str(slots)])
    try:
        _wait_for_server(process)
        _post_login(logins[0])  # warm: imports, first template render, connection pool
        warm = _memory(process.pid)["VmRSS"]
        times, statuses = [], []
        for _ in range(ROUNDS):
            round_times, round_statuses = _burst(logins)
            times += round_times
            statuses += round_statuses
        peak = _memory(process.pid)["VmHWM"]
        known = [_post_login(logins[1], "Wrong#2026")[1] for _ in range(20)]
        unknown = [_post_login(f"1390000{n:04d}", "Wrong#2026")[1] for n in range(20)]
    finally:
        process.terminate()
        process.wait()
    errors = sum(1 for s in statuses if s != 302)
    print(f"| {name} | {statistics.median(times):.0f} ms | {_percentile(times, 0.99):.0f} ms "
          f"| {peak:.0f} MiB (+{peak - warm:.0f}) | {errors} | "
          f"{statistics.median(known):.0f} / {statistics.median(unknown):.0f} ms |")


def main() -> None:
    app, path = fresh_app()
    with app.app_context():
        logins = _people(CLIENTS)
    print(f"{CLIENTS} parallel logins x {ROUNDS} rounds, threaded server, SQLite")
    print("| argon2 profile | p50 | p99 | server peak RSS (above warm) | errors "
          "| wrong password: known / unknown name (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, params, slots in PROFILES:
        run_profile(app, path, logins, name, params, slots)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], *(int(a) for a in sys.argv[3:8]))
    else:
        main()
