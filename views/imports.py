"""批量导入 in the unit console: template, upload, per-row errors, error workbook, 保存."""
from __future__ import annotations

import io
import secrets
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import defer
from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from models import ImportBatch, ServiceItem, db, storage
from models import jobs
from models.audit import record
from models.catalogue import check_rows_with, file_rows, import_schema, latest_version
from models.imports import already_filed, confirm_held, estimated_rows, held_rows, new_batch
from models.operations import By, save_batch
from models.scope import scope_clause
from rules import permissions as p
from rules.codes import AccountKind, JobKind
from rules.definition import Spec
from rules.imports import MAX_FILE_BYTES, SCHEMAS
from views.auth import client_ip, current_actor
from views.base import KindGate, flash_refusal, scoped_or_404
from views.item_form import row_checker
from views.jobs import submitted
from views.spreadsheets import errors_workbook, template_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ERRORS = 500


def _download(data: bytes, name: str) -> Response:
    return Response(data, mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


class ImportDesk(KindGate, BaseView):
    """Bulk filings for a unit's members; agents only for the items granted to them."""

    kinds = frozenset({AccountKind.UNIT_MEMBER})

    def _item(self, code: str) -> ServiceItem:
        item = db.session.scalar(sa.select(ServiceItem).where(
            ServiceItem.code == code, ServiceItem.active.is_(True)))
        if item is None or import_schema(item) is None:
            abort(404)
        actor = current_actor()
        if not p.may_handle_item(actor.grant_level, actor.grant_items, code):
            abort(403)
        return item

    @expose("/")
    def index(self):
        actor = current_actor()
        items = [i for i in db.session.scalars(sa.select(ServiceItem).where(
            ServiceItem.active.is_(True), scope_clause(ServiceItem, actor)).order_by(
            ServiceItem.code)) if import_schema(i) is not None]
        batches = db.session.scalars(sa.select(ImportBatch).where(
            ImportBatch.unit_id == actor.unit_id).order_by(ImportBatch.id.desc()).limit(20))
        return self.render("imports/index.html", items=items, batches=batches,
                           allowed={i.code: p.may_handle_item(actor.grant_level,
                                                              actor.grant_items, i.code)
                                    for i in items}, max_mb=MAX_FILE_BYTES >> 20)

    @expose("/template/<code>/")
    def template(self, code):
        item = self._item(code)
        return _download(template_workbook(import_schema(item)), f"{item.name}模板.xlsx")

    @expose("/upload/<code>/", methods=("POST",))
    def upload(self, code):
        item = self._item(code)
        upload = request.files.get("file")
        data = upload.read(MAX_FILE_BYTES + 1) if upload else b""
        if not data:
            flash("请选择要导入的文件", "error")
            return redirect(url_for(".index"))
        actor = current_actor()
        rows = estimated_rows(data)
        if rows > (current_app.config.get("IMPORT_JOB_ROWS") or rows + 1):
            # Large: checked by a background job; the upload waits in shared storage.
            key = f"imports/{secrets.token_hex(16)}"
            storage.save(key, io.BytesIO(data))
            job = jobs.create(actor.account_id, JobKind.IMPORT, f"{item.name}：{upload.filename}",
                              {"step": "check", "item_id": item.id, "file_key": key,
                               "file_name": upload.filename}, rows_total=rows)
            db.session.commit()
            return submitted(job.id, "unit_imports")
        batch = check_upload_as_batch(By(actor, str(current_user), client_ip()), item,
                                      upload.filename, data)
        db.session.commit()
        return redirect(url_for(".batch", batch_id=batch.id))

    @expose("/batch/<int:batch_id>/")
    def batch(self, batch_id):
        batch = scoped_or_404(ImportBatch, batch_id)
        schema = import_schema(batch.item)
        return self.render("imports/batch.html", batch=batch, schema=schema,
                           errors=batch.errors[:SHOWN_ERRORS], shown=SHOWN_ERRORS,
                           held=held_rows(batch), duplicate=already_filed(batch))

    @expose("/batch/<int:batch_id>/confirm/", methods=("POST",))
    def confirm(self, batch_id):
        """确认无误: held rows (a suspect ID number) the user checked become good rows."""
        batch = scoped_or_404(ImportBatch, batch_id)
        self._item(batch.item.code)
        actor = current_actor()
        wanted = {int(n) for n in request.form.getlist("row_no") if n.isdigit()}
        try:
            count = confirm_held(batch, wanted)
            record("import:confirm", actor_id=actor.account_id, actor_label=str(current_user),
                   ip=client_ip(), obj=batch, after={"rows": sorted(wanted)})
            db.session.commit()
        except Exception as error:
            flash_refusal(error)
            return redirect(url_for(".batch", batch_id=batch_id))
        flash(f"已确认{count}行，可以保存", "info")
        return redirect(url_for(".batch", batch_id=batch_id))

    @expose("/batch/<int:batch_id>/errors/")
    def errors(self, batch_id):
        batch = scoped_or_404(ImportBatch, batch_id)
        schema = import_schema(batch.item)
        return _download(errors_workbook(schema, batch.errors),
                         f"{schema.title}错误数据.xlsx")

    @expose("/batch/<int:batch_id>/save/", methods=("POST",))
    def save(self, batch_id):
        """保存: the good rows become one batch filing, submitted for review; once only."""
        # The rows (1.8 MB of JSON for 10,000) are read once, by whoever files them.
        batch = scoped_or_404(ImportBatch, batch_id, defer(ImportBatch.rows),
                              defer(ImportBatch.errors))
        by = By(current_actor(), str(current_user), client_ip())
        if batch.item.code not in SCHEMAS:
            self._item(batch.item.code)
            try:
                filings = file_rows(by, batch)
                db.session.commit()
            except Exception as error:
                flash_refusal(error)
                return redirect(url_for(".batch", batch_id=batch_id))
            flash(f"已保存{len(filings)}行，生成{len(filings)}个办件", "info")
            return redirect(url_for("unit_filing.index"))
        if batch.rows_good > (current_app.config.get("IMPORT_JOB_ROWS") or batch.rows_good + 1):
            job = jobs.create(by.actor.account_id, JobKind.IMPORT,
                              f"{batch.item.name}：保存批次{batch.id}",
                              {"step": "save", "batch_id": batch.id}, rows_total=batch.rows_good)
            db.session.commit()
            return submitted(job.id, "unit_imports")
        try:
            application = save_batch(by, batch)
            db.session.commit()
        except Exception as error:
            flash_refusal(error)
            return redirect(url_for(".batch", batch_id=batch_id))
        flash(f"已保存{len(batch.rows)}行，生成办件{application.id}并提交审核", "info")
        return redirect(url_for("unit_filing.detail", application_id=application.id))


def check_upload_as_batch(by: By, item: ServiceItem, file_name: str, data: bytes,
                          progress=None) -> ImportBatch:
    """Read and check an upload into a batch (not yet filed), audited, in the current
    transaction: the request's for a small file, a background job's for a large one."""
    schema = import_schema(item)
    batch = new_batch(schema, unit_id=by.actor.unit_id, item_id=item.id,
                      account_id=by.actor.account_id, file_name=file_name, data=data,
                      progress=progress)
    if item.code not in SCHEMAS:  # a designed item: each row is checked by its own form
        spec = latest_version(item) and Spec.of(latest_version(item).definition)
        check_rows_with(batch, [c.key for c in schema.columns], row_checker(spec))
    record("import:check", actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip,
           obj=batch, after={"file": batch.file_name, "good": batch.rows_good,
                             "bad": batch.rows_bad})
    return batch
