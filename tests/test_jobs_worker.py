"""Real RQ workers on a real Redis: a large import survives its worker being killed mid-way
and files exactly once. Each worker is a separate ``flask worker`` process sharing this
test's database file and storage directory (the test suite's own database lives in one
transaction no other process sees, so this test builds its own).

Needs Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379/3; .ci/run starts one).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from app import create_app
from models import Application, ImportBatch, db
from models.demo import load_demo, make_id_no
from models.jobs import Job
from rules.codes import JobState
from tests.conftest import CHEAP_ARGON2, REP_A, UNIT_A, csrf_token, login
from tests.test_imports import HEADERS, post_file

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
ROOT = Path(__file__).resolve().parent.parent
ROWS = 20_000


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason=f"no Redis at {REDIS}")


@pytest.fixture(autouse=True)
def _rollback():
    """Not the suite's one-transaction session: this test's processes share a real file."""
    yield


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """This test's app has its own limiter storage (memory), fresh with the app."""


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """An app on its own database file, storage and queue, and the environment a worker
    process needs to reach the same ones."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}", "REDIS_URL": REDIS,
           "UPLOAD_DIR": str(tmp_path / "store"), "SECRET_KEY": "worker-test",
           "JOB_STALE_SECONDS": "2", "JOB_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
           "RATELIMIT_STORAGE_URI": "memory://"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app({"TESTING": True, "ARGON2_PARAMS": CHEAP_ARGON2})
    with app.app_context():
        flask_migrate.upgrade()
        load_demo()
    yield app, {**os.environ, **env}
    with app.app_context():
        from models.jobs import queue

        queue().delete(delete_jobs=True)
        db.engine.dispose()


def _worker(env, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", *args],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _job(app, job_id) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def _wait(predicate, timeout=120.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def _count(app, model, where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(where))


def test_a_killed_worker_s_import_is_run_again_and_files_once(shared):
    app, env = shared
    client = app.test_client()
    assert login(client, "unit", REP_A, UNIT_A).status_code == 302
    rng, used = random.Random(7), set()
    lines = [",".join(HEADERS)] + [f"{make_id_no(rng, used)},人{i},,2026-11-01,8000,五险"
                                   for i in range(ROWS)]
    response = post_file(client, "/unit/import/upload/SB_ENROLL_BATCH/",
                         "\n".join(lines).encode(), "big.csv")
    job_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    assert "/unit/imports/" in response.location
    assert _job(app, job_id).state == JobState.QUEUED  # queued: no worker yet

    first = _worker(env)
    try:  # killed as soon as it has checked some rows: mid-job
        _wait(lambda: client.get(f"/unit/imports/{job_id}/status/").get_json()[
            "rows_checked"] >= ROWS // 10)
        first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)
    assert _job(app, job_id).state == JobState.RUNNING
    assert _count(app, ImportBatch, ImportBatch.file_name == "big.csv") == 0
    progress = client.get(f"/unit/imports/{job_id}/status/").get_json()
    assert 0 < progress["percent"] < 100 and not progress["finished"]
    assert 0 < progress["rows_checked"] < ROWS

    time.sleep(2.5)  # its heartbeat goes stale; the next worker runs it again
    second = _worker(env, "--burst")
    log = second.communicate(timeout=180)[1].decode()
    assert second.returncode == 0, log[-2000:]
    done = _job(app, job_id)
    assert done.state == JobState.DONE and done.attempts == 2, log[-3000:]
    assert done.rows_checked == ROWS and done.result["progress_updates"] > 1
    assert _count(app, ImportBatch, ImportBatch.file_name == "big.csv") == 1
    batch_id = done.result["batch_id"]

    # 保存 is a job too; delivered twice (a worker restarted after it ran), it files once
    token = csrf_token(client)
    saved = client.post(f"/unit/import/batch/{batch_id}/save/", data={"csrf_token": token})
    save_id = int(saved.location.rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        from models.jobs import queue

        queue().enqueue("tasks.run_job", save_id)  # the same job, once more
    third = _worker(env, "--burst")
    log = third.communicate(timeout=180)[1].decode()
    assert third.returncode == 0, log[-2000:]
    saved_job = _job(app, save_id)
    assert saved_job.state == JobState.DONE, saved_job.error
    assert _count(app, Application, Application.payload["batch_id"].as_integer() == batch_id) == 1
    page = client.get(f"/unit/imports/{save_id}/").get_data(as_text=True)
    assert f"/unit/filing/{saved_job.result['application_id']}/" in page
