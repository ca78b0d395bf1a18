"""Prints as the manuals show them: ID numbers and phones masked on the 公示表 and 申请表."""
from __future__ import annotations

import sqlalchemy as sa

from models import Application, ServiceItem, db
from tests.conftest import PERSON


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
