"""One person per login phone under concurrency, on two real PostgreSQL connections.

Two counters open two new people with the same phone at the same moment (开通, or a
registration verified), each holding its transaction open after the check. Without a lock on
the number both found it free and both committed: two people holding one login phone, the
very state 重复手机号 exists to clean up. With it the second waits for the first and is refused.
"""
from __future__ import annotations

import random

import sqlalchemy as sa
from sqlalchemy import orm

from models import Person
from models.accounts import PHONE_TAKEN, person_for
from models.demo import make_id_no
from tests.races import own_connections, postgresql_only, race

pytestmark = postgresql_only

PHONE = "13912340077"


def test_two_new_people_with_one_phone_at_once_one_is_refused(app):
    with own_connections(app) as engine:
        with orm.Session(engine) as s:
            used = set(s.scalars(sa.select(Person.id_no)))
        rng = random.Random(4242)
        id_nos = [make_id_no(rng, used) for _ in range(2)]
        try:
            outcomes = race(app, lambda n: person_for(id_nos[n], f"并发手机{n}", PHONE,
                                                      in_person=True),
                            [(0,), (1,)], done="added")
            with engine.connect() as conn:
                holders = conn.scalar(sa.select(sa.func.count()).select_from(Person).where(
                    Person.phone == PHONE))
            assert holders == 1
            assert sorted(outcomes) == sorted(["added", PHONE_TAKEN])
        finally:
            with engine.begin() as conn:
                conn.execute(sa.delete(Person).where(Person.id_no.in_(id_nos)))
