"""The staff dashboard: aggregate figures, charts served by the app, links to filtered lists."""
from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re

import sqlalchemy as sa

from models import Application, clock, db


def _page(as_staff):
    return as_staff("reviewer").get("/admin/").get_data(as_text=True)


def _charts(page):
    raw = re.search(r'id="dashboard-data" type="application/json">(.*?)</script>', page,
                    re.S).group(1)
    return json.loads(html_lib.unescape(raw))


def _rows(client, url):
    listing = client.get(url).get_data(as_text=True)
    return set(re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', listing))


def test_figures_come_from_the_database(as_staff):
    page = _page(as_staff)
    for state in ("submitted", "in_review", "completed"):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
            Application.state == state))
        assert f'data-state="{state}">{count}<' in page
    charts = _charts(page)
    submitted = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.submitted_at >= clock.day_start(clock.today() - dt.timedelta(days=29))))
    assert sum(charts["days"]["values"]) == submitted and len(charts["days"]["values"]) == 30
    assert "业务审核员" in charts["reviewers"]["labels"]


def test_chart_links_open_the_filtered_lists(as_staff):
    client = as_staff("reviewer")
    charts = _charts(client.get("/admin/").get_data(as_text=True))
    for label, url in zip(charts["states"]["labels"], charts["states"]["urls"], strict=True):
        assert "flt0_" in url, label
        for row_id in _rows(client, url):
            assert db.session.get(Application, int(row_id)).state.label == label
    page = client.get("/admin/").get_data(as_text=True)
    overdue_url = html_lib.unescape(re.search(
        r'href="([^"]+)">\s*<div class="h2 mb-0" id="overdue">', page).group(1))
    assert "flt0_" in overdue_url
    for url in charts["days"]["urls"] + charts["reviewers"]["urls"]:
        assert "flt0_" in url and client.get(url).status_code == 200


def test_charting_library_is_served_by_the_app(as_staff, client):
    page = _page(as_staff)
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources and not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    assert any("chart.umd.js" in s for s in sources)
    assert client.get("/static/vendor/chartjs/chart.umd.js").status_code == 200


def _counted_per_reviewer():
    from models import Account, ApplicationEvent

    return dict(db.session.execute(
        sa.select(Account.display_name, sa.func.count()).join(
            ApplicationEvent, ApplicationEvent.actor_id == Account.id)
        .where(ApplicationEvent.action.in_(["approve", "reject"]))
        .group_by(Account.display_name)).all())


def test_the_reviewer_chart_counts_every_decision_as_it_is_made(as_staff):
    from tests.helpers import review

    client = as_staff("reviewer")
    before = dict(zip(*[_charts(client.get("/admin/").get_data(as_text=True))["reviewers"][k]
                        for k in ("labels", "values")], strict=True))
    assert before == _counted_per_reviewer()
    filing = db.session.scalar(sa.select(Application.id).where(
        Application.state == "in_review").order_by(Application.id).limit(1))
    review(client, filing, "approve", "材料齐全")
    assert db.session.get(Application, filing).state != "in_review"
    after = dict(zip(*[_charts(client.get("/admin/").get_data(as_text=True))["reviewers"][k]
                       for k in ("labels", "values")], strict=True))
    assert after == _counted_per_reviewer()
    assert after["业务审核员"] == before["业务审核员"] + 1


def test_a_regional_dashboard_counts_its_regions_decisions_only(as_staff):
    from models import Account, ApplicationEvent, StaffRole, Unit

    account = db.session.scalar(sa.select(Account).where(Account.username == "reviewer"))
    region = "330902"
    for role in db.session.scalars(sa.select(StaffRole).where(
            StaffRole.account_id == account.id)):
        role.region_code = region
    db.session.commit()
    charts = _charts(as_staff("reviewer").get("/admin/").get_data(as_text=True))
    shown = dict(zip(charts["reviewers"]["labels"], charts["reviewers"]["values"], strict=True))
    theirs = dict(db.session.execute(
        sa.select(Account.display_name, sa.func.count()).join(
            ApplicationEvent, ApplicationEvent.actor_id == Account.id)
        .join(Application, Application.id == ApplicationEvent.application_id)
        .join(Unit, Unit.id == Application.unit_id)
        .where(ApplicationEvent.action.in_(["approve", "reject"]),
               Unit.region_code.startswith(region))
        .group_by(Account.display_name)).all())
    assert shown == theirs and shown != _counted_per_reviewer()


def _counted_per_state():
    return dict(db.session.execute(sa.select(Application.state, sa.func.count()).group_by(
        Application.state)).all())


def test_the_state_tally_follows_every_filing_as_it_moves(as_staff):
    from models.service import StateTally
    from tests.helpers import review

    def tally():
        return {s: n for s, n in db.session.execute(
            sa.select(StateTally.state, StateTally.filings)) if n}

    assert tally() == _counted_per_state()
    client = as_staff("reviewer")
    filing = db.session.scalar(sa.select(Application.id).where(
        Application.state == "in_review").order_by(Application.id).limit(1))
    review(client, filing, "reject", "材料不齐，请补正")
    assert db.session.get(Application, filing).state == "rejected"
    assert tally() == _counted_per_state()
    page = client.get("/admin/").get_data(as_text=True)
    counted = _counted_per_state()
    for state in ("submitted", "in_review", "rejected", "completed"):
        assert f'data-state="{state}">{counted.get(state, 0)}<' in page


def test_filings_per_day_are_counted_by_the_office_day_not_the_utc_date(as_staff):
    filing = db.session.scalar(sa.select(Application).where(
        Application.submitted_at.is_not(None)).limit(1))
    # 00:30 in Beijing today is 16:30 UTC yesterday: it is today's filing at the office.
    filing.submitted_at = clock.day_start(clock.today()) + dt.timedelta(minutes=30)
    db.session.commit()
    today = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.submitted_at >= clock.day_start(clock.today()),
        Application.submitted_at < clock.day_start(clock.today() + dt.timedelta(days=1))))
    assert today >= 1 and _charts(_page(as_staff))["days"]["values"][-1] == today
