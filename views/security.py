"""Account security wiring: settings defaults, the rate limiter, the client address behind a
proxy, security headers and the Chinese 429 page.

Rate limits live in Flask-Limiter's storage: Redis when ``RATELIMIT_STORAGE_URI`` (or
``REDIS_URL``) is set, process memory otherwise (the embedded default; with several server
processes each counts on its own, so production sets Redis).
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from flask import current_app, g, render_template, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from rules.identity import InvalidValue, normalise

#: Settings this module reads (defaults; the environment or the test config override them).
DEFAULTS = {
    "REDIS_URL": None,
    "RATELIMIT_STORAGE_URI": None,  # None: REDIS_URL if set, else memory://
    "TRUSTED_PROXIES": 0,  # reverse proxies in front of the app that set X-Forwarded-For
    "HTTPS": False,  # the site is served over HTTPS: Secure cookies and HSTS
    "SESSION_IDLE_SECONDS": 1800,
    "SESSION_ABSOLUTE_SECONDS": 43200,
    "PASSWORD_HASH_CONCURRENCY": 4,  # argon2 computations at once per process
    "SMS_OUTBOX_SHOW_CODES": False,  # the outbox shows codes unmasked (development only)
    # Flask-Limiter strings, "N per period" separated by ";".
    "RATELIMIT_LOGIN_ADDRESS": "10 per minute;100 per hour",  # failed logins per address
    "RATELIMIT_FORGOT_ADDRESS": "10 per hour",
    "RATELIMIT_FORGOT_TARGET": "5 per hour",  # per credit code
    "RATELIMIT_REGISTER_ADDRESS": "10 per hour",
    "RATELIMIT_REGISTER_TARGET": "5 per hour",  # per credit code and per phone
    "RATELIMIT_UPGRADE_ADDRESS": "10 per hour",
    "RATELIMIT_UPGRADE_TARGET": "5 per 15 minutes",  # per old login name
    "RATELIMIT_CODE_ADDRESS": "30 per hour",  # SMS code checks per address
    "RATELIMIT_LOOKUP_ADDRESS": "20 per hour;100 per day",  # public 认定结果查询 per address
    "RATELIMIT_UNIT_LOOKUP": "30 per minute;300 per day",  # 工作单位 search per account
}


def client_ip() -> str:
    """The client's address: the socket peer, or what ``TRUSTED_PROXIES`` proxies reported.

    ProxyFix rewrites ``remote_addr`` only for the configured number of proxies, so a header
    the client sets itself never chooses the address.
    """
    return request.remote_addr or ""


def _storage_uri(app) -> str:
    return (app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL")
            or "memory://")


def _on_breach(limit: RequestLimit) -> None:
    """A rate-limit refusal goes to the login log (登录日志), like a failed login."""
    from models import db
    from models.sessions import log_login
    from views.auth import KINDS

    form = request.form
    log_login("rate_limited", ip=client_ip(), kind=KINDS.get(form.get("kind", ""), ""),
              login_name=form.get("login") or form.get("old_login") or form.get("phone") or "",
              unit_code=form.get("unit_code") or form.get("uscc") or "",
              reason=f"{request.path} {limit.limit}")
    db.session.commit()


#: Redis down: count in memory meanwhile rather than refuse every login with an error.
limiter = Limiter(key_func=client_ip, on_breach=_on_breach, headers_enabled=True,
                  in_memory_fallback_enabled=True)


def limit(setting: str, *, key_func=None, deduct_when=None, scope: str | None = None):
    """A POST limit whose rate is the setting ``setting`` (read per request)."""
    return limiter.limit(lambda: current_app.config[setting], key_func=key_func,
                         methods=["POST"], deduct_when=deduct_when,
                         scope=scope or setting.lower())


def limit_lookup(scope: str):
    """A limit on a public look-up by name and ID number (GET), counted only when a query is
    asked: a stranger cannot walk the city's ID numbers through it."""
    return limiter.limit(lambda: current_app.config["RATELIMIT_LOOKUP_ADDRESS"],
                         methods=["GET"], scope=scope,
                         exempt_when=lambda: "id_no" not in request.args)


def limit_unit_lookup():
    """The limit on the filer's 工作单位 search (a context manager), counted per account: the
    list of registered units is not read out one keyword after another."""
    from flask_login import current_user

    return limiter.limit(lambda: current_app.config["RATELIMIT_UNIT_LOOKUP"],
                         key_func=lambda: f"account:{current_user.get_id()}",
                         scope="unit-lookup")


def canonical(validator: Callable[[str], str]) -> Callable[[str], str]:
    """A field's own normaliser: the value its validator accepts it as (every spelling of one
    credit code or phone gives the same key); a value it refuses, by rules.identity.normalise."""
    def key(value: str) -> str:
        try:
            return validator(value)
        except InvalidValue:
            return normalise(value)
    return key


def form_key(*fields: str, using: Callable[[str], str] = normalise):
    """A key function: the values of form ``fields`` (the target of a request), each as its
    field's normaliser ``using`` spells it, so a re-spelt value counts against the same limit."""
    def key() -> str:
        return "|".join(using(request.form.get(f) or "") for f in fields)
    return key


def csp_nonce() -> str:
    """This response's CSP nonce, for the few script tags the templates write."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def rate_limited_page(retry_at: dt.datetime | None, message: str = ""):
    """The Chinese 429 answer: what was limited and when to try again (naive UTC)."""
    from models.clock import shown as office_time
    from models.sessions import now

    seconds = max(1, int((retry_at - now()).total_seconds())) if retry_at else 60
    html = render_template("rate_limited.html", message=message, title="请稍后再试",
                           retry_at=office_time(retry_at) if retry_at else "",
                           minutes=(seconds + 59) // 60)
    return html, 429, {"Retry-After": str(seconds)}


def _rate_limit_exceeded(error: RateLimitExceeded):
    current = limiter.current_limit
    retry_at = None
    if current is not None:
        retry_at = dt.datetime.fromtimestamp(current.reset_at, dt.UTC).replace(tzinfo=None)
    return rate_limited_page(retry_at, "操作过于频繁")


def _headers(response):
    csp = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
           "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; "
           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp.format(nonce=csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["HTTPS"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app) -> None:
    """Defaults for unset settings, then ProxyFix, the limiter, headers and the 429 page."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    https = bool(app.config["HTTPS"] or app.config.get("SESSION_COOKIE_SECURE"))
    app.config["HTTPS"] = https
    app.config.update(SESSION_COOKIE_SECURE=https, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=https,
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
                      RATELIMIT_STORAGE_URI=_storage_uri(app))
    proxies = int(app.config["TRUSTED_PROXIES"] or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    limiter.init_app(app)
    app.after_request(_headers)
    app.register_error_handler(RateLimitExceeded, _rate_limit_exceeded)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
