"""Filing desk (办事) in the unit and personal consoles: fill, attach, submit, follow."""
from __future__ import annotations

import uuid

import segno
import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from models import (
    Application,
    Attachment,
    Person,
    ServiceItem,
    clock,
    db,
)
from models.addresses import addresses_of
from models.attachments import BadUpload, missing_materials, send_attachment
from models.base import writes_on_get
from models.deliveries import choose_delivery, proposed_address
from models.errors import Refusal
from models.talent import check_may_file as check_talent_may_file
from models.talent import history as talent_history
from models.handlers import enrollment_facts
from models.imports import new_batch
from models.lookups import insured_with, suspension_facts, units_named
from models.operations import (
    By,
    act,
    attach,
    certificate_for,
    create_filing,
    delete_filing,
    detach,
    drop_batch_row,
    edit_filing,
    is_batch,
    prepared_by_individual,
    rate_filing,
    replace_batch_rows,
)
from models.receipts import NoReceipt, issue_receipt
from models.scope import scope_clause
from models.workflow import party_of
from rules import permissions as p
from rules import policy
from rules.codes import AccountKind
from rules.eligibility import Refused
from rules.identity import InvalidValue, conversion_notice, validate_resident_id
from rules.imports import MAX_FILE_BYTES, SCHEMAS
from rules.masking import mask
from rules.workflow import Action, Party, State, actions_from
from views.auth import client_ip, current_actor
from views.base import KindGate, flash_refusal, scoped_or_404
from views.forms import flash_form_errors
from views.item_form import (
    form_for,
    labelled_payload,
    payload_of,
    printed_payload,
    resolve_units,
    units_by_name,
)
from views.security import limit_unit_lookup
from views.queries import person_certificate

SHEETS = {"form": "申请表", "publicity": "公示表"}


def _may_file(actor: p.Actor, item: ServiceItem) -> bool:
    return policy.may_file(actor, item)


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

    @property
    def by(self) -> By:
        return By(self.actor, str(current_user), client_ip())

    def _transition(self, application, action, comment="", version=None) -> bool:
        try:
            act(self.by, application, action, comment=comment, expected_version=version)
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
        form = form_for(application.spec, strict=True, data=application.payload, csrf=False)
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
        last = check_talent_may_file(self.actor.person_id, item, clock.today())
        person = db.session.get(Person, self.actor.person_id)
        previous = db.session.scalar(sa.select(Application).where(
            Application.item_id == item.id, Application.subject_person_id == person.id)
            .order_by(Application.id.desc()).limit(1))
        # 系统自动获取个人用户的个人信息: the last filing's answers, then what the office
        # knows of the person (his recognition's level, his ID's birth date and gender).
        data = dict(previous.payload) if previous else {}
        known = {"name": person.name, "id_no": person.id_no, "id_type": "01",
                 "gender": person.gender.value if person.gender else None,
                 "birth_date": str(person.birth_date) if person.birth_date else None,
                 "phone": person.phone}
        data.update({k: v for k, v in known.items() if v})
        data["level"] = data.get("level") or last.level
        return data

    # --- pages ---------------------------------------------------------------------------
    def _delivery(self, application) -> None:
        """The 结果领取方式 the form posted (models.deliveries decides)."""
        choose_delivery(self.by, application, request.form.get("delivery_method", ""),
                        request.form.get("delivery_address", type=int))

    def _delivery_choices(self) -> dict:
        return {"delivery_addresses": addresses_of(self.actor),
                "proposed_address": proposed_address(self.actor)}

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
                        formdata=resolve_units(item, request.form)
                        if request.method == "POST" else None,
                        data=units_by_name(item, prefill))
        if request.method == "POST" and form.validate():
            token = request.form.get("client_token") or None
            existing = db.session.scalar(sa.select(Application).where(
                Application.client_token == token)) if token else None
            if existing is not None:  # a double click or a second tab: filed once
                flash("该办件已保存，请勿重复提交", "info")
                return redirect(url_for(".detail", application_id=scoped_or_404(
                    Application, existing.id).id))
            try:
                application = create_filing(self.by, item, payload_of(item, form),
                                            client_token=token)
                self._delivery(application)
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                flash("该办件已保存，请勿重复提交", "info")
                return redirect(url_for(".index"))
            except Refusal as refusal:
                flash_refusal(refusal)
                return self.render("filing/form.html", item=item, form=form,
                                   client_token=token or str(uuid.uuid4()), application=None,
                                   **self._delivery_choices())
            if submit and not missing_materials(application):
                self._transition(application, self._submit_action(item))
            elif submit:
                flash("已暂存；请上传必需材料后再提交", "info")
            else:
                flash("已暂存", "info")
            return redirect(url_for(".detail", application_id=application.id))
        return self.render("filing/form.html", item=item, form=form,
                           client_token=request.form.get("client_token") or str(uuid.uuid4()),
                           application=None, **self._delivery_choices())

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
            fields=labelled_payload(application.spec, application.payload or {},
                                    self.actor),
            may_edit=policy.may_change_filing(self.actor, application, application.item)
            and not is_batch(application.item),
            may_fix_batch=is_batch(application.item) and self.actor.kind == AccountKind.UNIT_MEMBER
            and policy.may_change_filing(self.actor, application, application.item),
            may_delete=policy.may_delete_filing(self.actor, application, application.item,
                                                prepared_by_individual(application)),
            missing=missing_materials(application), sheets=SHEETS,
            attachments_by=_group(application.attachments),
            history=talent_history(application.subject_person_id, self.actor.unit_id
                                   if self.actor.kind != AccountKind.INDIVIDUAL else None)
            if application.item.handler == "talent" and application.subject_person_id else None,
            today=clock.today(),
            not_insured_here=self.actor.kind == AccountKind.UNIT_MEMBER
            and application.state == State.AWAITING_UNIT
            and not insured_with(self.actor.unit_id, application.subject_person_id))

    @expose("/<int:application_id>/edit/", methods=("GET", "POST"))
    def edit(self, application_id):
        application = scoped_or_404(Application, application_id)
        item = application.item
        if not policy.may_change_filing(self.actor, application, item):
            abort(403)
        if is_batch(item):
            flash("批量办件请修改或删除有误的行，或上传更正后的文件", "info")
            return redirect(url_for(".detail", application_id=application.id))
        spec = application.spec  # a filing is edited with the version it was filed under
        form = form_for(spec, strict=False,
                        formdata=resolve_units(spec, request.form)
                        if request.method == "POST" else None,
                        data=units_by_name(spec, application.payload or {}))
        if request.method == "POST" and form.validate():
            try:
                edit_filing(self.by, application, payload_of(spec, form),
                            request.form.get("version", type=int))
                self._delivery(application)
                db.session.commit()
            except Refusal as refusal:
                flash_refusal(refusal)
                return redirect(url_for(".detail", application_id=application.id))
            flash("已保存", "info")
            return redirect(url_for(".detail", application_id=application.id))
        return self.render("filing/form.html", item=spec, form=form, application=application,
                           client_token="", **self._delivery_choices())

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
        try:
            delete_filing(self.by, application)
            db.session.commit()
        except Refusal as refusal:
            flash_refusal(refusal)
            return redirect(url_for(".detail", application_id=application_id))
        flash("已删除", "info")
        return redirect(url_for(".index"))

    @expose("/<int:application_id>/upload/", methods=("POST",))
    def upload(self, application_id):
        application = scoped_or_404(Application, application_id)
        upload = request.files.get("file")

        def change():
            if upload is None:
                raise BadUpload("请选择文件")
            attach(self.by, application, request.form.get("material", ""), upload.filename,
                   upload.stream)
        return self._carry_out(application, change, "材料已上传")

    def _carry_out(self, application, change, done: str):
        """Run ``change`` (an operation on this filing), commit and say ``done``; a refusal
        rolls back and is shown. Back to the filing's page either way."""
        try:
            change()
            db.session.commit()
            flash(done, "info")
        except Refusal as refusal:
            flash_refusal(refusal)
        return redirect(url_for(".detail", application_id=application.id))

    @expose("/<int:application_id>/batch/drop/", methods=("POST",))
    def batch_drop_row(self, application_id):
        """Fix a rejected batch filing by dropping a row that no longer applies."""
        application = scoped_or_404(Application, application_id)
        row_no = request.form.get("row_no", type=int) or 0
        return self._carry_out(application, lambda: drop_batch_row(self.by, application, row_no),
                               "已删除该行")

    @expose("/<int:application_id>/batch/file/", methods=("POST",))
    def batch_file(self, application_id):
        """Fix a rejected batch filing with a corrected file: all its rows, or nothing."""
        application = scoped_or_404(Application, application_id)
        upload = request.files.get("file")
        data = upload.read(MAX_FILE_BYTES + 1) if upload else b""
        if not data or self.actor.kind != AccountKind.UNIT_MEMBER:
            flash("请选择要导入的文件", "error")
            return redirect(url_for(".detail", application_id=application.id))
        batch = new_batch(SCHEMAS[application.item.code], unit_id=self.actor.unit_id,
                          item_id=application.item_id, account_id=self.actor.account_id,
                          file_name=upload.filename, data=data)
        db.session.flush()
        return self._carry_out(application, lambda: replace_batch_rows(self.by, application, batch),
                               f"已用更正后的文件替换为{len(batch.rows)}行")

    @expose("/attachment/<int:attachment_id>/remove/", methods=("POST",))
    def remove_attachment(self, attachment_id):
        """Take a material off a filing before it is (re)submitted, to replace it."""
        attachment = scoped_or_404(Attachment, attachment_id)
        application_id, file_name = attachment.application_id, attachment.file_name
        try:
            detach(self.by, attachment)
            db.session.commit()
            flash(f"已删除材料：{file_name}，请上传新的文件", "info")
        except Refusal as refused:
            db.session.rollback()
            if refused.status in (403, 404):
                abort(refused.status)
            flash(refused.message, "error")
        return redirect(url_for(".detail", application_id=application_id))

    @expose("/attachment/<int:attachment_id>/")
    def attachment(self, attachment_id):
        attachment = scoped_or_404(Attachment, attachment_id)
        return send_attachment(attachment)

    @expose("/<int:application_id>/rate/", methods=("POST",))
    def rate(self, application_id):
        application = scoped_or_404(Application, application_id)
        rating, comment = request.form.get("rating", type=int), request.form.get("comment", "")
        return self._carry_out(application,
                               lambda: rate_filing(self.by, application, rating, comment),
                               "感谢您的评价")

    @expose("/<int:application_id>/print/<sheet>/")
    def print_sheet(self, application_id, sheet):
        application = scoped_or_404(Application, application_id)
        if sheet not in SHEETS:
            abort(404)
        return self.render("filing/print.html", application=application, title=SHEETS[sheet],
                           sheet=sheet, today=clock.today(),
                           fields=printed_payload(application.spec, application.payload or {}))

    @expose("/<int:application_id>/receipt/")
    @writes_on_get
    def receipt(self, application_id):
        """A printable 回执 of a received filing, with a QR code that verifies it."""
        application = scoped_or_404(Application, application_id)
        fields = printed_payload(application.spec, application.payload or {})
        submitted = clock.shown(application.submitted_at)
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
        """The social insurance certificate fetched automatically for the filing's person:
        a unit gets it only for its own employee and only its own periods."""
        application = scoped_or_404(Application, application_id)
        try:
            person_id, unit_id = certificate_for(self.by, application)
        except Refusal:
            abort(404)
        return person_certificate(person_id, unit_id)

    @expose("/lookup/")
    def lookup(self):
        """What the enrollment form may know of an ID number: valid, and whether it can be
        enrolled here; a name only if the unit already holds this person, never a phone."""
        if self.actor.kind != AccountKind.UNIT_MEMBER:
            abort(403)
        try:
            id_no = validate_resident_id(request.args.get("id_no", ""))
        except InvalidValue as error:
            return jsonify(ok=False, message=str(error))
        facts = enrollment_facts(self.actor.unit_id, id_no)
        labels = {"new": "新参保", "resume": "续保（曾在本单位参保，已暂停）"}
        kind = facts.kind.value if facts.kind else None
        answer = {"ok": True, "kind": kind, "refusal": facts.refusal,
                  "message": facts.refusal or labels[kind],
                  "notice": conversion_notice(request.args.get("id_no", ""), id_no)}
        if facts.person is not None:
            held = db.session.scalar(sa.select(Person.name).where(
                Person.id == facts.person.id, scope_clause(Person, self.actor)))
            if held is not None:
                answer["name"] = held
        return jsonify(answer)

    @expose("/units/")
    def units(self):
        """工作单位 by name: registered units whose name holds the keyword, as a filer may see
        them (name and masked credit code), at most ten; limited per account."""
        if self.actor.kind != AccountKind.INDIVIDUAL:
            abort(403)
        with limit_unit_lookup():
            found = units_named(request.args.get("q", ""))
        return jsonify(units=[{"name": name, "uscc": mask(uscc)} for name, uscc in found])

    @expose("/lookup/suspend/")
    def lookup_suspend(self):
        """The suspension form's lookup by 社会保障号: the employee's name and enrollment."""
        if self.actor.kind != AccountKind.UNIT_MEMBER:
            abort(403)
        try:
            id_no = validate_resident_id(request.args.get("id_no", ""))
        except InvalidValue as error:
            return jsonify(ok=False, message=str(error))
        return jsonify(suspension_facts(self.actor.unit_id, id_no))

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




