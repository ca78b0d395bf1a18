"""A list counts its rows only when its page cannot tell the count (views.paging)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Enrollment, Unit, db
from tests.conftest import UNIT_A


def _fetch(client, url):
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = re.search(r'class="nav-link active">[^<(]*\((\d+)\)', html)
    pages = re.findall(r'[?&]page=(\d+)', html)
    counts = [s for s in statements if "count(*)" in s and "enrollment" in s]
    return (int(shown.group(1)) if shown else None), max(map(int, pages), default=0), counts


def _members() -> int:
    unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_A))
    return db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.unit_id == unit_id))


def test_a_short_page_is_its_own_count(unit_a):
    members = _members()
    assert 20 < members < 100
    shown, _, counts = _fetch(unit_a, "/unit/unit_enrollment/?page_size=100")
    assert shown == members and not counts
    # The last, short page of 20: the rows before it plus its own.
    last = (members - 1) // 20
    shown, pages, counts = _fetch(unit_a, f"/unit/unit_enrollment/?page={last}")
    assert shown == members and not counts and pages == last


def test_a_full_page_and_a_page_past_the_end_count(unit_a):
    members = _members()
    shown, pages, counts = _fetch(unit_a, "/unit/unit_enrollment/")
    assert shown == members and len(counts) == 1
    assert pages == (members - 1) // 20  # the pager links every page
    shown, _, counts = _fetch(unit_a, "/unit/unit_enrollment/?page=9")
    assert shown == members and len(counts) == 1


def test_a_filtered_short_page_counts_what_the_filter_keeps(unit_a):
    shown, _, counts = _fetch(unit_a, "/unit/unit_enrollment/?search=&flt0_0=active")
    unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_A))
    active = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.unit_id == unit_id, Enrollment.status == "active"))
    assert shown == active
