"""我的导入 / 我的导出: the owner's background jobs, their progress and their files.

Every page here reaches a job through ``scoped_or_404`` (a job is its owner's only); the
progress page polls ``status`` (JSON) from static/js/jobs.js; an export's file is streamed
from storage only to its owner and only until it expires.
"""
from __future__ import annotations

import secrets
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose

from models import db, storage
from models import jobs as job_records
from models.base import utcnow
from models.jobs import Job
from models.scope import scope_clause
from rules.codes import AccountKind, JobKind, JobState
from views.auth import current_actor
from views.base import KindGate, scoped_or_404

SHOWN_JOBS = 50
CONTENT_TYPES = {"csv": "text/csv",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class JobDesk(KindGate, BaseView):
    """One kind of the current account's jobs: the list, a job's progress, its file."""

    kinds = frozenset(AccountKind)

    def __init__(self, job_kind: JobKind, **kwargs):
        self.job_kind = job_kind
        super().__init__(**kwargs)

    def _job(self, job_id: int) -> Job:
        job = scoped_or_404(Job, job_id)
        if job.kind != self.job_kind:
            abort(404)
        return job

    @expose("/")
    def index(self):
        jobs = db.session.scalars(sa.select(Job).where(
            Job.kind == self.job_kind, scope_clause(Job, current_actor()))
            .order_by(Job.id.desc()).limit(SHOWN_JOBS))
        return self.render("jobs/index.html", jobs=list(jobs), title=self.name,
                           now=utcnow())

    @expose("/<int:job_id>/")
    def job(self, job_id):
        job = self._job(job_id)
        return self.render("jobs/job.html", job=job, title=self.name, now=utcnow(),
                           status=job_records.status(job),
                           batch_endpoint="unit_import.batch")

    @expose("/<int:job_id>/status/")
    def status(self, job_id):
        job = self._job(job_id)
        status = job_records.status(job)
        if job.state == JobState.DONE:
            status["done_url"] = url_for(".job", job_id=job.id)
        return jsonify(status)

    @expose("/<int:job_id>/download/")
    def download(self, job_id):
        job = self._job(job_id)
        result = job.result or {}
        if job.kind != JobKind.EXPORT or job.state != JobState.DONE or not result.get("key") \
                or (job.expires_at and job.expires_at <= utcnow()) \
                or not storage.exists(result["key"]):
            abort(404)
        handle = storage.open(result["key"])

        def body():
            with handle:
                while chunk := handle.read(storage.CHUNK):
                    yield chunk

        headers = {"Content-Disposition":
                   f"attachment; filename*=UTF-8''{quote(result['file_name'])}"}
        if result.get("size"):
            headers["Content-Length"] = str(result["size"])
        return Response(body(), headers=headers, mimetype=CONTENT_TYPES.get(
            job.params.get("export_type"), "application/octet-stream"))


def _console(view) -> str:
    return view.admin.endpoint


def start_export(view, export_type: str):
    """A large export becomes the current account's job; its page shows the progress."""
    actor = current_actor()
    args = [(k, v) for k, values in request.args.lists() for v in values]
    job = job_records.create(actor.account_id, JobKind.EXPORT,
                             view.get_export_name(export_type), {
                                 "endpoint": view.endpoint, "path": request.path,
                                 "args": args, "export_type": export_type,
                                 "token": secrets.token_hex(8)},
                             rows_total=view._export_count(
                                 current_app.config.get("EXPORT_MAX_ROWS") or 100_000))
    db.session.commit()
    return submitted(job.id, f"{_console(view)}_exports")


def submitted(job_id: int, desk: str):
    """Submit the committed job and show it: its progress page, or (run here, without
    Redis) straight its result: the checked batch, the filing, the file."""
    job_records.submit(job_id)
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    result = job.result or {}
    if job.state == JobState.DONE:
        if job.kind == JobKind.EXPORT:
            return redirect(url_for(f"{desk}.download", job_id=job.id))
        if result.get("application_id"):
            flash(f"已保存{job.rows_written}行，生成办件{result['application_id']}并提交审核", "info")
            return redirect(url_for("unit_filing.detail", application_id=result["application_id"]))
        if result.get("batch_id"):
            return redirect(url_for("unit_import.batch", batch_id=result["batch_id"]))
    if job.state == JobState.FAILED:
        flash(job.error, "error")
    return redirect(url_for(f"{desk}.job", job_id=job.id))


def register(admins: dict) -> None:
    """我的导出 in every console, 我的导入 in the unit console."""
    from views.consoles import CONSOLES

    for console, admin in admins.items():
        exports = JobDesk(JobKind.EXPORT, name="我的导出", endpoint=f"{console}_exports",
                          url="exports")
        exports.kinds = CONSOLES[console][2]
        admin.add_view(exports)
    imports = JobDesk(JobKind.IMPORT, name="我的导入", endpoint="unit_imports", url="imports")
    imports.kinds = frozenset({AccountKind.UNIT_MEMBER})
    admins["unit"].add_view(imports)
