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
