"""Prints as the manuals show them: ID numbers and phones masked on the 公示表 and 申请表."""
from __future__ import annotations

import sqlalchemy as sa

from models import Account, Application, Person, ServiceItem, Unit, db
from tests.conftest import PERSON, REP_A, UNIT_A, login

AGENT_A = "340104199506243211"  # 韩浩萍: 参保登记、暂停参保


def _talent_filing():
    return db.session.scalar(sa.select(Application).join(ServiceItem).where(
        ServiceItem.code == "RC_TALENT", Application.payload["id_no"].as_string() == PERSON)
        .limit(1))


def test_publicity_sheet_and_form_print_masked_id_numbers(person_client):
    filing = _talent_filing()
    assert filing is not None and filing.payload["id_no"] == PERSON
    for sheet in ("publicity", "form"):
        html = person_client.get(f"/me/filing/{filing.id}/print/{sheet}/").get_data(as_text=True)
        assert PERSON not in html, sheet
        assert f"{PERSON[0]}*****{PERSON[-2:]}" in html, sheet
        assert "张伟" in html


def _filings_with_id(uscc, agent_items=None):
    query = sa.select(Application).join(Unit, Application.unit_id == Unit.id).join(
        ServiceItem, Application.item_id == ServiceItem.id).where(Unit.uscc == uscc)
    if agent_items:
        query = query.where(ServiceItem.code.in_(agent_items))
    return [a for a in db.session.scalars(query) if (a.payload or {}).get("id_no")]


def test_an_auditor_reads_a_filings_id_numbers_masked_on_its_details_page(as_staff):
    """/admin/admin_application/details/ shows the filing's payload (申报内容) by its labelled
    fields, the 身份证号码 masked for the auditor (rules.masking.shown)."""
    application = _filings_with_id(UNIT_A)[0]
    id_no = application.payload["id_no"]
    client = as_staff("auditor")
    response = client.get(f"/admin/admin_application/details/?id={application.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert id_no not in html, "auditor reads a full ID number in a filing's details"


def test_an_agent_reads_id_numbers_masked_on_its_filing_pages(client):
    """An agent's 办件 page, printed form and generic details show payload IDs masked."""
    assert login(client, "unit", AGENT_A, UNIT_A).status_code == 302
    application = _filings_with_id(UNIT_A, ["SB_ENROLL", "SB_SUSPEND"])[0]
    id_no = application.payload["id_no"]
    for url in (f"/unit/filing/{application.id}/",
                f"/unit/filing/{application.id}/print/form/",
                f"/unit/unit_application/details/?id={application.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert id_no not in response.get_data(as_text=True), url


def test_an_auditor_reads_login_names_masked_in_the_login_log(client, as_staff):
    """登录日志 shows the typed login name (an ID number or phone) masked to the auditor, on
    the list and the csv and xlsx exports."""
    login(client, "unit", REP_A, UNIT_A, password="wrong-password")
    auditor = as_staff("auditor")
    for url in ("/admin/admin_login_log/", "/admin/admin_login_log/export/csv/",
                "/admin/admin_login_log/export/xlsx/"):
        response = auditor.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True) if url.endswith("/") and "xlsx" not in url \
            else _text_of(response, url)
        assert REP_A not in body, url


def _text_of(response, url):
    if url.endswith("xlsx/"):
        import io

        import openpyxl
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(str(c) for row in book.active.iter_rows(values_only=True)
                         for c in row)
    return response.get_data(as_text=True)


def test_an_auditor_reads_numbers_masked_in_the_audit_trail(client, as_staff):
    """审计日志 details (/admin/admin_audit_event/details/) show an event's before/after
    data with ID numbers and phones masked for the auditor, as everywhere else."""
    from models.audit import AuditEvent, record
    from tests.conftest import PERSON

    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    account = db.session.scalar(sa.select(Account).where(
        Account.kind == "individual", Account.person_id == zhang.id))
    record("phone_changed", actor_id=account.id, actor_label=zhang.name, ip="127.0.0.1",
           obj=account, before={"phone": "13800000003"}, after={"phone": "13912340000"})
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "phone_changed").order_by(AuditEvent.id.desc()))
    html = as_staff("auditor").get(
        f"/admin/admin_audit_event/details/?id={event.id}").get_data(as_text=True)
    assert "13912340000" not in html and "13800000003" not in html
    assert "1*****00" in html and "1*****03" in html
    admin = as_staff("admin").get(
        f"/admin/admin_audit_event/details/?id={event.id}").get_data(as_text=True)
    assert "13912340000" in admin  # staff who handle cases read them in full
