"""Aggregate queries behind 信息查询: sums are computed by the database, never in Python."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from models.base import db
from models.enrollment import Enrollment
from models.finance import BenefitPayment, Contribution, PensionAccount
from models.person import Person
from models.unit import Unit
from rules.codes import BenefitKind, EnrollmentStatus, InsuranceKind, PaymentStatus

ZERO = Decimal("0.00")


def latest_period(unit_id: int) -> str | None:
    """The last settlement period the unit has contributions for (an index range scan)."""
    return db.session.scalar(sa.select(sa.func.max(Contribution.period)).where(
        Contribution.unit_id == unit_id))


def payables(unit_id: int, period: str) -> list[dict]:
    """社保应付信息: per insurance kind, the unit part, the personal part and the total."""
    rows = db.session.execute(
        sa.select(Contribution.kind, sa.func.count(sa.distinct(Contribution.person_id)),
                  sa.func.sum(Contribution.unit_amount), sa.func.sum(Contribution.personal_amount))
        .where(Contribution.unit_id == unit_id, Contribution.period == period)
        .group_by(Contribution.kind).order_by(Contribution.kind)).all()
    return [{"kind": InsuranceKind(kind), "people": people, "unit": unit or ZERO,
             "personal": personal or ZERO, "total": (unit or ZERO) + (personal or ZERO)}
            for kind, people, unit, personal in rows]


def payable_detail(unit_id: int, period: str, kind: str) -> list:
    """The per-person lines behind one kind's amount in one period."""
    return db.session.execute(
        sa.select(Person.name, Person.id_no, Contribution.base, Contribution.unit_amount,
                  Contribution.personal_amount, Contribution.status)
        .join(Person, Person.id == Contribution.person_id)
        .where(Contribution.unit_id == unit_id, Contribution.period == period,
               Contribution.kind == kind).order_by(Person.id_no)).all()


def benefits(unit_id: int, period: str) -> list[dict]:
    """养老 / 生育 / 工伤 支付明细: per benefit kind, how many payments and their total."""
    rows = db.session.execute(
        sa.select(BenefitPayment.kind, sa.func.count(), sa.func.sum(BenefitPayment.amount))
        .where(BenefitPayment.unit_id == unit_id, BenefitPayment.period == period)
        .group_by(BenefitPayment.kind)).all()
    found = {BenefitKind(kind): (count, total) for kind, count, total in rows}
    return [{"kind": kind, "count": found.get(kind, (0, ZERO))[0],
             "total": found.get(kind, (0, ZERO))[1] or ZERO} for kind in BenefitKind]


def benefit_detail(unit_id: int, period: str, kind: str, name: str = "", id_no: str = ""):
    """The payments behind one benefit kind, optionally narrowed by name or ID number."""
    query = (sa.select(Person.name, Person.id_no, BenefitPayment.item, BenefitPayment.amount,
                       BenefitPayment.paid_on)
             .join(Person, Person.id == BenefitPayment.person_id)
             .where(BenefitPayment.unit_id == unit_id, BenefitPayment.period == period,
                    BenefitPayment.kind == kind))
    if name:
        query = query.where(Person.name == name.strip())
    if id_no:
        query = query.where(Person.id_no == id_no.strip().upper())
    return db.session.execute(query.order_by(Person.id_no)).all()


def payment_records(unit_id: int, periods: int = 24, *, start: str | None = None,
                    end: str | None = None, kind: str | None = None,
                    status: str | None = None) -> list[dict]:
    """单位缴费信息查询: per period the amount due and paid, and the status; narrowed by a
    period range (YYYYMM, inclusive), one insurance kind and the period's status."""
    due = sa.func.sum(Contribution.unit_amount + Contribution.personal_amount)
    paid = sa.func.sum(sa.case((Contribution.status == PaymentStatus.PAID,
                                Contribution.unit_amount + Contribution.personal_amount),
                               else_=0))
    overdue = sa.func.count().filter(Contribution.status == PaymentStatus.OVERDUE)
    unpaid = sa.func.count().filter(Contribution.status == PaymentStatus.UNPAID)
    where = [Contribution.unit_id == unit_id]
    if start:
        where.append(Contribution.period >= start)
    if end:
        where.append(Contribution.period <= end)
    if kind:
        where.append(Contribution.kind == kind)
    rows = db.session.execute(
        sa.select(Contribution.period, due, paid, overdue, unpaid)
        .where(*where).group_by(Contribution.period)
        .order_by(Contribution.period.desc()).limit(periods)).all()
    out = []
    for period, total, paid_total, n_overdue, n_unpaid in rows:
        state = PaymentStatus.OVERDUE if n_overdue else PaymentStatus.UNPAID if n_unpaid \
            else PaymentStatus.PAID
        if status and state != status:
            continue
        out.append({"period": period, "due": total or ZERO, "paid": Decimal(paid_total or 0),
                    "status": state})
    return out


def pension_accounts(unit_id: int, id_no: str, name: str, year: int | None):
    """个人养老帐户查询, only for people enrolled in this unit now or before."""
    query = (sa.select(PensionAccount, Person.name, Person.id_no)
             .join(Person, Person.id == PensionAccount.person_id)
             .where(PensionAccount.person_id.in_(sa.select(Enrollment.person_id).where(
                 Enrollment.unit_id == unit_id)),
                    Person.id_no == id_no.strip().upper(), Person.name == name.strip()))
    if year:
        query = query.where(PensionAccount.year == year)
    return db.session.execute(query.order_by(PensionAccount.year.desc())).all()


def unit_certificate_facts(unit_id: int, period: str) -> dict:
    """What a unit's 参保证明 states for a period, all from that period's contributions.

    The head count is the people with a contribution in the period, not today's
    enrolments (which move after the period and disagreed with every insurance line).
    """
    unit = db.session.get(Unit, unit_id)
    insured = db.session.scalar(sa.select(sa.func.count(sa.distinct(Contribution.person_id)))
                                .where(Contribution.unit_id == unit_id,
                                       Contribution.period == period))
    kinds = payables(unit_id, period)
    return {"unit": unit.name, "uscc": unit.uscc, "unit_no": unit.unit_no, "period": period,
            "insured": insured,
            "kinds": [{"kind": k["kind"].label, "people": k["people"], "unit": str(k["unit"]),
                       "personal": str(k["personal"]), "total": str(k["total"])}
                      for k in kinds]}


def person_certificate_facts(person_id: int, unit_id: int | None = None) -> dict:
    """What a person's 参保证明 states: his enrollment history (with ``unit_id``: only the
    periods at that unit, for a certificate the unit fetches)."""
    person = db.session.get(Person, person_id)
    at_unit = [Enrollment.unit_id == unit_id] if unit_id is not None else []
    paid_at = [Contribution.unit_id == unit_id] if unit_id is not None else []
    rows = db.session.execute(
        sa.select(Unit.name, Enrollment.insurance_kinds, Enrollment.start_date,
                  Enrollment.end_date, Enrollment.status)
        .join(Unit, Unit.id == Enrollment.unit_id).where(Enrollment.person_id == person_id,
                                                         *at_unit)
        .order_by(Enrollment.start_date)).all()
    months = db.session.scalar(sa.select(sa.func.count(sa.distinct(Contribution.period))).where(
        Contribution.person_id == person_id, Contribution.status == PaymentStatus.PAID,
        *paid_at))
    return {"name": person.name, "id_no": person.id_no, "paid_months": months,
            "history": [{"unit": unit, "kinds": kinds, "start": str(start),
                         "end": str(end or ""), "status": EnrollmentStatus.label_of(status)}
                        for unit, kinds, start, end, status in rows]}
