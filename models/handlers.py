"""Apply-handlers: what an approved filing changes in the master data, by name.

A service item names its handler (``ServiceItem.handler``); approval runs it inside the
approval's transaction. A handler raises ``Refused`` when the filing can no longer be applied.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from models import clock
from models.base import db, utcnow
from models.bulk import insert_rows
from models.collector import paused
from models.enrollment import Enrollment
from models.imports import check_against_records
from models.person import Person
from models.service import Application
from models.talent import TalentRecognition
from models.unit import Unit
from rules.codes import EnrollmentStatus, InsuranceKind, TalentLevel
from rules.eligibility import EnrollmentKind, Refused, enrollment_kind, may_suspend
from rules.fields import validate_wage
from rules.identity import birth_date_of, gender_of, validate_resident_id
from rules.imports import SCHEMAS, RowResult

ALL_KINDS = ",".join(k.value for k in InsuranceKind)


@dataclass(frozen=True)
class Handler:
    label: str
    apply: Callable[[Application], None]
    #: The form fields an item using this handler must have (checked before publishing).
    needs: tuple[str, ...] = ()
    #: Batch handlers apply an import's rows; the designer does not offer them.
    batch: bool = False


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _open_unit(application: Application) -> Unit:
    unit = application.unit
    if unit is None or not unit.online:
        raise Refused("单位已注销或网上办事权限已注销，不能办理")
    return unit


@dataclass(frozen=True)
class EnrollmentFacts:
    person: Person | None
    kind: EnrollmentKind | None
    refusal: str | None


def enrollment_facts(unit_id: int, id_no: str) -> EnrollmentFacts:
    """What the system knows of a person for an enrollment at ``unit_id``."""
    person = db.session.scalar(sa.select(Person).where(Person.id_no == id_no))
    if person is None:
        return EnrollmentFacts(None, EnrollmentKind.NEW, None)
    rows = db.session.execute(sa.select(Enrollment.unit_id, Enrollment.status).where(
        Enrollment.person_id == person.id)).all()
    active = EnrollmentStatus.ACTIVE
    try:
        kind = enrollment_kind(
            active_here=any(u == unit_id and s == active for u, s in rows),
            active_elsewhere=any(u != unit_id and s == active for u, s in rows),
            suspended_here=any(u == unit_id and s == EnrollmentStatus.SUSPENDED for u, s in rows))
    except Refused as refused:
        return EnrollmentFacts(person, None, str(refused))
    return EnrollmentFacts(person, kind, None)


def apply_enroll(application: Application) -> None:
    """社会保险职工参保登记: a new enrollment, or the suspended one at this unit resumed."""
    unit = _open_unit(application)
    data = application.payload
    id_no = validate_resident_id(data["id_no"])
    facts = enrollment_facts(unit.id, id_no)
    if facts.refusal:
        raise Refused(facts.refusal)
    person = facts.person
    if person is None:
        person = Person(id_no=id_no, name=data["name"], phone=data.get("phone") or None)
        db.session.add(person)
        db.session.flush()
    wage = validate_wage(data["wage"])
    kinds = data.get("insurance_kinds") or ALL_KINDS
    if facts.kind == EnrollmentKind.RESUME:
        enrollment = db.session.scalar(sa.select(Enrollment).where(
            Enrollment.person_id == person.id, Enrollment.unit_id == unit.id,
            Enrollment.status == EnrollmentStatus.SUSPENDED))
        enrollment.status, enrollment.wage, enrollment.end_date = \
            EnrollmentStatus.ACTIVE, wage, None
        enrollment.insurance_kinds = kinds
    else:
        db.session.add(Enrollment(person_id=person.id, unit_id=unit.id, insurance_kinds=kinds,
                                  start_date=_day(data["start_date"]), wage=wage))
    application.subject_person_id = person.id


def apply_suspend(application: Application) -> None:
    """社会保险职工暂停参保: the person's enrollment at this unit is suspended."""
    unit = _open_unit(application)
    id_no = validate_resident_id(application.payload["id_no"])
    enrollment = db.session.scalar(sa.select(Enrollment).join(Person).where(
        Person.id_no == id_no, Enrollment.unit_id == unit.id,
        Enrollment.status == EnrollmentStatus.ACTIVE))
    may_suspend(enrollment is not None)
    enrollment.status = EnrollmentStatus.SUSPENDED
    enrollment.end_date = _day(application.payload["suspend_date"])


UNIT_CHANGE_FIELDS = ("name", "address")


def apply_unit_change(application: Application) -> None:
    """社会保险单位参保信息变更登记: the unit's name or address as filed."""
    unit = _open_unit(application)
    changes = {k: application.payload[k] for k in UNIT_CHANGE_FIELDS if application.payload.get(k)}
    if not changes:
        raise Refused("没有需要变更的单位信息")
    for key, value in changes.items():
        setattr(unit, key, value)


def apply_talent(application: Application) -> None:
    """人才认定备案: a renewed recognition at the filed level, valid two years."""
    person = application.subject_person
    if person is None:
        raise Refused("备案缺少人员信息")
    today = clock.today()
    db.session.add(TalentRecognition(
        person_id=person.id, level=TalentLevel(application.payload["level"]),
        certificate_no=f"RC{today:%Y%m%d}{application.id:07d}", recognised_on=today,
        valid_until=today.replace(year=today.year + 2) - dt.timedelta(days=1)))


def _batch_rows(application: Application, handler: str) -> tuple[list[dict], int,
                                                                  dict[str, int]]:
    """The batch's rows re-checked now (with the unit and the ids of the people the records
    know, by ID number), or Refused naming the rows that no longer apply."""
    unit = _open_unit(application)
    schema = next(s for s in SCHEMAS.values() if s.handler == handler)
    rows = (application.payload or {}).get("rows")
    if not isinstance(rows, list) or not rows:
        raise Refused("该批量办件没有数据行，不能办理")
    results = [RowResult(row["row_no"], dict(row)) for row in rows]
    people = check_against_records(schema, unit.id, results, application_id=application.id)
    bad = [r for r in results if not r.ok]
    if bad:
        listed = "；".join(f"第{r.row_no}行{r.errors[0][1]}" for r in bad[:5])
        raise Refused(f"{len(bad)}行已不能办理（{listed}），请退回单位重新导入")
    return [r.values for r in results], unit.id, people


PERSON_COLUMNS = ("id_type", "id_no", "name", "phone", "birth_date", "gender", "created_at")
ENROLLMENT_COLUMNS = ("person_id", "unit_id", "insurance_kinds", "start_date", "wage", "status",
                      "created_at")


@paused()
def apply_enroll_batch(application: Application) -> None:
    """人员批量新参保: every row enrolled (or resumed) in one transaction, in bulk."""
    rows, unit_id, known = _batch_rows(application, "enroll_batch")
    new = [r for r in rows if r["kind"] == EnrollmentKind.NEW]
    fresh = [r for r in new if r["id_no"] not in known]
    now = utcnow()
    known.update(insert_rows(Person.__table__, PERSON_COLUMNS, [
        ("01", r["id_no"], r["name"], r.get("phone") or None, birth_date_of(r["id_no"]),
         gender_of(r["id_no"]), now) for r in fresh], returning=("id_no", "id")))
    active = EnrollmentStatus.ACTIVE.value
    insert_rows(Enrollment.__table__, ENROLLMENT_COLUMNS, [
        (known[r["id_no"]], unit_id, r["insurance_kinds"], _day(r["start_date"]),
         validate_wage(r["wage"]), active, now) for r in new], returning=())
    resumed = [r for r in rows if r["kind"] == EnrollmentKind.RESUME]
    if resumed:  # each resumed row keeps its own wage and kinds: one executemany
        table = Enrollment.__table__
        db.session.connection().execute(sa.update(table).where(
            table.c.unit_id == unit_id, table.c.status == EnrollmentStatus.SUSPENDED.value,
            table.c.person_id == sa.bindparam("pid"))
            .values(status=EnrollmentStatus.ACTIVE.value, end_date=None,
                    wage=sa.bindparam("new_wage"), insurance_kinds=sa.bindparam("kinds")),
            [{"pid": known[r["id_no"]], "new_wage": validate_wage(r["wage"]),
              "kinds": r["insurance_kinds"]} for r in resumed])


@paused()
def apply_suspend_batch(application: Application) -> None:
    """人员批量暂停参保: every row's enrollment at this unit suspended in one transaction."""
    rows, unit_id, ids = _batch_rows(application, "suspend_batch")
    by_date: dict[str, list[int]] = {}
    for r in rows:
        by_date.setdefault(r["suspend_date"], []).append(ids[r["id_no"]])
    for day, person_ids in by_date.items():
        for i in range(0, len(person_ids), 500):
            db.session.execute(sa.update(Enrollment).where(
                Enrollment.unit_id == unit_id, Enrollment.status == EnrollmentStatus.ACTIVE,
                Enrollment.person_id.in_(person_ids[i:i + 500]))
                .values(status=EnrollmentStatus.SUSPENDED.value, end_date=_day(day)))


HANDLERS: dict[str, Handler] = {
    "enroll": Handler("参保登记（新参保/续保）", apply_enroll,
                      ("id_no", "name", "start_date", "wage")),
    "suspend": Handler("暂停参保", apply_suspend, ("id_no", "suspend_date")),
    "unit_change": Handler("单位信息变更", apply_unit_change, UNIT_CHANGE_FIELDS),
    "talent": Handler("人才认定备案", apply_talent, ("level",)),
    "enroll_batch": Handler("人员批量新参保", apply_enroll_batch, batch=True),
    "suspend_batch": Handler("人员批量暂停参保", apply_suspend_batch, batch=True),
}
