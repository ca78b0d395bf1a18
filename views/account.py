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
    register_unit,
    registered_individual,
    registration_phone_taken,
    set_own_password,
)
from models.audit import record
from models.errors import Refusal
from models.login_phones import change_own_phone, send_change_codes
from models.operations import By
from models.sms import CodeRefused, SmsLimited, check_code, send_code
from models.upgrade import (
    check_legacy,
    choose_units,
    legacy_systems,
    upgradable,
    upgrade_legacy,
)
from rules.codes import AccountKind, GrantLevel, IdType
from rules.delegation import DelegationRefused
from rules.identity import InvalidValue, validate_mobile, validate_resident_id, validate_uscc
from rules.masking import mask
from rules.passwords import password_problems
from views.auth import HOME, client_ip, current_actor, renew_session
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
    code = StringField("新手机号码收到的验证码", validators=[Optional(), Length(6, 6)])
    old_code = StringField("原手机号码收到的验证码", validators=[Optional(), Length(6, 6)])
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
    old_system = SelectField("历史系统", validators=[DataRequired("请选择历史系统")])
    old_login = StringField("原登录名", validators=[DataRequired("请输入原登录名")])
    secret = PasswordField("原密码或一次性验证码", validators=[DataRequired("请输入原密码")])


class UpgradeForm(FlaskForm):
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
    password = PasswordField("管理员密码", validators=[DataRequired("请设置管理员密码"),
                                                  Length(max=64)])
    confirm = PasswordField("确认密码", validators=[
        DataRequired("请再次输入管理员密码"), EqualTo("password", "两次输入的密码不一致")])


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
    """修改手机: codes to the new number and to the phone on file, both required, and the
    login password; the operations are models.login_phones."""
    person = current_user.person
    if person is None:
        flash("工作人员账号没有绑定手机号码", "error")
        return redirect(url_for("auth.login"))
    form = PhoneForm()
    if not person.phone:
        del form.old_code  # nothing on file to confirm from: the password and the new code
    by = By(current_actor(), str(current_user), client_ip())
    if form.validate_on_submit():
        try:
            if not form.code.data:
                sent = send_change_codes(by, person, form.phone.data)
                db.session.commit()
                flash("验证码已发送到" + "和".join(
                    ("新手机号码" if n == 0 else f"原手机号码 {mask(phone_)}")
                    for n, phone_ in enumerate(sent)), "info")
            elif "old_code" in form and not form.old_code.data:
                form.old_code.errors.append("请输入原手机号码收到的验证码")
            elif not current_user.check_password(form.current.data or ""):
                form.current.errors.append("请输入正确的登录密码")
            else:
                change_own_phone(by, person, form.phone.data, new_code=form.code.data,
                                 old_code=form.old_code.data if "old_code" in form else "")
                db.session.commit()
                flash("手机号码已修改", "info")
                return redirect(url_for("account.phone"))
        except SmsLimited as refused:
            db.session.rollback()
            return _sms_limited(refused)
        except CodeRefused as refused:
            db.session.commit()  # the wrong try counts
            form.code.errors.append(str(refused))
        except Refusal as refused:
            db.session.rollback()
            form.phone.errors.append(str(refused))
    on_file = mask(person.phone) if person.phone else "未登记"
    note = (f"当前手机号码：{on_file}。先填写新号码获取验证码（同时发送到新号码和当前号码），"
            "再填写两个验证码和登录密码提交。如当前号码已停用，请持身份证件到受理窗口办理。")
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


def _legacy_rows(key: str) -> list[LegacyAccount]:
    """The legacy rows a step of the upgrade keeps in the session, not upgraded meanwhile."""
    ids = session.get(key) or []
    rows = db.session.scalars(sa.select(LegacyAccount).where(LegacyAccount.id.in_(ids))
                              .order_by(LegacyAccount.id)).all() if ids else []
    return [row for row in rows if row.upgraded_at is None]


@bp.route("/upgrade", methods=["GET", "POST"])
@limit("RATELIMIT_UPGRADE_ADDRESS")
@limit("RATELIMIT_UPGRADE_TARGET", key_func=form_key("old_system", "old_login"),
       scope="upgrade-login")
def upgrade():
    """地市历史用户升级, step 1: the old system (from the configured list) and its login."""
    form = LegacyForm()
    form.old_system.choices = [("", "请选择历史系统"), *legacy_systems()]
    if form.validate_on_submit():
        try:
            rows = check_legacy(form.old_system.data, form.old_login.data, form.secret.data)
        except AccountRefused as refused:
            flash(str(refused), "error")
        else:
            session["legacy"] = [row.id for row in rows]
            session.pop("legacy_units", None)
            if len(rows) == 1:
                session["legacy_units"] = [rows[0].id]
                return redirect(url_for("account.upgrade_finish"))
            return redirect(url_for("account.upgrade_units"))
    return render_template("account/form.html", form=form, title="地市历史用户升级：校验历史账户",
                           note="选择原系统，输入原用户名和原密码。")


@bp.route("/upgrade/units", methods=["GET", "POST"])
@limit("RATELIMIT_UPGRADE_ADDRESS", scope="upgrade-units")
def upgrade_units():
    """Step 2, for an old login holding several units: choose which to bring over, each
    verified by the credit code typed for it."""
    rows = _legacy_rows("legacy")
    if not rows:
        return redirect(url_for("account.upgrade"))
    form = FlaskForm()
    chosen = {int(v) for v in request.form.getlist("unit") if v.isdigit()}
    if form.validate_on_submit():
        try:
            picked = choose_units(rows, {row_id: request.form.get(f"code-{row_id}", "")
                                         for row_id in chosen})
        except AccountRefused as refused:
            flash(str(refused), "error")
        else:
            session["legacy_units"] = [row.id for row in picked]
            return redirect(url_for("account.upgrade_finish"))
    return render_template("account/upgrade_units.html", form=form, rows=rows,
                           chosen=chosen, upgradable=upgradable, title="地市历史用户升级：选择单位")


@bp.route("/upgrade/finish", methods=["GET", "POST"])
@limit("RATELIMIT_UPGRADE_ADDRESS", scope="upgrade-finish")
def upgrade_finish():
    """Steps 3 and 4: confirm the legal representative, set the administrator and his
    password; then the new 单位编号."""
    rows = _legacy_rows("legacy_units")
    if not rows:
        return redirect(url_for("account.upgrade"))
    form = UpgradeForm()
    if form.validate_on_submit() and _policy(form, form.admin_id_no.data,
                                             form.admin_phone.data,
                                             *[row.unit.uscc for row in rows]):
        try:
            admin = registered_individual(form.admin_id_no.data, form.admin_name.data.strip(),
                                          form.admin_phone.data)
            units = upgrade_legacy(
                rows, rep_id_no=form.rep_id_no.data, rep_name=form.rep_name.data.strip(),
                rep_phone=form.rep_phone.data, admin=admin, password=form.password.data,
                today=clock.today(), ip=client_ip())
        except (Refusal, DelegationRefused, InvalidValue) as refused:  # add_grant's refusals too
            db.session.rollback()
            flash(str(refused), "error")
        else:
            db.session.commit()
            session.pop("legacy", None)
            session.pop("legacy_units", None)
            response = render_template("account/upgraded.html", units=units, admin=admin)
            return response, 200, {"Cache-Control": "no-store"}
    names = "、".join(row.unit.name for row in rows)
    return render_template("account/form.html", form=form,
                           title=f"地市历史用户升级：{names}",
                           note="确认法定代表人信息；设置管理员（须为已注册的个人，信息与注册时一致）"
                                "和管理员密码（8–20位，至少包含数字、小写字母、大写字母、"
                                "特殊字符中的三种）。升级后用统一社会信用代码或新单位编号、"
                                "管理员证件号码或手机号码和该密码登录。")


def init_app(app) -> None:
    app.register_blueprint(bp)
