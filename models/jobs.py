"""Background jobs (long imports and exports): the record every server and worker shares.

A job row says who owns it (the account that asked: only he reaches it, models.scope), what
it does (``kind`` and ``params``), how far it got (rows checked and written, percent,
``heartbeat_at``) and how it ended (``result``, or ``error`` in Chinese). Nothing about a job
lives in one process: the row is in the database, the work is queued in Redis through RQ
when ``REDIS_URL`` is set and run in the asking request otherwise (the embedded default),
by the same function, ``tasks.run_job``.

A job is claimed before it runs (queued, or running with a heartbeat older than
``JOB_STALE_SECONDS``: its worker died), so two workers never run it at once, and a job a
worker restart interrupted is claimed again by ``requeue_stale`` and re-run. Each job's
writes commit in one transaction with its ``done`` state, so a re-run finds either nothing
written or the job done (tasks.py).
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from models.base import CreatedMixin, code_column, db, utcnow
from rules.codes import JobKind, JobState

QUEUE = "wangban"
#: Progress is written at most this often (seconds) and every this many rows.
PROGRESS_SECONDS = 0.5
PROGRESS_ROWS = 1000
#: What the worker runs, by import path (RQ enqueues it by name; embedded mode calls it).
RUNNER = "tasks.run_job"
UNFINISHED = (JobState.QUEUED, JobState.RUNNING)


class Job(CreatedMixin, db.Model):
    __tablename__ = "background_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The account that asked; the only one that reaches the job and its file.
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    kind: Mapped[JobKind] = code_column(JobKind)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    state: Mapped[JobState] = code_column(JobState, default=JobState.QUEUED)
    #: What to do: import {"step", "item_id", "file_key", "file_name"} or {"step": "save",
    #: "batch_id"}; export {"endpoint", "path", "args", "export_type"}.
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_checked: Mapped[int] = mapped_column(default=0)
    rows_written: Mapped[int] = mapped_column(default=0)
    percent: Mapped[int] = mapped_column(default=0)
    #: import: {"batch_id"} or {"application_id"}; export: {"key", "file_name", "size"}.
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    #: An export's file is deleted after this (scheduled purge); then the job is expired.
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)

    @property
    def finished(self) -> bool:
        return self.state not in UNFINISHED

    def status(self) -> dict:
        """What the progress page polls (no ids of other rows, no codes: labels)."""
        return {"state": self.state.value, "state_label": JobState.label_of(self.state),
                "finished": self.finished, "rows_total": self.rows_total,
                "rows_checked": self.rows_checked, "rows_written": self.rows_written,
                "percent": self.percent, "error": self.error}


def create(account_id: int, kind: JobKind, title: str, params: dict,
           rows_total: int = 0) -> Job:
    """A queued job in the current transaction; ``submit`` it after the commit."""
    job = Job(account_id=account_id, kind=kind, title=title[:200], params=params,
              rows_total=rows_total, state=JobState.QUEUED)
    db.session.add(job)
    db.session.flush()
    return job


def redis_connection():
    import redis

    return redis.Redis.from_url(current_app.config["REDIS_URL"])


def queue():
    """The RQ queue jobs go to (REDIS_URL must be set)."""
    from rq import Queue

    return Queue(current_app.config.get("JOB_QUEUE") or QUEUE, connection=redis_connection())


def queued_elsewhere() -> bool:
    """True when jobs go to the RQ workers, False when they run in the asking request."""
    return bool(current_app.config.get("REDIS_URL")) and \
        not current_app.config.get("JOBS_INLINE")


def submit(job_id: int) -> None:
    """Run the (committed) job: enqueue it for a worker, or run it here and now."""
    if queued_elsewhere():
        attempt = db.session.scalar(sa.select(Job.attempts).where(Job.id == job_id)) or 0
        queue().enqueue(RUNNER, job_id, job_id=f"wangban-job-{job_id}-{attempt}",
                        job_timeout=current_app.config.get("JOB_TIMEOUT_SECONDS", 3600),
                        result_ttl=3600, failure_ttl=86400)
    else:
        from werkzeug.utils import import_string

        import_string(RUNNER)(job_id)


def _stale_before() -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=current_app.config.get("JOB_STALE_SECONDS", 120))


def claim(job_id: int) -> Job | None:
    """Take the job to run it: a queued one, or a running one whose worker stopped beating.
    None when it is finished or another worker is running it."""
    if _beating(job_id):
        return None  # its worker is alive and working on it
    now = utcnow()
    taken = db.session.execute(sa.update(Job).where(
        Job.id == job_id, sa.or_(Job.state == JobState.QUEUED, sa.and_(
            Job.state == JobState.RUNNING, sa.or_(Job.heartbeat_at.is_(None),
                                                  Job.heartbeat_at < _stale_before()))))
        .values(state=JobState.RUNNING, attempts=Job.attempts + 1, started_at=now,
                heartbeat_at=now, error="")).rowcount
    db.session.commit()
    if not taken:
        return None
    if current_app.config.get("REDIS_URL"):
        redis_connection().delete(_progress_key(job_id))  # an earlier attempt's counts
    return db.session.get(Job, job_id)


def _progress_key(job_id: int) -> str:
    """Namespaced by the queue, so deployments sharing a Redis keep apart."""
    return f"{current_app.config.get('JOB_QUEUE') or QUEUE}:job:{job_id}:progress"


def progress(job_id: int, **values) -> None:
    """Record progress and beat the heart in Redis, which every server reads: the job's
    own database transaction stays open and nobody else writes its row meanwhile (on
    SQLite a second writer would make the job's snapshot stale). A job run in the asking
    request (no Redis) has no one watching: nothing is written."""
    if not queued_elsewhere():
        return
    key = _progress_key(job_id)
    with redis_connection().pipeline() as pipe:
        pipe.hset(key, mapping={**values, "beat": time.time()})
        pipe.expire(key, 86400)
        pipe.execute()


def live(job_id: int) -> dict:
    """The progress a running job's worker last recorded ({} if none)."""
    if not current_app.config.get("REDIS_URL"):
        return {}
    raw = redis_connection().hgetall(_progress_key(job_id))
    return {k.decode(): float(v) if k == b"beat" else int(v) for k, v in raw.items()}


def status(job: Job) -> dict:
    """A job's state and counts, a running one's from its worker's latest progress."""
    shown = job.status()
    if not job.finished:
        shown.update({k: v for k, v in live(job.id).items() if k in shown})
    return shown


def _beating(job_id: int) -> bool:
    beat = live(job_id).get("beat")
    return beat is not None and time.time() - beat < \
        current_app.config.get("JOB_STALE_SECONDS", 120)


class Progress:
    """A callback counting rows; writes the count now and then (``progress``)."""

    def __init__(self, job_id: int, column: str, total: int, span: tuple[int, int] = (0, 100)):
        self.job_id, self.column, self.total, self.span = job_id, column, max(total, 1), span
        self.count, self._written_at, self.updates = 0, 0.0, 0

    def __call__(self, n: int = 1) -> None:
        self.count += n
        if self.count // PROGRESS_ROWS != (self.count - n) // PROGRESS_ROWS or \
                time.monotonic() - self._written_at > PROGRESS_SECONDS:
            self.flush()

    def flush(self) -> None:
        low, high = self.span
        percent = low + (high - low) * min(self.count, self.total) // self.total
        progress(self.job_id, **{self.column: self.count, "percent": min(percent, 99)})
        self._written_at = time.monotonic()
        self.updates += 1


def finish(job: Job, result: dict, *, hours: int | None = None) -> None:
    """Mark the job done in the current transaction (it commits with the job's writes)."""
    job.state, job.result, job.percent = JobState.DONE, result, 100
    job.finished_at = job.heartbeat_at = utcnow()
    if hours:
        job.expires_at = job.finished_at + dt.timedelta(hours=hours)


def fail(job_id: int, message: str) -> None:
    """The job ended without its result; ``message`` is shown to its owner."""
    db.session.rollback()
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        state=JobState.FAILED, error=message[:500], finished_at=utcnow()))
    db.session.commit()


def stale_jobs() -> list[int]:
    """Jobs whose worker died (running, no heartbeat for JOB_STALE_SECONDS) or whose queue
    entry was lost (queued that long ago): they are run again."""
    before = _stale_before()
    return [job_id for job_id in db.session.scalars(sa.select(Job.id).where(sa.or_(
        sa.and_(Job.state == JobState.RUNNING, Job.heartbeat_at < before),
        sa.and_(Job.state == JobState.QUEUED, Job.created_at < before))).order_by(Job.id))
        if not _beating(job_id)]


def requeue_stale(submit_one: Callable[[int], None] | None = None) -> list[int]:
    """Submit every stale job again; returns their ids."""
    ids = stale_jobs()
    for job_id in ids:
        (submit_one or submit)(job_id)
    return ids
