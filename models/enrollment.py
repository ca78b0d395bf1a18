"""Insurance enrollment (参保关系): a person insured through a unit."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import CreatedMixin, code_column, db
from models.person import Person
from models.unit import Unit
from rules.codes import EnrollmentStatus


class Enrollment(CreatedMixin, db.Model):
    __table_args__ = (
        sa.Index("ix_enrollment_unit_status", "unit_id", "status"),
        sa.CheckConstraint("wage >= 0", name="wage_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    #: Comma-separated insurance kind codes (rules.codes.InsuranceKind).
    insurance_kinds: Mapped[str] = mapped_column(sa.String(40))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]
    wage: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    status: Mapped[EnrollmentStatus] = code_column(EnrollmentStatus,
                                                   default=EnrollmentStatus.ACTIVE)

    person: Mapped[Person] = relationship()
    unit: Mapped[Unit] = relationship()

    def __str__(self) -> str:
        return f"{self.person.name if self.person else ''} @ {self.unit.name if self.unit else ''}"
