"""Filing desk (办事) in the unit and personal consoles: fill, attach, submit, follow."""
from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import segno
import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from models import (
    Application,
    Attachment,
    Person,
    ServiceItem,
    TalentRecognition,
    Unit,
    db,
)
from models.attachments import BadUpload, missing_materials, store_attachment
from models.audit import record
from models.errors import Refusal
from models.filings import open_filing, remove_material
from models.handlers import enrollment_facts
from models.receipts import NoReceipt, issue_receipt
from models.scope import scope_clause
from models.workflow import create_filing, party_of, transition
from rules import permissions as p
from rules.codes import AccountKind
from rules.eligibility import Refused, check_talent_filing
from rules.identity import InvalidValue, validate_resident_id
from rules.imports import SCHEMAS
from rules.workflow import EDITABLE, Action, Party, State, actions_from
from views.auth import client_ip, current_actor
from views.base import KindGate, flash_refusal, scoped_or_404
from views.chrome import beijing
from views.forms import flash_form_errors
from views.item_form import form_for, labelled_payload, payload_of
from views.queries import person_certificate

SHEETS = {"form": "申请表", "publicity": "公示表"}


def _may_file(actor: p.Actor, item: ServiceItem) -> bool:
    return actor.kind != AccountKind.UNIT_MEMBER or p.may_handle_item(
        actor.grant_level, actor.grant_items, item.code)


class FilingDesk(KindGate, BaseView):
    """The filing pages of one console; the scope of every row comes from models.scope."""

    def __init__(self, kinds, **kwargs):
        self.kinds = kinds
        super().__init__(**kwargs)


    # --- helpers -------------------------------------------------------------------------
    @property
    def actor(self) -> p.Actor:
        return current_actor()

    def _item(self, code: str) -> ServiceItem:
        item = db.session.scalar(sa.select(ServiceItem).where(
            ServiceItem.code == code, scope_clause(ServiceItem, self.actor),
            ServiceItem.code.not_in(list(SCHEMAS))))
        if item is None:
            abort(404)
        if not _may_file(self.actor, item):
            abort(403)
        return item

    def _check_references(self, item, form) -> bool:
        """Person and unit fields must name rows the filer may use; adds form errors."""
        ok = True
        if item.handler == "talent" and self.actor.kind == AccountKind.INDIVIDUAL:
            person = db.session.get(Person, self.actor.person_id)
            for name, expected in (("name", person.name), ("id_no", person.id_no)):
                if name in form and form[name].data and form[name].data != expected:
                    form[name].errors.append("须与人才认定记录中的本人信息一致")
                    ok = False
        for spec in item.form_fields or []:
            field = form[spec["name"]]
            if not field.data:
                continue
            if spec["type"] == "person":
                found = db.session.scalar(sa.select(Person.id).where(
                    Person.id_no == field.data, scope_clause(Person, self.actor)))
                if found is None:
                    field.errors.append("本单位没有该人员的参保记录")
                    ok = False
            if spec["type"] == "unit":
                if db.session.scalar(sa.select(Unit.id).where(Unit.uscc == field.data)) is None:
                    field.errors.append("该单位未在系统中登记")
                    ok = False
        return ok

    def _owner(self, item, payload) -> dict:
        """unit_id / institution_id / subject_person_id of a new filing."""
        actor = self.actor
        owner = {"unit_id": actor.unit_id, "institution_id": actor.institution_id}
        if actor.kind == AccountKind.INDIVIDUAL:
            uscc = next((payload[s["name"]] for s in item.form_fields or []
                         if s["type"] == "unit" and payload.get(s["name"])), None)
            owner["unit_id"] = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc)) \
                if uscc else None
            owner["subject_person_id"] = actor.person_id
        else:
            id_no = payload.get("id_no")
            owner["subject_person_id"] = db.session.scalar(
                sa.select(Person.id).where(Person.id_no == id_no)) if id_no else None
        return owner

    def _transition(self, application, action, comment="", version=None) -> bool:
        try:
            transition(application, action, self.actor, comment=comment,
                       expected_version=version, actor_label=str(current_user), ip=client_ip())
            db.session.commit()
            return True
        except Exception as error:
            flash_refusal(error)
            return False

    def _submit_action(self, item) -> Action:
        if self.actor.kind == AccountKind.INDIVIDUAL and item.needs_unit_submit:
            return Action.PREPARE
        return Action.SUBMIT

    def _check_complete(self, application) -> bool:
        form = form_for(application.item, strict=True, data=application.payload, csrf=False)
        ok = True
        if not form.validate():
            flash_form_errors(form)
            ok = False
        for label in missing_materials(application):
            flash(f"请上传必需材料：{label}", "error")
            ok = False
        return ok

    def _talent_prefill(self, item):
        """For a talent filing: refused unless eligible; else the last filing's answers."""
        if item.handler != "talent" or self.actor.kind != AccountKind.INDIVIDUAL:
            return {}
        last = db.session.scalar(sa.select(TalentRecognition).where(
            TalentRecognition.person_id == self.actor.person_id).order_by(
            TalentRecognition.recognised_on.desc()).limit(1))
        check_talent_filing(last.recognised_on if last else None, dt.date.today())
        pending = open_filing(self.actor.person_id, item.id)
        if pending is not None:  # one open talent filing per person
            raise Refused(f"您已有一件{item.name}正在办理（办件 {pending.id}，"
                          f"{State(pending.state).label}），请在该办件中修改或撤回后再申报")
        person = db.session.get(Person, self.actor.person_id)
        previous = db.session.scalar(sa.select(Application).where(
            Application.item_id == item.id, Application.subject_person_id == person.id)
            .order_by(Application.id.desc()).limit(1))
        data = dict(previous.payload) if previous else {}
        data.update(name=person.name, id_no=person.id_no, level=data.get("level") or last.level)
        return data

    # --- pages ---------------------------------------------------------------------------
    @expose("/")
    def index(self):
        items = db.session.scalars(sa.select(ServiceItem).where(
            scope_clause(ServiceItem, self.actor), ServiceItem.code.not_in(list(SCHEMAS)))
            .order_by(ServiceItem.category,
                                                              ServiceItem.code)).all()
        return self.render("filing/catalog.html", items=items,
                           may_file={i.id: _may_file(self.actor, i) for i in items})

    @expose("/new/<code>/", methods=("GET", "POST"))
    def new(self, code):
        item = self._item(code)
        try:
            prefill = self._talent_prefill(item)
        except Refused as refused:
            flash(str(refused), "error")
            return redirect(url_for(".index"))
        submit = request.form.get("intent") == "submit"
        form = form_for(item, strict=submit,
                        formdata=request.form if request.method == "POST" else None,
                        data=prefill)
        if request.method == "POST" and form.validate() and self._check_references(item, form):
            token = request.form.get("client_token") or None
            existing = db.session.scalar(sa.select(Application).where(
                Application.client_token == token)) if token else None
            if existing is not None:  # a double click or a second tab: filed once
                flash("该办件已保存，请勿重复提交", "info")
                return redirect(url_for(".detail", application_id=scoped_or_404(
                    Application, existing.id).id))
            payload = payload_of(item, form)
            try:
                application = create_filing(item, self.actor, payload, client_token=token,
                                             **self._owner(item, payload))
                record("application:create", actor_id=self.actor.account_id,
                       actor_label=str(current_user), ip=client_ip(), obj=application)
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                flash("该办件已保存，请勿重复提交", "info")
                return redirect(url_for(".index"))
            if submit and not missing_materials(application):
                self._transition(application, self._submit_action(item))
            elif submit:
                flash("已暂存；请上传必需材料后再提交", "info")
            else:
                flash("已暂存", "info")
            return redirect(url_for(".detail", application_id=application.id))
        return self.render("filing/form.html", item=item, form=form,
                           client_token=request.form.get("client_token") or str(uuid.uuid4()),
                           application=None)

    @expose("/<int:application_id>/")
    def detail(self, application_id):
        application = scoped_or_404(Application, application_id)
        party = party_of(self.actor)
        needs_unit = application.item.needs_unit_submit
        actions = [a for a in actions_from(State(application.state), party)
                   if not (a == Action.SUBMIT and party == Party.APPLICANT and needs_unit)
                   and not (a == Action.PREPARE and not needs_unit)]
        return self.render(
            "filing/detail.html", application=application, actions=actions,
            fields=labelled_payload(application.item, application.payload or {}),
            may_edit=application.state in EDITABLE and _may_file(self.actor, application.item),
            missing=missing_materials(application), sheets=SHEETS,
            attachments_by=_group(application.attachments))

    @expose("/<int:application_id>/edit/", methods=("GET", "POST"))
    def edit(self, application_id):
        application = scoped_or_404(Application, application_id)
        item = application.item
        if application.state not in EDITABLE or not _may_file(self.actor, item):
            abort(403)
        form = form_for(item, strict=False,
                        formdata=request.form if request.method == "POST" else None,
                        data=application.payload)
        if request.method == "POST" and form.validate() and self._check_references(item, form):
            version = request.form.get("version", type=int)
            if version != application.version:
                flash("该办件已被他人修改，请刷新后重试", "error")
                return redirect(url_for(".detail", application_id=application.id))
            before = application.payload
            application.payload = payload_of(item, form)
            record("application:edit", actor_id=self.actor.account_id,
                   actor_label=str(current_user), ip=client_ip(), obj=application,
                   before=before, after=application.payload)
            db.session.commit()
            flash("已保存", "info")
            return redirect(url_for(".detail", application_id=application.id))
        return self.render("filing/form.html", item=item, form=form, application=application,
                           client_token="")

    @expose("/<int:application_id>/act/", methods=("POST",))
    def act(self, application_id):
        application = scoped_or_404(Application, application_id)
        try:
            action = Action(request.form.get("action", ""))
        except ValueError:
            abort(400)
        version = request.form.get("version", type=int)
        if action in (Action.SUBMIT, Action.PREPARE, Action.RESUBMIT) and \
                version == application.version and not self._check_complete(application):
            return redirect(url_for(".detail", application_id=application.id))
        if self._transition(application, action, request.form.get("comment", ""), version):
            flash(f"{action.label}成功", "info")
        return redirect(url_for(".detail", application_id=application.id))

    @expose("/<int:application_id>/delete/", methods=("POST",))
    def delete(self, application_id):
        application = scoped_or_404(Application, application_id)
        if application.state not in (State.DRAFT, State.AWAITING_UNIT) or \
                not _may_file(self.actor, application.item):
            abort(403)
        if self.actor.kind == AccountKind.UNIT_MEMBER and \
                application.filed_by_id != self.actor.account_id and \
                application.state == State.AWAITING_UNIT:
            abort(403)  # an individual's prepared filing is his to delete, not the unit's
        record("application:delete", actor_id=self.actor.account_id,
               actor_label=str(current_user), ip=client_ip(), obj=application,
               before={"state": application.state.value, "payload": application.payload})
        for child in (*application.events, *application.attachments):
            db.session.delete(child)
        db.session.delete(application)
        db.session.commit()
        flash("已删除", "info")
        return redirect(url_for(".index"))

    @expose("/<int:application_id>/upload/", methods=("POST",))
    def upload(self, application_id):
        application = scoped_or_404(Application, application_id)
        if application.state not in EDITABLE or not _may_file(self.actor, application.item):
            abort(403)
        upload = request.files.get("file")
        try:
            if upload is None:
                raise BadUpload("请选择文件")
            store_attachment(application, request.form.get("material", ""), upload.filename,
                             upload.read(), self.actor.account_id,
                             current_app.config["UPLOAD_DIR"])
            db.session.commit()
            flash("材料已上传", "info")
        except BadUpload as error:
            db.session.rollback()
            flash(str(error), "error")
        return redirect(url_for(".detail", application_id=application.id))

    @expose("/attachment/<int:attachment_id>/remove/", methods=("POST",))
    def remove_attachment(self, attachment_id):
        """Take a material off a filing before it is (re)submitted, to replace it."""
        attachment = scoped_or_404(Attachment, attachment_id)
        application_id, file_name = attachment.application_id, attachment.file_name
        if not _may_file(self.actor, attachment.application.item):
            abort(403)
        try:
            remove_material(attachment, actor_id=self.actor.account_id,
                            actor_label=str(current_user), ip=client_ip())
            db.session.commit()
            flash(f"已删除材料：{file_name}，请上传新的文件", "info")
        except Refusal as refused:
            db.session.rollback()
            flash(refused.message, "error")
        return redirect(url_for(".detail", application_id=application_id))

    @expose("/attachment/<int:attachment_id>/")
    def attachment(self, attachment_id):
        attachment = scoped_or_404(Attachment, attachment_id)
        return send_attachment(attachment)

    @expose("/<int:application_id>/rate/", methods=("POST",))
    def rate(self, application_id):
        application = scoped_or_404(Application, application_id)
        score = request.form.get("rating", type=int)
        if application.state != State.COMPLETED:
            flash("办结后才能评价", "error")
        elif application.rating is not None:
            flash("该办件已评价，每件只能评价一次", "error")
        elif score not in range(1, 6):
            flash("请选择1至5分", "error")
        else:
            updated = db.session.execute(
                sa.update(Application).where(Application.id == application.id,
                                             Application.rating.is_(None))
                .values(rating=score, rating_comment=request.form.get("comment", "")[:500],
                        rated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            flash("感谢您的评价" if updated else "该办件已评价，每件只能评价一次",
                  "info" if updated else "error")
        return redirect(url_for(".detail", application_id=application.id))

    @expose("/<int:application_id>/print/<sheet>/")
    def print_sheet(self, application_id, sheet):
        application = scoped_or_404(Application, application_id)
        if sheet not in SHEETS:
            abort(404)
        return self.render("filing/print.html", application=application, title=SHEETS[sheet],
                           sheet=sheet, today=dt.date.today(),
                           fields=labelled_payload(application.item, application.payload or {}))

    @expose("/<int:application_id>/receipt/")
    def receipt(self, application_id):
        """A printable 回执 of a received filing, with a QR code that verifies it."""
        application = scoped_or_404(Application, application_id)
        fields = labelled_payload(application.item, application.payload or {})
        submitted = beijing(application.submitted_at)
        try:
            receipt = issue_receipt(application, fields, submitted)
        except NoReceipt as refused:
            flash(refused.message, "error")
            return redirect(url_for(".detail", application_id=application.id))
        db.session.commit()
        url = url_for("verify.check", code=receipt.code, _external=True)
        return self.render("filing/receipt.html", application=application, fields=fields,
                           receipt=receipt, url=url, submitted=submitted,
                           qr=Markup(segno.make(url, error="m").svg_inline(scale=3)))

    @expose("/<int:application_id>/certificate/")
    def certificate(self, application_id):
        """The social insurance certificate fetched automatically for the filing's person."""
        application = scoped_or_404(Application, application_id)
        if application.subject_person_id is None:
            abort(404)
        return person_certificate(application.subject_person_id)

    @expose("/lookup/")
    def lookup(self):
        """What the system knows of an ID number, for the enrollment form (unit only)."""
        if self.actor.kind != AccountKind.UNIT_MEMBER:
            abort(403)
        try:
            id_no = validate_resident_id(request.args.get("id_no", ""))
        except InvalidValue as error:
            return jsonify(ok=False, message=str(error))
        facts = enrollment_facts(self.actor.unit_id, id_no)
        labels = {"new": "新参保", "resume": "续保（曾在本单位参保，已暂停）"}
        answer = {"ok": True, "kind": facts.kind.value if facts.kind else None,
                  "refusal": facts.refusal,
                  "message": facts.refusal or labels[facts.kind.value]}
        if facts.person is not None:
            answer.update(name=facts.person.name, phone=facts.person.phone or "")
        return jsonify(answer)

    @expose("/workbench/")
    def workbench(self):
        """我的工作台: filings individuals prepared that wait for this unit to submit."""
        if self.actor.kind != AccountKind.UNIT_MEMBER:
            abort(403)
        rows = db.session.scalars(sa.select(Application).where(
            scope_clause(Application, self.actor), Application.state == State.AWAITING_UNIT)
            .order_by(Application.id.desc())).all()
        return self.render("filing/workbench.html", rows=rows)


def filing_link(endpoint: str, application: Application) -> Markup:
    """The id of a filing as a link to its page on the filing desk."""
    url = url_for(f"{endpoint}.detail", application_id=application.id)
    return Markup('<a href="{}">{}</a>').format(url, application.id)


def _group(attachments):
    grouped = {}
    for attachment in attachments:
        grouped.setdefault(attachment.material, []).append(attachment)
    return grouped


def send_attachment(attachment: Attachment):
    """The stored file of an attachment the caller has already scope-checked."""
    path = Path(current_app.config["UPLOAD_DIR"]) / attachment.stored_path
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.file_name)


