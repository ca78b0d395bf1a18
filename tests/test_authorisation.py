"""Issue 11's findings, one test each: every one of them failed on the code before the fix."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from models import (
    Account,
    Application,
    ApplicationEvent,
    Attachment,
    AuditEvent,
    Certificate,
    Enrollment,
    Grant,
    ImportBatch,
    Person,
    ServiceItem,
    StaffRole,
    TalentRecognition,
    Unit,
    db,
)
from rules.masking import mask
from tests.conftest import PERSON, REP_A, UNIT_A, UNIT_B, csrf_token, login
from tests.helpers import PDF, act, filing_id, fresh_id_no, member, new_filing, review, switch

ENROLL = {"phone": "", "start_date": "2026-11-01", "wage": "8000",
          "insurance_kinds": "110,210,310,410,510"}


def _unit_id(uscc):
    return db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc))


def _employee(uscc) -> Person:
    return db.session.scalar(sa.select(Person).join(Enrollment).where(
        Enrollment.unit_id == _unit_id(uscc), Enrollment.status == "active").limit(1))


def _item_id(code):
    return db.session.scalar(sa.select(ServiceItem.id).where(ServiceItem.code == code))


def _filing(uscc, code, state="draft", payload=None, subject=None) -> Application:
    application = Application(item_id=_item_id(code), unit_id=_unit_id(uscc), state=state,
                              payload=payload or {"note": "x"},
                              subject_person_id=subject.id if subject else None)
    db.session.add(application)
    db.session.commit()
    return application


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- a unit and people it does not employ -----------------------------------------------------

def test_the_id_lookup_says_nothing_about_a_stranger(unit_a):
    stranger = _employee(UNIT_B)
    answer = unit_a.get(f"/unit/filing/lookup/?id_no={stranger.id_no}").get_json()
    assert answer["ok"] and "name" not in answer and "phone" not in answer
    assert stranger.name not in str(answer) and (stranger.phone or "-") not in str(answer)
    own = _employee(UNIT_A)
    answer = unit_a.get(f"/unit/filing/lookup/?id_no={own.id_no}").get_json()
    assert answer["name"] == own.name and "phone" not in answer


def test_a_draft_naming_a_stranger_gets_no_certificate(unit_a):
    stranger = _employee(UNIT_B)
    # a made-up name is refused outright
    response = new_filing(unit_a, "unit", "SB_ENROLL", {
        **ENROLL, "id_no": stranger.id_no, "name": "假名字"})
    assert "证件号码与姓名不符" in response.get_data(as_text=True)
    # the enrolment that would make him an employee may name him, but opens nothing
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", {
        **ENROLL, "id_no": stranger.id_no, "name": stranger.name}))
    before = _count(Certificate)
    assert unit_a.get(f"/unit/filing/{application_id}/certificate/").status_code == 404
    assert _count(Certificate) == before
    # nor his person record: the unit's own filing does not put him in its scope
    assert stranger.phone is None or stranger.phone not in unit_a.get(
        f"/unit/unit_application/details/?id={application_id}").get_data(as_text=True)


def test_a_units_certificate_states_only_its_own_periods(unit_a):
    person = _employee(UNIT_A)
    db.session.add(Enrollment(person_id=person.id, unit_id=_unit_id(UNIT_B),
                              insurance_kinds="110", start_date=dt.date(2010, 1, 1), wage=5000,
                              end_date=dt.date(2012, 1, 1), status="suspended"))
    application = _filing(UNIT_A, "JY_RECORD", payload={"id_no": person.id_no}, subject=person)
    response = unit_a.get(f"/unit/filing/{application.id}/certificate/")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    certificate = db.session.scalar(sa.select(Certificate).order_by(Certificate.id.desc()))
    units = {row["unit"] for row in certificate.facts["history"]}
    assert units == {db.session.get(Unit, _unit_id(UNIT_A)).name}


def test_a_unit_files_only_about_its_own_people_with_matching_names(unit_a):
    stranger, own = _employee(UNIT_B), _employee(UNIT_A)
    before = _count(Application)
    html = new_filing(unit_a, "unit", "JY_RECORD", {
        "id_no": stranger.id_no, "hire_date": "2026-11-01"}).get_data(as_text=True)
    assert "本单位没有该人员" in html
    html = new_filing(unit_a, "unit", "SB_ENROLL", {
        "name": "张冒名", "id_no": own.id_no, "start_date": "2026-11-01",
        "wage": "8000"}).get_data(as_text=True)
    assert "证件号码与姓名不符" in html
    assert _count(Application) == before


def test_a_unit_cannot_move_an_individuals_talent_filing_onto_another_person(unit_a):
    talent = db.session.scalar(sa.select(Application).join(ServiceItem).where(
        ServiceItem.code == "RC_TALENT", Application.state == "awaiting_unit"))
    subject, payload = talent.subject_person_id, dict(talent.payload)
    rep = db.session.scalar(sa.select(Person).where(Person.id_no == REP_A))
    unit_a.post(f"/unit/filing/{talent.id}/edit/", data={
        **payload, "name": rep.name, "id_no": rep.id_no, "csrf_token": csrf_token(unit_a),
        "version": talent.version})
    db.session.expire_all()
    talent = db.session.get(Application, talent.id)
    assert (talent.subject_person_id, talent.payload) == (subject, payload)
    # and the unit may not delete what the person prepared
    unit_a.post(f"/unit/filing/{talent.id}/delete/", data={"csrf_token": csrf_token(unit_a)})
    assert db.session.get(Application, talent.id) is not None


# --- agents -----------------------------------------------------------------------------------

def test_an_agent_reaches_only_its_items_by_every_path(client, app):
    agent = member("agent", "RC_TALENT,JY_RECORD")  # SB_ENROLL would cover SB_ENROLL_BATCH
    other = _filing(UNIT_A, "SB_UNIT_CHANGE", state="submitted")
    db.session.add(Attachment(application_id=other.id, material="x", file_name="x.pdf",
                              content_type="application/pdf", size=3, sha256="0" * 64,
                              stored_path="nowhere"))
    batch = ImportBatch(unit_id=_unit_id(UNIT_A), item_id=_item_id("SB_ENROLL_BATCH"),
                        file_name="x.xlsx", sha256="1" * 64, rows=[], errors=[
                            {"row_no": 2, "cells": ["x"], "reasons": ["bad"]}])
    db.session.add(batch)
    db.session.commit()
    attachment = db.session.scalar(sa.select(Attachment.id).where(
        Attachment.application_id == other.id))
    granted = _filing(UNIT_A, "JY_RECORD", state="submitted")
    assert login(client, "unit", agent.id_no, UNIT_A).status_code == 302
    assert client.get(f"/unit/filing/{granted.id}/").status_code == 200
    assert f"id={granted.id}&" in client.get("/unit/unit_application/").get_data(as_text=True)
    assert client.get(f"/unit/filing/{other.id}/").status_code == 404
    assert client.get(f"/unit/filing/attachment/{attachment}/").status_code == 404
    assert client.get(f"/unit/unit_application/details/?id={other.id}").status_code == 404
    assert client.get(f"/unit/import/batch/{batch.id}/").status_code == 404
    assert client.get(f"/unit/import/batch/{batch.id}/errors/").status_code == 404
    exported = client.get("/unit/unit_application/export/csv/").get_data(as_text=True)
    assert "单位参保信息变更" not in exported and "批量新参保" not in exported
    assert f"id={other.id}&" not in client.get("/unit/unit_application/").get_data(
        as_text=True)
    assert client.post("/unit/unit_application/new/", data={
        "item": _item_id("SB_UNIT_CHANGE"), "csrf_token": csrf_token(client)}).status_code == 403


# --- batches ----------------------------------------------------------------------------------

def _rejected_batch(rows=2) -> Application:
    return _filing(UNIT_A, "SB_ENROLL_BATCH", state="rejected", payload={
        "rows": [{"row_no": n + 2, "id_no": fresh_id_no(90 + n), "name": f"行{n}"}
                 for n in range(rows)], "batch_id": None, "file_name": "x.xlsx"})


def test_saving_a_rejected_batch_never_empties_it(unit_a):
    application = _rejected_batch()
    rows = application.payload["rows"]
    response = unit_a.post(f"/unit/filing/{application.id}/edit/", data={
        "csrf_token": csrf_token(unit_a), "intent": "draft", "version": application.version})
    assert response.status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(Application, application.id).payload["rows"] == rows
    act(unit_a, "unit", application.id, "resubmit")
    assert db.session.get(Application, application.id).payload["rows"] == rows


def test_a_rejected_batch_is_fixed_by_dropping_rows_but_never_the_last(unit_a):
    application = _rejected_batch()
    url = f"/unit/filing/{application.id}/batch/drop/"
    unit_a.post(url, data={"csrf_token": csrf_token(unit_a), "row_no": 2})
    db.session.expire_all()
    assert [r["row_no"] for r in db.session.get(Application, application.id).payload[
        "rows"]] == [3]
    html = unit_a.post(url, data={"csrf_token": csrf_token(unit_a), "row_no": 3},
                       follow_redirects=True).get_data(as_text=True)
    assert "不能删除最后一行" in html
    assert len(db.session.get(Application, application.id).payload["rows"]) == 1


def test_a_corrected_file_with_errors_replaces_nothing(unit_a):
    application = _rejected_batch()
    rows = application.payload["rows"]
    html = unit_a.post(f"/unit/filing/{application.id}/batch/file/", data={
        "csrf_token": csrf_token(unit_a), "file": (io.BytesIO(b"a,b\n1,2\n"), "fix.csv")},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "办件未作改动" in html
    db.session.expire_all()
    assert db.session.get(Application, application.id).payload["rows"] == rows


# --- institutions -----------------------------------------------------------------------------

def test_an_institution_files_only_items_open_to_institutions(client):
    admin = db.session.scalar(sa.select(Person).join(
        Account, Account.person_id == Person.id).where(Account.kind == "institution").limit(1))
    institution_no = db.session.scalar(sa.text(
        "SELECT institution_no FROM institution WHERE id = (SELECT institution_id FROM account"
        " WHERE kind='institution' AND person_id=:p LIMIT 1)"), {"p": admin.id})
    assert login(client, "institution", admin.id_no, institution_no).status_code == 302
    before = _count(Application)
    for code, data in [("SB_UNIT_CHANGE", {"name": "改名", "reason": "x"}),
                       ("SB_SUSPEND", {"id_no": _employee(UNIT_A).id_no,
                                       "suspend_date": "2026-11-20", "reason": "leave"})]:
        assert client.get(f"/unit/filing/new/{code}/").status_code == 403
        assert new_filing(client, "unit", code, data).status_code == 403
    assert _count(Application) == before
    assert client.get("/unit/filing/new/JY_RECORD/").status_code == 200


# --- delegation limits ------------------------------------------------------------------------

def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client), **data},
                       follow_redirects=True)


def _agents_in_force(unit_id, how_many):
    today = dt.date.today()
    for n in range(how_many):
        person = Person(id_no=fresh_id_no(200 + n), name=f"代理{n}")
        db.session.add(person)
        db.session.flush()
        db.session.add(Grant(unit_id=unit_id, person_id=person.id, level="agent",
                             valid_from=today, item_codes="JY_RECORD"))
    db.session.commit()


def test_an_expired_agent_is_not_edited_back_past_ten(unit_a):
    unit_id = _unit_id(UNIT_A)
    today = dt.date.today()
    expired = db.session.scalar(sa.select(Grant).where(
        Grant.unit_id == unit_id, Grant.level == "agent", Grant.valid_to < today))
    in_force = _count(Grant, Grant.unit_id == unit_id, Grant.level == "agent",
                      Grant.revoked_at.is_(None),
                      sa.or_(Grant.valid_to.is_(None), Grant.valid_to >= today))
    _agents_in_force(unit_id, 10 - in_force)
    html = _post(unit_a, f"/unit/members/{expired.id}/edit/", valid_from=str(today),
                 valid_to="", items=["JY_RECORD"]).get_data(as_text=True)
    assert "最多10个经办人" in html
    db.session.expire_all()
    assert db.session.get(Grant, expired.id).valid_to < today


def test_a_parked_administrator_is_not_brought_back_beside_a_new_one(unit_a):
    unit_id = _unit_id(UNIT_A)
    today = dt.date.today()
    admin = db.session.scalar(sa.select(Grant).where(Grant.unit_id == unit_id,
                                                     Grant.level == "admin"))
    _post(unit_a, f"/unit/members/{admin.id}/edit/", valid_from=str(admin.valid_from),
          valid_to=str(today - dt.timedelta(days=1)))
    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    _post(unit_a, "/unit/members/add/", level="admin", id_no=zhang.id_no, name=zhang.name,
          phone=zhang.phone, valid_from=str(today))
    assert _count(Grant, Grant.unit_id == unit_id, Grant.level == "admin",
                  Grant.person_id == zhang.id) == 1
    html = _post(unit_a, f"/unit/members/{admin.id}/edit/", valid_from=str(admin.valid_from),
                 valid_to="").get_data(as_text=True)
    assert "最多1个管理员" in html
    db.session.expire_all()
    assert db.session.get(Grant, admin.id).valid_to == today - dt.timedelta(days=1)


# --- staff regions ----------------------------------------------------------------------------

def _regional(username, *regions, roles=()):
    account = db.session.scalar(sa.select(Account).where(Account.username == username))
    roles = roles or [account.roles[0].role] * len(regions)
    for existing in list(account.roles):
        db.session.delete(existing)
    db.session.flush()
    for role, region in zip(roles, regions, strict=True):
        db.session.add(StaffRole(account_id=account.id, role=role, region_code=region))
    db.session.commit()


def test_a_regional_reviewer_reaches_nothing_of_another_region(as_staff):
    _regional("reviewer", "330902")
    own = _filing(UNIT_A, "JY_RECORD", state="submitted", subject=_employee(UNIT_A))
    db.session.add(Attachment(application_id=own.id, material="x", file_name="x.pdf",
                              content_type="application/pdf", size=3, sha256="0" * 64,
                              stored_path="nowhere"))
    db.session.commit()
    event = db.session.scalar(sa.select(ApplicationEvent.id).join(Application).where(
        Application.unit_id == _unit_id(UNIT_A)).limit(1))
    attachment = db.session.scalar(sa.select(Attachment.id).where(
        Attachment.application_id == own.id))
    person = _employee(UNIT_A)
    client = as_staff("reviewer")
    assert client.get(f"/admin/admin_attachment/details/?id={attachment}").status_code == 404
    assert client.get(f"/admin/admin_application/attachment/{attachment}/").status_code == 404
    assert client.get(
        f"/admin/admin_application_event/details/?id={event}").status_code == 404
    assert client.get(f"/admin/admin_person/details/?id={person.id}").status_code == 404
    assert person.name not in client.get(
        f"/admin/admin_person/?search={person.id_no}").get_data(as_text=True)
    review(client, own.id, "accept")
    assert db.session.get(Application, own.id).state == "submitted"
    foreign = _filing(UNIT_B, "JY_RECORD", state="submitted")
    assert client.get(f"/admin/admin_application/details/?id={own.id}").status_code == 404
    assert client.get(f"/admin/admin_application/details/?id={foreign.id}").status_code == 200
    assert client.get(f"/admin/admin_unit/details/?id={_unit_id(UNIT_A)}").status_code == 404
    assert client.get(f"/admin/admin_unit/details/?id={_unit_id(UNIT_B)}").status_code == 200
    theirs = _employee(UNIT_B)
    assert client.get(f"/admin/admin_person/details/?id={theirs.id}").status_code == 200


def test_two_regions_are_their_union_not_no_limit(as_staff):
    _regional("reviewer", "330902", "330903", roles=("reviewer", "auditor"))
    person = _employee(UNIT_A)
    client = as_staff("reviewer")
    assert client.get(f"/admin/admin_person/details/?id={person.id}").status_code == 404
    assert client.get(f"/admin/admin_person/details/?id={_employee(UNIT_B).id}").status_code \
        == 200


def test_staff_roles_attach_to_staff_accounts_only(as_staff):
    individual = db.session.scalar(sa.select(Account).where(Account.kind == "individual"))
    client = as_staff("admin")
    form = client.get("/admin/admin_staff_role/new/").get_data(as_text=True)
    assert f'value="{individual.id}"' not in form
    before = _count(StaffRole)
    client.post("/admin/admin_staff_role/new/", data={
        "account": individual.id, "role": "reviewer", "csrf_token": csrf_token(client)})
    assert _count(StaffRole) == before


# --- masking ----------------------------------------------------------------------------------

def test_agents_see_masked_numbers_and_representatives_full(client, unit_a):
    person = _employee(UNIT_A)
    full = unit_a.get("/unit/unit_enrollment/?page_size=100").get_data(as_text=True)
    assert person.id_no in full
    switch(client, "unit", member("agent", "SB_ENROLL,SB_SUSPEND").id_no, UNIT_A)
    masked = client.get("/unit/unit_enrollment/?page_size=100").get_data(as_text=True)
    assert person.id_no not in masked and mask(person.id_no) in masked


def test_the_auditor_sees_ids_and_phones_masked(as_staff):
    person = db.session.scalar(sa.select(Person).where(Person.phone.is_not(None)).limit(1))
    client = as_staff("auditor")
    html = client.get(f"/admin/admin_person/details/?id={person.id}").get_data(as_text=True)
    assert person.id_no not in html and person.phone not in html
    assert mask(person.id_no) in html
    assert _count(AuditEvent, AuditEvent.action == "查看个人信息") == 0


def test_a_full_view_of_a_person_is_audited(as_staff):
    person = _employee(UNIT_A)
    client = as_staff("clerk")
    html = client.get(f"/admin/admin_person/details/?id={person.id}").get_data(as_text=True)
    assert person.id_no in html
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "查看个人信息", AuditEvent.object_id == str(person.id)))
    assert event is not None and event.object_type == "Person"


# --- operations the old tests did not guard ---------------------------------------------------

def test_rating_is_audited(unit_a):
    application = _filing(UNIT_A, "JY_RECORD", state="completed")
    unit_a.post(f"/unit/filing/{application.id}/rate/", data={
        "csrf_token": csrf_token(unit_a), "rating": 4, "comment": "快"})
    assert db.session.get(Application, application.id).rating == 4
    assert _count(AuditEvent, AuditEvent.action == "application:rate",
                  AuditEvent.object_id == str(application.id)) == 1


def test_a_unit_cannot_accept_its_own_filing(unit_a):
    application = _filing(UNIT_A, "JY_RECORD", state="submitted")
    act(unit_a, "unit", application.id, "accept")
    act(unit_a, "unit", application.id, "approve")
    assert db.session.get(Application, application.id).state == "submitted"


def _approve(client, application_id):
    switch(client, "staff", "reviewer")
    review(client, application_id, "accept")
    review(client, application_id, "approve")
    return db.session.get(Application, application_id)


def test_approving_a_unit_change_renames_the_unit(unit_a):
    application = _filing(UNIT_A, "SB_UNIT_CHANGE", state="submitted",
                          payload={"name": "新名称有限公司", "address": "", "reason": "更名"})
    assert _approve(unit_a, application.id).state == "completed"  # approved, nothing to bring in
    assert db.session.get(Unit, _unit_id(UNIT_A)).name == "新名称有限公司"


def test_approving_a_talent_filing_records_a_recognition(unit_a):
    person = _employee(UNIT_A)
    application = _filing(UNIT_A, "RC_TALENT", state="submitted", subject=person,
                          payload={"name": person.name, "id_no": person.id_no, "level": "B"})
    before = _count(TalentRecognition, TalentRecognition.person_id == person.id)
    assert _approve(unit_a, application.id).state == "completed"  # approved, nothing to bring in
    assert _count(TalentRecognition, TalentRecognition.person_id == person.id) == before + 1


@pytest.mark.parametrize("code", ["SB_ENROLL"])
def test_an_upload_to_a_foreign_filing_stores_nothing(client, unit_a, code):
    theirs = _filing(UNIT_B, code)
    response = unit_a.post(f"/unit/filing/{theirs.id}/upload/", data={
        "csrf_token": csrf_token(unit_a), "material": "contract",
        "file": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 404
    assert _count(Attachment, Attachment.application_id == theirs.id) == 0


# --- guards found by the mutation run ----------------------------------------------------------

def test_a_units_own_filing_does_not_put_a_stranger_in_its_scope(unit_a):
    from models.auth import actor_for
    from models.scope import scope_clause

    stranger = _employee(UNIT_B)
    new_filing(unit_a, "unit", "SB_ENROLL", {**ENROLL, "id_no": stranger.id_no,
                                             "name": stranger.name})
    rep = db.session.scalar(sa.select(Account).join(Person).where(
        Person.id_no == REP_A, Account.kind == "unit_member"))
    actor = actor_for(rep, dt.date.today())
    # nor does a filing an individual prepared for another unit
    individual = db.session.scalar(sa.select(Account.id).where(Account.kind == "individual"))
    db.session.add(Application(item_id=_item_id("RC_TALENT"), unit_id=_unit_id(UNIT_B),
                               subject_person_id=stranger.id, filed_by_id=individual,
                               state="awaiting_unit", payload={"x": 1}))
    db.session.commit()
    assert not _count(Person, Person.id == stranger.id, scope_clause(Person, actor))
    # but the person who named the unit in a filing he prepared is in it
    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    assert _count(Person, Person.id == zhang.id, scope_clause(Person, actor)) == 1


def test_an_institution_sees_its_own_filings_only(client):
    account = db.session.scalar(sa.select(Account).where(Account.kind == "institution",
                                                         Account.unit_id.is_(None)).limit(1))
    from models import Institution

    institution = db.session.get(Institution, account.institution_id)
    own = _filing(UNIT_A if institution.unit_id == _unit_id(UNIT_A) else UNIT_B, "JY_RECORD",
                  state="submitted")
    own.institution_id = institution.id
    parent = _filing(UNIT_A if institution.unit_id == _unit_id(UNIT_A) else UNIT_B,
                     "JY_RECORD", state="submitted")
    db.session.commit()
    person = db.session.get(Person, account.person_id)
    assert login(client, "institution", person.id_no,
                 institution.institution_no).status_code == 302
    assert client.get(f"/unit/filing/{own.id}/").status_code == 200
    assert client.get(f"/unit/filing/{parent.id}/").status_code == 404


def test_a_regional_clerk_reaches_accounts_pensions_and_certificates_of_its_region(as_staff):
    from models import Certificate, PensionAccount

    _regional("clerk", "330902")
    a_person, b_person = _employee(UNIT_A), _employee(UNIT_B)
    pensions = {owner: db.session.scalar(sa.select(PensionAccount.id).where(
        PensionAccount.person_id == p.id).limit(1)) for owner, p in (("A", a_person),
                                                                      ("B", b_person))}
    accounts = {owner: db.session.scalar(sa.select(Account.id).where(
        Account.kind == "unit_member", Account.unit_id == _unit_id(uscc)).limit(1))
        for owner, uscc in (("A", UNIT_A), ("B", UNIT_B))}
    certificates = {}
    for owner, p in (("A", a_person), ("B", b_person)):
        certificate = Certificate(code=f"TEST{owner}CODE0001", kind="person", person_id=p.id,
                                  facts={})
        db.session.add(certificate)
        db.session.flush()
        certificates[owner] = certificate.id
    db.session.commit()
    client = as_staff("clerk")
    for endpoint, ids in (("admin_pension_account", pensions), ("admin_account", accounts),
                          ("admin_certificate", certificates)):
        assert client.get(f"/admin/{endpoint}/details/?id={ids['A']}").status_code == 404
        assert client.get(f"/admin/{endpoint}/details/?id={ids['B']}").status_code == 200
    staff = db.session.scalar(sa.select(Account.id).where(Account.username == "admin"))
    assert client.get(f"/admin/admin_account/details/?id={staff}").status_code == 200


def test_deleting_a_batch_draft_releases_its_import_batch(unit_a):
    application = _filing(UNIT_A, "SB_ENROLL_BATCH", payload={"rows": [{"row_no": 2}]})
    batch = ImportBatch(unit_id=_unit_id(UNIT_A), item_id=_item_id("SB_ENROLL_BATCH"),
                        file_name="x.xlsx", sha256="2" * 64, rows=[{"row_no": 2}],
                        application_id=application.id)
    db.session.add(batch)
    db.session.commit()
    application_id, batch_id = application.id, batch.id
    unit_a.post(f"/unit/filing/{application_id}/delete/", data={"csrf_token": csrf_token(
        unit_a)})
    db.session.expire_all()
    assert db.session.get(Application, application_id) is None
    assert db.session.get(ImportBatch, batch_id).application_id is None


def test_uploads_and_new_members_are_audited_by_their_id(unit_a):
    application = _filing(UNIT_A, "SB_ENROLL", payload={"id_no": "x"})
    unit_a.post(f"/unit/filing/{application.id}/upload/", data={
        "csrf_token": csrf_token(unit_a), "material": "contract",
        "file": (io.BytesIO(PDF), "合同.pdf")}, content_type="multipart/form-data")
    attachment = db.session.scalar(sa.select(Attachment.id).where(
        Attachment.application_id == application.id))
    assert _count(AuditEvent, AuditEvent.action == "attachment:upload",
                  AuditEvent.object_id == str(attachment)) == 1
    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    _post(unit_a, "/unit/members/add/", level="agent", id_no=zhang.id_no, name=zhang.name,
          phone=zhang.phone, valid_from=str(dt.date.today()), items=["JY_RECORD"])
    grant = db.session.scalar(sa.select(Grant.id).where(Grant.person_id == zhang.id))
    assert _count(AuditEvent, AuditEvent.action == "grant:add",
                  AuditEvent.object_id == str(grant)) == 1


def test_a_batch_claimed_meanwhile_is_not_filed_twice(app):
    from models.errors import Refusal
    from models.operations import By, save_batch
    from rules.permissions import Actor

    batch = ImportBatch(unit_id=_unit_id(UNIT_A), item_id=_item_id("SB_ENROLL_BATCH"),
                        file_name="x.xlsx", sha256="3" * 64, rows=[{"row_no": 2}])
    db.session.add(batch)
    db.session.commit()
    # another request files it between our read and our claim
    db.session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch.id)
                       .values(status="filed").execution_options(synchronize_session=False))
    rep = db.session.scalar(sa.select(Person).where(Person.id_no == REP_A))
    actor = Actor(1, "unit_member", person_id=rep.id, unit_id=_unit_id(UNIT_A),
                  grant_level="legal_rep")
    before = _count(Application)
    with pytest.raises(Refusal, match="请勿重复提交"):
        save_batch(By(actor), batch)
    assert _count(Application) == before


def test_each_party_sees_its_own_institution_records_and_enrollments(client, unit_a):
    from models import Institution

    own, theirs = (db.session.scalar(sa.select(Institution).where(
        Institution.unit_id == _unit_id(uscc))) for uscc in (UNIT_A, UNIT_B))
    html = unit_a.get("/unit/unit_institution/").get_data(as_text=True)
    assert own.name in html and theirs.name not in html
    switch(client, "person", PERSON)
    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    talent = db.session.scalar(sa.select(Application.id).where(
        Application.subject_person_id == zhang.id))
    assert client.get(f"/me/filing/{talent}/").status_code == 200
    html = client.get("/me/me_person/").get_data(as_text=True)
    assert zhang.name in html and _employee(UNIT_B).name not in html
    stranger = _employee(UNIT_B)
    assert client.get(f"/me/me_person/details/?id={zhang.id}").status_code == 200
    assert client.get(f"/me/me_person/details/?id={stranger.id}").status_code == 404
    theirs_enrolled = db.session.scalar(sa.select(Enrollment.id).where(
        Enrollment.person_id == stranger.id))
    assert client.get(f"/me/me_enrollment/details/?id={theirs_enrolled}").status_code == 404
    my_enrollment = db.session.scalar(sa.select(Enrollment.id).where(
        Enrollment.person_id == zhang.id))
    if my_enrollment is not None:
        assert client.get(f"/me/me_enrollment/details/?id={my_enrollment}").status_code == 200
    units = client.get("/me/me_enrollment/").get_data(as_text=True)
    mine = db.session.scalars(sa.select(Unit.name).join(Enrollment).where(
        Enrollment.person_id == zhang.id)).all()
    assert all(name in units for name in mine)
    others = db.session.scalars(sa.select(Unit.name).where(Unit.name.not_in(mine))).all()
    assert not any(name in units for name in others)
    account = db.session.scalar(sa.select(Account).where(
        Account.kind == "institution", Account.institution_id == own.id))
    switch(client, "institution", db.session.get(Person, account.person_id).id_no,
           own.institution_no)
    assert client.get(f"/unit/unit_institution/details/?id={own.id}").status_code == 200
    assert client.get(f"/unit/unit_institution/details/?id={theirs.id}").status_code == 404


def test_an_edit_from_a_stale_page_changes_nothing(unit_a):
    person = _employee(UNIT_A)
    application = _filing(UNIT_A, "JY_RECORD", payload={
        "id_no": person.id_no, "hire_date": "2026-11-01", "position": "旧"})
    html = unit_a.post(f"/unit/filing/{application.id}/edit/", data={
        "csrf_token": csrf_token(unit_a), "id_no": person.id_no, "hire_date": "2026-11-01",
        "position": "新", "version": application.version - 1},
        follow_redirects=True).get_data(as_text=True)
    assert "已被他人修改" in html
    db.session.expire_all()
    assert db.session.get(Application, application.id).payload["position"] == "旧"


def test_a_regional_clerk_cannot_reset_an_individual_of_another_region(as_staff):
    """A clerk limited to 330902 cannot reset, cancel or unlock the personal account of 张伟
    (employed in 330106): refused 403, nothing changes; a 330106 clerk can."""
    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    regions = set(db.session.scalars(sa.select(Unit.region_code).join(
        Enrollment, Enrollment.unit_id == Unit.id).where(Enrollment.person_id == zhang.id)))
    assert regions and not any(r.startswith("330902") for r in regions)
    account = db.session.scalar(sa.select(Account).where(
        Account.kind == "individual", Account.person_id == zhang.id))
    before = account.password_hash
    _regional("clerk", "330902")
    clerk = as_staff("clerk")
    for service in ("reset", "cancel", "unlock"):
        response = clerk.post(f"/admin/counter/{service}/", data={
            "csrf_token": csrf_token(clerk), "form_no": "F1", "reason": "离职",
            "target": "person", "code": PERSON})
        assert response.status_code == 403, service
        assert "不在您的受理区域" in response.get_data(as_text=True), service
    db.session.expire_all()
    account = db.session.get(Account, account.id)
    assert account.password_hash == before and account.active
    _regional("clerk", "330106")
    response = clerk.post("/admin/counter/reset/", data={
        "csrf_token": csrf_token(clerk), "form_no": "F2", "reason": "",
        "target": "person", "code": PERSON})
    assert response.status_code == 200 and "密码重置回执单" in response.get_data(as_text=True)


def test_a_regional_clerk_opens_only_individuals_enrolled_in_his_region(as_staff):
    """开通个人网上办事: a person with no unit, or whose units all lie elsewhere, is served
    only by a clerk without a region limit."""
    _regional("clerk", "330902")
    clerk = as_staff("clerk")
    newcomer = fresh_id_no(61)
    response = clerk.post("/admin/counter/open_person/", data={
        "csrf_token": csrf_token(clerk), "form_no": "F3", "reason": "", "id_no": newcomer,
        "name": "新来者", "phone": "13700000061"})
    assert response.status_code == 403
    assert db.session.scalar(sa.select(Person).where(Person.id_no == newcomer)) is None
    _regional("clerk", None)
    response = clerk.post("/admin/counter/open_person/", data={
        "csrf_token": csrf_token(clerk), "form_no": "F4", "reason": "", "id_no": newcomer,
        "name": "新来者", "phone": "13700000061"})
    assert response.status_code == 200 and "开通回执单" in response.get_data(as_text=True)


def test_regional_staff_read_only_their_regions_login_log_and_online_users(client, as_staff):
    """登录日志 and 在线用户 follow the region limit by the unit of the account: a 330902
    auditor does not read the login attempts of a 330106 unit, a 330106 auditor does; a
    330902 system administrator does not see a 330106 unit's live session."""
    login(client, "unit", REP_A, UNIT_A, password="wrong-password")
    _regional("auditor", "330902")
    auditor = as_staff("auditor")
    html = auditor.get("/admin/admin_login_log/").get_data(as_text=True)
    assert UNIT_A not in html, "a 330902 auditor sees a 330106 unit's login attempts"
    _regional("auditor", "330106")
    assert UNIT_A in auditor.get("/admin/admin_login_log/").get_data(as_text=True)
    assert login(client, "unit", REP_A, UNIT_A).status_code == 302
    _regional("admin", "330902")
    online = as_staff("admin").get("/admin/admin_online/").get_data(as_text=True)
    unit_a = db.session.scalar(sa.select(Unit).where(Unit.uscc == UNIT_A))
    assert unit_a.name not in online


def test_a_regional_clerk_lists_only_his_regions_pending_registrations(as_staff):
    """窗口服务 → 待核验 (/admin/counter/) lists the pending self-registrations (and their
    phones) of the clerk's regions only (models.accounts.pending_registrations)."""
    from models.accounts import register_unit
    from tests.test_accounts import _fresh_uscc

    uscc = _fresh_uscc("91330106MA2F0")
    register_unit(uscc=uscc, name="西湖待核验有限公司", rep_id_no=REP_A, rep_name="王丽华",
                  phone="13912345678", password="Xy9#kLm2pQ", region_code="330106")
    db.session.commit()
    _regional("clerk", "330902")
    html = as_staff("clerk").get("/admin/counter/").get_data(as_text=True)
    assert "西湖待核验有限公司" not in html and "13912345678" not in html, \
        "a 330902 clerk reads a 330106 registration and its phones"
    _regional("clerk", "330106")
    assert "西湖待核验有限公司" in as_staff("clerk").get("/admin/counter/").get_data(as_text=True)
