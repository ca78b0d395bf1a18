"""Long imports and exports as background jobs, as their owner meets them over HTTP.

Without REDIS_URL (these tests) a job runs in the asking request through the same
``tasks.run_job`` a worker runs; tests/test_jobs_worker.py runs real RQ workers.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re

import pytest
import sqlalchemy as sa

from models import Application, ImportBatch, db, storage
from models.demo import make_id_no
from models.jobs import Job
from rules.codes import JobKind, JobState
from tests.conftest import REP_B, UNIT_B, csrf_token, login
from tests.test_imports import HEADERS, post_file

ROWS = 2_500


def big_csv(n=ROWS, seed=11) -> bytes:
    rng = random.Random(seed)
    used = set(db.session.scalars(sa.select(sa.text("id_no")).select_from(sa.text("person"))))
    lines = [",".join(HEADERS)] + [
        f"{make_id_no(rng, used)},人{i},,2026-11-01,8000,五险" for i in range(n)]
    return "\n".join(lines).encode()


def latest_job(kind: JobKind) -> Job:
    return db.session.scalar(sa.select(Job).where(Job.kind == kind).order_by(Job.id.desc()))


def test_a_small_upload_is_checked_in_the_request_without_a_job(unit_a):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Job))
    response = post_file(unit_a, "/unit/import/upload/SB_ENROLL_BATCH/", big_csv(50), "s.csv")
    assert "/unit/import/batch/" in response.location
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == before


def test_a_large_import_is_a_job_its_owner_follows_and_saves_once(app, unit_a):
    response = post_file(unit_a, "/unit/import/upload/SB_ENROLL_BATCH/", big_csv(), "big.csv")
    job = latest_job(JobKind.IMPORT)
    assert job.state == JobState.DONE and job.params["step"] == "check"
    batch = db.session.get(ImportBatch, job.result["batch_id"])
    # run here (no Redis): straight to the checked batch, as a small upload
    assert response.location.endswith(f"/unit/import/batch/{batch.id}/")
    assert batch.rows_total == ROWS and job.rows_checked == ROWS
    assert job.rows_written == ROWS and job.percent == 100
    assert not storage.exists(job.params["file_key"])  # the waiting upload is gone
    # 我的导入 lists it; its page links the result; its status answers JSON
    listing = unit_a.get("/unit/imports/").get_data(as_text=True)
    assert f"/unit/imports/{job.id}/" in listing and "已完成" in listing
    page = unit_a.get(f"/unit/imports/{job.id}/").get_data(as_text=True)
    assert f"/unit/import/batch/{batch.id}/" in page and "js/jobs.js" in page
    status = unit_a.get(f"/unit/imports/{job.id}/status/").get_json()
    assert status["percent"] == 100 and status["finished"] and status["rows_checked"] == ROWS
    # 保存 of a large batch is a job too; the second click files nothing
    token = csrf_token(unit_a)
    saved = unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": token})
    save_job = latest_job(JobKind.IMPORT)
    assert save_job.params == {"step": "save", "batch_id": batch.id}
    assert save_job.state == JobState.DONE
    application_id = save_job.result["application_id"]
    assert saved.location.endswith(f"/unit/filing/{application_id}/")
    again = unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": token})
    assert latest_job(JobKind.IMPORT).state == JobState.FAILED
    assert "已保存" in unit_a.get(again.location).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.payload["batch_id"].as_integer() == batch.id)) == 1
    # another unit's legal representative reaches none of it
    other = app.test_client()
    assert login(other, "unit", REP_B, UNIT_B).status_code == 302
    for url in (f"/unit/imports/{job.id}/", f"/unit/imports/{job.id}/status/"):
        assert other.get(url).status_code == 404
    assert f"/unit/imports/{job.id}/" not in other.get("/unit/imports/").get_data(as_text=True)


def test_a_job_rerun_after_it_finished_changes_nothing(app, unit_a):
    import tasks

    post_file(unit_a, "/unit/import/upload/SB_ENROLL_BATCH/", big_csv(), "big.csv")
    job = latest_job(JobKind.IMPORT)
    batches = db.session.scalar(sa.select(sa.func.count()).select_from(ImportBatch))
    assert tasks.run_job(job.id) == "done"  # a second delivery of the same job
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == batches


def test_an_interrupted_save_files_once_when_run_again(app, unit_a, monkeypatch):
    """The save job dies mid-way (after the batch is claimed and the filing created, before
    the commit): nothing stays; the re-run (a stale job) files exactly once."""
    import tasks
    from models import jobs as job_records

    post_file(unit_a, "/unit/import/upload/SB_ENROLL_BATCH/", big_csv(seed=12), "big.csv")
    batch_id = latest_job(JobKind.IMPORT).result["batch_id"]

    def dies(*args, **kwargs):
        raise SystemExit("worker stopped")

    batch = db.session.get(ImportBatch, batch_id)
    job = job_records.create(batch.filed_by_id, JobKind.IMPORT, "保存",
                             {"step": "save", "batch_id": batch_id})
    db.session.commit()
    monkeypatch.setattr("models.operations.act", dies)
    with pytest.raises(SystemExit):
        tasks.run_job(job.id)  # as a worker would: claims it, then dies before its commit
    monkeypatch.undo()
    db.session.rollback()
    job = latest_job(JobKind.IMPORT)
    assert job.state == JobState.RUNNING and job.result is None
    assert db.session.get(ImportBatch, batch_id).application_id is None
    # its worker is gone: once stale, the job is run again
    app.config["JOB_STALE_SECONDS"] = 0
    try:
        assert job_records.requeue_stale() == [job.id]
    finally:
        app.config["JOB_STALE_SECONDS"] = 120
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == JobState.DONE and job.attempts == 2
    assert tasks.run_job(job.id) == "done"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.payload["batch_id"].as_integer() == batch_id)) == 1


def test_a_large_export_is_a_file_only_its_owner_downloads_until_it_expires(
        app, unit_a, monkeypatch):
    streamed = unit_a.get("/unit/unit_enrollment/export/csv/").get_data(as_text=True)
    rows = len(list(csv.reader(io.StringIO(streamed)))) - 1
    monkeypatch.setitem(app.config, "EXPORT_JOB_ROWS", rows - 1)
    response = unit_a.get("/unit/unit_enrollment/export/csv/")
    job = latest_job(JobKind.EXPORT)
    assert response.location.endswith(f"/unit/exports/{job.id}/download/")
    assert job.state == JobState.DONE and job.rows_written == rows == job.rows_total
    assert job.expires_at > job.finished_at
    downloaded = unit_a.get(response.location)
    assert downloaded.status_code == 200
    assert downloaded.get_data(as_text=True) == streamed  # the same export, masked alike
    assert "filename*=UTF-8''" in downloaded.headers["Content-Disposition"]
    listing = unit_a.get("/unit/exports/").get_data(as_text=True)
    assert f"/unit/exports/{job.id}/" in listing
    assert "下载" in unit_a.get(f"/unit/exports/{job.id}/").get_data(as_text=True)
    # not another unit's, and not once expired
    other = app.test_client()
    assert login(other, "unit", REP_B, UNIT_B).status_code == 302
    assert other.get(response.location).status_code == 404
    job.expires_at = job.finished_at - dt.timedelta(seconds=1)
    db.session.commit()
    assert unit_a.get(response.location).status_code == 404
    assert "已过期" in unit_a.get(f"/unit/exports/{job.id}/").get_data(as_text=True)


def test_a_large_xlsx_export_job_writes_the_whole_workbook(app, unit_a, monkeypatch,
                                                            storage_kind):
    # On both stores: the job's rows are read in its own request context, so the store
    # must read the stream in the job's thread (S3's transfer threads have no context).
    from openpyxl import load_workbook

    monkeypatch.setitem(app.config, "EXPORT_JOB_ROWS", 5)
    response = unit_a.get("/unit/unit_enrollment/export/xlsx/")
    job = latest_job(JobKind.EXPORT)
    assert job.params["export_type"] == "xlsx" and job.state == JobState.DONE
    sheet = load_workbook(io.BytesIO(unit_a.get(response.location).data)).active
    assert sheet.max_row - 1 == job.rows_written > 5
