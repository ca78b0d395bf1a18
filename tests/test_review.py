"""Review in the staff console: the queue, bulk actions, the calendar, two reviewers at once."""
from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from models import Account, Application, ApplicationEvent, AuditEvent, ServiceItem, db
from models.calendar import deadline_after
from models.workflow import message_of, transition
from rules.codes import AccountKind, StaffRoleName
from rules.permissions import Actor
from rules.workflow import Action
from tests.conftest import csrf_token


def _in_state(state):
    return db.session.scalars(sa.select(Application).where(Application.state == state)).all()


def test_queue_hides_unfiled_drafts_and_sorts_by_deadline(as_staff):
    client = as_staff("reviewer")
    html = client.get("/admin/admin_application/").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"',
                                        html)]
    drafts = {a.id for a in _in_state("draft")} | {a.id for a in _in_state("awaiting_unit")}
    assert shown and not set(shown) & drafts
    deadlines = [db.session.get(Application, i).deadline for i in shown]
    assert deadlines == sorted(deadlines)


def test_overdue_filter(as_staff):
    late = _in_state("submitted")[0]
    late.deadline = dt.date.today() - dt.timedelta(days=3)
    db.session.commit()
    client = as_staff("reviewer")
    view = client.application.extensions["consoles"]["admin"]
    review_view = next(v for v in view._views if v.endpoint == "admin_application")
    index = next(i for i, f in enumerate(review_view._filters) if f.name == "超期")
    html = client.get(f"/admin/admin_application/?flt0_{index}=1").get_data(as_text=True)
    shown = set(re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', html))
    assert str(late.id) in shown
    for application_id in shown:
        application = db.session.get(Application, int(application_id))
        assert application.deadline < dt.date.today()
        assert application.state in ("submitted", "in_review", "approved")


def test_bulk_reject_asks_for_a_reason_first(as_staff):
    client = as_staff("reviewer")
    targets = [a.id for a in _in_state("in_review")]
    data = {"csrf_token": csrf_token(client), "action": "reject",
            "rowid": [str(i) for i in targets]}
    page = client.post("/admin/admin_application/action/", data=data)
    assert page.status_code == 200 and "不通过原因" in page.get_data(as_text=True)
    assert all(db.session.get(Application, i).state == "in_review" for i in targets)
    client.post("/admin/admin_application/action/", data={**data, "reason": "材料不清晰"})
    for application_id in targets:
        application = db.session.get(Application, application_id)
        assert application.state == "rejected"
        assert application.events[-1].comment == "材料不清晰"


def test_bulk_accept_reports_rows_it_cannot_move(as_staff):
    client = as_staff("reviewer")
    submitted = [a.id for a in _in_state("submitted")]
    completed = [a.id for a in _in_state("completed")]
    html = client.post("/admin/admin_application/action/", data={
        "csrf_token": csrf_token(client), "action": "accept",
        "rowid": [str(i) for i in submitted + completed]},
        follow_redirects=True).get_data(as_text=True)
    assert f"受理：{len(submitted)} 件成功" in html and "不能受理" in html
    assert all(db.session.get(Application, i).state == "in_review" for i in submitted)
    assert all(db.session.get(Application, i).state == "completed" for i in completed)


@pytest.mark.parametrize("role", ["clerk", "auditor", "admin"])
def test_only_reviewers_review(as_staff, role):
    client = as_staff(role)
    application = _in_state("submitted")[0]
    response = client.post(f"/admin/admin_application/review/{application.id}/", data={
        "csrf_token": csrf_token(client), "action": "accept", "version": application.version})
    assert response.status_code == 403
    client.post("/admin/admin_application/action/", data={
        "csrf_token": csrf_token(client), "action": "accept", "rowid": str(application.id)})
    assert db.session.get(Application, application.id).state == "submitted"


def test_a_stale_page_is_told_the_filing_was_handled(as_staff):
    client = as_staff("reviewer")
    application = _in_state("submitted")[0]
    version = application.version
    client.post(f"/admin/admin_application/review/{application.id}/", data={
        "csrf_token": csrf_token(client), "action": "accept", "version": version})
    html = client.post(f"/admin/admin_application/review/{application.id}/", data={
        "csrf_token": csrf_token(client), "action": "accept", "version": version},
        follow_redirects=True).get_data(as_text=True)
    assert "已被他人处理" in html
    accepts = db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationEvent).where(
        ApplicationEvent.application_id == application.id, ApplicationEvent.action == "accept"))
    assert accepts == 1


def test_staff_maintain_the_calendar_for_2027(as_staff):
    estimate = deadline_after(dt.date(2026, 12, 30), 5)
    assert estimate.day == dt.date(2027, 1, 6) and estimate.estimated
    client = as_staff("admin")
    response = client.post("/admin/admin_holiday/new/", data={
        "csrf_token": csrf_token(client), "day": "2027-01-01", "workday": "", "name": "元旦"})
    assert response.status_code == 302
    exact = deadline_after(dt.date(2026, 12, 30), 5)
    assert exact.day == dt.date(2027, 1, 7) and not exact.estimated
    far = deadline_after(dt.date(2031, 1, 1), 3)  # nobody entered 2031: no crash, an estimate
    assert far.estimated and far.day == dt.date(2031, 1, 6)


def test_an_estimated_deadline_is_flagged_to_the_reviewer(as_staff):
    application = _in_state("submitted")[0]
    application.deadline_estimated = True
    db.session.commit()
    client = as_staff("reviewer")
    html = client.get(f"/admin/admin_application/details/?id={application.id}").get_data(
        as_text=True)
    assert "仅按周末估算" in html


def test_staff_see_ratings(as_staff):
    application = _in_state("completed")[0]
    application.rating, application.rating_comment = 5, "服务很好"
    db.session.commit()
    html = as_staff("auditor").get(
        f"/admin/admin_application/details/?id={application.id}").get_data(as_text=True)
    assert "服务很好" in html


# --- two reviewers at once, on real separate connections ----------------------------------

def _committed_filing():
    """A filing in review, committed outside the test's rolled-back transaction."""
    session = orm.Session(db.engine)
    source = session.scalars(sa.select(Application).where(
        Application.state == "in_review")).first()
    record_only = session.scalar(sa.select(ServiceItem.id).where(ServiceItem.handler.is_(None)))
    copy = Application(item_id=record_only, unit_id=source.unit_id, state="in_review",
                       payload={}, filed_by_id=source.filed_by_id)
    session.add(copy)
    session.commit()
    reviewer = session.scalar(sa.select(Account).where(Account.username == "reviewer"))
    ids = copy.id, reviewer.id
    session.close()
    return ids


def _cleanup(application_id):
    with db.engine.begin() as conn:
        conn.execute(sa.delete(ApplicationEvent).where(
            ApplicationEvent.application_id == application_id))
        conn.execute(sa.delete(AuditEvent).where(AuditEvent.object_type == "Application",
                                                 AuditEvent.object_id == str(application_id)))
        conn.execute(sa.delete(Application).where(Application.id == application_id))


def _reviewer(account_id):
    return Actor(account_id, AccountKind.STAFF, roles=frozenset({StaffRoleName.REVIEWER}))


def test_two_reviewers_at_once_exactly_one_wins(app):
    with app.app_context():
        application_id, reviewer_id = _committed_filing()
    rolled_back_session = db.session
    # One session, on its own pooled connection, per reviewer thread.
    db.session = orm.scoped_session(orm.sessionmaker(bind=db.engine),
                                    scopefunc=threading.get_ident)
    try:
        both_loaded = threading.Barrier(2)
        first_flushed = threading.Event()
        outcomes, messages = {}, {}

        def reviewer(name, action, goes_second):
            with app.app_context():
                try:
                    application = db.session.get(Application, application_id)
                    application.item  # noqa: B018  (loaded before the other acts)
                    both_loaded.wait(timeout=10)
                    if goes_second:
                        first_flushed.wait(timeout=10)
                    transition(application, action, _reviewer(reviewer_id), comment="并发")
                    if not goes_second:
                        first_flushed.set()
                        threading.Event().wait(0.3)  # hold the row while the other tries
                    db.session.commit()
                    outcomes[name] = "won"
                except (StaleDataError, OperationalError) as error:
                    db.session.rollback()
                    outcomes[name] = type(error).__name__
                    messages[name] = message_of(error)
                finally:
                    first_flushed.set()
                    db.session.remove()

        threads = [threading.Thread(target=reviewer, args=("a", Action.APPROVE, False)),
                   threading.Thread(target=reviewer, args=("b", Action.REJECT, True))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert outcomes == {"a": "won", "b": outcomes["b"]} and outcomes["b"] != "won"
        if db.engine.dialect.name == "postgresql":
            assert outcomes["b"] == "StaleDataError"  # it waited for a's lock, then lost
        assert "他人处理" in messages["b"]  # what the losing reviewer is shown
        with app.app_context(), db.engine.connect() as conn:
            state = conn.scalar(sa.select(Application.state).where(
                Application.id == application_id))
            decisions = conn.scalar(sa.select(sa.func.count()).select_from(
                ApplicationEvent).where(ApplicationEvent.application_id == application_id))
        assert state == "approved" and decisions == 1
    finally:
        db.session = rolled_back_session
        with app.app_context():
            _cleanup(application_id)
