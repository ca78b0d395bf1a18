"""Fixtures: one migrated, seeded database per run; every test runs in a rolled-back transaction.

``DATABASE_URL`` selects PostgreSQL; its ``public`` schema is dropped and rebuilt per run.
"""
from __future__ import annotations

import os
import re

import flask_migrate
import pytest
import sqlalchemy as sa
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import orm

from app import create_app
from models import db
from models.demo import DEMO_PASSWORD, load_demo

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
        "ARGON2_PARAMS": CHEAP_ARGON2,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
    })
    with app.app_context():
        flask_migrate.upgrade()
        load_demo()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(app):
    """Run the test inside one outer transaction; the app's commits become savepoints."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = orm.scoped_session(
            orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id)
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as under a real server.

    The test's own app context (held by ``_rollback``) would otherwise be reused, and with
    it ``g`` (Flask-Login's cached user) and the test's session.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # streamed bodies finish inside the request
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)
            db.session.expire_all()  # what the request committed is read afresh


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client) -> str:
    """A CSRF token for the client's session, scraped from the login page."""
    html = client.get("/login").get_data(as_text=True)
    return CSRF_RE.search(html).group(1)


def login(client, kind, login_name, unit_code="", password=DEMO_PASSWORD):
    """Post the login form as a browser would; returns the response (not followed)."""
    return client.post("/login", data={
        "kind": kind, "unit_code": unit_code, "login": login_name, "password": password,
        "csrf_token": csrf_token(client)})


UNIT_A = "91330106MA2ABCDE1G"
UNIT_B = "91330902MA2XYW0Q7T"
REP_A = "330106198507210020"
REP_B = "330902199002270055"
PERSON = "360426199101010071"


@pytest.fixture
def as_staff(client):
    def _as(username):
        assert login(client, "staff", username).status_code == 302
        return client
    return _as


@pytest.fixture
def unit_a(client):
    assert login(client, "unit", REP_A, UNIT_A).status_code == 302
    return client


@pytest.fixture
def person_client(client):
    assert login(client, "person", PERSON).status_code == 302
    return client


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters start empty in every test: one app and one address serve them all."""
    from views.security import limiter

    limiter.reset()


class Clock:
    """The security clock (``models.sessions.now``), frozen; a test moves it by hand."""

    def __init__(self):
        from models.base import utcnow

        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        import datetime as dt

        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock()
    monkeypatch.setattr("models.sessions.now", frozen)
    return frozen


S3_BUCKET = "wangban-test"


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free port of this machine, over real HTTP, with one bucket."""
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        # boto3 reads credentials and region from the environment, as in production.
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=S3_BUCKET)
        yield endpoint
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage_kind(request, app, monkeypatch):
    """The app's file store for one test: the local directory, or S3 on moto's server."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        monkeypatch.setitem(app.config, "STORAGE_URL", f"s3://{S3_BUCKET}/uploads")
        monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", endpoint)
        monkeypatch.setitem(app.config, "S3_ADDRESSING_STYLE", "path")
    return request.param
