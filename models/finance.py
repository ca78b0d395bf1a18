"""Money per settlement period (结算期): contributions, benefit payments, pension accounts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import code_column, db
from models.person import Person
from models.unit import Unit
from rules.codes import BenefitKind, InsuranceKind, PaymentStatus

Money = sa.Numeric(14, 2)


class Contribution(db.Model):
    """What a unit owes for one person, one insurance kind and one period (应缴明细)."""

    __table_args__ = (
        sa.UniqueConstraint("unit_id", "period", "kind", "person_id"),
        sa.Index("ix_contribution_person_period", "person_id", "period"),
        sa.CheckConstraint("length(period) = 6", name="period_yyyymm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    period: Mapped[str] = mapped_column(sa.String(6))
    kind: Mapped[InsuranceKind] = code_column(InsuranceKind)
    base: Mapped[Decimal] = mapped_column(Money)
    unit_amount: Mapped[Decimal] = mapped_column(Money)
    personal_amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[PaymentStatus] = code_column(PaymentStatus, default=PaymentStatus.UNPAID)
    paid_on: Mapped[dt.date | None]

    unit: Mapped[Unit] = relationship()
    person: Mapped[Person] = relationship()


class BenefitPayment(db.Model):
    """A pension, maternity or work-injury payment (待遇支付) in one period."""

    __table_args__ = (
        sa.Index("ix_benefit_unit_period", "unit_id", "period", "kind"),
        sa.Index("ix_benefit_person_period", "person_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    period: Mapped[str] = mapped_column(sa.String(6))
    kind: Mapped[BenefitKind] = code_column(BenefitKind)
    item: Mapped[str] = mapped_column(sa.String(50), default="")
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[dt.date | None]

    unit: Mapped[Unit | None] = relationship()
    person: Mapped[Person] = relationship()


class PensionAccount(db.Model):
    """A person's individual pension account (个人养老帐户) for one year."""

    __table_args__ = (sa.UniqueConstraint("person_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    year: Mapped[int]
    months_paid: Mapped[int] = mapped_column(default=0)
    base_total: Mapped[Decimal] = mapped_column(Money, default=0)
    personal_paid: Mapped[Decimal] = mapped_column(Money, default=0)
    interest: Mapped[Decimal] = mapped_column(Money, default=0)
    balance: Mapped[Decimal] = mapped_column(Money, default=0)

    person: Mapped[Person] = relationship()
