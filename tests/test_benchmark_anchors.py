"""The anchors the benchmarks compare with (benchmarks/anchors.py) ask the same question as
the project's page they stand beside: the unit-scoped anchor lists one unit's enrolments,
chosen by the unit in SQL, the very rows the unit console's 参保职工 list shows."""
from __future__ import annotations

import re

import sqlalchemy as sa

from benchmarks.anchors import stock_flask_admin
from models import Enrollment, Unit, db
from tests.conftest import UNIT_A, UNIT_B


def test_the_unit_scoped_anchor_lists_the_units_own_enrolments(app, unit_a):
    unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_A))
    other_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_B))
    own = set(db.session.scalars(sa.select(Enrollment.id).where(Enrollment.unit_id == unit_id)))
    first_page = set(sorted(own, reverse=True)[:20])  # both: 20 a page, newest first
    assert len(own) > 0 and other_id != unit_id

    stock_app = stock_flask_admin(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        stock = stock_app.test_client()
        page = stock.get(f"/admin/enrollment/?flt0_0={unit_id}")
        assert page.status_code == 200
        stock_ids = {int(i) for i in re.findall(
            r'class="action-checkbox" value="(\d+)"', page.get_data(as_text=True))}
        other = stock.get(f"/admin/enrollment/?flt0_0={other_id}").get_data(as_text=True)
        other_ids = {int(i) for i in re.findall(r'class="action-checkbox" value="(\d+)"', other)}
    finally:
        stock_app.extensions["anchor_engine"].dispose()

    ours = unit_a.get("/unit/unit_enrollment/").get_data(as_text=True)
    our_ids = {int(i) for i in re.findall(r"/details/\?id=(\d+)", ours)}
    assert stock_ids == first_page == our_ids
    assert other_ids and not other_ids & own
