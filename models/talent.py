"""High-level talent recognition (高层次人才认定)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import CreatedMixin, code_column, db
from models.person import Person
from rules.codes import TalentLevel
from rules.eligibility import Refused, check_talent_filing
from rules.workflow import State


class TalentRecognition(CreatedMixin, db.Model):
    __table_args__ = (sa.CheckConstraint("valid_until > recognised_on", name="period_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    level: Mapped[TalentLevel] = code_column(TalentLevel)
    certificate_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    recognised_on: Mapped[dt.date]
    valid_until: Mapped[dt.date]

    person: Mapped[Person] = relationship()


def latest_recognition(person_id: int | None) -> TalentRecognition | None:
    """The person's most recent recognition, if any."""
    if person_id is None:
        return None
    return db.session.scalar(sa.select(TalentRecognition).where(
        TalentRecognition.person_id == person_id).order_by(
        TalentRecognition.recognised_on.desc(), TalentRecognition.id.desc()).limit(1))


def check_may_file(person_id: int, item, today: dt.date) -> TalentRecognition:
    """The recognition a new talent filing renews; Refused (Chinese) unless 23 months have
    passed since it and no other filing of the item is still open for this person."""
    from models.filings import open_filing

    last = latest_recognition(person_id)
    check_talent_filing(last.recognised_on if last else None, today)
    pending = open_filing(person_id, item.id)
    if pending is not None:  # one open talent filing per person
        raise Refused(f"您已有一件{item.name}正在办理（办件 {pending.id}，"
                      f"{State(pending.state).label}），请在该办件中修改或撤回后再申报")
    return last
