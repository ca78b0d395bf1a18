"""The staff console: what each staff role may see and do, and that it speaks Chinese."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Account, AuditEvent, Unit, db
from tests.conftest import csrf_token

NEW_UNIT = {"uscc": "91330106MA2B00000X", "unit_no": "3301069999", "name": "新开户示例有限公司",
            "unit_type": "enterprise", "region_code": "330106", "address": "文一路1号",
            "status": "normal", "online_status": "active"}


def _valid_uscc():
    from stdnum.cn import uscc

    body = "91330106MA2B0000"
    for c in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        code = body + c
        code += uscc.calc_check_digit(code)
        if uscc.is_valid(code):
            return code
    raise AssertionError


# role → (may create units, may read the audit trail, may read accounts and staff roles)
ROLES = {
    "admin": (True, True, True),
    "clerk": (True, False, True),
    "reviewer": (False, False, False),
    "auditor": (False, True, True),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_what_it_may(as_staff, role):
    client = as_staff(role)
    may_create_unit, may_audit, may_accounts = ROLES[role]
    assert client.get("/admin/admin_unit/").status_code == 200
    assert client.get("/admin/admin_service_item/").status_code == 200
    assert (client.get("/admin/admin_unit/new/").status_code == 200) == may_create_unit
    assert (client.get("/admin/admin_audit_event/").status_code == 200) == may_audit
    assert (client.get("/admin/admin_staff_role/").status_code == 200) == may_accounts
    assert (client.get("/admin/admin_account/").status_code == 200) == may_accounts


def test_only_a_system_admin_manages_staff_and_service_items(as_staff):
    for role in ("clerk", "reviewer", "auditor"):
        client = as_staff(role)
        assert client.get("/admin/designer/").status_code == 403
        assert client.get("/admin/admin_staff_role/new/").status_code in (403, 302)
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    client = as_staff("admin")
    assert client.get("/admin/designer/").status_code == 200
    assert client.get("/admin/admin_staff_role/new/").status_code == 200


def test_auditor_reads_but_cannot_change(as_staff):
    client = as_staff("auditor")
    unit_id = db.session.scalar(sa.select(Unit.id).limit(1))
    assert client.get(f"/admin/admin_unit/details/?id={unit_id}").status_code == 200
    token = csrf_token(client)
    assert client.get(f"/admin/admin_unit/edit/?id={unit_id}").status_code == 403
    assert client.post(f"/admin/admin_unit/edit/?id={unit_id}",
                       data={**NEW_UNIT, "csrf_token": token}).status_code == 403
    assert client.post("/admin/admin_unit/delete/",
                       data={"id": unit_id, "csrf_token": token}).status_code == 403
    assert client.post("/admin/admin_unit/ajax/update/",
                       data={"list_form_pk": unit_id, "name": "x",
                             "csrf_token": token}).status_code == 403
    assert db.session.get(Unit, unit_id).name != "x"


def test_clerk_creates_a_unit_and_the_change_is_audited(as_staff):
    client = as_staff("clerk")
    data = {**NEW_UNIT, "uscc": _valid_uscc(), "csrf_token": csrf_token(client)}
    response = client.post("/admin/admin_unit/new/", data=data)
    assert response.status_code == 302
    unit = db.session.scalar(sa.select(Unit).where(Unit.unit_no == "3301069999"))
    assert unit is not None and unit.name == "新开户示例有限公司"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "create:Unit"))
    assert event.object_id == str(unit.id) and event.after["name"] == "新开户示例有限公司"
    assert event.actor_label == "窗口受理员"


def test_a_bad_credit_code_is_refused_in_chinese_and_saves_nothing(as_staff):
    client = as_staff("clerk")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
    data = {**NEW_UNIT, "uscc": "91330106MA2B000001", "csrf_token": csrf_token(client)}
    html = client.post("/admin/admin_unit/new/", data=data,
                       follow_redirects=True).get_data(as_text=True)
    assert "统一社会信用代码" in html and "错误" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == before


def test_a_clerk_cannot_review_or_delete_applications(as_staff):
    client = as_staff("clerk")
    assert client.get("/admin/admin_application/").status_code == 200
    assert client.get("/admin/admin_application/new/").status_code == 403


def test_pages_are_in_chinese(as_staff):
    client = as_staff("admin")
    html = client.get("/admin/admin_unit/").get_data(as_text=True)
    for text in ("列表", "创建", "统一社会信用代码", "导出"):
        assert text in html
    assert 'lang="en"' not in html


def _statements(client, url):
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    return statements


def test_lists_count_with_count_star_and_large_tables_skip_the_count(as_staff):
    client = as_staff("admin")
    # A page past the end: the page cannot tell the count (a short page would, views.paging).
    counts = [s for s in _statements(client, "/admin/admin_service_item/?page=50")
              if "count(" in s]
    assert counts and all("count(*)" in s for s in counts)
    assert not [s for s in _statements(client, "/admin/admin_person/") if "count(" in s]
    searched = _statements(client, "/admin/admin_person/?search=13800000003&page=5")
    counts = [s for s in searched if "count(" in s]
    assert counts and all("count(*)" in s for s in counts)
    assert not [s for s in searched if "like" in s]  # an indexed equality, not a scan


def test_person_search_finds_by_id_phone_or_name_prefix(as_staff):
    from models import Person

    client = as_staff("clerk")
    for term in ("360426199101010071", "13800000003", "张"):
        html = client.get("/admin/admin_person/", query_string={"search": term}).get_data(
            as_text=True)
        assert "张伟" in html, term
    html = client.get("/admin/admin_person/?search=王丽").get_data(as_text=True)
    assert "王丽华" in html and "张伟" not in html
    assert db.session.scalar(sa.select(Person.name).where(Person.phone == "13800000003"))


def test_account_password_hash_is_never_shown(as_staff):
    client = as_staff("admin")
    account_id = db.session.scalar(sa.select(Account.id).where(Account.username == "clerk"))
    html = client.get(f"/admin/admin_account/details/?id={account_id}").get_data(as_text=True)
    assert "$argon2" not in html
    export = client.get("/admin/admin_account/export/csv/").get_data(as_text=True)
    assert "$argon2" not in export


def test_every_staff_list_renders_and_exports_for_the_admin(app, as_staff):
    client = as_staff("admin")
    from flask_admin.contrib.sqla import ModelView

    for view in app.extensions["consoles"]["admin"]._views:
        if not isinstance(view, ModelView):
            continue
        base = f"/admin/{view.endpoint}/"
        assert client.get(base).status_code == 200, base
        for export_type in ("csv", "xlsx"):
            response = client.get(f"{base}export/{export_type}/")
            assert response.status_code == 200, (base, export_type)
            assert response.data, (base, export_type)


def test_export_neutralises_formulas(as_staff):
    import io

    from openpyxl import load_workbook

    unit = db.session.scalar(sa.select(Unit).limit(1))
    unit.name = '=HYPERLINK("http://evil.example","x")'
    db.session.commit()
    client = as_staff("admin")
    text = client.get("/admin/admin_unit/export/csv/").get_data(as_text=True)
    assert "'=HYPERLINK" in text and ',=HYPERLINK' not in text
    book = load_workbook(io.BytesIO(client.get("/admin/admin_unit/export/xlsx/").data))
    cells = [c for row in book.active.iter_rows() for c in row if "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" and c.value.startswith("'") for c in cells)
