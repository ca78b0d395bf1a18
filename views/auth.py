"""One login page for all kinds of account, logout, and the current actor."""
from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from models import Account, clock, db, sessions
from models.audit import record as record_event
from models.auth import (LoginRefused, actor_for, authenticate, login_by_code,
                         send_login_code, signed_in)
from models.sms import CodeRefused, SmsLimited
from rules.codes import AccountKind
from rules.permissions import Actor
from views.security import client_ip, limit, rate_limited_page

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
    # The cookie holds "<id>.<epoch>" and a session token: a password change, reset or
    # cancellation bumps the epoch; logout, 强退, idle and absolute limits end the session
    # record; refusal rules (cancelled unit, expired grant) are checked on every request.
    try:
        account_id, epoch = (int(p) for p in token.split("."))
    except ValueError:
        return None
    # One statement reads the account, the session record and what the Actor needs.
    found = signed_in(account_id, session.get("sid"))
    if found is None or found.account.session_epoch != epoch:
        return None
    account, record = found.account, found.record
    moment = sessions.now()
    reason = sessions.expiry_reason(record, moment)
    if reason:
        if record.ended_at is None:
            sessions.end_session(record, reason)
            sessions.log_login("expired", ip=client_ip(), account=account,
                               reason=EXPIRY_REASONS.get(reason, reason))
            db.session.commit()
        return None
    try:
        actor = actor_for(account, clock.today(), grant=found.grant)
    except LoginRefused:
        return None
    if (moment - record.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        # A short transaction of its own that starts with the write (see authenticate).
        record_id = record.id
        db.session.rollback()
        db.session.execute(sa.update(sessions.LoginSession).where(
            sessions.LoginSession.id == record_id).values(last_seen_at=moment))
        db.session.commit()
    g.actor = actor
    return account


#: Why a session stopped working, as the login log says it.
EXPIRY_REASONS = {"idle": "空闲超时", "absolute": "超过最长登录时长",
                  "superseded": "密码已修改或重置", "logout": "已退出", "forced_out": "被强制退出"}
#: last_seen_at is written at most this often (seconds), not on every request.
TOUCH_SECONDS = 60


def current_actor() -> Actor | None:
    """The Actor of the logged-in account for this request, or None.

    Reads Flask-Login's user of this request where it keeps it (``g._login_user``, what
    ``current_user`` resolves to; loaded through ``load_user`` the first time), without the
    proxy's lookups: lists ask this per cell. ``logout_user`` replaces that user, so an
    actor is never returned after a logout within the same request."""
    user = g.get("_login_user")
    if user is None:
        user = current_user._get_current_object()
    if not user.is_authenticated:
        return None
    return g.get("actor")


DEVICE_COOKIE = "wb_device"
DEVICE_DAYS = 90


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="trusted-device")


def trusted_accounts() -> frozenset[int]:
    """Accounts that have logged in from this browser before (a signed device cookie)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return frozenset()
    try:
        ids = _device_serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return frozenset()
    return frozenset(i for i in ids if isinstance(i, int))


def _remember_device(response, account_id: int) -> None:
    ids = [account_id] + [i for i in trusted_accounts() if i != account_id]
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps(ids[:5]),
                        max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config["HTTPS"])


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limit("RATELIMIT_LOGIN_ADDRESS", deduct_when=_failed)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        kind = KINDS.get(form.kind.data)
        if kind in (AccountKind.UNIT_MEMBER, AccountKind.INSTITUTION) and not form.unit_code.data:
            form.unit_code.errors.append("请输入统一社会信用代码、单位编号或机构编号")
            return render_template("login.html", form=form), 400
        outcome = authenticate(kind, form.unit_code.data or "", form.login.data,
                               form.password.data, ip=client_ip(),
                               user_agent=request.user_agent.string,
                               trusted=trusted_accounts())
        if outcome.status == "failed":
            flash("登录信息有误：请核对用户类型、代码、登录名和密码", "error")
            return render_template("login.html", form=form), 401
        if outcome.status == "locked":
            # Only someone who typed the right password gets here: the owner, most likely,
            # on a new device while others guess. One more check: a code to the phone on file.
            try:
                phone = send_login_code(outcome.account)
            except SmsLimited as refused:
                db.session.rollback()
                return rate_limited_page(refused.retry_at, refused.message)
            except LoginRefused:
                db.session.rollback()
                flash(f"密码连续错误次数过多，账号已临时锁定至{clock.shown(outcome.until)}"
                      "。请在本人常用的设备或网络登录，或联系单位管理员（经办人）、"
                      "持证件到受理点解锁", "error")
                return render_template("login.html", form=form), 403
            db.session.commit()
            session["code_login"] = [outcome.account.id, phone]
            flash("他人多次尝试登录您的账号，账号已临时锁定。为确认是您本人，"
                  f"验证码已发送至登记的手机 {phone[:3]}****{phone[-4:]}", "info")
            return redirect(url_for("auth.login_code", next=request.args.get("next")))
        if outcome.status == "refused":
            flash(outcome.message, "error")
            return render_template("login.html", form=form), 403
        return _logged_in(outcome)
    status = 400 if form.errors else 200
    return render_template("login.html", form=form), status


def _logged_in(outcome):
    """Start the browser's session after a successful login and send it on."""
    account = outcome.account
    session.clear()  # no state from before the login survives it (session fixation)
    login_user(account)
    session["sid"] = outcome.token
    g.actor = outcome.actor
    if account.must_change_password:
        flash("首次登录或密码已重置，请先修改密码", "info")
        response = redirect(url_for("account.password"))
    else:
        response = redirect(safe_next(request.args.get("next"))
                            or url_for(HOME[outcome.actor.kind]))
    _remember_device(response, account.id)
    return response


class LoginCodeForm(FlaskForm):
    code = StringField("短信验证码", validators=[DataRequired("请输入验证码"), Length(6, 6)])


@bp.route("/login/code", methods=["GET", "POST"])
@limit("RATELIMIT_CODE_ADDRESS", scope="login-code")
def login_code():
    """The extra check for a locked account's owner on a device we do not know."""
    pending = session.get("code_login")
    if not pending:
        return redirect(url_for("auth.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        try:
            outcome = login_by_code(pending[0], pending[1], form.code.data, ip=client_ip(),
                                    user_agent=request.user_agent.string)
        except SmsLimited as refused:
            return rate_limited_page(refused.retry_at, refused.message)
        except CodeRefused as refused:
            db.session.commit()  # the wrong try counts
            form.code.errors.append(refused.message)
        else:
            if outcome.status == "ok":
                return _logged_in(outcome)
            flash(outcome.message, "error")
            return redirect(url_for("auth.login"))
    return render_template("account/form.html", form=form, title="短信验证登录",
                           note="账号临时锁定期间，本人可凭登记手机收到的验证码登录")


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        account = current_user._get_current_object()
        record = sessions.find_session(session.get("sid"))
        if record is not None:
            sessions.end_session(record, "logout")
        sessions.log_login("logout", ip=client_ip(), account=account)
        record_event("logout", actor_id=account.id, actor_label=str(account), ip=client_ip())
        db.session.commit()
    logout_user()
    session.pop("sid", None)
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"))


def renew_session(account: Account) -> None:
    """After the user changed his own password: this browser stays logged in under a new
    session record (the old ones ended with the epoch); caller commits."""
    session["sid"] = sessions.open_session(account, ip=client_ip(),
                                           user_agent=request.user_agent.string)


def refuse():
    """What a console answers to a request it will not serve: login first, or 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


def init_app(app) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
