"""Delegation limits under concurrency, on two real PostgreSQL connections.

Two legal-representative sessions add an administrator to the same unit at the same moment;
each holds its transaction open after adding. Without the unit row lock both counted zero
administrators and both committed (the finding: 2 administrators, 12 agents). With it the
second waits for the first and is refused.
"""
from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa
from sqlalchemy import orm
from stdnum.cn import uscc

from models import Account, AuditEvent, Grant, Person, Unit, db
from models.demo import make_id_no
from models.operations import By, add_member
from rules.codes import AccountKind, GrantLevel
from rules.permissions import Actor
from tests.races import own_connections, postgresql_only, race

pytestmark = postgresql_only


def _setup(engine):
    """A committed unit with a legal representative and two candidates; returns their ids."""
    with orm.Session(engine) as s:
        used = set(s.scalars(sa.select(Person.id_no)))
        rng = random.Random(1111)
        base = "91330106MA2CNCT0" + str(rng.randrange(10))
        unit = Unit(uscc=base + uscc.calc_check_digit(base), unit_no="3301069901",
                    name="并发测试单位", region_code="330106")
        people = [Person(id_no=make_id_no(rng, used), name=f"并发{n}") for n in range(3)]
        s.add_all([unit, *people])
        s.flush()
        s.add(Grant(unit_id=unit.id, person_id=people[0].id, level=GrantLevel.LEGAL_REP,
                    valid_from=dt.date(2020, 1, 1)))
        rep = Account(kind=AccountKind.UNIT_MEMBER, person_id=people[0].id, unit_id=unit.id,
                      login_key=Account.key_for(AccountKind.UNIT_MEMBER,
                                                person_id=people[0].id, unit_id=unit.id),
                      password_hash="!")
        s.add(rep)
        s.commit()
        return unit.id, rep.id, [p.id for p in people]


def _cleanup(engine, unit_id, person_ids):
    with engine.begin() as conn:
        grant_ids = [str(i) for i in conn.scalars(sa.select(Grant.id).where(
            Grant.unit_id == unit_id))]
        conn.execute(sa.delete(AuditEvent).where(AuditEvent.object_type == "Grant",
                                                 AuditEvent.object_id.in_(grant_ids)))
        conn.execute(sa.delete(Account).where(Account.unit_id == unit_id))
        conn.execute(sa.delete(Grant).where(Grant.unit_id == unit_id))
        conn.execute(sa.delete(Unit).where(Unit.id == unit_id))
        conn.execute(sa.delete(Person).where(Person.id.in_(person_ids)))


def test_two_concurrent_administrators_one_is_refused(app):
    with own_connections(app) as engine:
        unit_id, rep_account, people = _setup(engine)
        actor = Actor(rep_account, AccountKind.UNIT_MEMBER, person_id=people[0],
                      unit_id=unit_id, grant_level=GrantLevel.LEGAL_REP)

        def add(person_id):
            person = db.session.get(Person, person_id)
            today = dt.date.today()
            add_member(By(actor), person, GrantLevel.ADMIN, today, None, set(), today)

        try:
            outcomes = race(app, add, [(p,) for p in people[1:]], done="added")
            with engine.connect() as conn:
                admins = conn.scalar(sa.select(sa.func.count()).select_from(Grant).where(
                    Grant.unit_id == unit_id, Grant.level == GrantLevel.ADMIN))
            assert admins == 1
            refused = "每个单位同一时间最多1个管理员（授权期间内已满）"
            assert sorted(outcomes) == sorted(["added", refused])
        finally:
            _cleanup(engine, unit_id, people)
