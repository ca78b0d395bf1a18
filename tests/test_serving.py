"""Production serving: settings, SQLite write locks, health, metrics, request logs, error pages."""
from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from werkzeug.exceptions import TooManyRequests

import observability
from app import create_app
from models import Unit, db
from models.base import configure_engine
from models.sms import outbox_sender
from settings import Settings, SettingsError
from tests.conftest import csrf_token, login


def _metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- settings ------------------------------------------------------------------------------

def test_settings_are_read_typed_from_the_environment():
    settings = Settings.from_env({
        "SESSION_IDLE_SECONDS": "600", "HTTPS": "true", "TRUSTED_PROXIES": "1",
        "REDIS_URL": "redis://127.0.0.1:6379/13", "EXPORT_MAX_ROWS": "50", "LOG_FORMAT": ""})
    config = settings.app_config()
    assert config["SESSION_IDLE_SECONDS"] == 600
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["TRUSTED_PROXIES"] == 1
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/13"  # from REDIS_URL
    assert config["LOG_FORMAT"] == "text"  # empty means unset: development default
    assert Settings.from_env({}).app_config()["RATELIMIT_STORAGE_URI"] == "memory://"
    assert Settings.from_env({"WANGBAN_ENV": "production"}).app_config()["LOG_FORMAT"] == "json"


@pytest.mark.parametrize("env, words", [
    ({"SESSION_IDLE_SECONDS": "half an hour"}, "SESSION_IDLE_SECONDS"),
    ({"HTTPS": "maybe"}, "HTTPS"),
    ({"LOG_FORMAT": "xml"}, "json / text"),
    ({"WANGBAN_ENV": "prod"}, "development / production"),
    ({"GUNICORN_THREADS": "0"}, "必须大于 0"),
])
def test_malformed_settings_are_refused_by_name(env, words):
    with pytest.raises(SettingsError, match=words):
        Settings.from_env(env)


def test_environment_reaches_app_config_and_the_factory_dict_still_wins(
        app, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPORT_MAX_ROWS", "7")
    monkeypatch.setenv("SMS_SENDER", "models.sms:outbox_sender")
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "up"))
    base = {"SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}
    from_env = create_app(base)
    assert from_env.config["EXPORT_MAX_ROWS"] == 7
    assert from_env.config["UPLOAD_DIR"] == str(tmp_path / "up")
    assert from_env.config["SMS_SENDER"] is outbox_sender  # an import path becomes the callable
    overridden = create_app({**base, "EXPORT_MAX_ROWS": 3})
    assert overridden.config["EXPORT_MAX_ROWS"] == 3


def test_production_refuses_a_missing_secret_key_and_sqlite(monkeypatch, tmp_path):
    monkeypatch.setenv("WANGBAN_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SettingsError) as refused:
        create_app()
    assert "SECRET_KEY" in str(refused.value) and "SQLite" in str(refused.value)
    with pytest.raises(SettingsError, match="SQLite"):
        create_app({"SECRET_KEY": "s" * 64})
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1/h13"})
    assert not (tmp_path / "secret_key").exists()
    ok = create_app({"SECRET_KEY": "s" * 64,
                     "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1/h13"})
    assert ok.config["WANGBAN_ENV"] == "production"


def test_export_max_rows_caps_an_export(app, unit_a, monkeypatch):
    full = list(csv.reader(io.StringIO(
        unit_a.get("/unit/unit_enrollment/export/csv/").get_data(as_text=True))))
    assert len(full) - 1 > 3
    monkeypatch.setitem(app.config, "EXPORT_MAX_ROWS", 3)
    before = _metric("wangban_export_rows_total", format="csv")
    capped = list(csv.reader(io.StringIO(
        unit_a.get("/unit/unit_enrollment/export/csv/").get_data(as_text=True))))
    assert len(capped) - 1 == 3
    assert capped[1:] == full[1:4]
    assert _metric("wangban_export_rows_total", format="csv") - before == 3


# --- SQLite: writers take the lock up front --------------------------------------------------

def _engine(path, write_intent):
    engine = sa.create_engine(f"sqlite:///{path}")
    configure_engine(engine, write_intent=write_intent)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    return engine


def _read_then_write_while_another_commits(engine, other) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM t").scalar()  # read: a snapshot is taken
        with other.begin() as conn2:
            conn2.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")  # then write


def test_a_deferred_transaction_fails_at_once_where_begin_immediate_waits(tmp_path):
    deferred = _engine(tmp_path / "a.db", lambda: False)
    other = _engine(tmp_path / "a.db", lambda: False)
    with pytest.raises(sa.exc.OperationalError, match="database is locked"):
        _read_then_write_while_another_commits(deferred, other)

    # With write intent the second writer waits for the first to commit, then succeeds.
    immediate = _engine(tmp_path / "b.db", lambda: True)
    holder = _engine(tmp_path / "b.db", lambda: True)
    held, results = threading.Event(), []

    def hold_the_lock():
        with holder.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            held.set()
            time.sleep(0.3)

    thread = threading.Thread(target=hold_the_lock)
    thread.start()
    held.wait()
    started = time.perf_counter()
    with immediate.begin() as conn:
        results.append(conn.exec_driver_sql("SELECT count(*) FROM t").scalar())
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    thread.join()
    assert results == [1]  # it saw the holder's commit: it waited, it did not fail
    assert time.perf_counter() - started >= 0.2
    with immediate.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
    for engine in (deferred, other, immediate, holder):
        engine.dispose()


def test_a_database_still_locked_answers_503_in_chinese(app, client, monkeypatch):
    def locked():
        raise sa.exc.OperationalError("BEGIN IMMEDIATE", {},
                                      sqlite3.OperationalError("database is locked"))

    monkeypatch.setitem(app.view_functions, "auth.login", locked)
    response = client.get("/login")
    assert response.status_code == 503
    assert "系统繁忙，请稍后重试" in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"


# --- health and metrics ------------------------------------------------------------------------

def test_healthz_checks_database_redis_and_storage_without_login(app, client, monkeypatch):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "storage"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "test" not in json.dumps(body)  # the secret key (and URLs) are never shown

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://:hunter2@127.0.0.1:1/13")
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.json["status"] == "fail"
    assert down.json["checks"]["redis"]["ok"] is False
    assert down.json["checks"]["database"]["ok"] is True
    assert "hunter2" not in down.get_data(as_text=True)


def test_healthz_reports_unwritable_storage(app, client, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(blocker / "uploads"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["storage"]["ok"] is False


def test_metrics_count_requests_logins_and_refusals(client):
    ok_before = _metric("wangban_logins_total", outcome="success")
    failed_before = _metric("wangban_logins_total", outcome="failed")
    refused_before = _metric("wangban_refusals_total", kind="forbidden")
    assert login(client, "staff", "clerk", password="wrong").status_code == 401
    assert login(client, "unit", "330106198507210020", "91330106MA2ABCDE1G").status_code == 302
    assert client.get("/admin/").status_code == 403  # a unit member on the staff console
    assert _metric("wangban_logins_total", outcome="success") - ok_before == 1
    assert _metric("wangban_logins_total", outcome="failed") - failed_before == 1
    assert _metric("wangban_refusals_total", kind="forbidden") - refused_before == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 'wangban_http_requests_total{endpoint="auth.login",method="POST",status="302"}' in text
    assert 'wangban_http_request_duration_seconds_bucket{endpoint="auth.login"' in text
    assert "wangban_import_rows_total" in text and "wangban_export_rows_total" in text


# --- request log and error pages ----------------------------------------------------------------

@pytest.fixture
def log_lines():
    """The ``wangban`` log as JSON lines, as production writes them to stdout."""
    stream = io.StringIO()
    observability.configure_logging("json", stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    observability.configure_logging("text")


def test_each_request_logs_one_json_line_with_id_account_endpoint_status_duration(
        unit_a, log_lines):
    response = unit_a.get("/unit/", headers={"X-Request-ID": "desk-4711-abcdef"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "desk-4711-abcdef"
    line = [entry for entry in log_lines() if entry.get("request_id") == "desk-4711-abcdef"]
    assert len(line) == 1
    assert line[0]["endpoint"] == "unit.index" and line[0]["status"] == 200
    assert line[0]["account"] != "-" and line[0]["duration_ms"] >= 0
    assert line[0]["level"] == "INFO"
    generated = unit_a.get("/unit/", headers={"X-Request-ID": "bad id<script>"})
    assert generated.headers["X-Request-ID"] != "bad id<script>"


def test_an_unhandled_error_is_logged_with_traceback_and_answered_in_chinese(
        app, client, monkeypatch, log_lines):
    def broken():
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "auth.login", broken)
    response = client.get("/login")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    rid = response.headers["X-Request-ID"]
    assert "系统错误" in html and rid in html and "the disk is full" not in html
    errors = [e for e in log_lines() if e.get("request_id") == rid and e["level"] == "ERROR"]
    assert len(errors) == 1
    assert "RuntimeError: the disk is full" in errors[0]["exc_info"]
    assert "Traceback" in errors[0]["exc_info"]


@pytest.mark.parametrize("method, url, status, words", [
    ("get", "/no/such/page/", 404, "页面不存在"),
    ("get", "/logout", 405, "操作方式不正确"),
    ("post", "/login", 400, "请求有误"),  # no CSRF token
])
def test_http_errors_answer_chinese_pages_with_the_request_id(
        client, method, url, status, words):
    response = getattr(client, method)(url)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert words in html and response.headers["X-Request-ID"] in html
    assert "Not Found" not in html and "Method Not Allowed" not in html
    if status == 405:
        assert "POST" in response.headers["Allow"]


def test_flask_admin_403_and_404_reach_the_chinese_pages(unit_a, person_client):
    # person_client logged the shared client in as an individual
    forbidden = person_client.get("/unit/unit_enrollment/")
    assert forbidden.status_code == 403
    assert "无权访问" in forbidden.get_data(as_text=True)
    missing = person_client.get("/me/me_contribution/details/?id=999999999")
    assert missing.status_code == 404
    assert "页面不存在" in missing.get_data(as_text=True)


def test_too_large_an_upload_answers_413_in_chinese(app, unit_a, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = unit_a.post("/login", data={"csrf_token": csrf_token(unit_a),
                                           "file": (io.BytesIO(b"x" * 4096), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "上传文件过大" in response.get_data(as_text=True)


def test_429_shows_the_limiters_message_and_retry_after(app, client, monkeypatch):
    def limited():
        raise TooManyRequests("登录尝试过于频繁", retry_after=90)

    monkeypatch.setitem(app.view_functions, "auth.login", limited)
    before = _metric("wangban_refusals_total", kind="rate_limited")
    response = client.get("/login")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "90"
    html = response.get_data(as_text=True)
    assert "登录尝试过于频繁" in html and "<strong>90</strong> 秒后重试" in html
    assert _metric("wangban_refusals_total", kind="rate_limited") - before == 1
    as_json = client.get("/login", headers={"Accept": "application/json"})
    assert as_json.status_code == 429
    assert as_json.json["retry_after"] == 90 and as_json.json["request_id"]


def test_error_page_of_a_logged_in_user_links_to_his_console(unit_a):
    response = unit_a.get("/unit/no-such-page/")
    assert response.status_code == 404
    assert 'href="/unit/"' in response.get_data(as_text=True)


def test_import_rows_are_counted(app):
    from models import ImportBatch, ServiceItem

    before = _metric("wangban_import_rows_total", outcome="good")
    unit = db.session.scalars(sa.select(Unit)).first()
    item = db.session.scalars(sa.select(ServiceItem)).first()
    db.session.add(ImportBatch(unit_id=unit.id, item_id=item.id, file_name="a.xlsx",
                               sha256="0" * 64, rows_total=5, rows_good=4, rows_bad=1))
    db.session.flush()
    assert _metric("wangban_import_rows_total", outcome="good") - before == 4


def test_logging_stays_quiet_about_static_files(client, log_lines):
    client.get("/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css")
    assert not [e for e in log_lines() if e.get("endpoint", "").endswith("static")]



def test_a_locked_database_in_a_flask_admin_form_flashes_busy_not_sql(
        as_staff, app, monkeypatch):
    from models import Holiday
    from views.base import ScopedModelView

    def locked(self, form, model, is_created):
        raise sa.exc.OperationalError("INSERT INTO holiday", {},
                                      sqlite3.OperationalError("database is locked"))

    client = as_staff("admin")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Holiday))
    monkeypatch.setattr(ScopedModelView, "on_model_change", locked)
    response = client.post("/admin/admin_holiday/new/", data={
        "csrf_token": csrf_token(client), "day": "2031-01-02", "workday": "", "name": "测试"},
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "系统繁忙，请稍后重试" in html and "INSERT INTO" not in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Holiday)) == before


def test_make_serve_checks_the_environment_before_migrating(monkeypatch, capsys):
    import settings

    monkeypatch.setenv("WANGBAN_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/h13")
    assert settings.main() == 2
    assert "未设置 SECRET_KEY" in capsys.readouterr().err
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    assert settings.main() == 0
    monkeypatch.setenv("WEB_CONCURRENCY", "two")
    assert settings.main() == 2
    assert "WEB_CONCURRENCY" in capsys.readouterr().err


def test_gunicorn_takes_workers_class_threads_and_address_from_settings(monkeypatch):
    import runpy
    from pathlib import Path

    conf = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    monkeypatch.setenv("BIND", "127.0.0.1:8613")
    values = runpy.run_path(str(conf))
    assert (values["workers"], values["worker_class"], values["threads"], values["bind"]) == \
        (3, "gthread", 6, "127.0.0.1:8613")
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    assert runpy.run_path(str(conf))["threads"] == 1  # a sync worker: one request at a time
    assert values["wsgi_app"] == "app:create_app()"


def test_a_worker_freezes_what_the_built_app_holds():
    """gunicorn's post_worker_init freezes the objects alive once the app is built, so a
    request's garbage collections no longer walk the app's routes, templates and mappers."""
    import gc
    import runpy
    from pathlib import Path

    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        conf["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_views_that_write_on_get_take_the_write_lock_up_front(app):
    """A GET that writes (the audit of a viewed record, a certificate, a receipt) says so,
    and on SQLite its transaction then begins IMMEDIATE like a POST's: reading first and
    writing later fails at once with SQLITE_BUSY when another request wrote meanwhile."""
    from app import _request_writes

    for endpoint in ("admin_person.details_view", "unit_query.certificate",
                     "me_query.certificate", "unit_filing.receipt"):
        assert getattr(app.view_functions[endpoint], "writes_on_get", False), endpoint
    with app.test_request_context("/unit/query/certificate/"):
        assert _request_writes()
    with app.test_request_context("/admin/admin_person/details/?id=1"):
        assert _request_writes()
    with app.test_request_context("/unit/"):
        assert not _request_writes()
    with app.test_request_context("/unit/", method="POST"):
        assert _request_writes()


def test_an_uncaught_refusal_answers_its_status_with_its_chinese_message(app, monkeypatch):
    """A models.errors.Refusal no view catches is not a 500: the error page carries its
    status and its message (views/errors.handle_refusal)."""
    import views.account
    from models.errors import Refusal

    def refuse(*args, **kwargs):
        raise Refusal("该业务暂停办理，请到经办窗口办理", status=409)

    monkeypatch.setattr(views.account, "check_legacy", refuse)
    client = app.test_client()
    response = client.post("/upgrade", data={
        "csrf_token": csrf_token(client), "old_system": "HZ_WB",
        "old_login": "hzold1", "secret": "x"})
    assert response.status_code == 409
    assert "该业务暂停办理，请到经办窗口办理" in response.get_data(as_text=True)
