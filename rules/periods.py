"""Settlement periods (结算期), written YYYYMM."""
from __future__ import annotations

import datetime as dt
import re

from rules.identity import InvalidValue


def current_period(today: dt.date) -> str:
    """The period ``today`` falls in."""
    return f"{today:%Y%m}"


def parse_period(value: str | None, today: dt.date) -> str:
    """A valid YYYYMM period; the current one when empty; InvalidValue otherwise."""
    text = (value or "").strip().replace("-", "")
    if not text:
        return current_period(today)
    if not re.fullmatch(r"\d{6}", text) or not 1 <= int(text[4:]) <= 12 or \
            not 1990 <= int(text[:4]) <= today.year + 1:
        raise InvalidValue("结算期格式应为YYYYMM，如202611")
    return text


def previous(period: str, months: int = 1) -> str:
    """The period ``months`` before ``period``."""
    index = int(period[:4]) * 12 + int(period[4:]) - 1 - months
    return f"{index // 12:04d}{index % 12 + 1:02d}"
