"""One office clock: at 23:30 UTC it is already the next day in Beijing, and the office's
date decides filings, deadlines and settlement periods; stored times stay UTC and are
shown as YYYY-MM-DD HH:MM office time."""
from __future__ import annotations

import datetime as dt

import pytest

from models import Application, ApplicationEvent, db
from models.calendar import deadline_after
from rules import clock
from tests.helpers import act, filing_id, fresh_id_no, new_filing, upload

# 23:30 UTC on Monday 30 November is 07:30 on Tuesday 1 December in Beijing.
FROZEN = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


@pytest.fixture
def frozen(monkeypatch):
    """Inject the clock: every "now" of the app reads rules.clock.utc_now."""
    monkeypatch.setattr(clock, "utc_now", lambda: FROZEN)
    return FROZEN


def test_a_filing_at_2330_utc_is_dated_and_timed_in_beijing(frozen, unit_a):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", {
        "id_no": fresh_id_no(41), "name": "时钟测试", "phone": "13912345678",
        "start_date": "2026-11-01", "wage": "8000", "insurance_kinds": "110,210,310,410,510"}))
    upload(unit_a, "unit", application_id, "contract")
    act(unit_a, "unit", application_id, "submit")
    application = db.session.get(Application, application_id)
    assert application.state == "submitted"
    assert application.submitted_at == dt.datetime(2026, 11, 30, 23, 30)  # stored UTC
    office_day = dt.date(2026, 12, 1)
    expected = deadline_after(office_day, application.item.time_limit_days).day
    assert expected != deadline_after(dt.date(2026, 11, 30),
                                      application.item.time_limit_days).day
    assert application.deadline == expected
    event = db.session.query(ApplicationEvent).filter_by(application_id=application_id,
                                                         action="submit").one()
    assert event.at == dt.datetime(2026, 11, 30, 23, 30)
    page = unit_a.get(f"/unit/filing/{application_id}/").get_data(as_text=True)
    assert "2026-12-01 07:30" in page and "2026-11-30 23:30" not in page


def test_the_settlement_period_is_the_office_month(frozen, unit_a):
    # 待遇 queries open on the office's current month (payables on the latest settled one).
    page = unit_a.get("/unit/query/benefits/").get_data(as_text=True)
    assert 'value="202612"' in page


def test_the_office_time_zone_is_a_setting(app, frozen, unit_a, monkeypatch):
    monkeypatch.setitem(app.config, "OFFICE_TIMEZONE", "UTC")
    page = unit_a.get("/unit/query/benefits/").get_data(as_text=True)
    assert 'value="202611"' in page


def test_pure_helpers_take_the_zone():
    assert clock.today_in("Asia/Shanghai", FROZEN) == dt.date(2026, 12, 1)
    assert clock.today_in("UTC", FROZEN) == dt.date(2026, 11, 30)
    assert clock.shown(dt.datetime(2026, 11, 30, 23, 30, 5, 123), "Asia/Shanghai") == \
        "2026-12-01 07:30"
    assert clock.shown(dt.date(2026, 12, 1), None) == "2026-12-01"
    assert clock.shown(None, None) == ""


def test_admin_lists_and_exports_show_office_time(as_staff, frozen):
    client = as_staff("auditor")  # the login itself is audited at the frozen instant
    page = client.get("/admin/admin_audit_event/").get_data(as_text=True)
    assert "2026-12-01 07:30" in page and "2026-11-30 23:30" not in page
    export = client.get("/admin/admin_audit_event/export/csv/").get_data(as_text=True)
    assert "2026-12-01 07:30" in export and "23:30:00" not in export
