"""Form lookups by 社会保障号 (the resident ID number): what a unit may learn of its employee."""
from __future__ import annotations

import sqlalchemy as sa

from models.base import db
from models.enrollment import Enrollment
from models.person import Person
from rules.codes import EnrollmentStatus, kinds_label


def suspension_facts(unit_id: int, id_no: str) -> dict:
    """For 暂停参保: the person's active enrollment at this unit (name, since, kinds), or a
    refusal; a unit learns nothing of people it does not employ."""
    row = db.session.execute(
        sa.select(Person.name, Enrollment.start_date, Enrollment.insurance_kinds)
        .join(Person, Person.id == Enrollment.person_id)
        .where(Person.id_no == id_no, Enrollment.unit_id == unit_id,
               Enrollment.status == EnrollmentStatus.ACTIVE)
        .order_by(Enrollment.start_date.desc()).limit(1)).first()
    if row is None:
        return {"ok": True, "refusal": "本单位没有该人员在保的参保记录，不能暂停参保",
                "message": "本单位没有该人员在保的参保记录，不能暂停参保"}
    name, start, kinds = row
    return {"ok": True, "refusal": None, "name": name,
            "message": f"在保（{start:%Y-%m-%d}起，{kinds_label(kinds)}）"}


def insured_with(unit_id: int | None, person_id: int | None) -> bool:
    """Is the person actively insured with this unit (the check before a unit's 上报)?"""
    if unit_id is None or person_id is None:
        return False
    return db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.unit_id == unit_id, Enrollment.person_id == person_id,
        Enrollment.status == EnrollmentStatus.ACTIVE)) > 0
