"""The reviewer's page (办件详情): one decision on one screen, in plain Chinese."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Application, ServiceItem, db
from rules.workflow import State
from tests.conftest import REP_A, UNIT_A, csrf_token
from tests.helpers import review, switch


def _one(state, code=None):
    query = sa.select(Application).where(Application.state == state)
    if code:
        query = query.join(ServiceItem).where(ServiceItem.code == code)
    return db.session.scalars(query.order_by(Application.id)).first()


def _page(client, application):
    response = client.get(f"/admin/admin_application/details/?id={application.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _buttons(html):
    return set(re.findall(r'name="action" value="(\w+)"', html))


def test_only_the_actions_the_state_allows_are_offered(as_staff):
    client = as_staff("reviewer")
    assert _buttons(_page(client, _one(State.SUBMITTED))) == {"accept"}
    assert _buttons(_page(client, _one(State.IN_REVIEW))) == {"approve", "reject"}
    assert _buttons(_page(client, _one(State.APPROVED))) == {"complete"}
    assert _buttons(_page(client, _one(State.COMPLETED))) == set()


def test_roles_that_do_not_review_see_no_buttons(as_staff):
    html = _page(as_staff("auditor"), _one(State.IN_REVIEW))
    assert _buttons(html) == set()
    assert "当前状态没有您可以执行的操作" in html


def test_the_filed_facts_are_a_labelled_table_in_chinese(as_staff):
    application = _one(State.IN_REVIEW)
    html = _page(as_staff("reviewer"), application)
    facts = re.search(r'<table[^>]*id="facts".*?</table>', html, re.S).group(0)
    for spec in application.item.form_fields:
        assert spec["label"] in facts
    for raw in ("False", "True", "None", "SUBMITTED", "Decided By", "Client Token", "Courier"):
        assert raw not in html
    assert re.search(r"剩余 \d+ 个工作日|已超期 \d+ 个工作日", html)


def test_reject_needs_a_reason_and_common_reasons_are_offered(as_staff):
    client = as_staff("reviewer")
    application = _one(State.IN_REVIEW)
    html = _page(client, application)
    assert "材料不齐全，请补充上传" in html
    page = review(client, application.id, "reject").get_data(as_text=True)
    assert "审核不通过须填写原因" in page
    assert db.session.get(Application, application.id).state == State.IN_REVIEW


def test_reject_with_a_common_reason_reads_已退回_and_shows_the_reason(as_staff):
    client = as_staff("reviewer")
    application = _one(State.IN_REVIEW)
    response = client.post(f"/admin/admin_application/review/{application.id}/", data={
        "csrf_token": csrf_token(client), "action": "reject",
        "reason": "证件号码或姓名有误，请核对", "comment": "第3行",
        "version": application.version}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已退回" in page and "审核不通过成功" not in page
    assert "退回原因：证件号码或姓名有误，请核对；第3行" in page
    assert db.session.get(Application, application.id).state == State.REJECTED


def test_batch_rows_have_chinese_headers_and_blank_cells_keep_their_column(as_staff):
    other = _one(State.SUBMITTED)
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "SB_ENROLL_BATCH"))
    row = {"id_no": "330106199001011234", "name": "甲", "start_date": "2026-11-01",
           "wage": "8000", "insurance_kinds": "110,210,310,410,510", "kind": "new"}
    application = Application(item=item, unit_id=other.unit_id, state=State.SUBMITTED,
                              payload={"rows": [row | {"row_no": 2},  # phone left blank
                                                row | {"row_no": 3, "phone": "13900001111"}]})
    db.session.add(application)
    db.session.commit()
    html = _page(as_staff("reviewer"), application)
    table = re.search(r'<table class="table table-sm table-striped.*?</table>', html, re.S).group(0)
    headers = re.findall(r"<th scope=\"col\">(.*?)</th>", table)
    assert headers == ["行号", "身份证号码", "姓名", "手机号码", "参保日期", "月缴费工资",
                       "参保险种", "类型"]
    body = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    first, second = ([c.strip() for c in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in body)
    assert first == ["2", "330106199001011234", "甲", "", "2026-11-01", "8000", "五险", "新参保"]
    assert second[3] == "13900001111"
    assert "110,210" not in table


def test_the_unit_reads_the_reject_reason_in_its_list_of_filings(as_staff):
    client = as_staff("reviewer")
    application = db.session.scalars(sa.select(Application).where(
        Application.state == State.IN_REVIEW, Application.unit.has(uscc=UNIT_A))).first()
    review(client, application.id, "reject", comment="劳动合同缺少签字页")
    switch(client, "unit", REP_A, UNIT_A)
    html = client.get("/unit/unit_application/?flt0_0=rejected").get_data(as_text=True)
    assert "退回原因：劳动合同缺少签字页" in html


def test_approval_closes_a_filing_that_needs_no_originals(as_staff):
    client = as_staff("reviewer")
    application = _one(State.IN_REVIEW)
    page = review(client, application.id, "approve").get_data(as_text=True)
    assert "已审核通过并办结" in page
    application = db.session.get(Application, application.id)
    assert application.state == State.COMPLETED
    assert [e.action for e in application.events][-2:] == ["approve", "complete"]
    switch(client, "unit", REP_A, UNIT_A)
    mine = client.get(f"/unit/filing/{application.id}/").get_data(as_text=True)
    assert "已办结" in mine and "欢迎在页面下方评价" in mine


def test_approval_waits_for_originals_when_the_item_asks_for_them(as_staff):
    client = as_staff("reviewer")
    application = _one(State.IN_REVIEW)
    # The item's version this filing was made under asks for originals (issue 16: a filing
    # is decided by its own version of the item).
    version = application.item_version
    materials = version.definition.get("materials") or []
    version.definition = {**version.definition, "materials": [
        {**m, "original": True} for m in materials] or [
        {"code": "id", "label": "身份证", "required": False, "original": True}]}
    db.session.commit()
    page = review(client, application.id, "approve").get_data(as_text=True)
    assert "待申请人到窗口核验原件后办结" in page
    assert db.session.get(Application, application.id).state == State.APPROVED
    switch(client, "unit", REP_A, UNIT_A)
    mine = client.get(f"/unit/filing/{application.id}/").get_data(as_text=True)
    assert "请携带申报材料原件到受理窗口核验" in mine
