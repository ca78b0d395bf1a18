"""Mechanisms every Flask-Admin view gets from ``ScopedModelView`` (one mixin, one place).

- Timestamps are stored in UTC and shown as YYYY-MM-DD HH:MM office time.
- List arguments (page, sort, search, filters) are parsed once, defensively: a value a
  list cannot use is ignored with a Chinese message instead of reaching the database.
- Every form field gets checks derived from its column before any other validator runs:
  no control characters, at most the column's length, numbers finite and within what the
  column holds, dates within the range that fits the field (rules.fields.DATE_RANGES).
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import sqlalchemy as sa
from flask import Response, abort, flash, request
from werkzeug.routing import IntegerConverter
from wtforms import DateField, DateTimeField, DecimalField, FloatField, IntegerField, StringField
from wtforms.validators import StopValidation

from models import clock
from rules.fields import validate_date_in_range
from rules.identity import InvalidValue

#: The furthest page a list may be asked for, and the longest search or filter value.
MAX_PAGE = 100_000
MAX_ARG_CHARS = 100
#: Integers beyond a signed 64-bit column overflow the database driver.
MAX_INT = 2**63 - 1
MAX_INT32 = 2**31 - 1
CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


def office_time(view, value, name=None) -> str:
    """A Flask-Admin type formatter: a stored UTC timestamp in office time."""
    return clock.shown(value)


def clean_text(value: str | None) -> str | None:
    """A search or filter text without NUL characters, at most MAX_ARG_CHARS long."""
    if value is None:
        return None
    return value.replace("\x00", "")[:MAX_ARG_CHARS]


def _usable(value) -> bool:
    """True if a cleaned filter value can reach the database."""
    if isinstance(value, (list, tuple)):
        return all(_usable(v) for v in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_INT
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_INT
    if isinstance(value, Decimal):
        return value.is_finite() and abs(value) <= MAX_INT
    if isinstance(value, (dt.date, dt.datetime)):
        return 1 <= value.year <= 9999
    return True


def _options(flt) -> set[str] | None:
    options = getattr(flt, "options", None)
    if callable(options):
        options = options()
    if not options:
        return None
    return {str(key) for key, _ in options}


def _acceptable(flt, value: str) -> bool:
    if "\x00" in value or len(value) > MAX_ARG_CHARS:
        return False
    allowed = _options(flt)
    if allowed is not None:
        parts = value.split(",") if "InList" in type(flt).__name__ else [value]
        if any(p.strip() not in allowed for p in parts):
            return False
    try:
        return _usable(flt.clean(value))
    except (ValueError, TypeError, ArithmeticError):
        return False


# --- form fields ---------------------------------------------------------------------------

def _blank(data) -> bool:
    return data is None or data == ""


def no_control_characters(form, field) -> None:
    """NUL and other control characters are refused (PostgreSQL cannot store NUL)."""
    if isinstance(field.data, str) and not CONTROL.isdisjoint(field.data):
        raise StopValidation("不能包含控制字符")


def max_chars(limit: int):
    """At most ``limit`` characters (the column's length)."""
    def check(form, field) -> None:
        if isinstance(field.data, str) and len(field.data) > limit:
            raise StopValidation(f"不能超过{limit}个字符")
    return check


def finite_number(limit: int | Decimal):
    """A number, finite (not NaN or Infinity) and smaller in size than ``limit``."""
    def check(form, field) -> None:
        data = field.data
        if _blank(data):
            return
        if isinstance(data, (float, Decimal)) and not (
                data.is_finite() if isinstance(data, Decimal) else math.isfinite(data)):
            field.data = None  # its re-rendering would fail on a non-finite value
            raise StopValidation("应为有效数字")
        if abs(data) >= limit:
            field.data = None
            raise StopValidation(f"数值超出范围（应小于{limit:,}）")
    return check


def date_in_range(name: str):
    """A date within the range that fits the field (the message states the range)."""
    def check(form, field) -> None:
        if _blank(field.data):
            return
        try:
            validate_date_in_range(name, field.data, clock.today())
        except InvalidValue as error:
            raise StopValidation(str(error)) from None
    return check


def _column(model, name: str):
    prop = getattr(getattr(model, name, None), "property", None)
    columns = getattr(prop, "columns", None)
    return columns[0] if columns else None


def _number_limit(column) -> int | Decimal:
    kind = getattr(column, "type", None)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float) and kind.precision:
        return Decimal(10) ** (kind.precision - (kind.scale or 0))
    if isinstance(kind, sa.BigInteger):
        return MAX_INT
    return MAX_INT32 + 1


def checks_for(field, column=None, name: str | None = None) -> list:
    """The checks a field gets before its own validators, from its kind and column."""
    name = name or field.short_name
    if isinstance(field, StringField):
        length = getattr(getattr(column, "type", None), "length", None)
        return [no_control_characters, *([max_chars(length)] if length else [])]
    if isinstance(field, (IntegerField, DecimalField, FloatField)):
        return [finite_number(_number_limit(column))]
    if isinstance(field, (DateField, DateTimeField)):
        return [date_in_range(name)]
    return []


def harden_form(form, model=None):
    """Put ``checks_for`` in front of every field's validators; returns the form."""
    for field in form:
        checks = checks_for(field, _column(model, field.name) if model is not None else None)
        if checks:
            field.validators = [*checks, *field.validators]
    return form


class BoundedInt(IntegerConverter):
    """``<int:…>`` in a URL: at most what an id column holds, so a huge number is a 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT32)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Bound every ``<int:…>`` URL argument (call before any route is registered) and
    refuse NUL characters in any argument (PostgreSQL cannot even compare with them)."""
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_nul)


def refuse_nul():
    """400 with a Chinese message for a query or form argument holding a NUL character."""
    values = [*request.args.keys(), *request.args.values()]
    if request.method == "POST":
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in v for v in values):
        return Response("请求中含有无效字符（NUL），已拒绝", 400,
                        mimetype="text/plain; charset=utf-8")
    return None


def row_id(value: str | None) -> int | None:
    """A row id from a query or form argument, or None if it cannot be one."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= MAX_INT32 else None


class HardenedView:
    """Mixed into ScopedModelView before Flask-Admin's ModelView."""

    def _handle_view(self, name, **kwargs):
        # Ids reach get_one and actions raw: one too big for an id column is no row at all.
        ids = [request.args.get("id"), *request.form.getlist("rowid")]
        if any(i is not None and i.isdigit() and row_id(i) is None for i in ids):
            abort(404)
        return super()._handle_view(name, **kwargs)

    def __init__(self, *args, **kwargs):
        self.column_type_formatters = {dt.datetime: office_time,
                                       **(self.column_type_formatters or {})}
        self.column_type_formatters_export = {dt.datetime: office_time,
                                              **(self.column_type_formatters_export or {})}
        super().__init__(*args, **kwargs)

    def create_form(self, obj=None):
        return harden_form(super().create_form(obj), self.model)

    def edit_form(self, obj=None):
        return harden_form(super().edit_form(obj), self.model)

    def list_form(self, obj=None):
        return harden_form(super().list_form(obj), self.model)

    def _get_list_extra_args(self):
        args = super()._get_list_extra_args()
        if args.page is not None and not 0 <= args.page <= MAX_PAGE:
            flash("页码无效，已显示第一页", "error")
            args.page = 0
        if args.sort is not None and not 0 <= args.sort < MAX_PAGE:
            args.sort = None
        args.search = clean_text(args.search) or None
        return args

    def _get_list_filter_args(self):
        filters = super()._get_list_filter_args()
        if not filters:
            return filters
        kept = []
        for idx, name, value in filters:
            if _acceptable(self._filters[idx], str(value)):
                kept.append((idx, name, value))
            else:
                flash(f"筛选条件“{name}”的值无效，已忽略", "error")
        return kept
