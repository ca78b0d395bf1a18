"""A throwaway app on a fresh SQLite file with the demo data, and login for the client."""
from __future__ import annotations

import os
import random
import re
import resource
import runpy
import tempfile
from pathlib import Path

import flask_migrate

from app import create_app
from models import db
from models.demo import load_demo, make_id_no

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
UNIT_A, REP_A = "91330106MA2ABCDE1G", "330106198507210020"


def fresh_app(path: Path | None = None):
    """An app on a new SQLite file in a temporary directory, migrated and seeded."""
    path = path or Path(tempfile.mkdtemp()) / "bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "ARGON2_PARAMS": CHEAP_ARGON2, "WTF_CSRF_ENABLED": False,
                      "UPLOAD_DIR": str(path.parent / "uploads")})
    with app.app_context():
        flask_migrate.upgrade()
        load_demo()
    return app, path


def as_served() -> None:
    """What a gunicorn worker does once its app is built (``gunicorn.conf.py``'s
    ``post_worker_init``: the long-lived objects leave the collector's generations), done
    after the benchmark built its apps, so pages are timed as a worker serves them."""
    conf = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
    runpy.run_path(str(conf))["post_worker_init"](None)


def logged_in(app, kind="unit", login=REP_A, unit_code=UNIT_A):
    client = app.test_client()
    response = client.post("/login", data={"kind": kind, "login": login,
                                           "unit_code": unit_code, "password": "Demo@2026"})
    assert response.status_code == 302, response.status_code
    return client


def id_numbers(n: int, seed: int = 1) -> list[str]:
    rng, used = random.Random(seed), set()
    return [make_id_no(rng, used) for _ in range(n)]


def peak_rss_mib() -> float:
    """This process's peak resident set size so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batch_id(location: str) -> int:
    return int(re.search(r"/batch/(\d+)/", location).group(1))


os.environ.setdefault("FLASK_APP", "app")
__all__ = ["batch_id", "db", "fresh_app", "id_numbers", "logged_in", "peak_rss_mib"]
