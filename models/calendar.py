"""The working-day calendar staff maintain: exceptions to Monday-Friday, per day."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db
from rules.workdays import Calendar, Deadline, add_workdays


class Holiday(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(unique=True)
    #: True for a weekend day that is worked (调休), False for a holiday on a weekday.
    workday: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(sa.String(50), default="")

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


def calendar_for(start: dt.date, horizon_days: int = 120) -> Calendar:
    """The calendar around ``start``: exceptions in the horizon and the years staff filled in."""
    rows = db.session.execute(sa.select(Holiday.day, Holiday.workday).where(
        Holiday.day.between(start, start + dt.timedelta(days=horizon_days)))).all()
    years = db.session.scalars(sa.select(sa.extract("year", Holiday.day)).distinct()).all()
    return Calendar({day: worked for day, worked in rows}, frozenset(int(y) for y in years))


def deadline_after(start: dt.date, days: int) -> Deadline:
    """The review deadline ``days`` working days after ``start``."""
    return add_workdays(start, days, calendar_for(start))
