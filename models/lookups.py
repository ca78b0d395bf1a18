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


#: At most this many units answer one keyword: a filer picks his unit, he does not browse.
UNITS_FOUND = 10
#: A keyword shorter than this finds nothing (one character would list half the city).
UNIT_KEYWORD_MIN = 2


def registered_unit() -> sa.ColumnElement[bool]:
    """Units a person may name in a filing: registered in the system, online, not closed
    (manual 003: 单位搜不到，说明该单位尚未在本系统注册)."""
    from models.unit import Unit
    from rules.codes import OnlineStatus, UnitStatus

    return sa.and_(Unit.status == UnitStatus.NORMAL, Unit.online_status == OnlineStatus.ACTIVE)


def _like(keyword: str) -> str:
    return "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def units_named(keyword: str) -> list[tuple[str, str]]:
    """(name, credit code) of registered units whose name contains ``keyword``, by name."""
    from models.unit import Unit

    keyword = (keyword or "").strip()[:50]
    if len(keyword) < UNIT_KEYWORD_MIN:
        return []
    return [tuple(row) for row in db.session.execute(
        sa.select(Unit.name, Unit.uscc).where(registered_unit(),
                                              Unit.name.like(_like(keyword), escape="\\"))
        .order_by(Unit.name).limit(UNITS_FOUND))]


def unit_code_of(name: str) -> str | None:
    """The credit code of the one registered unit of exactly this name, else None."""
    from models.unit import Unit

    codes = db.session.scalars(sa.select(Unit.uscc).where(
        registered_unit(), Unit.name == (name or "").strip()).limit(2)).all()
    return codes[0] if len(codes) == 1 else None


def unit_name_of(uscc: str) -> str | None:
    """The name of the registered unit with this credit code, else None."""
    from models.unit import Unit

    return db.session.scalar(sa.select(Unit.name).where(registered_unit(), Unit.uscc == uscc))
