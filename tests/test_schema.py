"""The migrations build exactly the models' schema, and the demo data passes every validator."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Application, AuditEvent, Enrollment, Grant, Person, Unit, db
from models.audit import AuditIsAppendOnly, record
from models.search import is_search_object
from rules.identity import validate_mobile, validate_resident_id, validate_uscc


def test_migrations_match_the_models():
    # The session database was built by `flask db upgrade` (conftest), not create_all.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, *_: not is_search_object(name)})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_only_the_search_indexes_are_left_to_the_migrations():
    assert is_search_object("person_trigram") and is_search_object("person_bigrams_data")
    assert is_search_object("ix_person_name_trgm")
    assert not is_search_object("person") and not is_search_object("ix_person_name")


def test_demo_data_passes_every_validator():
    people = db.session.scalars(sa.select(Person)).all()
    assert len(people) > 60
    for person in people:
        assert validate_resident_id(person.id_no) == person.id_no
        assert person.birth_date is not None and person.gender in ("M", "F")
        if person.phone:
            assert validate_mobile(person.phone) == person.phone
    for unit in db.session.scalars(sa.select(Unit)):
        assert validate_uscc(unit.uscc) == unit.uscc


def test_each_demo_unit_has_members_and_30_to_60_employees():
    for unit in db.session.scalars(sa.select(Unit)):
        levels = db.session.scalars(sa.select(Grant.level).where(Grant.unit_id == unit.id)).all()
        assert sorted(levels).count("agent") >= 2 and levels.count("admin") == 1
        assert levels.count("legal_rep") == 1
        employees = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
            Enrollment.unit_id == unit.id, Enrollment.status == "active"))
        assert 30 <= employees <= 61


@pytest.mark.parametrize("change", ["update", "delete"])
def test_audit_events_cannot_be_changed_or_deleted(change):
    event = record("probe", actor_label="test")
    db.session.commit()
    if change == "update":
        event.action = "changed"
    else:
        db.session.delete(event)
    with pytest.raises(AuditIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).action == "probe"


def test_seed_scale_writes_valid_identifiers():
    from stdnum.cn import uscc

    from models.scale import seed_scale
    from rules.identity import validate_resident_id

    before = db.session.scalar(sa.select(sa.func.max(Person.id)))
    filed_before = db.session.scalar(sa.select(sa.func.max(Application.id)))
    seed_scale(people=300, units=30, filings=400, say=lambda _: None)
    filings = db.session.scalars(sa.select(Application).where(
        Application.id > filed_before)).all()
    assert len(filings) == 400 and {f.state for f in filings} >= {"completed", "submitted"}
    for filing in filings:
        actions = [e.action for e in filing.events]
        assert ("submit" in actions) == (filing.submitted_at is not None)
        assert bool({"approve", "reject"} & set(actions)) == (filing.decided_at is not None)
        assert filing.unit.name.startswith("规模测试单位")
    people = db.session.scalars(sa.select(Person.id_no).where(Person.id > before)).all()
    assert len(people) == 300 and all(validate_resident_id(p) == p for p in people)
    codes = db.session.scalars(sa.select(Unit.uscc).where(Unit.name.like("规模测试单位%"))).all()
    assert len(codes) == 30 and all(uscc.is_valid(c) for c in codes)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.person_id > before)) == 300
