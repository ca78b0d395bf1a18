"""Scheduled work: what each task changes, that a second run changes nothing, the audit, the
staff home's reminders, and the cron command running them all."""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from models import Application, AuditEvent, Grant, SmsCode, db, storage
from models import jobs as job_records
from models.base import utcnow
from models.clock import today
from models.jobs import Job
from models.scheduled import expire_grants, purge_exports, purge_sms_codes
from rules.codes import JobKind, JobState
from rules.workflow import State


def test_expired_grants_are_marked_once_and_audited(app):
    lapsed = db.session.scalars(sa.select(Grant).where(
        Grant.valid_to < today(), Grant.revoked_at.is_(None))).all()
    assert lapsed, "the demo has expired agents"
    current = db.session.scalar(sa.select(Grant).where(sa.or_(
        Grant.valid_to.is_(None), Grant.valid_to >= today())))
    marked = expire_grants(today())
    assert set(marked) == {g.id for g in lapsed}
    assert all(g.expired_at is not None for g in lapsed) and current.expired_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "grant:expired")) == len(lapsed)
    assert expire_grants(today()) == []


def test_expired_export_files_are_deleted_and_their_jobs_expired(app):
    account_id = db.session.scalar(sa.select(Job.account_id).limit(1)) or 1
    jobs = []
    for hours in (-1, 5):
        job = job_records.create(account_id, JobKind.EXPORT, "x.csv", {"export_type": "csv"})
        key = f"exports/sched-{job.id}.csv"
        storage.save(key, io.BytesIO(b"a\n"))
        job_records.finish(job, {"key": key, "file_name": "x.csv", "size": 2})
        job.expires_at = utcnow() + dt.timedelta(hours=hours)
        jobs.append((job, key))
    (old, old_key), (fresh, fresh_key) = jobs
    uploads = []
    for days, state in ((2, JobState.FAILED), (0, JobState.FAILED), (2, JobState.DONE)):
        job = job_records.create(account_id, JobKind.IMPORT, "u", {})
        key = f"imports/sched-{job.id}"
        storage.save(key, io.BytesIO(b"x"))
        job.params = {"file_key": key}
        job.state, job.finished_at = state, utcnow() - dt.timedelta(days=days)
        uploads.append(key)
    assert purge_exports(utcnow()) == [old.id]
    assert old.state == JobState.EXPIRED and not storage.exists(old_key)
    assert fresh.state == JobState.DONE and storage.exists(fresh_key)
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export:purge"))
    assert audit.after == {"jobs": [old.id]} and audit.actor_label == "系统定时任务"
    # a failed import's waiting upload goes after a day; a recent or finished one stays
    assert [storage.exists(k) for k in uploads] == [False, True, True]
    assert purge_exports(utcnow()) == []


def test_old_sms_codes_are_purged_recent_ones_kept(app):
    now = utcnow()
    for days in (3, 0):
        db.session.add(SmsCode(phone="13900000000", purpose="t", code_hash="0" * 64,
                               created_at=now - dt.timedelta(days=days),
                               expires_at=now - dt.timedelta(days=days) + dt.timedelta(minutes=5)))
    db.session.flush()
    assert purge_sms_codes(now) >= 1
    left = db.session.scalars(sa.select(SmsCode.created_at).where(
        SmsCode.phone == "13900000000")).all()
    assert len(left) == 1 and left[0] > now - dt.timedelta(days=1)
    assert db.session.scalar(sa.select(AuditEvent.after).where(
        AuditEvent.action == "sms:purge"))["deleted"] >= 1


def test_the_staff_home_lists_filings_near_their_deadline(as_staff):
    client = as_staff("reviewer")
    filing = db.session.scalar(sa.select(Application).where(
        Application.state == State.SUBMITTED).order_by(Application.id))
    filing.deadline = today() + dt.timedelta(days=1)
    db.session.commit()
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="near-deadline"' in page and f"id={filing.id}" in page
    filing.deadline = today() + dt.timedelta(days=10)
    db.session.commit()
    assert f"办件{filing.id}<" not in client.get("/admin/").get_data(as_text=True)


def test_the_cron_command_runs_every_task_and_refuses_unknown_ones(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["run-scheduled"])
    assert result.exit_code == 0, result.output
    for name in ("requeue-stale-jobs", "expire-grants", "deadline-reminders", "purge-exports",
                 "purge-sms-codes"):
        assert f"{name}:" in result.output
    bad = runner.invoke(args=["run-scheduled", "no-such-task"])
    assert bad.exit_code != 0 and "没有这些定时任务" in bad.output
