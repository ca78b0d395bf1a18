"""Counter services (窗口服务) in the staff console: open, reset, cancel, unlock, verify.

Every action needs the paper application form's number (申请单号) and is audited with the
clerk, the reason and that number. Receipts carry a one-time password and are not cached.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from models import Account, Unit, db
from models.accounts import (
    AccountRefused,
    cancel_account,
    cancel_unit,
    check_counter_region,
    counter_individual,
    find_person,
    issue_password,
    legal_rep_account,
    open_individual,
    open_unit,
    pending_registrations,
    registration_of,
    unlock,
    verify_registration,
)
from models.audit import record
from models.errors import Refusal
from models.login_phones import counter_change_phone
from models.operations import By
from rules import permissions as p
from rules.codes import AccountKind, UnitType
from rules.identity import InvalidValue, validate_mobile, validate_resident_id, validate_uscc
from rules.masking import mask
from views.auth import client_ip, current_actor
from views.base import KindGate
from views.forms import rule


class Paperwork(FlaskForm):
    form_no = StringField("申请单号", validators=[DataRequired("请填写纸质申请单号"),
                                              Length(max=40)])
    reason = StringField("办理说明", validators=[Length(max=200)])


class OpenUnitForm(Paperwork):
    uscc = StringField("统一社会信用代码", validators=[DataRequired(), rule(validate_uscc)])
    name = StringField("单位名称", validators=[DataRequired(), Length(max=100)])
    unit_type = SelectField("单位类型", choices=UnitType.choices())
    region_code = StringField("行政区划代码", validators=[DataRequired(), Length(6, 6)])
    address = StringField("地址", validators=[Length(max=200)])
    rep_id_no = StringField("法定代表人身份证号码", validators=[DataRequired(),
                                                       rule(validate_resident_id)])
    rep_name = StringField("法定代表人姓名", validators=[DataRequired(), Length(max=50)])
    rep_phone = StringField("法定代表人手机号码", validators=[DataRequired(),
                                                     rule(validate_mobile)])


class OpenPersonForm(Paperwork):
    id_no = StringField("身份证号码", validators=[DataRequired(), rule(validate_resident_id)])
    name = StringField("姓名", validators=[DataRequired(), Length(max=50)])
    phone = StringField("手机号码", validators=[DataRequired(), rule(validate_mobile)])


class TargetForm(Paperwork):
    target = RadioField("对象", choices=[("unit", "单位（统一社会信用代码）"),
                                       ("person", "个人（身份证号码）")], default="unit")
    code = StringField("统一社会信用代码或身份证号码", validators=[DataRequired()])


class PhoneChangeForm(Paperwork):
    id_no = StringField("身份证号码", validators=[DataRequired(), rule(validate_resident_id)])
    name = StringField("姓名（核对证件）", validators=[DataRequired(), Length(max=50)])
    phone = StringField("新手机号码（留空：清除多人共用的号码）",
                        validators=[Optional(), rule(validate_mobile)])
    back = HiddenField()


FORMS = {"open_unit": ("开通单位网上办事", OpenUnitForm),
         "open_person": ("开通个人网上办事", OpenPersonForm),
         "reset": ("密码重置", TargetForm), "cancel": ("权限注销", TargetForm),
         "unlock": ("账号解锁", TargetForm),
         "phone": ("变更登录手机号码", PhoneChangeForm)}


class CounterView(KindGate, BaseView):
    """The counter clerk's desk."""

    kinds = frozenset({AccountKind.STAFF})
    staff_right = (p.COUNTER, p.WRITE)

    def _audit(self, action, obj, form, **extra):
        record(f"counter:{action}", actor_id=current_actor().account_id,
               actor_label=str(current_user), ip=client_ip(), obj=obj,
               after={"form_no": form.form_no.data, "reason": form.reason.data, **extra})

    def _receipt(self, title, login_lines, password):
        html = self.render("counter/receipt.html", title=title, lines=login_lines,
                           password=password)
        return html, 200, {"Cache-Control": "no-store"}

    def _target(self, form):
        """The account(s) a target form names, or a form error."""
        code = form.code.data.strip().upper()
        if form.target.data == "unit":
            unit = db.session.scalar(sa.select(Unit).where(sa.or_(Unit.uscc == code,
                                                                 Unit.unit_no == code)))
            if unit is None:
                form.code.errors.append("未找到该单位")
            else:
                check_counter_region(self._clerk(), unit)
            return unit
        account = counter_individual(self._clerk(), code)
        if account is None:
            form.code.errors.append("该人员未开通个人网上办事")
        return account

    def _clerk(self) -> Account:
        return current_user._get_current_object()

    @expose("/")
    def index(self):
        pending = pending_registrations(self._clerk())
        registrations = {unit.id: registration_of(unit) for unit in pending}
        return self.render("counter/index.html", forms=FORMS, pending=pending,
                           registrations=registrations)

    @expose("/<service>/", methods=("GET", "POST"))
    def service(self, service):
        if service not in FORMS:
            abort(404)
        title, form_class = FORMS[service]
        form = form_class()
        if form.validate_on_submit():
            try:
                response = getattr(self, f"_do_{service}")(form)
            except (AccountRefused, InvalidValue) as refused:
                db.session.rollback()
                flash(str(refused), "error")
                return self.render("counter/form.html", title=title, form=form), \
                    getattr(refused, "status", 400)
            else:
                if response is not None:
                    return response
        return self.render("counter/form.html", title=title, form=form)

    def _do_open_unit(self, form):
        unit, account, password = open_unit(
            uscc=form.uscc.data, name=form.name.data.strip(), unit_type=form.unit_type.data,
            region_code=form.region_code.data, address=form.address.data or "",
            rep_id_no=form.rep_id_no.data, rep_name=form.rep_name.data.strip(),
            rep_phone=form.rep_phone.data, clerk=self._clerk())
        self._audit("open_unit", unit, form, legal_rep=form.rep_name.data)
        db.session.commit()
        return self._receipt("单位网上办事开通回执单", [
            ("单位名称", unit.name), ("统一社会信用代码", unit.uscc), ("单位编号", unit.unit_no),
            ("法定代表人", form.rep_name.data), ("登录名", f"{form.rep_id_no.data} 或 "
                                                    f"{form.rep_phone.data}"),
            ("申请单号", form.form_no.data)], password)

    def _do_open_person(self, form):
        account, password = open_individual(id_no=form.id_no.data, name=form.name.data.strip(),
                                            phone=form.phone.data, clerk=self._clerk())
        self._audit("open_person", account, form)
        db.session.commit()
        return self._receipt("个人网上办事开通回执单", [
            ("姓名", form.name.data), ("登录名", f"{form.id_no.data} 或 {form.phone.data}"),
            ("申请单号", form.form_no.data)], password)

    def _account_of(self, target) -> Account:
        """The account a unit or person target names: for a unit, its legal representative's."""
        account = legal_rep_account(target) if isinstance(target, Unit) else target
        if account is None:
            raise AccountRefused("该单位没有有效的法定代表人账号")
        return account

    def _do_reset(self, form):
        target = self._target(form)
        if target is None:
            return None
        account = self._account_of(target)
        password = issue_password(account)
        self._audit("reset_password", account, form)
        db.session.commit()
        lines = [("账号", str(account)), ("申请单号", form.form_no.data)]
        if isinstance(target, Unit):
            lines.insert(0, ("单位", target.name))
        return self._receipt("网上办事密码重置回执单", lines, password)

    def _do_cancel(self, form):
        target = self._target(form)
        if target is None:
            return None
        if not form.reason.data:
            form.reason.errors.append("请填写注销原因")
            return None
        if isinstance(target, Unit):
            count = cancel_unit(target)
            self._audit("cancel_unit", target, form, accounts=count)
            flash(f"已注销单位“{target.name}”的网上办事权限（{count}个账号即时失效）", "info")
        else:
            cancel_account(target)
            self._audit("cancel_person", target, form)
            flash(f"已注销“{target}”的网上办事权限", "info")
        db.session.commit()
        return redirect(url_for(".index"))

    def _do_unlock(self, form):
        target = self._target(form)
        if target is None:
            return None
        account = self._account_of(target)
        unlock(account)
        self._audit("unlock", account, form)
        db.session.commit()
        flash(f"已解锁“{account}”", "info")
        return redirect(url_for(".index"))

    def _do_phone(self, form):
        """The clerk checked the ID card against the person: the login phone changes (or a
        number several people share is cleared from this one)."""
        person = find_person(form.id_no.data)
        if person is None:
            form.id_no.errors.append("未找到该人员")
            return None
        if person.name != form.name.data.strip():
            raise AccountRefused("证件号码与姓名不符")
        try:
            counter_change_phone(By(current_actor(), str(current_user), client_ip()), person,
                                 form.phone.data or None, form_no=form.form_no.data,
                                 reason=form.reason.data or "")
        except Refusal as refused:
            raise AccountRefused(refused.message, status=refused.status) from refused
        db.session.commit()
        flash(f"已变更“{person.name}”的登录手机号码"
              f"{'为 ' + mask(person.phone) if person.phone else '（已清除）'}", "info")
        if form.back.data == "shared":
            return redirect(url_for("admin_shared_phones.index"))
        return redirect(url_for(".index"))

    @expose("/verify/<int:unit_id>/", methods=("POST",))
    def verify(self, unit_id):
        """The clerk checked the legal representative of a self-registered unit in person."""
        unit = db.session.get(Unit, unit_id) or abort(404)
        form = Paperwork()
        if not form.validate_on_submit():
            flash("请填写申请单号", "error")
            return redirect(url_for(".index"))
        phone_choice = request.form.get("phone_choice", "file")
        try:
            verify_registration(unit, clerk=self._clerk(), phone_choice=phone_choice)
        except AccountRefused as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return redirect(url_for(".index"))
        self._audit("verify_registration", unit, form, phone_choice=phone_choice)
        db.session.commit()
        flash(f"“{unit.name}”已核验，可以登录", "info")
        return redirect(url_for(".index"))
