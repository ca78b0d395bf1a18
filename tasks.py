"""What the RQ worker runs: background jobs by id (``run_job``), inside the app.

The same functions run in the asking request when there is no Redis (the embedded default),
so a job behaves the same everywhere. Each job calls the project's own import and export
code (views.imports.check_upload_as_batch, models.operations.save_batch, a list view's
export_stream), asks the policy as its owner (his actor is rebuilt from the account as at
login: a grant revoked since refuses the job), and commits its writes in one transaction
with its ``done`` state: re-run after an interruption, it finds nothing written or the job
done, and never files twice.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Iterator

from flask import Flask, current_app, g, has_app_context

from models import db, storage
from models import jobs as job_records
from models.account import Account
from models.auth import LoginRefused, actor_for
from models.clock import today
from models.errors import Refusal
from models.jobs import Job, Progress
from models.service import ImportBatch, ServiceItem
from rules import permissions as p
from rules.codes import JobKind, JobState
from rules.eligibility import Refused

log = logging.getLogger("wangban.jobs")
_app: Flask | None = None
#: True in a ``flask worker`` process: jobs run in its app context, one after another.
_worker_context = False
#: True while an export job streams its rows: a long read that takes no write lock.
_reading = False


def _the_app() -> Flask:
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def writing() -> bool:
    """True in a worker process: each job's transaction will write (on SQLite it takes the
    write lock up front, as a POST does, so its final write never meets a stale snapshot)."""
    return _worker_context and not _reading


def run_job(job_id: int) -> str:
    """Claim and run one job (the RQ entry point); returns its final state."""
    if _worker_context:
        try:
            return _run(job_id)
        finally:
            db.session.remove()  # the next job starts with a fresh session
    if has_app_context():
        return _run(job_id)
    with _the_app().app_context():
        try:
            return _run(job_id)
        finally:
            db.session.remove()


def _run(job_id: int) -> str:
    job = job_records.claim(job_id)
    if job is None:  # finished, or another worker has it
        state = db.session.get(Job, job_id)
        return state.state.value if state else "missing"
    log.info("job %s (%s) attempt %s", job.id, job.kind.value, job.attempts)
    try:
        account = db.session.get(Account, job.account_id)
        by = job_records_by(account)
        if job.kind == JobKind.IMPORT:
            _run_import(job, by)
        else:
            _run_export(job, account, by.actor)
        db.session.commit()
    except (Refusal, Refused, LoginRefused) as refused:
        job_records.fail(job_id, str(refused) or "无权办理")
    except Exception:
        log.exception("job %s failed", job_id)
        job_records.fail(job_id, "处理时发生错误，请稍后重试或联系管理员")
    return db.session.get(Job, job_id).state.value


def job_records_by(account: Account):
    """The job owner's By, from his account as a login would build it."""
    from models.operations import By

    return By(actor_for(account, today()), str(account), "后台任务")


# --- imports ---------------------------------------------------------------------------------

def _run_import(job: Job, by) -> None:
    params = job.params
    if params.get("step") == "save":
        _save(job, by)
        return
    item = db.session.get(ServiceItem, params["item_id"])
    if item is None or not item.active or \
            not p.may_handle_item(by.actor.grant_level, by.actor.grant_items, item.code):
        raise Refusal("无权办理该业务的批量导入", 403)
    with storage.open(params["file_key"]) as handle:
        data = handle.read()
    from views.imports import check_upload_as_batch

    checked = Progress(job.id, "rows_checked", job.rows_total, span=(0, 90))
    batch = check_upload_as_batch(by, item, params.get("file_name") or "upload", data,
                                  progress=checked)
    db.session.flush()
    job.rows_checked = batch.rows_total
    job.rows_written = batch.rows_good + batch.rows_bad
    job.rows_total = batch.rows_total
    job_records.finish(job, {"batch_id": batch.id, "good": batch.rows_good,
                             "bad": batch.rows_bad, "progress_updates": checked.updates})
    db.session.commit()
    storage.delete(params["file_key"])


def _save(job: Job, by) -> None:
    """保存 a large batch: save_batch claims the batch in the same transaction that files it
    and marks this job done, so a run that dies leaves the batch unfiled and the job
    re-runnable, and a batch already filed is refused (never filed again)."""
    from models.operations import save_batch

    batch = db.session.get(ImportBatch, job.params["batch_id"])
    if batch is None:
        raise Refusal("批次不存在", 404)
    application = save_batch(by, batch)
    job.rows_checked = job.rows_written = len(batch.rows)
    job_records.finish(job, {"application_id": application.id, "batch_id": batch.id})


# --- exports ---------------------------------------------------------------------------------

class _Reader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (storage.save reads it)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._left = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        n = min(len(buffer), len(self._left))
        buffer[:n], self._left = self._left[:n], self._left[n:]
        return n


def _view_of(endpoint: str):
    for admin in current_app.extensions["consoles"].values():
        for view in admin._views:
            if view.endpoint == endpoint:
                return view
    raise Refusal("导出的列表不存在", 404)


def _run_export(job: Job, account: Account, actor) -> None:
    """The list view's own export (its scope, filters, masking), as its owner, to storage.
    The rows are read in a transaction of their own that takes no write lock (on SQLite
    the web servers keep writing meanwhile); the job's result is written after it."""
    global _reading
    params = job.params
    db.session.commit()
    _reading = True
    try:
        size, file_name, written, key = _export_file(job, account, actor, params)
        db.session.commit()
    finally:
        _reading = False
    job = db.session.get(Job, job.id)
    job.rows_checked = job.rows_written = written.count
    job_records.finish(job, {"key": key, "file_name": file_name, "size": size,
                             "progress_updates": written.updates},
                       hours=current_app.config.get("EXPORT_FILE_HOURS", 24))


def _export_file(job: Job, account: Account, actor, params: dict):
    view = _view_of(params["endpoint"])
    key = f"exports/{job.id}-{params['token']}.{params['export_type']}"
    with current_app.test_request_context(params["path"], query_string=[
            tuple(pair) for pair in params["args"]]):
        g._login_user, g.actor = account, actor
        if not view.is_accessible() or not view.can_export:
            raise Refusal("无权导出该列表", 403)
        written = Progress(job.id, "rows_written", job.rows_total)
        size = storage.save(key, io.BufferedReader(_Reader(
            view.export_stream(params["export_type"], progress=written)), storage.CHUNK))
        file_name = view.get_export_name(params["export_type"])
    return size, file_name, written, key


# --- scheduled work ---------------------------------------------------------------------------

def _requeue() -> list[int]:
    return job_records.requeue_stale()


def _expire_grants() -> list[int]:
    from models.scheduled import expire_grants

    return expire_grants(today())


def _remind() -> int:
    from models.scheduled import count_reminders

    return count_reminders(today())


def _purge_exports() -> list[int]:
    from models.base import utcnow
    from models.scheduled import purge_exports

    return purge_exports(utcnow())


def _purge_sms_codes() -> int:
    from models.base import utcnow
    from models.scheduled import purge_sms_codes

    return purge_sms_codes(utcnow())


#: name → (what it does, cron expression in UTC, or an interval in seconds).
SCHEDULE = {
    "requeue-stale-jobs": (_requeue, 60),
    "expire-grants": (_expire_grants, "5 16 * * *"),  # 00:05 Beijing time
    "deadline-reminders": (_remind, "0 * * * *"),
    "purge-exports": (_purge_exports, 3600),
    "purge-sms-codes": (_purge_sms_codes, "20 16 * * *"),
}


def run_scheduled(name: str) -> str:
    """Run one scheduled task now, log what it did and commit (RQ runs it by name)."""
    def once() -> str:
        task, _ = SCHEDULE[name]
        try:
            outcome = task()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("scheduled %s failed", name)
            raise
        log.info("scheduled %s: %s", name, outcome)
        return f"{name}: {outcome}"

    if _worker_context:
        try:
            return once()
        finally:
            db.session.remove()
    if has_app_context():
        return once()
    with _the_app().app_context():
        try:
            return once()
        finally:
            db.session.remove()


def schedule() -> None:
    """``flask scheduler`` (make scheduler): RQ's cron scheduler enqueues each task for the
    workers at its time. Run one per deployment (two would only run each task twice)."""
    from rq.cron import CronScheduler

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
    scheduler = CronScheduler(connection=job_records.redis_connection())
    queue_name = job_records.queue().name
    for name, (_, when) in SCHEDULE.items():
        timing = {"interval": when} if isinstance(when, int) else {"cron": when}
        scheduler.register(run_scheduled, queue_name, args=(name,), name=name, **timing)
    scheduler.start()


# --- the worker ------------------------------------------------------------------------------

def work(burst: bool = False) -> None:
    """``flask worker`` (make worker): jobs left running by a worker that died are queued
    again, then RQ's worker runs the queue's jobs (and the scheduled work) one at a time in
    this process, inside the app. ``burst``: stop when the queue is empty."""
    global _worker_context
    from rq import SimpleWorker

    _worker_context = True
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    again = job_records.requeue_stale()
    if again:
        log.warning("jobs queued again after an interrupted run: %s", again)
    db.session.remove()
    worker = SimpleWorker([job_records.queue()], connection=job_records.redis_connection())
    worker.work(burst=burst, logging_level="INFO")


__all__ = ["JobState", "run_job", "work"]
