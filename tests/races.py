"""Two requests at once on two real PostgreSQL connections, for the race tests.

``own_connections`` gives every app context its own session (so each thread holds its own
transaction); ``race`` starts the contenders together and holds each transaction open after
its work, so the other runs meanwhile."""
from __future__ import annotations

import contextlib
import os
import threading
import time

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import orm

from models import db
from models.errors import Refusal

#: The race tests' mark: SQLite has one writer, so two transactions never overlap there.
postgresql_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs two PostgreSQL connections (DATABASE_URL)")


@contextlib.contextmanager
def own_connections(app):
    """Yields an engine on the test database; db.session is one session per app context
    meanwhile, the test's own session afterwards."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    test_session = db.session
    db.session = orm.scoped_session(orm.sessionmaker(bind=engine), scopefunc=_app_ctx_id)
    try:
        yield engine
    finally:
        db.session.remove()
        db.session = test_session
        engine.dispose()


def race(app, work, contenders: list[tuple], done: str) -> list[str]:
    """``work(*args)`` for each contender in a thread of its own, all released at once, each
    committing half a second after its work. Per contender: ``done``, a refusal's message,
    or the name of any other error (what a request would answer with a 500)."""
    barrier, outcomes = threading.Barrier(len(contenders)), []

    def run(args):
        with app.app_context():
            try:
                barrier.wait()
                work(*args)
                time.sleep(0.5)  # hold the transaction open: the other one runs meanwhile
                db.session.commit()
                outcomes.append(done)
            except Refusal as refusal:
                db.session.rollback()
                outcomes.append(refusal.message)
            except Exception as error:
                db.session.rollback()
                outcomes.append(type(error).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(args,)) for args in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes
