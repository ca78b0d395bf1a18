"""Service item form definitions as data, and the validators they may name.

A field definition is a dict: ``{"name", "label", "type", "required", "validator",
"choices"}``; ``type`` is one of FIELD_TYPES and ``validator`` a key of VALIDATORS. The same
validators serve the single form, Flask-Admin forms and the import row checker.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from rules import clock
from rules.contribution import BASE_UPPER
from rules.identity import InvalidValue, validate_mobile, validate_resident_id, validate_uscc

FIELD_TYPES = {
    "text": "文本", "number": "数字", "date": "日期", "choice": "选项", "id_no": "身份证号码",
    "phone": "手机号码", "person": "本单位人员（身份证号码）", "unit": "单位（统一社会信用代码）",
}

#: The lowest monthly wage a filing may declare (the city's minimum wage, 2025).
WAGE_LOWER = Decimal("2490")


def validate_wage(value) -> Decimal:
    """A monthly wage in yuan, within the city's bounds."""
    try:
        wage = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise InvalidValue("工资应为数字") from None
    if not wage.is_finite():
        raise InvalidValue("工资应为数字")
    if wage < WAGE_LOWER or wage > BASE_UPPER * 5:
        raise InvalidValue(f"工资应在{WAGE_LOWER}元至{BASE_UPPER * 5}元之间")
    return wage.quantize(Decimal("0.01"))


def validate_not_future(value: dt.date, today: dt.date | None = None) -> dt.date:
    """A date that is not later than today (the office's, unless given)."""
    if value > (today or clock.today_in(None)):
        raise InvalidValue("日期不能晚于今天")
    return value


#: The first day social insurance could start (the 1951 labour insurance regulations).
INSURANCE_EPOCH = dt.date(1951, 1, 1)
#: Each date field's range, by what it means: (earliest, latest as days after today or a
#: fixed date). A field not named here gets DEFAULT_DATE_RANGE.
DATE_RANGES: dict[str, tuple[dt.date, int | dt.date]] = {
    "birth_date": (dt.date(1890, 1, 1), 0),          # born by today
    "start_date": (INSURANCE_EPOCH, 366),            # 参保 from, up to a year ahead
    "end_date": (INSURANCE_EPOCH, 366),
    "suspend_date": (INSURANCE_EPOCH, 366),
    "hire_date": (INSURANCE_EPOCH, 366),
    "paid_on": (INSURANCE_EPOCH, 0),                 # paid by today
    "recognised_on": (dt.date(1990, 1, 1), 0),
    "arrived_on": (dt.date(1950, 1, 1), 0),          # talent form: 来杭工作时间
    "graduated_on": (dt.date(1950, 1, 1), 0),
    "degree_on": (dt.date(1950, 1, 1), 0),
    "valid_until": (dt.date(1990, 1, 1), 3660),
    "valid_from": (dt.date(2000, 1, 1), 3660),       # grants: ten years ahead at most
    "valid_to": (dt.date(2000, 1, 1), 3660),
    "deadline": (dt.date(2000, 1, 1), 732),
    "day": (dt.date(2000, 1, 1), dt.date(2100, 12, 31)),  # the working-day calendar
}
DEFAULT_DATE_RANGE: tuple[dt.date, int | dt.date] = (dt.date(1900, 1, 1), 3660)


def date_range(name: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The (earliest, latest) date a field called ``name`` may hold."""
    earliest, latest = DATE_RANGES.get(name, DEFAULT_DATE_RANGE)
    if isinstance(latest, int):
        latest = (today or clock.today_in(None)) + dt.timedelta(days=latest)
    return earliest, latest


def validate_date_in_range(name: str, value: dt.date, today: dt.date | None = None) -> dt.date:
    """``value`` if it lies in the range of field ``name``, else InvalidValue saying which."""
    if isinstance(value, dt.datetime):
        value = value.date()
    earliest, latest = date_range(name, today)
    if not earliest <= value <= latest:
        raise InvalidValue(f"日期应在{earliest:%Y-%m-%d}至{latest:%Y-%m-%d}之间")
    return value


VALIDATORS = {
    "resident_id": validate_resident_id,
    "mobile": validate_mobile,
    "uscc": validate_uscc,
    "wage": validate_wage,
    "not_future": validate_not_future,
}
#: Validators every field of a type gets without naming them.
TYPE_VALIDATORS = {"id_no": "resident_id", "person": "resident_id", "phone": "mobile",
                   "unit": "uscc"}


def check_definition(fields: list) -> list[str]:
    """Problems in a form definition, in Chinese; empty when it can be rendered."""
    problems, names = [], set()
    if not isinstance(fields, list):
        return ["表单字段应为列表"]
    for n, spec in enumerate(fields, 1):
        if not isinstance(spec, dict):
            problems.append(f"第{n}个字段应为对象")
            continue
        name = spec.get("name", "")
        if not name or not str(name).isidentifier():
            problems.append(f"第{n}个字段的名称无效")
        elif name in names:
            problems.append(f"字段名称“{name}”重复")
        names.add(name)
        if spec.get("type") not in FIELD_TYPES:
            problems.append(f"字段“{name}”的类型无效，可选：{'、'.join(FIELD_TYPES)}")
        if spec.get("validator") and spec["validator"] not in VALIDATORS:
            problems.append(f"字段“{name}”的校验规则“{spec['validator']}”不存在")
        if spec.get("type") == "choice" and not spec.get("choices"):
            problems.append(f"选项字段“{name}”缺少选项")
    return problems
