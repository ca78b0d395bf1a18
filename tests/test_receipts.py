"""Printable filing receipts (办件回执) with a QR code that opens the verification page."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Application, Certificate, db
from rules.workflow import State
from tests.conftest import UNIT_A


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
