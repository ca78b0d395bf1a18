"""Settlement periods (结算期), written YYYYMM."""
from __future__ import annotations

import datetime as dt
import re

from rules.codes import InsuranceKind, PaymentStatus
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


def payment_conditions(args, today: dt.date) -> tuple[dict, list[str]]:
    """The payment query's conditions from a form (起止结算期, 险种, 缴费状态), and the
    Chinese problems with them; an empty field sets no condition."""
    conditions: dict = {}
    problems: list[str] = []
    for key, label in (("start", "起始结算期"), ("end", "截止结算期")):
        if (args.get(key) or "").strip():
            try:
                conditions[key] = parse_period(args.get(key), today)
            except InvalidValue as error:
                problems.append(f"{label}：{error}")
    if "start" in conditions and "end" in conditions and conditions["start"] > conditions["end"]:
        problems.append("起始结算期不能晚于截止结算期")
    for key, enum, label in (("kind", InsuranceKind, "险种"),
                             ("status", PaymentStatus, "缴费状态")):
        value = (args.get(key) or "").strip()
        if value:
            if value not in {m.value for m in enum}:
                problems.append(f"{label}不正确")
            else:
                conditions[key] = value
    return conditions, problems
