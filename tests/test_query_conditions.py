"""Queries as manuals 001 and 004 describe them: payment conditions, benefits opening on the
current month, the suspension form's lookup by 社会保障号."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Contribution, Enrollment, Person, Unit, clock, db
from rules.codes import EnrollmentStatus, PaymentStatus
from tests.conftest import UNIT_A, UNIT_B


def _periods(html):
    return re.findall(r'data-period="(\d{6})"', html)


def _unit(uscc=UNIT_A):
    return db.session.scalar(sa.select(Unit).where(Unit.uscc == uscc))


def test_payments_narrow_by_period_range(unit_a):
    html = unit_a.get("/unit/query/payments/?start=202601&end=202603").get_data(as_text=True)
    assert _periods(html) == ["202603", "202602", "202601"]
    assert 'value="202601"' in html  # the conditions stay in the form


def test_payments_narrow_by_kind_and_status(unit_a):
    unit = _unit()
    overdue = db.session.scalar(sa.select(Contribution).where(
        Contribution.unit_id == unit.id, Contribution.period == "202605",
        Contribution.kind == "110").limit(1))
    overdue.status = PaymentStatus.OVERDUE
    db.session.commit()
    html = unit_a.get("/unit/query/payments/?status=overdue").get_data(as_text=True)
    assert "202605" in _periods(html)
    paid_only = _periods(unit_a.get("/unit/query/payments/?status=paid").get_data(as_text=True))
    assert "202605" not in paid_only
    unemployment = unit_a.get("/unit/query/payments/?kind=210&start=202605&end=202605")
    due_210 = db.session.scalar(sa.select(sa.func.sum(
        Contribution.unit_amount + Contribution.personal_amount)).where(
        Contribution.unit_id == unit.id, Contribution.period == "202605",
        Contribution.kind == "210"))
    assert f"<td>{due_210}</td>" in unemployment.get_data(as_text=True)


def test_bad_payment_conditions_are_explained_not_500(unit_a):
    for query, message in [("start=2026-13", "起始结算期"), ("start=202610&end=202601",
                                                          "不能晚于"),
                           ("kind=999", "险种不正确"), ("status=xx", "缴费状态不正确")]:
        response = unit_a.get(f"/unit/query/payments/?{query}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert message in html and _periods(html) == [], query


def test_benefit_query_opens_on_the_current_month(unit_a):
    html = unit_a.get("/unit/query/benefits/").get_data(as_text=True)
    assert f'value="{clock.today():%Y%m}"' in html


def test_suspension_lookup_by_social_security_number(unit_a):
    unit = _unit()
    employee = db.session.scalar(sa.select(Person).join(
        Enrollment, Enrollment.person_id == Person.id).where(
        Enrollment.unit_id == unit.id, Enrollment.status == EnrollmentStatus.ACTIVE).limit(1))
    answer = unit_a.get(f"/unit/filing/lookup/suspend/?id_no={employee.id_no}").get_json()
    assert answer["name"] == employee.name and answer["refusal"] is None
    assert "在保" in answer["message"]
    stranger = db.session.scalar(sa.select(Person).join(
        Enrollment, Enrollment.person_id == Person.id).where(
        Enrollment.unit_id == _unit(UNIT_B).id).limit(1))
    other = unit_a.get(f"/unit/filing/lookup/suspend/?id_no={stranger.id_no}").get_json()
    assert other["refusal"] and "name" not in other
    bad = unit_a.get("/unit/filing/lookup/suspend/?id_no=123").get_json()
    assert bad["ok"] is False and bad["message"]
    form = unit_a.get("/unit/filing/new/SB_SUSPEND/").get_data(as_text=True)
    assert 'data-lookup="/unit/filing/lookup/suspend/"' in form
