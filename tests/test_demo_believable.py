"""Demo data a reader checking it would believe (issue 15, item 6)."""
from __future__ import annotations

import sqlalchemy as sa

from models import (
    Application,
    BenefitPayment,
    PensionAccount,
    Person,
    ServiceItem,
    db,
)
from models.attachments import missing_materials
from rules.codes import BenefitKind
from rules.workflow import State
from tests.conftest import PERSON


def test_pension_balances_are_running_totals_of_contributions_and_interest():
    rows = db.session.scalars(sa.select(PensionAccount).order_by(
        PensionAccount.person_id, PensionAccount.year)).all()
    by_person: dict[int, list[PensionAccount]] = {}
    for row in rows:
        by_person.setdefault(row.person_id, []).append(row)
    assert len(by_person) > 50
    for years in by_person.values():
        opening = 0
        for account in years:
            assert account.balance == opening + account.personal_paid + account.interest
            opening = account.balance
        assert years[-1].balance > years[-1].personal_paid


def test_retirees_drawing_a_pension_are_of_retirement_age():
    retirees = db.session.scalars(sa.select(Person).where(Person.id.in_(
        sa.select(BenefitPayment.person_id).where(
            BenefitPayment.kind == BenefitKind.PENSION)))).all()
    assert len(retirees) == 6
    for person in retirees:
        assert person.birth_date.year <= 1965, (person.name, person.birth_date)


def test_zhang_weis_talent_filing_waits_with_its_signed_form():
    filing = db.session.scalar(sa.select(Application).join(ServiceItem).where(
        ServiceItem.code == "RC_TALENT", Application.state == State.AWAITING_UNIT,
        Application.subject_person_id == sa.select(Person.id).where(
            Person.id_no == PERSON).scalar_subquery()))
    assert {a.material: a.content_type for a in filing.attachments} == {
        "form": "application/pdf", "photo": "image/png"}
    assert missing_materials(filing) == []
    from views.item_form import form_for

    assert form_for(filing.spec, strict=True, data=filing.payload, csrf=False).validate()


def test_zhang_weis_recognition_is_current_and_shown_in_the_publicity(client):
    from models import TalentRecognition, clock
    from rules.eligibility import talent_filing_opens

    current = db.session.scalar(sa.select(TalentRecognition).join(Person).where(
        Person.id_no == PERSON).order_by(TalentRecognition.recognised_on.desc()).limit(1))
    assert current.valid_until >= clock.today() >= talent_filing_opens(current.recognised_on)
    page = client.get("/portal/talent/").get_data(as_text=True)
    assert "张伟" in page and page.count("<tr") >= 4


def test_the_readme_accounts_keep_their_numbers():
    for id_no in ("340104199506243211", "320102200102123853", "330106199001035506",
                  "370102199211175699", "360102199705074335", "360426199001286214",
                  "370102199511101616", "330106198312206793"):
        assert db.session.scalar(sa.select(Person.id).where(Person.id_no == id_no)), id_no
