"""One person per login phone under concurrency, on two real PostgreSQL connections.

Two counters open two new people with the same phone at the same moment (开通, or a
registration verified), each holding its transaction open after the check. Without a lock on
the number both found it free and both committed: two people holding one login phone, the
very state 重复手机号 exists to clean up. With it the second waits for the first and is refused.
"""
from __future__ import annotations

import os
import random
import threading
import time

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import orm

from models import Person, db
from models.accounts import PHONE_TAKEN, AccountRefused, person_for
from models.demo import make_id_no

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs two PostgreSQL connections (DATABASE_URL)")

PHONE = "13912340077"


def test_two_new_people_with_one_phone_at_once_one_is_refused(app):
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with orm.Session(engine) as s:
        used = set(s.scalars(sa.select(Person.id_no)))
    rng = random.Random(4242)
    id_nos = [make_id_no(rng, used) for _ in range(2)]
    barrier, outcomes = threading.Barrier(2), []
    test_session = db.session
    db.session = orm.scoped_session(orm.sessionmaker(bind=engine), scopefunc=_app_ctx_id)

    def open_person(n):
        with app.app_context():
            try:
                barrier.wait()
                person_for(id_nos[n], f"并发手机{n}", PHONE, in_person=True)
                time.sleep(0.5)  # hold the transaction open: the other one runs meanwhile
                db.session.commit()
                outcomes.append("added")
            except AccountRefused as refusal:
                db.session.rollback()
                outcomes.append(str(refusal))
            finally:
                db.session.remove()

    try:
        threads = [threading.Thread(target=open_person, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with engine.connect() as conn:
            holders = conn.scalar(sa.select(sa.func.count()).select_from(Person).where(
                Person.phone == PHONE))
        assert holders == 1
        assert sorted(outcomes) == sorted(["added", PHONE_TAKEN])
    finally:
        db.session.remove()
        db.session = test_session
        with engine.begin() as conn:
            conn.execute(sa.delete(Person).where(Person.id_no.in_(id_nos)))
        engine.dispose()
