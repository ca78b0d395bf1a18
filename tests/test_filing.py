"""Filing journeys through the unit and personal consoles, as their users meet them."""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa
from pypdf import PdfReader

from models import (
    Application,
    ApplicationEvent,
    Enrollment,
    Person,
    ServiceItem,
    TalentRecognition,
    Unit,
    db,
)
from rules.codes import EnrollmentStatus
from tests.conftest import PERSON, REP_A, UNIT_A, UNIT_B, csrf_token
from tests.helpers import (
    PNG,
    TALENT,
    act,
    filing_id,
    fresh_id_no,
    member,
    new_filing,
    no_propagation,
    review,
    switch,
    upload,
)

ENROLL = {"name": "测试新人", "phone": "13912345678", "start_date": "2026-11-01",
          "wage": "8000", "insurance_kinds": "110,210,310,410,510"}


def _enroll_data(id_no, name=None):
    return {**ENROLL, "id_no": id_no, **({"name": name} if name else {})}


def test_enrollment_journey_from_draft_to_rating(unit_a):
    id_no = fresh_id_no()
    response = new_filing(unit_a, "unit", "SB_ENROLL", _enroll_data(id_no))
    application_id = filing_id(response)
    application = db.session.get(Application, application_id)
    assert application.state == "draft" and application.payload["wage"] == "8000.00"

    html = act(unit_a, "unit", application_id, "submit").get_data(as_text=True)
    assert "请上传必需材料：劳动合同" in html
    assert db.session.get(Application, application_id).state == "draft"

    assert "材料已上传" in upload(unit_a, "unit", application_id, "contract").get_data(
        as_text=True)
    html = act(unit_a, "unit", application_id, "submit").get_data(as_text=True)
    application = db.session.get(Application, application_id)
    assert application.state == "submitted" and application.deadline is not None
    assert "提交成功" in html

    switch(unit_a, "staff", "reviewer")
    review(unit_a, application_id, "accept")
    html = review(unit_a, application_id, "approve").get_data(as_text=True)
    assert "已审核通过" in html
    person = db.session.scalar(sa.select(Person).where(Person.id_no == id_no))
    enrollment = db.session.scalar(sa.select(Enrollment).where(Enrollment.person_id == person.id))
    assert enrollment.status == EnrollmentStatus.ACTIVE and str(enrollment.wage) == "8000.00"
    review(unit_a, application_id, "complete")
    unit_a.post(f"/admin/admin_application/delivery/{application_id}/", data={
        "csrf_token": csrf_token(unit_a), "courier": "邮政EMS", "tracking_no": "EMS123"})

    switch(unit_a, "unit", REP_A, UNIT_A)
    page = unit_a.get(f"/unit/filing/{application_id}/").get_data(as_text=True)
    assert "已办结" in page and "邮政EMS" in page and "EMS123" in page
    assert "待评价" in unit_a.get("/unit/").get_data(as_text=True)
    unit_a.post(f"/unit/filing/{application_id}/rate/", data={
        "csrf_token": csrf_token(unit_a), "rating": 4, "comment": "很快"})
    again = unit_a.post(f"/unit/filing/{application_id}/rate/", data={
        "csrf_token": csrf_token(unit_a), "rating": 1}, follow_redirects=True)
    assert "只能评价一次" in again.get_data(as_text=True)
    assert db.session.get(Application, application_id).rating == 4
    events = [e.action for e in db.session.get(Application, application_id).events]
    assert events == ["create", "submit", "accept", "approve", "complete"]


def test_a_double_click_files_once(unit_a):
    data = _enroll_data(fresh_id_no(11))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
    first = new_filing(unit_a, "unit", "SB_ENROLL", data, token="tok-1")
    second = new_filing(unit_a, "unit", "SB_ENROLL", data, token="tok-1")
    assert filing_id(first) == filing_id(second)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == before + 1
    application_id = filing_id(first)
    upload(unit_a, "unit", application_id, "contract")
    version = db.session.get(Application, application_id).version
    act(unit_a, "unit", application_id, "submit", version=version)
    html = act(unit_a, "unit", application_id, "submit", version=version).get_data(as_text=True)
    assert "已被他人处理" in html or "不能提交" in html
    submits = db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationEvent).where(
        ApplicationEvent.application_id == application_id, ApplicationEvent.action == "submit"))
    assert submits == 1


def test_required_fields_are_checked_on_submit_in_chinese(unit_a):
    response = new_filing(unit_a, "unit", "SB_ENROLL", {"name": "张三"}, intent="submit")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "请填写“身份证号码”" in html
    bad = new_filing(unit_a, "unit", "SB_ENROLL", {**ENROLL, "id_no": "330106198507210021"})
    assert "校验位错误" in bad.get_data(as_text=True)
    low = new_filing(unit_a, "unit", "SB_ENROLL", {**_enroll_data(fresh_id_no(3)), "wage": "10"})
    assert "工资应在" in low.get_data(as_text=True)


def test_materials_are_checked_by_content(unit_a):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", _enroll_data(
        fresh_id_no(5))))
    html = upload(unit_a, "unit", application_id, "contract", b"hello, not a pdf",
                  "合同.pdf").get_data(as_text=True)
    assert "只接受PDF、JPG、PNG" in html
    html = upload(unit_a, "unit", application_id, "contract", b"%PDF" + b"0" * (10 << 20),
                  "big.pdf").get_data(as_text=True)
    assert "10MB" in html
    upload(unit_a, "unit", application_id, "contract", PNG, "scan.pdf")
    attachment = db.session.get(Application, application_id).attachments[0]
    assert attachment.content_type == "image/png" and attachment.file_name == "scan.pdf.png"
    download = unit_a.get(f"/unit/filing/attachment/{attachment.id}/")
    assert download.status_code == 200 and download.data == PNG


def test_another_unit_cannot_download_or_act(client, unit_a, app):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", _enroll_data(
        fresh_id_no(9))))
    upload(unit_a, "unit", application_id, "contract")
    attachment_id = db.session.get(Application, application_id).attachments[0].id
    switch(unit_a, "unit", "330902199002270055", UNIT_B)
    for url in (f"/unit/filing/{application_id}/", f"/unit/filing/{application_id}/edit/",
                f"/unit/filing/attachment/{attachment_id}/",
                f"/unit/filing/{application_id}/print/form/",
                f"/unit/filing/{application_id}/certificate/"):
        assert unit_a.get(url).status_code == 404, url
    token = csrf_token(unit_a)
    for url in ("act", "upload", "delete", "rate"):
        response = unit_a.post(f"/unit/filing/{application_id}/{url}/", data={
            "csrf_token": token, "action": "submit", "rating": 5})
        assert response.status_code == 404, url
    assert db.session.get(Application, application_id).state == "draft"


def test_reject_needs_a_reason_and_the_unit_resubmits_a_new_revision(unit_a):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", _enroll_data(
        fresh_id_no(13))))
    upload(unit_a, "unit", application_id, "contract")
    act(unit_a, "unit", application_id, "submit")
    switch(unit_a, "staff", "reviewer")
    review(unit_a, application_id, "accept")
    html = review(unit_a, application_id, "reject").get_data(as_text=True)
    assert "须填写原因" in html and db.session.get(Application, application_id).state == \
        "in_review"
    review(unit_a, application_id, "reject", comment="工资与合同不符")
    assert db.session.get(Application, application_id).state == "rejected"

    switch(unit_a, "unit", REP_A, UNIT_A)
    assert "工资与合同不符" in unit_a.get(f"/unit/filing/{application_id}/").get_data(
        as_text=True)
    application = db.session.get(Application, application_id)
    unit_a.post(f"/unit/filing/{application_id}/edit/", data={
        "csrf_token": csrf_token(unit_a), "version": application.version,
        **_enroll_data(application.payload["id_no"]), "wage": "9000"})
    act(unit_a, "unit", application_id, "resubmit")
    application = db.session.get(Application, application_id)
    assert (application.state, application.revision) == ("submitted", 2)
    submitted = [e for e in application.events if e.action in ("submit", "resubmit")]
    assert [(e.revision, e.payload["wage"]) for e in submitted] == [(1, "8000.00"),
                                                                     (2, "9000.00")]


def test_withdraw_only_before_acceptance(unit_a):
    ids = []
    for seed in (21, 22):
        application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", _enroll_data(
            fresh_id_no(seed))))
        upload(unit_a, "unit", application_id, "contract")
        act(unit_a, "unit", application_id, "submit")
        ids.append(application_id)
    act(unit_a, "unit", ids[0], "withdraw")
    assert db.session.get(Application, ids[0]).state == "withdrawn"
    switch(unit_a, "staff", "reviewer")
    review(unit_a, ids[1], "accept")
    switch(unit_a, "unit", REP_A, UNIT_A)
    html = act(unit_a, "unit", ids[1], "withdraw").get_data(as_text=True)
    assert "不能撤回" in html and db.session.get(Application, ids[1]).state == "in_review"


def test_enrollment_lookup_says_new_or_resumed(unit_a):
    fresh = unit_a.get(f"/unit/filing/lookup/?id_no={fresh_id_no(31)}").get_json()
    assert fresh["kind"] == "new" and fresh["message"] == "新参保"
    employee = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_A))
    employee.status = EnrollmentStatus.SUSPENDED
    db.session.commit()
    resumed = unit_a.get(f"/unit/filing/lookup/?id_no={employee.person.id_no}").get_json()
    assert resumed["kind"] == "resume" and resumed["name"] == employee.person.name
    other = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_B))
    busy = unit_a.get(f"/unit/filing/lookup/?id_no={other.person.id_no}").get_json()
    assert busy["kind"] is None and "其他单位" in busy["message"]
    assert "校验位" in unit_a.get("/unit/filing/lookup/?id_no=330106198507210021").get_json()[
        "message"]


def test_approval_that_no_longer_applies_changes_nothing(unit_a):
    other = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_B))
    id_no = other.person.id_no
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", _enroll_data(
        id_no, other.person.name)))
    upload(unit_a, "unit", application_id, "contract")
    act(unit_a, "unit", application_id, "submit")
    switch(unit_a, "staff", "reviewer")
    review(unit_a, application_id, "accept")
    enrollments = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment))
    html = review(unit_a, application_id, "approve").get_data(as_text=True)
    assert "正在其他单位参保缴费" in html
    assert db.session.get(Application, application_id).state == "in_review"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)) == enrollments


def test_suspension_and_resumption(unit_a):
    employee = db.session.scalar(sa.select(Enrollment).join(Unit).where(
        Unit.uscc == UNIT_A, Enrollment.status == "active"))
    id_no = employee.person.id_no
    application_id = filing_id(new_filing(unit_a, "unit", "SB_SUSPEND", {
        "id_no": id_no, "suspend_date": "2026-11-20", "reason": "leave"}, intent="submit"))
    assert db.session.get(Application, application_id).state == "submitted"
    switch(unit_a, "staff", "reviewer")
    review(unit_a, application_id, "accept")
    review(unit_a, application_id, "approve")
    assert db.session.get(Enrollment, employee.id).status == "suspended"
    switch(unit_a, "unit", REP_A, UNIT_A)
    assert unit_a.get(f"/unit/filing/lookup/?id_no={id_no}").get_json()["kind"] == "resume"
    stranger = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_B))
    response = new_filing(unit_a, "unit", "SB_SUSPEND", {
        "id_no": stranger.person.id_no, "suspend_date": "2026-11-20", "reason": "leave"})
    assert "本单位没有该人员" in response.get_data(as_text=True)


def test_an_agent_files_only_granted_items(client):
    agent = member("agent", "SB_ENROLL,SB_SUSPEND")
    from tests.conftest import login

    assert login(client, "unit", agent.id_no, UNIT_A).status_code == 302
    assert client.get("/unit/filing/new/JY_RECORD/").status_code == 403
    assert "未获业务授权" in client.get("/unit/filing/").get_data(as_text=True)
    record = db.session.scalar(sa.select(Application).join(Unit).where(
        Unit.uscc == UNIT_A, Application.state == "draft"))
    assert record.item.code == "JY_RECORD"
    # Another item's filing does not exist for this agent: no page, no action, no file.
    assert client.get(f"/unit/filing/{record.id}/").status_code == 404
    act(client, "unit", record.id, "submit")
    assert db.session.get(Application, record.id).state == "draft"
    application_id = filing_id(new_filing(client, "unit", "SB_ENROLL", _enroll_data(
        fresh_id_no(41))))
    upload(client, "unit", application_id, "contract")
    act(client, "unit", application_id, "submit")
    from models import AuditEvent

    audit = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "application:submit", AuditEvent.object_id == str(application_id)))
    assert "以经办人身份办理" in audit.acting_for and "杭州西湖" in audit.acting_for


def _drop_open_talent_filing(client):
    """The demo's talent filing waits for the unit: delete it as its author may."""
    pending = db.session.scalar(sa.select(Application).join(ServiceItem).where(
        ServiceItem.code == "RC_TALENT", Application.state == "awaiting_unit"))
    client.post(f"/me/filing/{pending.id}/delete/", data={"csrf_token": csrf_token(client)})


def test_one_open_talent_filing_per_person(person_client):
    page = person_client.get("/me/filing/new/RC_TALENT/", follow_redirects=True)
    assert "正在办理" in page.get_data(as_text=True)
    response = new_filing(person_client, "me", "RC_TALENT", {
        "name": "张伟", "id_no": PERSON, "level": "C", "unit_uscc": UNIT_A})
    assert response.status_code == 302 and "/filing/new/" not in response.location
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Application).join(
        ServiceItem).where(ServiceItem.code == "RC_TALENT"))
    assert count == 1


def test_talent_filing_prepared_by_the_person_and_submitted_by_the_unit(person_client):
    _drop_open_talent_filing(person_client)
    page = person_client.get("/me/filing/new/RC_TALENT/").get_data(as_text=True)
    assert "张伟" in page and PERSON in page  # prefilled from the recognition
    response = new_filing(person_client, "me", "RC_TALENT", {**TALENT, "title": "工程师"})
    application_id = filing_id(response)
    upload(person_client, "me", application_id, "form")
    html = act(person_client, "me", application_id, "prepare").get_data(as_text=True)
    assert "请上传必需材料：本人近期证件照" in html  # the photo is a material of its own
    upload(person_client, "me", application_id, "photo", data=PNG, name="照片.png")
    html = act(person_client, "me", application_id, "prepare").get_data(as_text=True)
    assert "请联系所属企业进行提交" in html
    html = act(person_client, "me", application_id, "submit").get_data(as_text=True)
    assert "须由所属单位提交" in html
    assert db.session.get(Application, application_id).state == "awaiting_unit"
    certificate = person_client.get(f"/me/filing/{application_id}/certificate/")
    assert certificate.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(certificate.data)).pages[0].extract_text()
    assert "个人社会保险参保证明" in text and "张伟" in text
    printed = person_client.get(f"/me/filing/{application_id}/print/publicity/")
    assert "公示表" in printed.get_data(as_text=True)

    switch(person_client, "unit", REP_A, UNIT_A)
    assert f"/unit/filing/{application_id}/" in person_client.get(
        "/unit/filing/workbench/").get_data(as_text=True)
    act(person_client, "unit", application_id, "submit")
    assert db.session.get(Application, application_id).state == "submitted"
    switch(person_client, "person", PERSON)
    assert "待受理" in person_client.get(f"/me/filing/{application_id}/").get_data(as_text=True)


def test_talent_filing_is_refused_before_23_months(person_client):
    recognition = db.session.scalar(sa.select(TalentRecognition))
    recognition.recognised_on = dt.date.today() - dt.timedelta(days=300)
    recognition.valid_until = recognition.recognised_on + dt.timedelta(days=730)
    db.session.commit()
    html = person_client.get("/me/filing/new/RC_TALENT/",
                             follow_redirects=True).get_data(as_text=True)
    assert "认定后满23个月方可备案" in html


def test_talent_filing_names_a_registered_unit(person_client):
    _drop_open_talent_filing(person_client)
    response = new_filing(person_client, "me", "RC_TALENT", {
        "name": "张伟", "id_no": PERSON, "level": "C", "unit_uscc": "91330106MA2B00000X"})
    html = response.get_data(as_text=True)
    assert "未在系统中登记" in html or "校验位错误" in html


def test_home_page_counts_match_the_linked_lists(unit_a):
    home = unit_a.get("/unit/").get_data(as_text=True)
    import re

    for key in ("in_progress", "completed", "to_rate", "awaiting_unit"):
        count = int(re.search(rf'data-group="{key}">(\d+)<', home).group(1))
        listing = unit_a.get(f"/unit/unit_application/?flt0_0={key}").get_data(as_text=True)
        assert len(set(re.findall(r'href="/unit/filing/(\d+)/"', listing))) == count, key
    assert int(re.search(r'data-group="awaiting_unit">(\d+)<', home).group(1)) == 1


def test_talent_filing_must_be_for_oneself(person_client):
    _drop_open_talent_filing(person_client)
    response = new_filing(person_client, "me", "RC_TALENT", {
        "name": "李四", "id_no": REP_A, "level": "C", "unit_uscc": UNIT_A})
    assert "须与人才认定记录中的本人信息一致" in response.get_data(as_text=True)


def test_nan_as_a_wage_in_the_enrolment_form_is_a_field_error(app, unit_a):
    """/unit/filing/new/SB_ENROLL/ with 月缴费工资 "NaN" or "sNaN" is refused as a field
    error (工资应为数字), never a 500 (Decimal('NaN') cannot be compared)."""
    no_propagation(app)
    try:
        for wage in ("NaN", "sNaN"):
            response = unit_a.post("/unit/filing/new/SB_ENROLL/", data={
                "csrf_token": csrf_token(unit_a), "intent": "draft", "id_no": fresh_id_no(5),
                "name": "新人", "phone": "", "start_date": "2026-11-01", "wage": wage,
                "insurance_kinds": "110,210,310,410,510"})
            assert response.status_code < 500, (wage, response.status_code)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None


def _count_filings():
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application))


def test_filing_forms_refuse_dates_in_year_1_and_9999(unit_a):
    """The item forms' date fields have a range: 参保日期 0001-01-01 on 参保登记, 录用日期
    9999-12-31 on 用工备案 (submitted, not just a draft) are refused, nothing is written."""
    employee = db.session.scalars(sa.select(Person).join(
        Enrollment, Enrollment.person_id == Person.id).join(Unit).where(
        Unit.uscc == UNIT_A, Enrollment.end_date.is_(None))).first()
    cases = [
        ("SB_ENROLL", "draft", {"id_no": fresh_id_no(5), "name": "新人", "phone": "",
                                "start_date": "0001-01-01", "wage": "5000",
                                "insurance_kinds": "110,210,310,410,510"}),
        ("JY_RECORD", "submit", {"id_no": employee.id_no, "hire_date": "9999-12-31",
                                 "position": "职员"}),
        ("SB_SUSPEND", "draft", {"id_no": employee.id_no, "suspend_date": "0001-01-01",
                                 "reason": "leave"}),
    ]
    for code, intent, data in cases:
        before = _count_filings()
        unit_a.post(f"/unit/filing/new/{code}/", data={
            "csrf_token": csrf_token(unit_a), "intent": intent, **data})
        assert _count_filings() == before, f"{code} filed with date {data}"
