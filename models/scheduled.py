"""The office's timed work, run by the scheduler (``flask scheduler`` → RQ workers) or by
cron (``flask run-scheduled``): each function does one task for "now", is safe to run twice,
returns what it did (logged by tasks.py) and audits what it changes.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models import storage
from models.audit import record
from models.base import db, utcnow
from models.grant import Grant
from models.jobs import Job
from models.scope import scope_clause
from models.service import Application, in_progress
from models.sms import SmsCode
from rules.codes import JobKind, JobState
from rules.permissions import Actor

SYSTEM = "系统定时任务"
#: Reviewers are reminded of filings due within this many days (today included).
REMIND_DAYS = 2
#: SMS codes are kept this long after they were sent (the daily limits count them).
SMS_CODE_DAYS = 2
#: A failed import's waiting upload is deleted after this long.
UPLOAD_DAYS = 1


def expire_grants(today: dt.date) -> list[int]:
    """Grants (agents', administrators') whose period ended before ``today`` are marked
    expired, once, with an audit event each; their holders are already refused at login."""
    grants = list(db.session.scalars(sa.select(Grant).where(
        Grant.valid_to < today, Grant.revoked_at.is_(None), Grant.expired_at.is_(None))))
    now = utcnow()
    for grant in grants:
        grant.expired_at = now
        record("grant:expired", actor_label=SYSTEM, obj=grant,
               after={"valid_to": grant.valid_to.isoformat(), "unit_id": grant.unit_id})
    return [g.id for g in grants]


def near_deadline(today: dt.date, days: int = REMIND_DAYS) -> sa.ColumnElement[bool]:
    """Filings still being handled that are due within ``days`` days (not yet overdue)."""
    return sa.and_(in_progress(), Application.deadline >= today,
                   Application.deadline < today + dt.timedelta(days=days))


def reminders(actor: Actor, today: dt.date, limit: int = 10) -> tuple[int, list[Application]]:
    """(how many, the first ``limit`` by deadline) of the filings near their deadline that
    ``actor`` reaches: the staff home's 临近办理时限."""
    where = sa.and_(near_deadline(today), scope_clause(Application, actor))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(where))
    rows = list(db.session.scalars(sa.select(Application).where(where).order_by(
        Application.deadline, Application.id).limit(limit)))
    return count, rows


def count_reminders(today: dt.date) -> int:
    """How many filings are near their deadline (the scheduled run logs it)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        near_deadline(today)))


def purge_exports(now: dt.datetime) -> list[int]:
    """Export files past their expiry are deleted from storage and their jobs marked
    expired; uploads left by import jobs that failed are deleted after a day."""
    expired = list(db.session.scalars(sa.select(Job).where(
        Job.kind == JobKind.EXPORT, Job.state == JobState.DONE, Job.expires_at < now)))
    for job in expired:
        if (job.result or {}).get("key"):
            storage.delete(job.result["key"])
        job.state = JobState.EXPIRED
    if expired:
        record("export:purge", actor_label=SYSTEM, object_type="Job",
               after={"jobs": [j.id for j in expired]})
    for job in db.session.scalars(sa.select(Job).where(
            Job.kind == JobKind.IMPORT, Job.state == JobState.FAILED,
            Job.finished_at < now - dt.timedelta(days=UPLOAD_DAYS))):
        if job.params.get("file_key"):
            storage.delete(job.params["file_key"])
    return [j.id for j in expired]


def purge_sms_codes(now: dt.datetime) -> int:
    """SMS codes sent more than SMS_CODE_DAYS ago (long expired; the daily limits no
    longer count them) are deleted; returns how many."""
    deleted = db.session.execute(sa.delete(SmsCode).where(
        SmsCode.created_at < now - dt.timedelta(days=SMS_CODE_DAYS))).rowcount
    if deleted:
        record("sms:purge", actor_label=SYSTEM, object_type="SmsCode",
               after={"deleted": deleted})
    return deleted
