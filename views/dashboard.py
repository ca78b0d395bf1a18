"""The staff console's home page: figures from aggregate queries, charts linking to lists."""
from __future__ import annotations

from flask import url_for

from models import Application, clock, dashboard
from models.scheduled import REMIND_DAYS, reminders
from models.scope import scope_clause
from rules.policy import staff_regions
from rules.workflow import State


def _operation(flt) -> str:
    operation = flt.operation()
    return str(getattr(operation, "_args", [operation])[0])  # the msgid, not the translation


def filter_url(endpoint: str, view, name: str, operation: str | None, value) -> str:
    """The list URL of ``view`` with one of its filters applied (Flask-Admin numbers them).

    ``operation`` is Flask-Admin's untranslated operation ("equals", "between").
    """
    for index, flt in enumerate(view._filters):
        if str(flt.name) == name and (operation is None or _operation(flt) == operation):
            return url_for(f"{endpoint}.index_view", **{f"flt0_{index}": value})
    raise LookupError(f"{endpoint} has no filter {name} {operation}")


def _view(admin, endpoint):
    return next(v for v in admin._views if v.endpoint == endpoint)


def staff_dashboard(index_view, actor):
    """Render the dashboard; every figure is a GROUP BY or a count."""
    admin = index_view.admin
    review = _view(admin, "admin_application")
    events = _view(admin, "admin_application_event")
    today = clock.today()
    mine = scope_clause(Application, actor)  # a regional role counts its regions only
    whole_office = staff_regions(actor) is None
    states = dashboard.by_state(mine, whole_office=whole_office)
    state_urls = {s.value: filter_url("admin_application", review, "办件状态", "equals", s.value)
                  for s in State}
    days = dashboard.per_day(today, where=mine)
    reviewers = dashboard.reviews_per_reviewer(mine, whole_office=whole_office)
    day_name = str(review.column_labels.get("submitted_at", "提交时间"))
    shown = [s for s in State if s not in (State.DRAFT, State.AWAITING_UNIT)]
    charts = {
        "states": {"title": "办件数", "labels": [s.label for s in shown],
                   "values": [states[s] for s in shown],
                   "urls": [state_urls[s.value] for s in shown]},
        "days": {"title": "申报数", "labels": [d.strftime("%m-%d") for d, _ in days],
                 "values": [n for _, n in days],
                 "urls": [filter_url("admin_application", review, day_name, "between",
                                     f"{d} 00:00:00 to {d} 23:59:59") for d, _ in days]},
        "reviewers": {"title": "审核量", "labels": [name for _, name, _ in reviewers],
                      "values": [n for _, _, n in reviewers],
                      "urls": [filter_url("admin_application_event", events, "操作人", None,
                                          account_id) for account_id, _, _ in reviewers]},
    }
    near, near_rows = reminders(actor, today)
    return index_view.render(
        "dashboard.html", actor=actor, states=states, state_urls=state_urls,
        near=near, near_rows=near_rows, remind_days=REMIND_DAYS,
        overdue=dashboard.overdue(today, mine),
        overdue_url=filter_url("admin_application", review, "超期", None, "1"), charts=charts)
