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


def _drop_waiting(client):
    client.post(f"/me/filing/{_waiting().id}/delete/", data={"csrf_token": csrf_token(client)})


MANUAL_LABELS = ("姓名", "性别", "证件类别", "证件号码", "手机", "出生年月", "民族", "出生地",
                 "政治面貌", "来杭工作时间", "从事产业类别", "在职状态", "工作单位", "单位类别",
                 "行政职务", "从事专业", "最高学历", "毕业学校", "毕业时间", "最高学位",
                 "学位授予单位", "学位授予时间", "申请认定类别", "申报条件")


def test_the_form_is_the_manuals_and_is_prefilled_from_what_the_office_knows(person_client):
    _drop_waiting(person_client)
    page = person_client.get("/me/filing/new/RC_TALENT/").get_data(as_text=True)
    for label in MANUAL_LABELS:
        assert f">{label}" in page, label
    assert 'value="1991-01-01"' in page  # birth date from the ID number
    assert '<option selected value="M">' in page or 'value="M" selected' in page
    assert "请输入单位名称关键字搜索并选择" in page


def test_required_answers_and_materials_are_checked_before_it_goes_to_the_unit(person_client):
    from tests.helpers import TALENT, filing_id

    _drop_waiting(person_client)
    application_id = filing_id(new_filing(person_client, "me", "RC_TALENT", {
        "name": "张伟", "id_no": PERSON, "level": "C", "unit_uscc": UNIT_A}))
    html = act(person_client, "me", application_id, "prepare").get_data(as_text=True)
    assert "请填写“申报条件”" in html and "请填写“政治面貌”" in html
    assert "请上传必需材料：本人近期证件照" in html
    assert db.session.get(Application, application_id).state == "draft"
    person_client.post(f"/me/filing/{application_id}/edit/", data={
        **TALENT, "csrf_token": csrf_token(person_client),
        "version": db.session.get(Application, application_id).version})
    assert db.session.get(Application, application_id).payload["condition"]


def test_the_photo_is_an_image_checked_by_type_and_size_and_shown_on_the_case_page(unit_a):
    import io

    from tests.helpers import PDF, PNG

    filing = _waiting()
    switch(unit_a, "person", PERSON)
    photo = next(a for a in filing.attachments if a.material == "photo")
    unit_a.post(f"/me/filing/attachment/{photo.id}/remove/",
                data={"csrf_token": csrf_token(unit_a)})

    def send(data, name):
        return unit_a.post(f"/me/filing/{filing.id}/upload/", data={
            "csrf_token": csrf_token(unit_a), "material": "photo",
            "file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
            follow_redirects=True).get_data(as_text=True)

    assert "只接受JPG、PNG文件" in send(PDF, "photo.png")
    assert "不能超过2MB" in send(PNG + b"\0" * (2 << 20), "big.png")
    db.session.expire_all()
    assert not [a for a in db.session.get(Application, filing.id).attachments
                if a.material == "photo"]
    send(PNG, "照片.png")
    db.session.expire_all()
    photo = next(a for a in db.session.get(Application, filing.id).attachments
                 if a.material == "photo")
    page = unit_a.get(f"/me/filing/{filing.id}/").get_data(as_text=True)
    assert f'<img src="/me/filing/attachment/{photo.id}/"' in page
    assert unit_a.get(f"/me/filing/attachment/{photo.id}/").data == PNG
    switch(unit_a, "unit", REP_A, UNIT_A)
    page = unit_a.get(f"/unit/filing/{filing.id}/").get_data(as_text=True)
    assert f'<img src="/unit/filing/attachment/{photo.id}/"' in page


def test_each_material_the_manual_lists_is_a_slot_of_its_own(person_client):
    page = person_client.get(f"/me/filing/{_waiting().id}/").get_data(as_text=True)
    for label in ("《认定备案申请表》", "《杭州市社会保险参保证明（单位专用）》",
                  "劳动合同或事业单位聘用合同", "最高学历证书", "最高学位证书", "职称证书",
                  "职业资格证书", "营业执照和完税证明", "本人近期证件照"):
        assert label in page, label


def test_the_unit_is_found_by_a_keyword_of_its_name_and_shown_masked(person_client):
    from tests.helpers import TALENT, filing_id

    found = person_client.get("/me/filing/units/?q=西湖示例").get_json()
    assert found == {"units": [{"name": "杭州西湖示例科技有限公司", "uscc": "9*****1G"}]}
    assert person_client.get("/me/filing/units/?q=杭").get_json() == {"units": []}
    assert person_client.get("/me/filing/units/?q=%25").get_json() == {"units": []}
    _drop_waiting(person_client)
    response = new_filing(person_client, "me", "RC_TALENT", {
        **TALENT, "unit_uscc": "杭州西湖示例科技有限公司"})
    application = db.session.get(Application, filing_id(response))
    assert application.payload["unit_uscc"] == UNIT_A and application.unit.uscc == UNIT_A
    page = person_client.get(f"/me/filing/{application.id}/").get_data(as_text=True)
    assert "杭州西湖示例科技有限公司（9*****1G）" in page and UNIT_A not in page
    edit = person_client.get(f"/me/filing/{application.id}/edit/").get_data(as_text=True)
    assert 'value="杭州西湖示例科技有限公司"' in edit and 'data-unit-lookup=' in edit


def test_a_unit_not_registered_cannot_be_chosen(person_client):
    from tests.helpers import TALENT

    _drop_waiting(person_client)
    before = _talent_count()
    html = new_filing(person_client, "me", "RC_TALENT", {
        **TALENT, "unit_uscc": "不存在的公司"}).get_data(as_text=True)
    assert "统一社会信用代码" in html
    assert _talent_count() == before


def test_the_unit_search_is_the_filers_and_is_limited(app, person_client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_UNIT_LOOKUP", "3 per minute")
    for _ in range(3):
        assert person_client.get("/me/filing/units/?q=示例").status_code == 200
    assert person_client.get("/me/filing/units/?q=示例").status_code == 429


def test_a_unit_account_has_no_unit_search(unit_a):
    assert unit_a.get("/me/filing/units/?q=示例").status_code in (302, 403, 404)


def test_the_list_has_the_manuals_columns_and_finds_by_name_or_id_number(unit_a):
    import re

    page = unit_a.get("/unit/talent/").get_data(as_text=True)
    head = re.search(r'<thead>(.*?)</thead>', page, re.S).group(1)
    assert re.findall(r"<th>(.*?)</th>", head) == ["姓名", "性别", "认定级别", "状态", "操作"]
    row = re.search(r'<tbody>\s*<tr>(.*?)</tr>', page[page.index('id="talent-list"'):],
                    re.S).group(1)
    assert "张伟" in row and "男" in row and "D类" in row and "待本单位上报" in row
    assert "打印公示信息" in row and "进度查询" in row
    assert "张伟" in unit_a.get("/unit/talent/?name=伟").get_data(as_text=True)
    assert "张伟" in unit_a.get(f"/unit/talent/?id_no={PERSON}").get_data(as_text=True)
    assert "暂无信息" in unit_a.get("/unit/talent/?name=李").get_data(as_text=True)
    assert "暂无信息" in unit_a.get("/unit/talent/?id_no=3604261991").get_data(as_text=True)
    switch(unit_a, "person", PERSON)
    mine = unit_a.get("/me/talent/").get_data(as_text=True)
    assert "请联系所属企业进行提交" in mine and "增加备案申请" in mine


def test_another_unit_lists_none_of_it(client):
    from tests.conftest import REP_B, UNIT_B, login

    assert login(client, "unit", REP_B, UNIT_B).status_code == 302
    page = client.get(f"/unit/talent/?id_no={PERSON}").get_data(as_text=True)
    assert "张伟" not in page and "暂无信息" in page


def test_the_history_shows_earlier_recognitions_and_filings(unit_a):
    """Of a filing made through another unit, the unit sees only that it exists."""
    from models import Unit
    from tests.conftest import UNIT_B

    filing = _waiting()
    other_unit = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_B))
    earlier = Application(item_id=filing.item_id, unit_id=other_unit, state="completed",
                          subject_person_id=filing.subject_person_id,
                          filed_by_id=filing.filed_by_id, payload={"level": "D"})
    db.session.add(earlier)
    db.session.commit()
    page = unit_a.get(f"/unit/filing/{filing.id}/").get_data(as_text=True)
    history = page[page.index('id="talent-recognitions"'):page.index('id="timeline"')]
    assert history.count("D类") >= 3 and "已过期" in history and "有效" in history
    assert f'/unit/filing/{earlier.id}/' not in history and "其他单位" in history
    assert f'/unit/filing/{filing.id}/' in history
    switch(unit_a, "person", PERSON)
    mine = unit_a.get("/me/talent/").get_data(as_text=True)
    assert f'/me/filing/{earlier.id}/' in mine and "其他单位" not in mine


# --- 主管部门 ---------------------------------------------------------------------------------

def _dept():
    from models import Unit

    db.session.expire_all()
    return db.session.scalar(sa.select(Unit.competent_dept).where(Unit.uscc == UNIT_A))


def test_the_unit_chooses_and_changes_its_competent_department_audited(unit_a):
    from models import AuditEvent

    page = unit_a.get("/unit/settings/").get_data(as_text=True)
    assert "主管部门" in page and "未选择" in page and 'name="competent_dept"' in page
    unit_a.post("/unit/settings/competent-dept/", data={
        "csrf_token": csrf_token(unit_a), "competent_dept": "kjj"})
    assert _dept() == "kjj"
    html = unit_a.post("/unit/settings/competent-dept/", data={
        "csrf_token": csrf_token(unit_a), "competent_dept": "nonsense"},
        follow_redirects=True).get_data(as_text=True)
    assert "请从列表中选择主管部门" in html and _dept() == "kjj"
    unit_a.post("/unit/settings/competent-dept/", data={
        "csrf_token": csrf_token(unit_a), "competent_dept": "rsj"})
    assert _dept() == "rsj"
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "unit:competent_dept").order_by(AuditEvent.id)).all()
    assert [(e.before, e.after) for e in events] == [
        ({"competent_dept": None}, {"competent_dept": "kjj"}),
        ({"competent_dept": "kjj"}, {"competent_dept": "rsj"})]
    # shown where the manual shows it: the talent filing and its printed sheets
    filing = _waiting()
    assert "主管部门 市人力资源和社会保障局" in unit_a.get(
        f"/unit/filing/{filing.id}/").get_data(as_text=True)
    assert "主管部门：市人力资源和社会保障局" in unit_a.get(
        f"/unit/filing/{filing.id}/print/form/").get_data(as_text=True)


def test_an_agent_or_a_person_cannot_set_the_competent_department(client):
    from tests.conftest import login

    assert login(client, "unit", "320102200102123853", UNIT_A).status_code == 302  # agent
    assert 'name="competent_dept"' not in client.get("/unit/settings/").get_data(as_text=True)
    response = client.post("/unit/settings/competent-dept/", data={
        "csrf_token": csrf_token(client), "competent_dept": "kjj"})
    assert response.status_code == 403 and _dept() is None
    switch(client, "person", PERSON)
    response = client.post("/me/settings/competent-dept/", data={
        "csrf_token": csrf_token(client), "competent_dept": "kjj"})
    assert response.status_code == 403 and _dept() is None


# --- 我的证书 ---------------------------------------------------------------------------------

def test_my_certificate_has_a_qr_code_and_a_new_code_voids_the_old(person_client):
    import re

    from models import TalentRecognition

    current = db.session.scalar(sa.select(TalentRecognition).join(Person).where(
        Person.id_no == PERSON).order_by(TalentRecognition.recognised_on.desc()).limit(1))
    page = person_client.get("/me/certificates/").get_data(as_text=True)
    assert current.certificate_no in page and "生成新证书" in page
    assert f"/me/certificates/{current.id}/\"" not in page  # nothing to download yet

    def renew():
        html = person_client.post(f"/me/certificates/{current.id}/new/", data={
            "csrf_token": csrf_token(person_client)}, follow_redirects=True)
        assert "操作成功" in html.get_data(as_text=True)
        shown = person_client.get(f"/me/certificates/{current.id}/").get_data(as_text=True)
        assert "<svg" in shown and current.certificate_no in shown and PERSON not in shown
        return re.search(r"/verify/([A-Z0-9]{12})", shown).group(1)

    first = renew()
    checked = person_client.get(f"/verify/{first}").get_data(as_text=True)
    assert "真实有效" in checked and current.certificate_no in checked
    second = renew()
    assert second != first
    old = person_client.get(f"/verify/{first}").get_data(as_text=True)
    assert "已作废" in old and "真实有效" not in old
    assert "真实有效" in person_client.get(f"/verify/{second}").get_data(as_text=True)
    from models import AuditEvent

    audit = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "certificate:talent_code").order_by(AuditEvent.id)).all()
    assert [(e.before["codes"], e.after["code"]) for e in audit] == [
        ([], first), ([first], second)]


def test_nobody_else_renews_or_reads_my_certificate(unit_a):
    from models import Certificate, TalentRecognition

    mine = db.session.scalar(sa.select(TalentRecognition).join(Person).where(
        Person.id_no == PERSON).limit(1))
    assert unit_a.get("/me/certificates/").status_code in (302, 403)
    theirs = db.session.scalar(sa.select(TalentRecognition).join(Person).where(
        Person.id_no != PERSON).limit(1))
    switch(unit_a, "person", PERSON)
    assert unit_a.post(f"/me/certificates/{theirs.id}/new/", data={
        "csrf_token": csrf_token(unit_a)}).status_code == 404
    assert unit_a.get(f"/me/certificates/{theirs.id}/").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate).where(
        Certificate.kind == "talent")) == 0
    assert mine is not None


def test_the_operation_itself_refuses_another_persons_certificate(app):
    """issue_talent_code asks the policy whoever calls it, not only through the page."""
    import pytest

    from models import Account, Certificate, TalentRecognition, clock
    from models.auth import actor_for
    from models.errors import Refusal
    from models.operations import By, issue_talent_code

    me = db.session.scalar(sa.select(Account).join(Person).where(
        Person.id_no == PERSON, Account.kind == "individual"))
    theirs = db.session.scalar(sa.select(TalentRecognition).join(Person).where(
        Person.id_no != PERSON).limit(1))
    with pytest.raises(Refusal, match="证书不存在"):
        issue_talent_code(By(actor_for(me, clock.today())), theirs)
    with pytest.raises(Refusal, match="证书不存在"):
        issue_talent_code(By(actor_for(me, clock.today())), None)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate).where(
        Certificate.kind == "talent")) == 0
