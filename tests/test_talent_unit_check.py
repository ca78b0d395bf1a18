"""Before 上报 the unit is told when the talent applicant is not insured with it (manual 003)."""
from __future__ import annotations

import sqlalchemy as sa

from models import Application, Enrollment, Person, ServiceItem, Unit, db
from rules.codes import EnrollmentStatus
from tests.conftest import PERSON, UNIT_A


def _awaiting():
    return db.session.scalar(sa.select(Application).join(ServiceItem).where(
        ServiceItem.code == "RC_TALENT", Application.state == "awaiting_unit",
        Application.subject_person_id == sa.select(Person.id).where(
            Person.id_no == PERSON).scalar_subquery()))


def test_unit_is_warned_only_when_the_applicant_is_not_insured_with_it(unit_a):
    filing = _awaiting()
    page = unit_a.get(f"/unit/filing/{filing.id}/").get_data(as_text=True)
    assert 'id="not-insured"' not in page
    unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_A))
    db.session.execute(sa.update(Enrollment).where(
        Enrollment.unit_id == unit_id, Enrollment.person_id == filing.subject_person_id)
        .values(status=EnrollmentStatus.SUSPENDED))
    db.session.commit()
    page = unit_a.get(f"/unit/filing/{filing.id}/").get_data(as_text=True)
    assert "申请人目前不在本单位参保" in page
