"""Account pages outside the consoles: password change and recovery, phone change,
unit self-registration and the legacy upgrade."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from models import Account, Grant, LegacyAccount, Person, Unit, clock, db
from models.accounts import (
    PHONE_TAKEN,
    AccountRefused,
    check_legacy,
    phone_taken,
    register_unit,
    registered_individual,
    registration_phone_taken,
    set_own_password,
    upgrade_legacy,
)
from models.audit import record
from models.errors import Refusal
from models.sms import CodeRefused, SmsLimited, check_code, send_code
from rules.codes import AccountKind, GrantLevel, IdType
from rules.delegation import DelegationRefused
from rules.identity import InvalidValue, validate_mobile, validate_resident_id, validate_uscc
from rules.masking import mask
from rules.passwords import password_problems
from views.auth import HOME, client_ip, renew_session
from views.forms import rule
from views.security import canonical, form_key, limit, rate_limited_page

bp = Blueprint("account", __name__)

#: Endpoints an account that must change its password may still reach.
OPEN_WHILE_FORCED = {"account.password", "auth.logout", "auth.login", "static"}



class NewPassword:
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=64)])
    confirm = PasswordField("确认新密码", validators=[
        DataRequired("请再次输入新密码"), EqualTo("password", "两次输入的密码不一致")])


class ChangePasswordForm(NewPassword, FlaskForm):
    old = PasswordField("原密码", validators=[DataRequired("请输入原密码")])


class ForgotForm(FlaskForm):
    uscc = StringField("统一社会信用代码", validators=[DataRequired("请输入统一社会信用代码"),
                                               rule(validate_uscc)])
    id_type = SelectField("法定代表人证件类型", choices=IdType.choices())
    id_no = StringField("法定代表人证件号码", validators=[DataRequired("请输入证件号码")])
    name = StringField("法定代表人姓名", validators=[DataRequired("请输入姓名")])


class CodeForm(NewPassword, FlaskForm):
    code = StringField("短信验证码", validators=[DataRequired("请输入验证码"), Length(6, 6)])


class PhoneForm(FlaskForm):
    phone = StringField("新手机号码", validators=[DataRequired("请输入手机号码"),
                                            rule(validate_mobile)])
    code = StringField("短信验证码", validators=[Optional(), Length(6, 6)])
    current = PasswordField("登录密码（提交验证码时填写）", validators=[Optional()])


class RegisterForm(FlaskForm):
    uscc = StringField("统一社会信用代码", validators=[DataRequired("请输入统一社会信用代码"),
                                               rule(validate_uscc)])
    name = StringField("单位全称", validators=[DataRequired("请输入单位全称"), Length(max=100)])
    rep_id_type = SelectField("法定代表人证件类型", choices=IdType.choices())
    rep_id_no = StringField("法定代表人证件号码", validators=[DataRequired("请输入证件号码"),
                                                     rule(validate_resident_id)])
    rep_name = StringField("法定代表人姓名", validators=[DataRequired("请输入姓名")])
    phone = StringField("手机号码", validators=[DataRequired("请输入手机号码"),
                                            rule(validate_mobile)])
    agree = BooleanField("我已阅读并同意《法人用户注册协议》中的内容",
                         validators=[DataRequired("请阅读并同意服务协议（《法人用户注册协议》）")])


class RegisterFinishForm(NewPassword, FlaskForm):
    code = StringField("短信验证码", validators=[DataRequired("请输入验证码"), Length(6, 6)])


class LegacyForm(FlaskForm):
    old_system = StringField("原系统名称", validators=[DataRequired("请输入原系统名称")])
    old_login = StringField("原登录名", validators=[DataRequired("请输入原登录名")])
    secret = PasswordField("原密码或一次性验证码", validators=[DataRequired("请输入原密码")])


class UpgradeForm(NewPassword, FlaskForm):
    rep_id_no = StringField("法定代表人身份证号码", validators=[DataRequired(),
                                                       rule(validate_resident_id)])
    rep_name = StringField("法定代表人姓名", validators=[DataRequired()])
    rep_phone = StringField("法定代表人手机号码", validators=[DataRequired(),
                                                     rule(validate_mobile)])
    admin_id_no = StringField("管理员身份证号码", validators=[DataRequired(),
                                                    rule(validate_resident_id)])
    admin_name = StringField("管理员姓名", validators=[DataRequired()])
    admin_phone = StringField("管理员手机号码", validators=[DataRequired(),
                                                   rule(validate_mobile)])


def _policy(form, *identities) -> bool:
    problems = password_problems(form.password.data or "", *identities)
    form.password.errors = list(form.password.errors) + problems
    return not problems


def _sms_limited(refused: SmsLimited):
    """The 429 page for a phone past its SMS quota or a flow locked for the day."""
    return rate_limited_page(refused.retry_at, refused.message)


def _session_id(key: str):
    """A key function: the id a multi-step flow keeps in the session (its target)."""
    def key_func() -> str:
        return f"{key}:{session.get(key)}"
    return key_func


def _audit(action, account=None, **kw):
    record(action, actor_id=account.id if account else None,
           actor_label=str(account) if account else "", ip=client_ip(),
           obj=account, **kw)


@bp.before_app_request
def force_password_change():
    """An account with a one-time password can do nothing else until it sets its own."""
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in OPEN_WHILE_FORCED
            and not (request.endpoint or "").endswith(".static")):
        return redirect(url_for("account.password"))
    return None


def _identities(account: Account) -> tuple:
    person = account.person
    return (account.username, person.id_no if person else None,
            person.phone if person else None)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    account = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not account.check_password(form.old.data):
            form.old.errors.append("原密码不正确")
        elif _policy(form, *_identities(account)):
            set_own_password(account, form.password.data, *_identities(account))
            _audit("password_changed", account)
            renew_session(account)  # other sessions ended with the old epoch; this one stays
            db.session.commit()
            login_user(account)  # the session carries the new epoch
            flash("密码已修改", "info")
            return redirect(url_for(HOME[AccountKind(account.kind)]))
    note = "首次登录或密码已重置，须先设置自己的密码" if account.must_change_password else ""
    return render_template("account/form.html", form=form, title="修改密码", note=note)


@bp.route("/account/phone", methods=["GET", "POST"])
@limit("RATELIMIT_CODE_ADDRESS", scope="phone-code")
@login_required
def phone():
    person = current_user.person
    if person is None:
        flash("工作人员账号没有绑定手机号码", "error")
        return redirect(url_for("auth.login"))
    form = PhoneForm()
    if form.validate_on_submit():
        if phone_taken(form.phone.data, person.id):
            # Refused before any code is sent: one person per login phone.
            form.phone.errors.append(PHONE_TAKEN)
        elif not form.code.data:
            try:
                send_code(form.phone.data, "phone_change")
            except SmsLimited as refused:
                db.session.rollback()
                return _sms_limited(refused)
            db.session.commit()
            flash("验证码已发送到新手机号码", "info")
        elif not current_user.check_password(form.current.data or ""):
            form.current.errors.append("请输入正确的登录密码")
        else:
            try:
                check_code(form.phone.data, "phone_change", form.code.data)
            except SmsLimited as refused:
                return _sms_limited(refused)
            except CodeRefused as refused:
                db.session.commit()  # the wrong try counts
                form.code.errors.append(str(refused))
            else:
                taken = db.session.scalar(sa.select(Person.id).where(
                    Person.phone == form.phone.data, Person.id != person.id))
                if taken:
                    form.phone.errors.append("该手机号码已被他人使用")
                    db.session.rollback()
                else:
                    before = person.phone
                    person.phone = form.phone.data
                    _audit("phone_changed", current_user, before={"phone": before},
                           after={"phone": person.phone})
                    db.session.commit()
                    flash("手机号码已修改", "info")
                    return redirect(url_for("account.phone"))
    note = f"当前手机号码：{person.phone or '未登记'}。先填写新号码获取验证码，再填写验证码提交。"
    return render_template("account/form.html", form=form, title="账号设置：修改手机号码",
                           note=note)


@bp.route("/forgot", methods=["GET", "POST"])
@limit("RATELIMIT_FORGOT_ADDRESS")
@limit("RATELIMIT_FORGOT_TARGET", key_func=form_key("uscc", using=canonical(validate_uscc)),
       scope="forgot-uscc")
def forgot():
    """Unit password recovery through the legal representative's identity and an SMS code."""
    form = ForgotForm()
    if form.validate_on_submit():
        account = db.session.scalar(
            sa.select(Account).join(Unit, Unit.id == Account.unit_id)
            .join(Person, Person.id == Account.person_id)
            .join(Grant, sa.and_(Grant.unit_id == Unit.id, Grant.person_id == Person.id))
            .where(Unit.uscc == form.uscc.data, Person.id_type == form.id_type.data,
                   Person.id_no == form.id_no.data.strip().upper(),
                   Person.name == form.name.data.strip(),
                   Grant.level == GrantLevel.LEGAL_REP, Grant.revoked_at.is_(None),
                   Account.kind == AccountKind.UNIT_MEMBER))
        if account is None or not account.person.phone:
            flash("信息不匹配：请核对统一社会信用代码及法定代表人证件信息", "error")
        else:
            # The code goes to the phone on file now, and only that phone's code is accepted.
            phone_ = account.person.phone
            try:
                send_code(phone_, "forgot")
            except SmsLimited as refused:
                db.session.rollback()
                return _sms_limited(refused)
            session["forgot_account"], session["forgot_phone"] = account.id, phone_
            db.session.commit()
            flash(f"验证码已发送至法定代表人手机 {mask(phone_)}", "info")
            return redirect(url_for("account.forgot_finish"))
    return render_template("account/form.html", form=form, title="单位找回密码",
                           note="填写法定代表人信息，验证码将发送到法定代表人登记的手机")


@bp.route("/forgot/finish", methods=["GET", "POST"])
@limit("RATELIMIT_CODE_ADDRESS")
def forgot_finish():
    account = db.session.get(Account, session.get("forgot_account") or 0)
    phone_ = session.get("forgot_phone")
    if account is None or not phone_:
        return redirect(url_for("account.forgot"))
    form = CodeForm()
    if form.validate_on_submit() and _policy(form, *_identities(account)):
        try:
            if account.person.phone != phone_:
                raise CodeRefused("法定代表人手机号码已变更，请重新获取验证码")
            check_code(phone_, "forgot", form.code.data)
        except SmsLimited as refused:
            return _sms_limited(refused)
        except CodeRefused as refused:
            db.session.commit()
            form.code.errors.append(str(refused))
        else:
            set_own_password(account, form.password.data, *_identities(account))
            account.failed_logins, account.locked_until = 0, None
            _audit("password_recovered", account)
            db.session.commit()
            session.pop("forgot_account", None)
            session.pop("forgot_phone", None)
            flash("密码已重置，请用新密码登录", "info")
            return redirect(url_for("auth.login"))
    return render_template("account/form.html", form=form, title="找回密码：输入验证码")


@bp.route("/register", methods=["GET", "POST"])
@limit("RATELIMIT_REGISTER_ADDRESS")
@limit("RATELIMIT_REGISTER_TARGET", key_func=form_key("uscc", using=canonical(validate_uscc)),
       scope="register-uscc")
@limit("RATELIMIT_REGISTER_TARGET", key_func=form_key("phone", using=canonical(validate_mobile)),
       scope="register-phone")
def register():
    """单位注册, step 1: the unit and its legal representative; an SMS code to the phone."""
    form = RegisterForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(Unit.id).where(Unit.uscc == form.uscc.data)):
            form.uscc.errors.append("该统一社会信用代码已注册，请直接登录或找回密码")
        elif registration_phone_taken(form.rep_id_no.data, form.phone.data):
            form.phone.errors.append(PHONE_TAKEN)
        else:
            try:
                send_code(form.phone.data, "register")
            except SmsLimited as refused:
                db.session.rollback()
                return _sms_limited(refused)
            session["register"] = {k: form[k].data for k in (
                "uscc", "name", "rep_id_type", "rep_id_no", "rep_name", "phone")}
            db.session.commit()
            flash("验证码已发送", "info")
            return redirect(url_for("account.register_finish"))
    return render_template("account/form.html", form=form, title="单位注册",
                           note="无法在线进行人脸识别：注册后须由法定代表人到受理点核验身份")


@bp.route("/register/finish", methods=["GET", "POST"])
@limit("RATELIMIT_CODE_ADDRESS")
def register_finish():
    data = session.get("register")
    if not data:
        return redirect(url_for("account.register"))
    form = RegisterFinishForm()
    if form.validate_on_submit() and _policy(form, data["rep_id_no"], data["phone"],
                                             data["uscc"]):
        try:
            check_code(data["phone"], "register", form.code.data)
            unit = register_unit(uscc=data["uscc"], name=data["name"],
                                 rep_id_no=data["rep_id_no"], rep_name=data["rep_name"],
                                 phone=data["phone"], password=form.password.data,
                                 region_code=data["uscc"][2:8])
        except SmsLimited as refused:
            db.session.rollback()
            return _sms_limited(refused)
        except CodeRefused as refused:
            db.session.commit()
            form.code.errors.append(str(refused))
        except AccountRefused as refused:
            db.session.rollback()
            flash(str(refused), "error")
        else:
            record("unit_registered", actor_label=data["rep_name"], ip=client_ip(), obj=unit,
                   after={"uscc": unit.uscc, "name": unit.name})
            db.session.commit()
            session.pop("register", None)
            return render_template("account/registered.html", unit=unit)
    return render_template("account/form.html", form=form, title="单位注册：设置密码")


@bp.route("/upgrade", methods=["GET", "POST"])
@limit("RATELIMIT_UPGRADE_ADDRESS")
@limit("RATELIMIT_UPGRADE_TARGET", key_func=form_key("old_system", "old_login"),
       scope="upgrade-login")
def upgrade():
    """地市历史用户升级, step 1: the old system's credentials."""
    form = LegacyForm()
    if form.validate_on_submit():
        try:
            legacy = check_legacy(form.old_system.data.strip(), form.old_login.data,
                                  form.secret.data)
        except AccountRefused as refused:
            flash(str(refused), "error")
        else:
            session["legacy"] = legacy.id
            return redirect(url_for("account.upgrade_finish"))
    return render_template("account/form.html", form=form, title="地市历史用户升级：验证原账号")


@bp.route("/upgrade/finish", methods=["GET", "POST"])
@limit("RATELIMIT_UPGRADE_ADDRESS", scope="upgrade-finish")
def upgrade_finish():
    legacy = db.session.get(LegacyAccount, session.get("legacy") or 0)
    if legacy is None or legacy.upgraded_at is not None:
        return redirect(url_for("account.upgrade"))
    form = UpgradeForm()
    if form.validate_on_submit() and _policy(form, form.rep_id_no.data, form.rep_phone.data):
        try:
            admin = registered_individual(form.admin_id_no.data, form.admin_name.data.strip(),
                                          form.admin_phone.data)
            unit, admin_password = upgrade_legacy(
                legacy, rep_id_no=form.rep_id_no.data, rep_name=form.rep_name.data.strip(),
                rep_phone=form.rep_phone.data, admin=admin, password=form.password.data,
                today=clock.today())
        except (Refusal, DelegationRefused, InvalidValue) as refused:  # add_grant's refusals too
            db.session.rollback()
            flash(str(refused), "error")
        else:
            record("legacy_upgraded", actor_label=form.rep_name.data, ip=client_ip(), obj=unit,
                   after={"old": str(legacy), "unit_no": unit.unit_no})
            db.session.commit()
            session.pop("legacy", None)
            response = render_template("account/upgraded.html", unit=unit, admin=admin,
                                       admin_password=admin_password)
            return response, 200, {"Cache-Control": "no-store"}
    return render_template("account/form.html", form=form,
                           title=f"地市历史用户升级：{legacy.unit.name}",
                           note="确认法定代表人、设置管理员（须为已注册个人）和新密码")


def init_app(app) -> None:
    app.register_blueprint(bp)
