"""字典管理: code tables feed the choice fields; a code in use is retired, never deleted."""
from __future__ import annotations

import sqlalchemy as sa

from models import Code, CodeTable, db
from rules.codes import CODE_TABLES
from tests.conftest import UNIT_A, csrf_token, login
from tests.helpers import fresh_id_no, new_filing, switch


def _table_id(code: str) -> int:
    return db.session.scalar(sa.select(CodeTable.id).where(CodeTable.code == code))


def _code(table: str, code: str) -> Code | None:
    return db.session.scalar(sa.select(Code).join(CodeTable).where(
        CodeTable.code == table, Code.code == code))


def _add_code(client, table: str, code: str, label: str, sort: int = 99):
    return client.post("/admin/admin_code/new/", data={
        "csrf_token": csrf_token(client), "table": _table_id(table), "code": code,
        "label": label, "sort": sort}, follow_redirects=True)


def test_every_fixed_list_is_seeded_as_a_code_table():
    for table, (_name, codes) in CODE_TABLES.items():
        stored = {c.code: c.label for c in db.session.scalars(
            sa.select(Code).join(CodeTable).where(CodeTable.code == table))}
        assert stored == dict(codes), table
    assert {"insurance_kind", "unit_type", "id_type", "reject_reason", "region"} <= set(CODE_TABLES)


def test_a_new_code_is_offered_by_the_item_form_and_a_retired_one_is_not(client, as_staff):
    admin = as_staff("admin")
    page = _add_code(admin, "insurance_kind_set", "110,210", "养老、失业").get_data(as_text=True)
    assert _code("insurance_kind_set", "110,210") is not None, page
    switch(client, "unit", "330106198507210020", UNIT_A)
    form = client.get("/unit/filing/new/SB_ENROLL/").get_data(as_text=True)
    assert '<option value="110,210">养老、失业</option>' in form

    switch(client, "staff", "admin")
    code = _code("insurance_kind_set", "110,210")
    client.post(f"/admin/admin_code/edit/?id={code.id}", data={
        "csrf_token": csrf_token(client), "table": code.table_id, "code": code.code,
        "label": code.label, "sort": code.sort, "retired": "y"}, follow_redirects=True)
    assert _code("insurance_kind_set", "110,210").retired
    switch(client, "unit", "330106198507210020", UNIT_A)
    form = client.get("/unit/filing/new/SB_ENROLL/").get_data(as_text=True)
    assert 'value="110,210"' not in form and "养老、医疗、工伤" in form


def _delete(client, code: Code):
    return client.post("/admin/admin_code/delete/", data={
        "csrf_token": csrf_token(client), "id": code.id}, follow_redirects=True)


def test_a_shipped_code_cannot_be_deleted_only_retired(as_staff):
    admin = as_staff("admin")
    code = _code("insurance_kind", "110")
    page = _delete(admin, code).get_data(as_text=True)
    assert "不能删除，只能停用" in page
    assert _code("insurance_kind", "110") is not None


def test_a_code_a_filing_holds_cannot_be_deleted_but_an_unused_one_can(client, as_staff):
    admin = as_staff("admin")
    _add_code(admin, "insurance_kind_set", "110,410", "养老、工伤")
    _add_code(admin, "insurance_kind_set", "310,410", "医疗、工伤")
    switch(client, "unit", "330106198507210020", UNIT_A)
    response = new_filing(client, "unit", "SB_ENROLL", {
        "id_no": fresh_id_no(11), "name": "新员工", "start_date": "2026-11-01",
        "wage": "8000", "insurance_kinds": "110,410"})
    assert response.status_code == 302

    switch(client, "staff", "admin")
    page = _delete(client, _code("insurance_kind_set", "110,410")).get_data(as_text=True)
    assert "已有办件使用" in page and _code("insurance_kind_set", "110,410") is not None
    _delete(client, _code("insurance_kind_set", "310,410"))
    assert _code("insurance_kind_set", "310,410") is None


def test_only_a_system_admin_keeps_the_code_tables(client):
    assert login(client, "staff", "reviewer").status_code == 302
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Code))
    response = _add_code(client, "region", "330111", "富阳区")
    assert response.status_code in (403, 200)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Code)) == before
