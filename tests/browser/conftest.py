"""Browser fixtures: a live server on its own migrated, seeded database, and one Chromium.

The live server runs in a thread (werkzeug ``make_server``) against a temporary SQLite file,
or, with ``DATABASE_URL`` set, against a ``browser`` schema of that PostgreSQL database, so
the rolled-back test session of the other tests is never shared with a second thread.
Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``); a missing browser
fails the run rather than skipping it.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from app import create_app
from models import db
from models.demo import load_demo
from tests.browser.pages import Visitor
from tests.conftest import CHEAP_ARGON2

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCHEMA = "browser"


@pytest.fixture(autouse=True)
def _rollback():
    """The live server commits for real; these tests do not share the rolled-back session."""
    yield


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'live.sqlite3'}"
    # The same PostgreSQL database as the suite, in a schema of its own.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    return sa.make_url(url).update_query_dict(
        {"options": f"-csearch_path={SCHEMA}"}).render_as_string(hide_password=False)


def _buffered(app):
    """The app with each response body read whole before it is sent: a browser that leaves
    a page mid-load drops its requests, and werkzeug then leaks an open static file (which
    pytest's warnings-as-errors would blame on whichever test runs next)."""
    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()
    return wsgi


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The base URL of the app served on a free 127.0.0.1 port, with the demo data."""
    app = create_app({
        "SECRET_KEY": "browser",
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
        "ARGON2_PARAMS": CHEAP_ARGON2,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("browser-uploads")),
    })
    with app.app_context():
        flask_migrate.upgrade()
        load_demo()
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def visitor(browser, live_server):
    """A fresh browser context (no cookies) at 1366×768 with its page's problems recorded."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  base_url=live_server)
    context.set_default_timeout(10_000)
    visitor = Visitor(context.new_page(), live_server)
    yield visitor
    context.close()
