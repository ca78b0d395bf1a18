"""One person per login phone: refused at the counter, registration and phone change; old
duplicates never answer 500 at login and are listed for staff."""
from __future__ import annotations

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
