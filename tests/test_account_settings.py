"""账号设置, 收件地址, the grants list and the receipts the unit console prints (manual 002)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Grant, db
from tests.conftest import csrf_token
from tests.test_accounts import _add, registered_individual


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client), **data},
                       follow_redirects=True)


def test_a_unit_receipt_names_the_granter_by_his_level_not_the_counter(unit_a):
    person = registered_individual(601)
    receipt = _add(unit_a, person, items=("SB_ENROLL",)).get_data(as_text=True)
    assert "授权人（法定代表人）：王丽华" in receipt
    assert "受理点经办人" not in receipt


def test_grants_list_item_names_masked_identifiers_and_the_granter(unit_a):
    person = registered_individual(602)
    _add(unit_a, person, items=("SB_ENROLL", "SB_SUSPEND"))
    html = unit_a.get("/unit/members/").get_data(as_text=True)
    grant = db.session.scalar(sa.select(Grant).where(Grant.person_id == person.id))
    row = re.search(rf"<td>{person.name}</td>(.*?)</tr>", html, re.S).group(1)
    assert person.id_no not in html and person.phone not in html
    assert f"{person.id_no[0]}*****{person.id_no[-2:]}" in row
    assert f"{person.phone[0]}*****{person.phone[-2:]}" in row
    assert re.search(r'class="granter">王丽华<', row)
    assert "社会保险职工参保登记、社会保险职工暂停参保" in row
    assert grant.item_codes == "SB_ENROLL,SB_SUSPEND"
    # The legal representative's own grant came from the counter.
    assert re.search(r"<td>王丽华</td>.*?class=\"granter\">受理窗口<", html, re.S)


def _addresses(unit_id=None, person_id=None):
    from models import DeliveryAddress

    owner = DeliveryAddress.unit_id == unit_id if unit_id else \
        DeliveryAddress.person_id == person_id
    return db.session.scalars(sa.select(DeliveryAddress).where(owner).order_by(
        DeliveryAddress.id)).all()


def _unit_id(uscc):
    from models import Unit

    return db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc))


def test_unit_settings_show_the_unit_and_the_legal_rep_masked(unit_a):
    html = unit_a.get("/unit/settings/").get_data(as_text=True)
    assert "91330106MA2ABCDE1G" in html and "杭州西湖示例科技有限公司" in html
    assert "3*****20" in html and "王**" in html and "1*****01" in html
    assert "330106198507210020" not in html and "13800000001" not in html
    assert 'href="/account/phone"' in html and 'href="/account/password"' in html


def test_addresses_several_one_default_the_first_and_the_chosen(unit_a):
    from tests.conftest import UNIT_A

    unit_id = _unit_id(UNIT_A)
    _post(unit_a, "/unit/settings/address/add/", recipient="王丽华", phone="13800000001",
          address="杭州市西湖区文三路100号")
    _post(unit_a, "/unit/settings/address/add/", recipient="前台", phone="13900001111",
          address="杭州市西湖区文二路1号")
    first, second = _addresses(unit_id)
    assert first.is_default and not second.is_default
    _post(unit_a, f"/unit/settings/address/{second.id}/default/")
    first, second = _addresses(unit_id)
    assert second.is_default and not first.is_default
    _post(unit_a, f"/unit/settings/address/{second.id}/remove/")
    (only,) = _addresses(unit_id)
    assert only.id == first.id and only.is_default
    html = unit_a.get("/unit/settings/").get_data(as_text=True)
    assert "杭州市西湖区文三路100号" in html and "默认" in html


def test_bad_address_is_refused_in_chinese_and_saves_nothing(unit_a):
    from tests.conftest import UNIT_A

    html = _post(unit_a, "/unit/settings/address/add/", recipient="", phone="123",
                 address="").get_data(as_text=True)
    assert "请填写收件人" in html and "请填写详细地址" in html and "手机号码" in html
    assert _addresses(_unit_id(UNIT_A)) == []


def test_another_units_address_is_not_found(client, unit_a):
    from tests.conftest import REP_B, UNIT_B
    from tests.helpers import switch

    _post(unit_a, "/unit/settings/address/add/", recipient="王丽华", phone="13800000001",
          address="杭州市西湖区文三路100号")
    (mine,) = _addresses(_unit_id("91330106MA2ABCDE1G"))
    switch(client, "unit", REP_B, UNIT_B)
    for action in ("default", "remove"):
        response = client.post(f"/unit/settings/address/{mine.id}/{action}/",
                               data={"csrf_token": csrf_token(client)})
        assert response.status_code == 404
    assert _addresses(_unit_id("91330106MA2ABCDE1G"))[0].id == mine.id


def test_an_agent_sees_but_does_not_keep_the_units_addresses(client):
    from tests.conftest import UNIT_A, login
    from tests.helpers import member

    agent = member("agent", "SB_ENROLL,SB_SUSPEND")
    assert login(client, "unit", agent.id_no, UNIT_A).status_code == 302
    html = client.get("/unit/settings/").get_data(as_text=True)
    assert "经办人不能维护单位收件地址" in html
    _post(client, "/unit/settings/address/add/", recipient="甲", phone="13900001111",
          address="某地")
    assert _addresses(_unit_id(UNIT_A)) == []


def test_an_individual_keeps_his_own_addresses(person_client):
    from models import Person
    from tests.conftest import PERSON

    me = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    html = person_client.get("/me/settings/").get_data(as_text=True)
    assert "张*<" in html and PERSON not in html
    _post(person_client, "/me/settings/address/add/", recipient="张伟", phone="13800000003",
          address="南昌市东湖区八一大道1号")
    (mine,) = _addresses(person_id=me.id)
    assert mine.is_default and mine.unit_id is None
