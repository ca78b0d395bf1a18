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


def talent_filings(scope, name: str = "", id_no: str = "", limit: int = 200) -> list:
    """Talent filings within ``scope`` (a row-scope clause of the viewer), newest first,
    found by the person's name (part of it) or ID number (all of it), as manual 003's list."""
    from models.person import Person
    from models.service import Application, ServiceItem

    query = (sa.select(Application).join(ServiceItem, ServiceItem.id == Application.item_id)
             .join(Person, Person.id == Application.subject_person_id)
             .where(ServiceItem.handler == "talent", scope))
    name, id_no = (name or "").strip()[:50], (id_no or "").strip().upper()[:18]
    if name:
        like = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Person.name.like(like, escape="\\"))
    if id_no:
        query = query.where(Person.id_no == id_no)
    return list(db.session.scalars(query.order_by(Application.id.desc()).limit(limit)))


def history(person_id: int, viewer_unit_id: int | None) -> dict:
    """A person's earlier recognitions and talent filings (manual 003: 申请历史信息). A unit
    sees in full only the filings made through it; of the others, that they exist, when,
    at which level and how they ended (部分历史信息). ``viewer_unit_id`` None: the person."""
    from models.service import Application, ServiceItem

    recognitions = db.session.scalars(sa.select(TalentRecognition).where(
        TalentRecognition.person_id == person_id)
        .order_by(TalentRecognition.recognised_on.desc())).all()
    filings = db.session.scalars(sa.select(Application).join(
        ServiceItem, ServiceItem.id == Application.item_id).where(
        ServiceItem.handler == "talent", Application.subject_person_id == person_id)
        .order_by(Application.id.desc())).all()
    return {"recognitions": recognitions,
            "filings": [(f, viewer_unit_id is None or f.unit_id == viewer_unit_id)
                        for f in filings]}
