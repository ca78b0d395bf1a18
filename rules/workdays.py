"""Working days in mainland China (holidays and 调休) for review deadlines.

The calendar is data: a table of exceptions to "Monday to Friday" (holidays that fall on
weekdays, weekend days that are worked), seeded from chinesecalendar and maintained by staff
for years it does not know yet. Outside the known years only weekends are skipped, and the
result says it is an estimate so the console can warn.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import chinese_calendar


@dataclass(frozen=True)
class Calendar:
    #: day → True if worked (调休), False if a holiday; other days follow the weekday.
    exceptions: Mapping[dt.date, bool] = field(default_factory=dict)
    #: Years whose holidays are known (published by the State Council).
    known_years: frozenset[int] = frozenset()

    def is_workday(self, day: dt.date) -> bool:
        """True if ``day`` is a working day."""
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5


@dataclass(frozen=True)
class Deadline:
    day: dt.date
    #: True if the count crossed a year whose holidays are unknown (weekends-only estimate).
    estimated: bool


def add_workdays(start: dt.date, days: int, calendar: Calendar) -> Deadline:
    """The date ``days`` working days after ``start`` (``start`` itself is not counted)."""
    day, estimated = start, start.year not in calendar.known_years
    while days > 0:
        day += dt.timedelta(days=1)
        estimated = estimated or day.year not in calendar.known_years
        if calendar.is_workday(day):
            days -= 1
    return Deadline(day, estimated)


def chinese_calendar_exceptions() -> dict[dt.date, tuple[bool, str]]:
    """Every exception chinesecalendar knows: day → (worked, holiday name)."""
    chinese = {h.value: h.chinese for h in chinese_calendar.Holiday}
    out: dict[dt.date, tuple[bool, str]] = {}
    for day, name in chinese_calendar.constants.holidays.items():
        if day.weekday() < 5:
            out[day] = (False, chinese.get(name, name))
    for day, name in chinese_calendar.constants.workdays.items():
        out[day] = (True, f"{chinese.get(name, name)}调休")
    return out


def workdays_left(today: dt.date, deadline: dt.date, calendar: Calendar) -> int:
    """Working days from tomorrow up to ``deadline`` inclusive; negative: working days late."""
    step = 1 if deadline >= today else -1
    count, day = 0, today
    while day != deadline:
        day += dt.timedelta(days=step)
        if calendar.is_workday(day if step > 0 else day + dt.timedelta(days=1)):
            count += step
    return count
