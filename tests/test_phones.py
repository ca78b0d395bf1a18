"""One person per login phone: refused at the counter, registration and phone change; old
duplicates never answer 500 at login and are listed for staff."""
from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from models import Person, SmsOutbox, db
from models.accounts import PHONE_TAKEN
from models.demo import make_id_no
from tests.conftest import PERSON, csrf_token, login
from tests.helpers import switch
from tests.test_accounts import registered_individual

ZHANG_PHONE = "13800000003"


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client), **data},
                       follow_redirects=True)


def _fresh_id(seed):
    return make_id_no(random.Random(seed), set(db.session.scalars(sa.select(Person.id_no))))


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_counter_refuses_a_phone_another_person_holds(as_staff):
    clerk = as_staff("clerk")
    id_no = _fresh_id(501)
    page = _post(clerk, "/admin/counter/open_person/", form_no="GR1", id_no=id_no,
                 name="新来的人", phone=ZHANG_PHONE).get_data(as_text=True)
    assert PHONE_TAKEN in page
    assert _count(Person, Person.id_no == id_no) == 0


def test_registration_of_a_valid_code_with_a_taken_phone_names_the_phone(client):
    from tests.test_accounts import _fresh_uscc

    sent = _count(SmsOutbox)
    page = _post(client, "/register", uscc=_fresh_uscc("91330106MA2K1"), name="重号注册有限公司",
                 rep_id_type="01", rep_id_no=_fresh_id(503), rep_name="注册人",
                 phone=ZHANG_PHONE, agree="y").get_data(as_text=True)
    assert PHONE_TAKEN in page
    assert _count(SmsOutbox) == sent


def test_phone_change_to_a_taken_phone_is_refused_before_a_code_is_sent(person_client):
    other = registered_individual(504)
    sent = _count(SmsOutbox)
    page = _post(person_client, "/account/phone", phone=other.phone).get_data(as_text=True)
    assert PHONE_TAKEN in page
    assert _count(SmsOutbox) == sent
    assert db.session.scalar(sa.select(Person.phone).where(Person.id_no == PERSON)) == ZHANG_PHONE


def _duplicate_zhangs_phone():
    other = registered_individual(505)
    db.session.execute(sa.update(Person).where(Person.id == other.id).values(phone=ZHANG_PHONE))
    db.session.commit()
    return other


def test_login_by_a_phone_two_people_share_explains_instead_of_500(client):
    _duplicate_zhangs_phone()
    response = login(client, "person", ZHANG_PHONE)
    # Login reveals nothing (issue 10): the same answer as a wrong password, never a 500;
    # the shared phone is listed for staff (重复手机号) to correct at the counter.
    assert response.status_code == 401
    assert "登录信息有误" in response.get_data(as_text=True)
    # The ID number still works.
    assert login(client, "person", PERSON).status_code == 302


def test_staff_see_the_phones_several_people_share(as_staff):
    other = _duplicate_zhangs_phone()
    admin = as_staff("admin")
    page = admin.get("/admin/shared-phones/").get_data(as_text=True)
    assert ZHANG_PHONE in page and "张伟" in page and other.name in page
    switch(admin, "staff", "auditor")
    masked = admin.get("/admin/shared-phones/").get_data(as_text=True)
    assert "1*****03" in masked and ZHANG_PHONE not in masked


def test_units_and_people_cannot_open_the_shared_phone_list(unit_a):
    assert unit_a.get("/admin/shared-phones/").status_code in (302, 403)


# --- a phone change confirmed from the phone on file, or at the counter ------------------------

NEW_PHONE = "13766660001"


def _code(phone):
    from tests.test_accounts import _latest_code

    return _latest_code(phone)


def _phone_of(id_no):
    return db.session.scalar(sa.select(Person.phone).where(Person.id_no == id_no))


def test_a_phone_change_sends_a_code_to_the_old_number_too(person_client):
    page = _post(person_client, "/account/phone", phone=NEW_PHONE).get_data(as_text=True)
    assert "原手机号码" in page
    sent = db.session.scalars(sa.select(SmsOutbox.phone).order_by(SmsOutbox.id.desc())
                              .limit(2)).all()
    assert set(sent) == {NEW_PHONE, ZHANG_PHONE}


def test_the_new_numbers_code_alone_does_not_change_the_phone(person_client):
    from models.demo import DEMO_PASSWORD

    _post(person_client, "/account/phone", phone=NEW_PHONE)
    new_code, old_code = _code(NEW_PHONE), _code(ZHANG_PHONE)
    missing = _post(person_client, "/account/phone", phone=NEW_PHONE, code=new_code,
                    current=DEMO_PASSWORD).get_data(as_text=True)
    assert "请输入原手机号码收到的验证码" in missing
    wrong_old = "000000" if old_code != "000000" else "111111"
    wrong = _post(person_client, "/account/phone", phone=NEW_PHONE, code=new_code,
                  old_code=wrong_old, current=DEMO_PASSWORD).get_data(as_text=True)
    assert "原手机号码的验证码错误" in wrong
    assert _phone_of(PERSON) == ZHANG_PHONE
    # The right pair still works: the new number's code was not used up by the wrong try.
    _post(person_client, "/account/phone", phone=NEW_PHONE, code=new_code,
          old_code=old_code, current=DEMO_PASSWORD)
    assert _phone_of(PERSON) == NEW_PHONE
    from models import AuditEvent

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "phone_changed")
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert event.before == {"phone": ZHANG_PHONE}
    assert event.after["phone"] == NEW_PHONE


def test_phone_change_codes_are_capped_like_every_sms(person_client):
    statuses = [person_client.post("/account/phone", data={
        "csrf_token": csrf_token(person_client), "phone": f"1376666{n:04d}"}).status_code
        for n in range(6)]
    # The old number receives a code every time: its fifth in the hour is the last.
    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    assert _count(SmsOutbox, SmsOutbox.phone == ZHANG_PHONE) == 5


def test_the_counter_changes_a_login_phone_after_checking_the_id(as_staff, app):
    from models import AuditEvent

    clerk = as_staff("clerk")
    wrong_name = _post(clerk, "/admin/counter/phone/", form_no="SJ1", id_no=PERSON,
                       name="李四", phone=NEW_PHONE).get_data(as_text=True)
    assert "证件号码与姓名不符" in wrong_name and _phone_of(PERSON) == ZHANG_PHONE
    other = registered_individual(506)
    taken = _post(clerk, "/admin/counter/phone/", form_no="SJ1", id_no=PERSON, name="张伟",
                  phone=other.phone).get_data(as_text=True)
    assert PHONE_TAKEN in taken and _phone_of(PERSON) == ZHANG_PHONE
    no_clear = _post(clerk, "/admin/counter/phone/", form_no="SJ1", id_no=PERSON, name="张伟",
                     phone="").get_data(as_text=True)
    assert "只有多人共用的手机号码可以清除" in no_clear and _phone_of(PERSON) == ZHANG_PHONE
    _post(clerk, "/admin/counter/phone/", form_no="SJ1", id_no=PERSON, name="张伟",
          phone=NEW_PHONE, reason="原号码已停用")
    assert _phone_of(PERSON) == NEW_PHONE
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "counter:change_phone"))
    assert event.after == {"phone": NEW_PHONE, "form_no": "SJ1", "reason": "原号码已停用"}
    assert event.before == {"phone": ZHANG_PHONE}
    # The new phone logs in; the audit trail names the operation in Chinese.
    assert login(app.test_client(), "person", NEW_PHONE).status_code == 302
    trail = as_staff("auditor").get("/admin/admin_audit_event/").get_data(as_text=True)
    assert "窗口：变更登录手机号码" in trail


def test_only_counter_roles_change_a_phone_at_the_counter(as_staff):
    reviewer = as_staff("reviewer")
    response = reviewer.post("/admin/counter/phone/", data={
        "csrf_token": csrf_token(reviewer), "form_no": "SJ2", "id_no": PERSON, "name": "张伟",
        "phone": NEW_PHONE})
    assert response.status_code == 403
    assert _phone_of(PERSON) == ZHANG_PHONE


def test_a_clerk_resolves_a_shared_phone_from_the_list_and_it_empties(as_staff):
    from models import AuditEvent

    other = _duplicate_zhangs_phone()
    clerk = as_staff("clerk")
    page = clerk.get("/admin/shared-phones/").get_data(as_text=True)
    assert f"更正{other.name}" in page
    done = _post(clerk, "/admin/counter/phone/", form_no="CF1", id_no=other.id_no,
                 name=other.name, phone="", back="shared", reason="重复手机号更正")
    listing = done.get_data(as_text=True)
    assert "没有重复的手机号码" in listing and "已清除" in listing
    assert _phone_of(other.id_no) is None and _phone_of(PERSON) == ZHANG_PHONE
    assert db.session.scalar(sa.select(AuditEvent.object_id).where(
        AuditEvent.action == "counter:change_phone")) == str(other.id)


def test_the_auditor_sees_the_shared_list_without_the_fix(as_staff):
    _duplicate_zhangs_phone()
    auditor = as_staff("auditor")
    page = auditor.get("/admin/shared-phones/").get_data(as_text=True)
    assert "fix-phone" not in page and "请受理窗口人员办理" in page


def test_only_the_holder_changes_his_own_phone_online():
    """The operation asks the policy with the person it changes, whatever a view passes."""
    import pytest

    from models import Account
    from models.auth import actor_for
    from models.errors import Refusal
    from models.login_phones import change_own_phone, send_change_codes
    from models.operations import By

    other = registered_individual(507)
    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    account = db.session.scalar(sa.select(Account).where(Account.person_id == zhang.id,
                                                         Account.kind == "individual"))
    by = By(actor_for(account, dt.date.today()), "张伟")
    sent = _count(SmsOutbox)
    for attempt in (lambda: send_change_codes(by, other, NEW_PHONE),
                    lambda: change_own_phone(by, other, NEW_PHONE, new_code="123456",
                                             old_code="123456")):
        with pytest.raises(Refusal) as refused:
            attempt()
        assert refused.value.status == 403
    assert _count(SmsOutbox) == sent and _phone_of(other.id_no) == other.phone
    staff = db.session.scalar(sa.select(Account).where(Account.kind == "staff").limit(1))
    with pytest.raises(Refusal):
        send_change_codes(By(actor_for(staff, dt.date.today()), "admin"), zhang, NEW_PHONE)


def test_a_regional_clerk_sees_only_the_shared_phones_of_his_region(as_staff):
    """重复手机号 is a read like any other: a clerk serving 舟山 does not list 西湖's people."""
    from models import Enrollment, Unit
    from tests.conftest import UNIT_A
    from tests.test_authorisation import _regional

    unit_a = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_A))
    first, second = db.session.scalars(sa.select(Person).join(
        Enrollment, Enrollment.person_id == Person.id).where(Enrollment.unit_id == unit_a)
        .order_by(Person.id).limit(2)).all()
    db.session.execute(sa.update(Person).where(Person.id == second.id).values(
        phone="13899990001"))
    db.session.execute(sa.update(Person).where(Person.id == first.id).values(
        phone="13899990001"))
    db.session.commit()
    _regional("clerk", "330902")
    page = as_staff("clerk").get("/admin/shared-phones/").get_data(as_text=True)
    assert first.id_no not in page and second.id_no not in page
    assert first.name not in page and "13899990001" not in page
    _regional("clerk", "330106")
    page = as_staff("clerk").get("/admin/shared-phones/").get_data(as_text=True)
    assert first.id_no in page and second.id_no in page and "13899990001" in page
