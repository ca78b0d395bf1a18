"""A legacy upgrade submitted twice at once (a double click on 提交), on two real PostgreSQL
connections: one brings the unit online, the other is told it already has been, never a 500
(without a lock both passed the checks and the second died on a unique constraint)."""
from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import orm
from stdnum.cn import uscc

from models import Account, AuditEvent, Grant, Person, Unit, db
from models.account import hash_password
from models.accounts import AccountRefused
from models.demo import make_id_no
from models.legacy import LegacyAccount
from models.upgrade import upgrade_legacy

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs two PostgreSQL connections (DATABASE_URL)")


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
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    unit_id, admin_id, legacy_id, rep_id_no = _setup(engine)
    barrier, outcomes = threading.Barrier(2), []
    test_session = db.session
    db.session = orm.scoped_session(orm.sessionmaker(bind=engine), scopefunc=_app_ctx_id)

    def upgrade():
        with app.app_context():
            try:
                rows = [db.session.get(LegacyAccount, legacy_id)]
                admin = db.session.get(Person, admin_id)
                barrier.wait()
                upgrade_legacy(rows, rep_id_no=rep_id_no, rep_name="并发法人",
                               rep_phone="13912340089", admin=admin, password="Race#Pass2026",
                               today=dt.date(2026, 11, 29))
                time.sleep(0.5)  # hold the transaction open: the other one runs meanwhile
                db.session.commit()
                outcomes.append("upgraded")
            except AccountRefused as refusal:
                db.session.rollback()
                outcomes.append(str(refusal))
            except Exception as error:  # what a request would answer with a 500
                db.session.rollback()
                outcomes.append(type(error).__name__)
            finally:
                db.session.remove()

    try:
        threads = [threading.Thread(target=upgrade) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with engine.connect() as conn:
            reps = conn.scalar(sa.select(sa.func.count()).select_from(Grant).where(
                Grant.unit_id == unit_id, Grant.level == "legal_rep"))
        assert reps == 1
        assert sorted(outcomes) == sorted(["upgraded", "该账号已升级，请使用新单位编号登录"])
    finally:
        db.session.remove()
        db.session = test_session
        _cleanup(engine, unit_id, admin_id, rep_id_no)
        engine.dispose()
