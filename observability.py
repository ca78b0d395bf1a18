"""Request ids, one log line per request (JSON or text, to stdout), and the Prometheus metrics.

The counters below are the ones other code increments (``LOGINS``, ``REFUSALS``,
``IMPORT_ROWS``, ``EXPORT_ROWS``); ``/metrics`` (views/health.py) exposes them. Under gunicorn
``PROMETHEUS_MULTIPROC_DIR`` (set by gunicorn.conf.py) makes every worker's values add up.
"""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TextIO

import sqlalchemy as sa
from flask import Flask, g, request
from prometheus_client import Counter, Histogram
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("wangban")

REQUESTS = Counter("wangban_http_requests_total", "HTTP requests answered",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("wangban_http_request_duration_seconds",
                    "Time to answer a request (streamed bodies: until the first byte)",
                    ["endpoint", "status"],
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
#: Login attempts by outcome: success, failed (wrong credentials), refused (locked,
#: cancelled, expired grant), invalid (form errors).
LOGINS = Counter("wangban_logins_total", "Login attempts", ["outcome"])
#: Operations refused: ``kind`` names the refusal (forbidden = an HTTP 403, rate_limited =
#: 429; code raising a Refusal may count it under its class name).
REFUSALS = Counter("wangban_refusals_total", "Operations refused", ["kind"])
IMPORT_ROWS = Counter("wangban_import_rows_total", "Rows read from uploaded import files",
                      ["outcome"])
EXPORT_ROWS = Counter("wangban_export_rows_total", "Rows written to list exports", ["format"])

LOGIN_OUTCOMES = {302: "success", 401: "failed", 403: "refused", 400: "invalid",
                  429: "rate_limited"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: What a text log line shows after the message.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def counted_chunks(chunks: Iterable[list], export_format: str) -> Iterator[list]:
    """Pass chunks of rows through, adding each chunk's rows to ``EXPORT_ROWS``."""
    counter = EXPORT_ROWS.labels(export_format)
    for chunk in chunks:
        counter.inc(len(chunk))
        yield chunk


def request_id() -> str:
    """This request's id (also sent back as ``X-Request-ID``): the caller's, if well formed."""
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    return g.request_id


def _account() -> str:
    # Only an account Flask-Login already loaded: logging must not query the database.
    user = g.get("_login_user")
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    identity = state.identity if state is not None else None  # read without loading
    return str(identity[0]) if identity else "-"


def configure_logging(log_format: str, stream: TextIO | None = None) -> None:
    """One handler on the ``wangban`` logger, JSON or text, to ``stream`` (stdout)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level"}, json_ensure_ascii=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    for old in list(log.handlers):
        log.removeHandler(old)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def request_fields(status: int | None = None) -> dict:
    """The fields every log line about a request carries."""
    fields = {"request_id": request_id(), "account": _account(),
              "endpoint": request.endpoint or "-", "method": request.method,
              "path": request.path}
    if status is not None:
        fields["status"] = status
    return fields


def init_app(app: Flask) -> None:
    """Request ids, timing, the request log line and request metrics."""
    configure_logging(app.config.get("LOG_FORMAT", "text"))
    count_imports()

    def _start():
        request_id()
        g.request_started = time.perf_counter()

    # First of all hooks: a request refused by an earlier hook (CSRF) is timed and logged too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _finish(response):
        started = g.get("request_started")
        if started is None:  # before_request never ran (an error in an earlier hook)
            return response
        duration = time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"
        status = response.status_code
        response.headers["X-Request-ID"] = request_id()
        REQUESTS.labels(endpoint, request.method, str(status)).inc()
        LATENCY.labels(endpoint, str(status)).observe(duration)
        if endpoint == "auth.login" and request.method == "POST":
            LOGINS.labels(LOGIN_OUTCOMES.get(status, "other")).inc()
        if status == 403:
            REFUSALS.labels("forbidden").inc()
        elif status == 429:
            REFUSALS.labels("rate_limited").inc()
        if endpoint != "static" and not endpoint.endswith(".static"):
            fields = {**request_fields(status), "duration_ms": round(duration * 1000, 1)}
            log.info("%(method)s %(path)s %(status)s %(duration_ms)sms account=%(account)s "
                     "request_id=%(request_id)s", fields, extra=fields)
        return response


def _count_import(_mapper, _connection, batch) -> None:
    IMPORT_ROWS.labels("good").inc(batch.rows_good or 0)
    IMPORT_ROWS.labels("bad").inc(batch.rows_bad or 0)


def count_imports() -> None:
    """Count every checked import file's rows as its batch is stored."""
    from models import ImportBatch

    if not sa.event.contains(ImportBatch, "after_insert", _count_import):
        sa.event.listen(ImportBatch, "after_insert", _count_import)

