"""A legacy upgrade submitted twice at once (a double click on 提交), on two real PostgreSQL
connections: one brings the unit online, the other is told it already has been, never a 500
(without a lock both passed the checks and the second died on a unique constraint)."""
from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa
from sqlalchemy import orm
from stdnum.cn import uscc

from models import Account, AuditEvent, Grant, Person, Unit, db
from models.account import hash_password
from models.demo import make_id_no
from models.legacy import LegacyAccount
from models.upgrade import upgrade_legacy
from tests.races import own_connections, postgresql_only, race

pytestmark = postgresql_only


def _setup(engine):
    with orm.Session(engine) as s:
        used = set(s.scalars(sa.select(Person.id_no)))
        rng = random.Random(5151)
        base = "91330106MA2UPGR0" + str(rng.randrange(10))
        unit = Unit(uscc=base + uscc.calc_check_digit(base), unit_no="L9901",
                    name="并发升级有限公司", region_code="330106", online_status="cancelled")
        admin = Person(id_no=make_id_no(rng, used), name="并发管理员", phone="13912340088")
        rep = Person(id_no=make_id_no(rng, used), name="并发法人", phone="13912340089")
        s.add_all([unit, admin, rep])
        s.flush()
        s.add(Account(kind="individual", person_id=admin.id, display_name=admin.name,
                      login_key=f"person:{admin.id}", password_hash=hash_password("x"),
                      must_change_password=False))
        legacy = LegacyAccount(old_system="HZ_WB", old_login="hzrace01", unit_id=unit.id,
                               secret_hash="!")
        s.add(legacy)
        s.commit()
        return unit.id, admin.id, legacy.id, rep.id_no


def _cleanup(engine, unit_id, admin_id, rep_id_no):
    with engine.begin() as conn:
        accounts = [a for a in conn.scalars(sa.select(Account.id).where(sa.or_(
            Account.unit_id == unit_id, Account.person_id == admin_id)))]
        conn.execute(sa.delete(AuditEvent).where(sa.or_(
            sa.and_(AuditEvent.object_type == "Unit", AuditEvent.object_id == str(unit_id)),
            AuditEvent.actor_id.in_(accounts))))
        conn.execute(sa.delete(Account).where(Account.id.in_(accounts)))
        conn.execute(sa.delete(Grant).where(Grant.unit_id == unit_id))
        conn.execute(sa.delete(LegacyAccount).where(LegacyAccount.unit_id == unit_id))
        conn.execute(sa.delete(Unit).where(Unit.id == unit_id))
        conn.execute(sa.delete(Person).where(sa.or_(Person.id == admin_id,
                                                    Person.id_no == rep_id_no)))


def test_two_upgrades_of_one_old_login_at_once_one_is_told_it_is_done(app):
    with own_connections(app) as engine:
        unit_id, admin_id, legacy_id, rep_id_no = _setup(engine)

        def upgrade():
            rows = [db.session.get(LegacyAccount, legacy_id)]
            admin = db.session.get(Person, admin_id)
            upgrade_legacy(rows, rep_id_no=rep_id_no, rep_name="并发法人",
                           rep_phone="13912340089", admin=admin, password="Race#Pass2026",
                           today=dt.date(2026, 11, 29))

        try:
            outcomes = race(app, upgrade, [(), ()], done="upgraded")
            with engine.connect() as conn:
                reps = conn.scalar(sa.select(sa.func.count()).select_from(Grant).where(
                    Grant.unit_id == unit_id, Grant.level == "legal_rep"))
            assert reps == 1
            assert sorted(outcomes) == sorted(["upgraded", "该账号已升级，请使用新单位编号登录"])
        finally:
            _cleanup(engine, unit_id, admin_id, rep_id_no)
