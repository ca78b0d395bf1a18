"""High-level talent recognition (高层次人才认定)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import CreatedMixin, code_column, db
from models.person import Person
from rules.codes import TalentLevel


class TalentRecognition(CreatedMixin, db.Model):
    __table_args__ = (sa.CheckConstraint("valid_until > recognised_on", name="period_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    level: Mapped[TalentLevel] = code_column(TalentLevel)
    certificate_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    recognised_on: Mapped[dt.date]
    valid_until: Mapped[dt.date]

    person: Mapped[Person] = relationship()
