"""Chinese pages for HTTP errors and for failures, each naming the request id.

HTTP errors (``abort(403)`` in our views and in Flask-Admin's, 404 routing, 405, 413 from
MAX_CONTENT_LENGTH, 429 from the rate limiter) keep their status and headers (Allow,
Retry-After). A database that stays locked past the busy timeout answers 503 "系统繁忙";
anything else unhandled is logged with its traceback and answers 500. Refusals
(models.errors.Refusal) are answered by their views with a message; one that a view does not
catch answers its own status with its Chinese message here, never a 500.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, render_template, request, url_for
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_date

from models import db
from models.errors import Refusal
from observability import log, request_fields, request_id
from rules import clock
from views.auth import HOME

#: Status → (title, what to tell the user) when the error carries no Chinese text of its own.
PAGES = {
    400: ("请求有误", "提交的内容不完整或已过期，请返回上一页刷新后重试。"),
    403: ("无权访问", "您的账号无权办理此项业务或查看此页面。"
                      "如需权限，请联系单位管理员或受理窗口。"),
    404: ("页面不存在", "您访问的页面或记录不存在，或不在您的办理范围内。"),
    405: ("操作方式不正确", "此页面不支持该操作方式，请从页面上的按钮或链接进入。"),
    413: ("上传文件过大", "上传的文件超过大小限制，请压缩或拆分后重新上传。"),
    429: ("操作过于频繁", "您的操作过于频繁，请稍后再试。"),
    500: ("系统错误", "系统处理您的请求时出错，已记录在案。"
                      "请稍后重试；如仍有问题，请将下方请求编号告知服务热线。"),
    503: ("系统繁忙，请稍后重试", "当前办理人数较多，系统暂时繁忙，请稍后重试。"),
}
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Headers of the exception that the error page keeps.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def is_locked(error: BaseException) -> bool:
    """SQLite's busy timeout ran out: the office is busy, not broken."""
    return isinstance(error, OperationalError) and "database is locked" in str(error)


#: What a user is told when the database stays locked.
BUSY = PAGES[503][0]


def retry_after_seconds(value: str | None) -> int | None:
    """``Retry-After`` as whole seconds from now (it may be seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return int(value.strip())
    when = parse_date(value)
    if when is None:
        return None
    return max(0, int((when - clock.utc_now()).total_seconds()))


def _headers_of(error: HTTPException) -> dict:
    headers = dict(error.get_headers())
    if error.response is not None:  # e.g. a rate limiter's own response
        headers.update(error.response.headers)
    return {k: v for k, v in headers.items() if k in KEPT_HEADERS}


def _detail(error: HTTPException, default: str) -> str:
    # Our own aborts carry Werkzeug's English description; a Chinese one was written for
    # the user (e.g. by the rate limiter) and is shown as it is.
    description = error.description or ""
    return description if CJK.search(description) else default


def _home() -> dict:
    # Only an account Flask-Login already loaded: after a database failure, loading one
    # could fail again inside the error page.
    user = g.get("_login_user")
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    kind = state.dict.get("kind") if state is not None else None  # never loads
    if kind in HOME:
        return {"home_url": url_for(HOME[kind]), "home_label": "返回首页"}
    return {"home_url": url_for("auth.login"), "home_label": "返回登录"}


def error_page(status: int, detail: str | None = None, headers: dict | None = None):
    """The error response: JSON for clients that ask for it, else the Chinese page."""
    title, default = PAGES.get(status, PAGES[500] if status >= 500 else PAGES[400])
    detail = detail or default
    headers = dict(headers or {})
    retry = retry_after_seconds(headers.get("Retry-After"))
    if request.accept_mimetypes.best == "application/json":
        body = {"error": title, "detail": detail, "request_id": request_id()}
        if retry is not None:
            body["retry_after"] = retry
        return jsonify(body), status, headers
    home = g.get("error_home") or _home()
    html = render_template("errors/error.html", status=status, title=title, detail=detail,
                           retry_after=retry, request_id=request_id(), **home)
    return html, status, headers


def handle_http(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    if error.code >= 500:
        log.error("HTTP %s", error.code, extra=request_fields(error.code))
    _title, default = PAGES.get(error.code, (None, PAGES[400][1]))
    return error_page(error.code, _detail(error, default), _headers_of(error))


def _propagate() -> bool:
    # Flask's own rule for unhandled errors: tests and the debugger see the exception.
    propagate = current_app.config.get("PROPAGATE_EXCEPTIONS")
    return current_app.testing or current_app.debug if propagate is None else propagate


def handle_unexpected(error: Exception):
    locked = is_locked(error)
    if not locked and _propagate():
        raise error
    g.error_home = _home()  # before the rollback expires the account
    try:
        db.session.rollback()
    except Exception:  # a broken connection: the failure below is what matters
        log.warning("rollback failed after an error", exc_info=True)
    if locked:
        log.warning("database is locked: answered 503", extra=request_fields(503))
        return error_page(503, headers={"Retry-After": "5"})
    log.error("unhandled %s: %s", type(error).__name__, error,
              exc_info=error, extra=request_fields(500))
    return error_page(500)


def handle_refusal(refusal: Refusal):
    """An operation's refusal no view caught: its status and its Chinese message; the
    transaction it interrupted is rolled back."""
    g.error_home = _home()  # before the rollback expires the account
    db.session.rollback()
    return error_page(refusal.status, refusal.message)


def init_app(app: Flask) -> None:
    """Register the handlers (Flask-Admin has none of its own, so its aborts come here)."""
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Refusal, handle_refusal)
    app.register_error_handler(Exception, handle_unexpected)
