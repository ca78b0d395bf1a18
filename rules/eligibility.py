"""Who may be enrolled, suspended or file for talent recognition, decided from facts."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum


class EnrollmentKind(StrEnum):
    NEW = "new"  # 新参保
    RESUME = "resume"  # 续保 (was suspended at this unit)


class Refused(Exception):
    """The filing cannot be applied; the message says why in Chinese."""


def enrollment_kind(active_here: bool, active_elsewhere: bool,
                    suspended_here: bool) -> EnrollmentKind:
    """New or resumed enrollment at this unit, or Refused."""
    if active_here:
        raise Refused("该人员已在本单位参保缴费，无需重复登记")
    if active_elsewhere:
        raise Refused("该人员正在其他单位参保缴费，请先由原单位办理暂停参保")
    return EnrollmentKind.RESUME if suspended_here else EnrollmentKind.NEW


def may_suspend(active_here: bool) -> None:
    """Only a person contributing through this unit can be suspended by it."""
    if not active_here:
        raise Refused("该人员未在本单位参保缴费，不能暂停参保")


#: A talent certificate is valid two years; renewal may be filed one month early.
TALENT_FILING_AFTER_MONTHS = 23


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def talent_filing_opens(recognised_on: dt.date) -> dt.date:
    """The first day a renewal filing may be made after a recognition."""
    return add_months(recognised_on, TALENT_FILING_AFTER_MONTHS)


def check_talent_filing(recognised_on: dt.date | None, today: dt.date) -> None:
    """Refused unless a recognition exists and 23 months have passed since it."""
    if recognised_on is None:
        raise Refused("未查询到您的人才认定记录，不能备案")
    opens = talent_filing_opens(recognised_on)
    if today < opens:
        raise Refused(f"认定后满23个月方可备案，最早可于{opens:%Y年%m月%d日}备案")
