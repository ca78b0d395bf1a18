"""The staff dashboard's figures, each one aggregate query (no rows are loaded)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models.account import Account
from models import clock
from models.base import db
from models.service import Application, ApplicationEvent, DecisionTally, StateTally
from models.service import overdue as overdue_clause
from rules.policy import UNFILED
from rules.workflow import Action, State

#: No limit: every filing counts (staff without a region).
EVERYTHING = sa.true()


def by_state(where=EVERYTHING, whole_office: bool = False) -> dict[State, int]:
    """Filings per state, every state listed (``where``: the viewer's scope of filings).

    ``whole_office``: ``where`` only leaves out filings not yet filed (no region), so the
    tally kept as filings move answers, whatever their number."""
    if whole_office:
        rows = dict(db.session.execute(sa.select(StateTally.state, StateTally.filings)).all())
        return {state: 0 if state in UNFILED else rows.get(state.value, 0) for state in State}
    rows = dict(db.session.execute(sa.select(Application.state, sa.func.count()).where(where)
                                   .group_by(Application.state)).all())
    return {state: rows.get(state, 0) for state in State}


def overdue(today: dt.date, where=EVERYTHING) -> int:
    """Filings the office still handles whose deadline has passed."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        overdue_clause(today), where))


def per_day(today: dt.date, days: int = 30, where=EVERYTHING) -> list[tuple[dt.date, int]]:
    """Filings submitted per day over the last ``days`` days, zero days included."""
    start = today - dt.timedelta(days=days - 1)
    # Office days (Beijing), not UTC dates: a filing at 07:00 Beijing is that day's.
    bounds = [clock.day_start(start + dt.timedelta(days=i)) for i in range(days + 1)]
    # One index range count per day, in one statement: no per-row date() and no sort.
    counts = db.session.execute(sa.select(*(
        sa.select(sa.func.count()).select_from(Application).where(
            Application.submitted_at >= low, Application.submitted_at < high, where)
        .scalar_subquery() for low, high in zip(bounds, bounds[1:], strict=False)))).one()
    return [(start + dt.timedelta(days=i), n) for i, n in enumerate(counts)]


def reviews_per_reviewer(where=EVERYTHING, whole_office: bool = False
                         ) -> list[tuple[int, str, int]]:
    """(account id, name, decisions) per reviewer: approvals and rejections made.

    ``whole_office``: ``where`` limits nothing a decision can be about (no region), so the
    tally kept as decisions are written answers, whatever the number of filings. A decision
    is only ever made on a filed filing, and a filed filing never returns to draft."""
    if whole_office:
        return db.session.execute(
            sa.select(Account.id, Account.display_name, DecisionTally.decisions)
            .join(DecisionTally, DecisionTally.actor_id == Account.id)
            .where(DecisionTally.decisions > 0)
            .order_by(DecisionTally.decisions.desc())).all()
    return db.session.execute(
        sa.select(Account.id, Account.display_name, sa.func.count())
        .join(ApplicationEvent, ApplicationEvent.actor_id == Account.id)
        .where(ApplicationEvent.action.in_([Action.APPROVE.value, Action.REJECT.value]),
               ApplicationEvent.application_id.in_(sa.select(Application.id).where(where)))
        .group_by(Account.id, Account.display_name).order_by(sa.func.count().desc())).all()
