"""Talent filing (人才认定备案) as manual 003 describes it, met through the consoles."""
from __future__ import annotations

import sqlalchemy as sa

from models import Application, Attachment, Person, ServiceItem, db
from tests.conftest import PERSON, REP_A, UNIT_A, csrf_token
from tests.helpers import act, new_filing, switch


def _talent_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application).join(
        ServiceItem).where(ServiceItem.code == "RC_TALENT"))


def _waiting() -> Application:
    return db.session.scalar(sa.select(Application).join(ServiceItem).where(
        ServiceItem.code == "RC_TALENT", Application.state == "awaiting_unit",
        Application.subject_person_id == sa.select(Person.id).where(
            Person.id_no == PERSON).scalar_subquery()))


def test_only_the_individual_files_a_talent_filing(unit_a):
    """备案申请仅允许个人用户自行备案: the unit console offers no 新建 and refuses a forged POST."""
    catalog = unit_a.get("/unit/filing/").get_data(as_text=True)
    assert "/unit/filing/new/RC_TALENT/" not in catalog
    assert unit_a.get("/unit/filing/new/RC_TALENT/").status_code in (403, 404)
    before = _talent_count()
    forged = new_filing(unit_a, "unit", "RC_TALENT", {
        "name": "张伟", "id_no": PERSON, "level": "C", "unit_uscc": UNIT_A})
    assert forged.status_code in (403, 404)
    assert _talent_count() == before


def test_the_unit_forwards_but_may_not_change_what_the_person_prepared(unit_a):
    filing = _waiting()
    page = unit_a.get(f"/unit/filing/{filing.id}/").get_data(as_text=True)
    assert ">上报<" in page and "退回申请人" in page
    assert f"/unit/filing/{filing.id}/edit/" not in page
    assert unit_a.get(f"/unit/filing/{filing.id}/edit/").status_code == 403
    act(unit_a, "unit", filing.id, "submit")
    assert db.session.get(Application, filing.id).state == "submitted"


def test_the_unit_returns_a_filing_to_the_person_with_a_reason(unit_a):
    filing = _waiting()
    html = act(unit_a, "unit", filing.id, "return").get_data(as_text=True)
    assert "退回申请人须填写原因" in html
    assert db.session.get(Application, filing.id).state == "awaiting_unit"
    act(unit_a, "unit", filing.id, "return", comment="职称证书未上传")
    assert db.session.get(Application, filing.id).state == "draft"
    switch(unit_a, "person", PERSON)
    page = unit_a.get(f"/me/filing/{filing.id}/").get_data(as_text=True)
    assert "单位已退回" in page and "职称证书未上传" in page
    # the person may not 退回 nor 上报 himself
    act(unit_a, "me", filing.id, "prepare")
    assert db.session.get(Application, filing.id).state == "awaiting_unit"
    act(unit_a, "me", filing.id, "return", comment="x")
    assert db.session.get(Application, filing.id).state == "awaiting_unit"


def test_a_unit_cannot_take_a_material_off_what_the_person_prepared(unit_a):
    """operations.detach asks may_file: the unit reads the filing, but it is not its own."""
    filing = _waiting()
    attachment_id = filing.attachments[0].id
    response = unit_a.post(f"/unit/filing/attachment/{attachment_id}/remove/",
                           data={"csrf_token": csrf_token(unit_a)})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Attachment, attachment_id) is not None
    switch(unit_a, "person", PERSON)
    unit_a.post(f"/me/filing/attachment/{attachment_id}/remove/",
                data={"csrf_token": csrf_token(unit_a)})
    db.session.expire_all()
    assert db.session.get(Attachment, attachment_id) is None


def test_one_open_talent_filing_is_checked_by_the_operation(app):
    """A second filing is refused by operations.create_filing, whoever calls it."""
    import pytest

    from models import Account
    from models.auth import actor_for
    from models.errors import Refusal
    from models.operations import By, create_filing

    account = db.session.scalar(sa.select(Account).join(Person).where(
        Person.id_no == PERSON, Account.kind == "individual"))
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "RC_TALENT"))
    from models import clock

    with pytest.raises(Refusal, match="正在办理"):
        create_filing(By(actor_for(account, clock.today())), item,
                      {"name": "张伟", "id_no": PERSON, "level": "C", "unit_uscc": UNIT_A})
    db.session.rollback()
    assert _talent_count() == 1


def test_the_rep_of_unit_a_reads_it_as_its_own(unit_a):
    switch(unit_a, "unit", REP_A, UNIT_A)
    assert unit_a.get(f"/unit/filing/{_waiting().id}/").status_code == 200
