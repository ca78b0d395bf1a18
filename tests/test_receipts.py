"""Printable filing receipts (办件回执) with a QR code that opens the verification page, and
materials taken off a filing that was sent back."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Application, Attachment, AuditEvent, Certificate, db
from rules.workflow import State
from tests.conftest import UNIT_A, csrf_token
from tests.helpers import upload


def _filing(state):
    return db.session.scalars(sa.select(Application).where(
        Application.state == state, Application.unit.has(uscc=UNIT_A)).order_by(
        Application.id)).first()


def test_a_receipt_states_the_filing_and_verifies_by_its_qr_code(unit_a):
    application = _filing(State.SUBMITTED)
    page = unit_a.get(f"/unit/filing/{application.id}/")
    assert f"/unit/filing/{application.id}/receipt/" in page.get_data(as_text=True)
    html = unit_a.get(f"/unit/filing/{application.id}/receipt/").get_data(as_text=True)
    assert f'<strong id="receipt-no">{application.id}</strong>' in html
    assert application.item.name in html and application.unit.name in html
    assert re.search(r'id="submitted-at">\d{4}-\d{2}-\d{2} \d{2}:\d{2}<', html)
    for spec in application.item.form_fields:
        assert spec["label"] in html
    assert "<svg" in html  # the QR code, drawn by segno
    code = re.search(r"验证码 ([A-Z0-9]{12})", html).group(1)
    assert f"/verify/{code}" in html
    verified = unit_a.get(f"/verify/{code}")
    text = verified.get_data(as_text=True)
    assert verified.status_code == 200
    assert "办件回执" in text and f"办件编号 {application.id}" in text
    assert application.item.form_fields[0]["label"] in text


def test_a_draft_has_no_receipt(unit_a):
    application = _filing(State.DRAFT)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Certificate))
    response = unit_a.get(f"/unit/filing/{application.id}/receipt/", follow_redirects=True)
    assert "办件提交后才能打印回执" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == before


def test_another_units_filing_has_no_receipt(unit_a):
    other = db.session.scalars(sa.select(Application).where(
        Application.state == State.SUBMITTED, ~Application.unit.has(uscc=UNIT_A))).first()
    assert unit_a.get(f"/unit/filing/{other.id}/receipt/").status_code == 404


def test_a_sent_back_filings_material_is_removed_and_replaced_before_resubmitting(unit_a):
    client = unit_a
    application = _filing(State.REJECTED)
    page = upload(client, "unit", application.id, application.item.materials[0]["code"],
                  name="旧文件.pdf").get_data(as_text=True)
    attachment = db.session.scalar(sa.select(Attachment).where(
        Attachment.application_id == application.id, Attachment.file_name == "旧文件.pdf"))
    attachment_id = attachment.id
    assert f"/unit/filing/attachment/{attachment_id}/remove/" in page
    done = client.post(f"/unit/filing/attachment/{attachment_id}/remove/",
                       data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "已删除材料：旧文件.pdf" in done.get_data(as_text=True)
    assert db.session.get(Attachment, attachment_id) is None
    assert db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "application:remove_material",
        AuditEvent.object_id == str(application.id))) is not None


def test_a_material_of_a_filing_under_review_stays(unit_a):
    attachment = db.session.scalars(sa.select(Attachment).join(Application).where(
        Application.state.in_([State.SUBMITTED, State.IN_REVIEW, State.COMPLETED]),
        Application.unit.has(uscc=UNIT_A))).first()
    if attachment is None:  # the demo files no materials: add one to a submitted filing
        application = _filing(State.SUBMITTED)
        attachment = Attachment(application_id=application.id, material="x", file_name="a.pdf",
                                content_type="application/pdf", size=1, sha256="0" * 64,
                                stored_path="none", uploaded_by_id=None)
        db.session.add(attachment)
        db.session.commit()
    response = unit_a.post(f"/unit/filing/attachment/{attachment.id}/remove/",
                           data={"csrf_token": csrf_token(unit_a)}, follow_redirects=True)
    assert "材料不能删除" in response.get_data(as_text=True)
    assert db.session.get(Attachment, attachment.id) is not None
