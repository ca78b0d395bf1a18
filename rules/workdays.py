"""Working days in mainland China (holidays and 调休) for review deadlines."""
from __future__ import annotations

import datetime as dt

import chinese_calendar


def is_workday(day: dt.date) -> bool:
    """chinesecalendar's verdict; outside its years, Monday to Friday."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (start itself not counted)."""
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            days -= 1
    return day
