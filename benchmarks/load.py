"""Load: logged-in unit and staff users against a real server; requests/s, p50/p95/p99, errors.

    .venv/bin/python -m benchmarks.load --serve embedded [--clients 16] [--seconds 30]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h13 \\
    REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python -m benchmarks.load --serve postgres --workers 2 --clients 32
    .venv/bin/python -m benchmarks.load --url http://127.0.0.1:8000   # a server already running

``--serve embedded`` is what ``make run`` serves (gunicorn, SQLite in a fresh temporary
directory, demo data); ``--serve postgres`` runs gunicorn with ``--workers`` on DATABASE_URL
(migrated, demo data loaded if empty) at the production password-hash cost. Bounded: at most
60 seconds and 64 clients, and only servers on 127.0.0.1.

Each virtual user logs in once (argon2 at the production cost is slow on purpose), then loops
over a weighted mix: unit users open home, lists, details, queries and file a draft; staff open
the dashboard, the review queue, lists and details; a unit user uploads and saves a 1,000-row
人员批量新参保 import now and then. Errors are 5xx answers and failed connections; other
answers that are not the expected 200/302 are counted apart ("unexpected").
"""
from __future__ import annotations

import argparse
import io
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MAX_SECONDS, MAX_CLIENTS = 60, 64
PASSWORD = "Demo@2026"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DETAILS = re.compile(r'details/\?id=(\d+)')
BATCH = re.compile(r"/batch/(\d+)/")

#: (unit code, login) of unit users: the legal representatives and administrators.
UNIT_USERS = [("91330106MA2ABCDE1G", "330106198507210020"),
              ("91330106MA2ABCDE1G", "370102199211175699"),
              ("91330902MA2XYW0Q7T", "330902199002270055"),
              ("91330902MA2XYW0Q7T", "330106198312206793")]
STAFF_USERS = ["admin", "clerk", "reviewer", "auditor"]
UNIT_PAGES = [("unit home", "/unit/", 4), ("unit list", "/unit/unit_enrollment/", 4),
              ("unit list", "/unit/unit_application/", 2),
              ("unit query", "/unit/query/payables/", 2), ("unit query", "/unit/query/pension/", 1),
              ("unit workbench", "/unit/filing/", 2)]
STAFF_PAGES = [("staff home", "/admin/", 3), ("staff list", "/admin/admin_application/", 3),
               ("staff list", "/admin/admin_person/", 2), ("staff list", "/admin/admin_unit/", 1)]
ENROLL = {"name": "压测新人", "phone": "13912345678", "start_date": "2026-11-01", "wage": "8000",
          "insurance_kinds": "110,210,310,410,510"}


class Stats:
    """Latencies and outcomes per request kind, shared by the virtual users."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)
        self.errors = defaultdict(int)
        self.unexpected = defaultdict(int)
        self.samples = []

    def add(self, kind: str, seconds: float, status: int | str | None, expected=(200, 302)):
        """``status`` is the HTTP status, or the name of the client error (no answer)."""
        with self.lock:
            self.latency[kind].append(seconds)
            if not isinstance(status, int) or status >= 500:
                self.errors[kind] += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{kind}: {status}")
            elif status not in expected:
                self.unexpected[kind] += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{kind}: unexpected {status}")


class User:
    """One virtual user: a browser session (cookies) and what it does in a loop."""

    def __init__(self, base: str, stats: Stats, rng: random.Random, kind: str, who):
        # A connection per request, as gunicorn sees it behind a reverse proxy (nginx talks
        # HTTP/1.0 to its upstream by default): no race with the server's keep-alive timeout.
        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False,
                                 limits=httpx.Limits(max_keepalive_connections=0))
        self.stats, self.rng, self.kind, self.who = stats, rng, kind, who
        self.details: dict[str, list[int]] = {}

    def request(self, kind, method, url, expected=(200, 302), **kw):
        started = time.perf_counter()
        try:
            response = self.http.request(method, url, **kw)
        except httpx.HTTPError as error:
            self.stats.add(kind, time.perf_counter() - started, type(error).__name__)
            return None
        self.stats.add(kind, time.perf_counter() - started, response.status_code, expected)
        return response

    def token(self, url: str) -> str:
        response = self.http.get(url)
        match = CSRF.search(response.text)
        return match.group(1) if match else ""

    def login(self) -> bool:
        form = {"csrf_token": self.token("/login"), "password": PASSWORD}
        if self.kind == "unit":
            form.update(kind="unit", unit_code=self.who[0], login=self.who[1])
        else:
            form.update(kind="staff", unit_code="", login=self.who)
        response = self.request("login", "POST", "/login", data=form, expected=(302,))
        return response is not None and response.status_code == 302

    def page(self, kind, url):
        response = self.request(kind, "GET", url)
        if response is not None and response.status_code == 200 and kind.endswith("list"):
            ids = [int(i) for i in DETAILS.findall(response.text)]
            if ids:
                self.details[url] = ids

    def detail(self, kind):
        if not self.details:
            return
        url, ids = self.rng.choice(list(self.details.items()))
        self.request(kind, "GET", f"{url}details/?id={self.rng.choice(ids)}")

    def filing(self):
        token = self.token("/unit/filing/new/SB_ENROLL/")
        data = {**ENROLL, "id_no": fresh_id(self.rng), "intent": "draft", "csrf_token": token}
        self.request("unit filing", "POST", "/unit/filing/new/SB_ENROLL/", data=data,
                     expected=(302,))

    def import_rows(self, rows: int = 1000):
        # The workbook first: building it takes longer than the server keeps an idle
        # connection open, and a POST on a connection closed meanwhile is not retried.
        body = import_workbook(self.rng, rows)
        token = self.token("/unit/import/")
        response = self.request("unit import 1000 rows", "POST",
                                "/unit/import/upload/SB_ENROLL_BATCH/", expected=(302,),
                                data={"csrf_token": token},
                                files={"file": ("导入.xlsx", body)})
        match = BATCH.search(response.headers.get("location", "")) if response else None
        if match:
            self.request("unit import save", "POST", f"/unit/import/batch/{match.group(1)}/save/",
                         data={"csrf_token": token}, expected=(302,))

    def step(self):
        roll = self.rng.random()
        if self.kind == "unit":
            if roll < 0.05:
                self.filing()
            elif roll < 0.25:
                self.detail("unit detail")
            else:
                kind, url = weighted(self.rng, UNIT_PAGES)
                self.page(kind, url)
        elif roll < 0.25:
            self.detail("staff detail")
        else:
            kind, url = weighted(self.rng, STAFF_PAGES)
            self.page(kind, url)


def weighted(rng, pages):
    kind, url, _ = rng.choices(pages, weights=[w for *_, w in pages])[0]
    return kind, url


def fresh_id(rng: random.Random) -> str:
    """A valid resident ID number, almost surely not in the demo data."""
    from models.demo import make_id_no

    return make_id_no(rng, set())


def import_workbook(rng: random.Random, rows: int) -> bytes:
    from openpyxl import load_workbook

    from rules.imports import SCHEMAS
    from views.spreadsheets import template_workbook

    book = load_workbook(io.BytesIO(template_workbook(SCHEMAS["SB_ENROLL_BATCH"])))
    sheet = book["数据"]
    sheet.delete_rows(2)
    for n in range(rows):
        sheet.append([fresh_id(rng), f"压测{n}", f"139{rng.randrange(10**8):08d}", "2026-11-01",
                      8000 + n % 500, "五险"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- servers ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(mode: str, workers: int, threads: int, log_path: Path, fresh: bool = False):
    """Migrate, load the demo data if empty, and start gunicorn; returns (url, process)."""
    env = {**os.environ, "FLASK_APP": "app", "LOG_FORMAT": "json",
           "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
    port = free_port()
    env["BIND"] = f"127.0.0.1:{port}"
    if mode == "embedded":
        tmp = Path(tempfile.mkdtemp(prefix="wangban-load-"))
        env.update(DATABASE_URL=f"sqlite:///{tmp / 'wangban.sqlite3'}", WANGBAN_ENV="development",
                   SECRET_KEY="load-benchmark", UPLOAD_DIR=str(tmp / "uploads"))
        env.pop("REDIS_URL", None)
    else:
        url = env.get("DATABASE_URL", "")
        host = urlsplit(url.replace("+psycopg", "")).hostname
        if not url.startswith("postgresql") or host not in ("127.0.0.1", "localhost"):
            sys.exit("--serve postgres needs DATABASE_URL=postgresql+psycopg://…@127.0.0.1/…")
        env.setdefault("SECRET_KEY", "load-benchmark")
        env["WANGBAN_ENV"] = "production"
        if fresh:  # demo data hashed at the production cost (a test run leaves cheap hashes)
            import sqlalchemy as sa

            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            engine.dispose()
    for command in (["db", "upgrade"], ["seed-demo-if-empty"]):
        subprocess.run([str(BIN / "flask"), *command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = log_path.open("w")
    process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return base, process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    sys.exit(f"the server did not start; see {log_path}")


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's master and workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(entry.name) != pid and int(stat[1]) != pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


# --- the run ----------------------------------------------------------------------------------

def percentile(values, q):
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else (values[0] if values else 0.0)


def report(title, stats: Stats, seconds: float) -> dict:
    kinds = sorted(stats.latency)
    total = sum(len(stats.latency[k]) for k in kinds if k != "login")
    print(f"\n{title}")
    print(f"{'request':<24}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'unexp.':>8}")
    everything = []
    for kind in kinds:
        values = stats.latency[kind]
        if kind != "login":
            everything += values
        print(f"{kind:<24}{len(values):>7}{percentile(values, 50) * 1000:>9.0f}"
              f"{percentile(values, 95) * 1000:>9.0f}{percentile(values, 99) * 1000:>9.0f}"
              f"{stats.errors[kind]:>8}{stats.unexpected[kind]:>8}")
    unit = [v for k in kinds if k.startswith("unit ") and "import" not in k and "filing" not in k
            for v in stats.latency[k]]
    errors = sum(stats.errors.values())
    summary = {"rps": total / seconds, "p50": percentile(everything, 50) * 1000,
               "p95": percentile(everything, 95) * 1000,
               "p99": percentile(everything, 99) * 1000,
               "unit_p99": percentile(unit, 99) * 1000 if unit else 0.0, "errors": errors,
               "unexpected": sum(stats.unexpected.values())}
    print(f"{'all but login':<24}{total:>7}{summary['p50']:>9.0f}{summary['p95']:>9.0f}"
          f"{summary['p99']:>9.0f}{errors:>8}{summary['unexpected']:>8}")
    print(f"requests/s {summary['rps']:.1f}   unit pages p99 {summary['unit_p99']:.0f} ms   "
          f"errors {errors}")
    if stats.samples:
        print("first problems:", "; ".join(stats.samples))
    return summary


def run(base: str, clients: int, seconds: float, imports: int, seed: int,
        think: float = 0.0) -> tuple[Stats, float]:
    stats = Stats()
    rng = random.Random(seed)
    users = []
    for n in range(clients):
        kind = "staff" if n % 4 == 3 else "unit"
        who = STAFF_USERS[n // 4 % 4] if kind == "staff" else UNIT_USERS[n % len(UNIT_USERS)]
        users.append(User(base, stats, random.Random(rng.random()), kind, who))

    # Everyone logs in at once: the burst the password-hash cost has to survive.
    started = time.perf_counter()
    threads = [threading.Thread(target=u.login) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{clients} logins at once: {time.perf_counter() - started:.1f} s")
    for kind in list(stats.latency):  # the mix is measured after the logins
        if kind != "login":
            del stats.latency[kind]

    stop = time.perf_counter() + seconds
    imports_left = [imports]
    guard = threading.Lock()

    def loop(user: User):
        while time.perf_counter() < stop:
            if user.kind == "unit" and user.who[1] == UNIT_USERS[0][1]:
                with guard:
                    do_import = imports_left[0] > 0 and user.rng.random() < 0.02
                    imports_left[0] -= do_import
                if do_import:
                    user.import_rows()
                    continue
            user.step()
            if think:  # a person reads the page before the next click
                time.sleep(user.rng.uniform(0.5, 1.5) * think)

    begun = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for u in users:
        u.http.close()
    return stats, time.perf_counter() - begun


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running server on 127.0.0.1")
    target.add_argument("--serve", choices=["embedded", "postgres"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--imports", type=int, default=2, help="1,000-row imports in the run")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--fresh", action="store_true",
                        help="postgres: drop DATABASE_URL's public schema and load the demo data")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a user waits between requests (0: closed loop)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"at most {MAX_CLIENTS} clients and {MAX_SECONDS} seconds")

    process = None
    log_path = Path(tempfile.mkdtemp(prefix="wangban-load-log-")) / "server.log"
    if args.url:
        if urlsplit(args.url).hostname != "127.0.0.1":
            parser.error("only servers on 127.0.0.1")
        base = args.url.rstrip("/")
    else:
        base, process = start_server(args.serve, args.workers, args.threads, log_path,
                                     args.fresh)
    peak = [0.0]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], tree_rss_mib(process.pid))
            time.sleep(0.25)

    if process:
        idle = tree_rss_mib(process.pid)
        threading.Thread(target=sample, daemon=True).start()
    try:
        stats, elapsed = run(base, args.clients, args.seconds, args.imports, args.seed,
                             args.think)
    finally:
        sampling.set()
        if process:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    where = args.url or f"{args.serve}, gunicorn {args.workers} worker(s) × {args.threads} threads"
    pace = f", think {args.think:g} s" if args.think else ", no think time"
    report(f"{where}; {args.clients} clients{pace}, {elapsed:.0f} s", stats, elapsed)
    # The machine's other work competes with server and clients: say how busy it was.
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if process:
        lines = log_path.read_text(errors="replace").splitlines()
        logged = sum('"level": "ERROR"' in line for line in lines)
        print(f"server memory: {idle:.0f} MiB idle, peak {peak[0]:.0f} MiB (master + workers); "
              f"server log errors: {logged}; log: {log_path}")


if __name__ == "__main__":
    main()
