"""One login page for all kinds of account, logout, and the current actor."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from models import Account, clock, db, utcnow
from models.audit import record
from models.auth import LoginRefused, actor_for, find_account
from rules.codes import AccountKind
from rules.passwords import LOCK_MINUTES, MAX_FAILURES, after_failure, locked
from rules.permissions import Actor

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"
login_manager.session_protection = "strong"

#: The form's ``kind`` values (as the manuals name the tabs) → account kinds.
KINDS = {
    "person": AccountKind.INDIVIDUAL,
    "unit": AccountKind.UNIT_MEMBER,
    "institution": AccountKind.INSTITUTION,
    "staff": AccountKind.STAFF,
}
HOME = {
    AccountKind.STAFF: "admin.index",
    AccountKind.UNIT_MEMBER: "unit.index",
    AccountKind.INSTITUTION: "unit.index",
    AccountKind.INDIVIDUAL: "me.index",
}


class LoginForm(FlaskForm):
    kind = RadioField("用户类型", choices=[("person", "个人"), ("unit", "单位"),
                                        ("institution", "机构"), ("staff", "工作人员")],
                      default="person", validators=[DataRequired("请选择用户类型")])
    unit_code = StringField("统一社会信用代码 / 单位编号 / 机构编号", validators=[Length(max=32)])
    login = StringField("证件号码 / 移动电话 / 用户名",
                        validators=[DataRequired("请输入登录名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=64)])


def client_ip() -> str:
    """The client address as the WSGI server saw it (put ProxyFix in front behind a proxy)."""
    return request.remote_addr or ""


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or target.startswith(("//", "\\")) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return target


@login_manager.user_loader
def load_user(token: str) -> Account | None:
    # The session holds "<id>.<epoch>": a password change or cancellation bumps the epoch,
    # and refusal rules (cancelled unit, expired grant) are checked on every request.
    try:
        account_id, epoch = (int(p) for p in token.split("."))
    except ValueError:
        return None
    account = db.session.get(Account, account_id)
    if account is None or account.session_epoch != epoch:
        return None
    try:
        g.actor = actor_for(account, clock.today())
    except LoginRefused:
        return None
    return account


def current_actor() -> Actor | None:
    """The Actor of the logged-in account for this request, or None."""
    if not current_user.is_authenticated:
        return None
    return g.get("actor")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        kind = KINDS.get(form.kind.data)
        if kind in (AccountKind.UNIT_MEMBER, AccountKind.INSTITUTION) and not form.unit_code.data:
            form.unit_code.errors.append("请输入统一社会信用代码、单位编号或机构编号")
            return render_template("login.html", form=form), 400
        account = find_account(kind, form.unit_code.data, form.login.data)
        now = utcnow()
        if account is not None and locked(account.locked_until, now):
            until = (account.locked_until + dt.timedelta(hours=8)).strftime("%H:%M")
            flash(f"账号已锁定，请于{until}后再试，或持证件到受理点解锁", "error")
            return render_template("login.html", form=form), 403
        if account is None or not account.check_password(form.password.data):
            message = "登录信息有误：请核对用户类型、代码、登录名和密码"
            if account is not None:
                account.failed_logins, account.locked_until = after_failure(
                    account.failed_logins, now)
                if account.locked_until:
                    message = f"密码连续错误{MAX_FAILURES}次，账号已锁定{LOCK_MINUTES}分钟"
                record("login_failed", actor_id=account.id, actor_label=str(account),
                       ip=client_ip(), obj=account)
                db.session.commit()
            flash(message, "error")
            return render_template("login.html", form=form), 401
        try:
            actor = actor_for(account, clock.today())
        except LoginRefused as refused:
            record("login_refused", actor_id=account.id, actor_label=str(account),
                   ip=client_ip(), obj=account, after={"reason": str(refused)})
            db.session.commit()
            flash(str(refused), "error")
            return render_template("login.html", form=form), 403
        account.failed_logins = 0
        account.last_login_at = utcnow()
        record("login", actor_id=account.id, actor_label=str(account), ip=client_ip(),
               obj=account)
        db.session.commit()
        login_user(account)
        g.actor = actor
        if account.must_change_password:
            flash("首次登录或密码已重置，请先修改密码", "info")
            return redirect(url_for("account.password"))
        return redirect(safe_next(request.args.get("next")) or url_for(HOME[actor.kind]))
    status = 400 if form.errors else 200
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        record("logout", actor_id=current_user.id, actor_label=str(current_user), ip=client_ip())
        db.session.commit()
    logout_user()
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"))


def refuse():
    """What a console answers to a request it will not serve: login first, or 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


def init_app(app) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
