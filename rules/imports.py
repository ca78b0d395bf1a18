"""Bulk import (批量导入): column schemas and the check of one spreadsheet row.

The checks reuse the validators of single filings (rules.identity, rules.fields); what is
special here is the spreadsheet's reality: ID numbers Excel turned into numbers, date
serials, full-width digits, the template's example row left in.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property, lru_cache

from rules import clock
from rules.fields import validate_date_in_range, validate_wage
from rules.identity import (
    InvalidValue,
    conversion_notice,
    normalise,
    validate_mobile,
    validate_resident_id,
    validate_uscc,
)

MAX_FILE_BYTES = 10 * 1024 * 1024
#: The column the error workbook adds; ignored when that workbook is uploaded again.
REASON_HEADER = "错误原因"
MAX_ROWS = 50_000
MAX_CELL_CHARS = 200
#: Limits of the file itself, checked while streaming and before anything is allocated:
#: a cell longer than this, more sheets, or columns beyond the template's width plus a
#: margin refuse the whole file.
MAX_FILE_CELL_CHARS = 1000
MAX_SHEETS = 10
COLUMN_MARGIN = 5
#: A CSV line (a record's text) longer than this refuses the file.
MAX_LINE_CHARS = 16 * 1024
#: An xlsx is a zip: refuse archives that inflate beyond this (zip bombs).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_ENTRIES = 200
MAX_SHARED_STRINGS = 1_000_000
TEXT_FORMAT_HINT = "把该列设置为文本格式后重新录入"


class NumericCell(str):
    """A cell the spreadsheet stored as a number; its text is exactly what the file holds
    (so the error table and workbook show the user's own cell, never a re-rendered float)."""

    __slots__ = ()

KIND_SETS = (("110,210,310,410,510", "五险"), ("110,310,410", "养老医疗工伤"))
SUSPEND_REASONS = (("leave", "解除或终止劳动关系"), ("retire", "退休"), ("death", "死亡"),
                   ("other", "其他"))


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # id_no, text, date, number, phone, choice
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()
    example: str = ""
    note: str = ""


@dataclass(frozen=True)
class BatchSchema:
    code: str  # the service item filed
    title: str
    version: str
    columns: tuple[Column, ...]
    handler: str

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @cached_property
    def plan(self) -> tuple:
        """Per column, built once: (column, parser, is a date, is an ID number)."""
        return tuple((c, _choice(c) if c.kind == "choice" else PARSERS[c.kind],
                      c.kind == "date", c.kind == "id_no") for c in self.columns)


SCHEMAS = {
    "SB_ENROLL_BATCH": BatchSchema("SB_ENROLL_BATCH", "人员批量新参保", "2026.1", (
        Column("id_no", "身份证号码", "id_no", example="110101199003070011",
               note="18位居民身份证号码；请保持本列为文本格式"),
        Column("name", "姓名", "text", example="示例人"),
        Column("phone", "手机号码", "phone", required=False, example="13900001111"),
        Column("start_date", "参保日期", "date", example="2026-11-01", note="如 2026-11-01"),
        Column("wage", "月缴费工资", "number", example="8000", note="单位：元"),
        Column("insurance_kinds", "参保险种", "choice", choices=KIND_SETS, example="五险"),
    ), "enroll_batch"),
    "SB_SUSPEND_BATCH": BatchSchema("SB_SUSPEND_BATCH", "人员批量暂停参保", "2026.1", (
        Column("id_no", "社会保障号码", "id_no", example="110101199003070011",
               note="即身份证号码；请保持本列为文本格式"),
        Column("name", "姓名", "text", example="示例人"),
        Column("suspend_date", "暂停日期", "date", example="2026-11-30"),
        Column("reason", "暂停原因", "choice", choices=SUSPEND_REASONS,
               example="解除或终止劳动关系"),
    ), "suspend_batch"),
}

#: Staff import of the cities' old accounts (地市历史用户), not a filing.
LEGACY_SCHEMA = BatchSchema("LEGACY_ACCOUNTS", "地市历史用户导入", "2026.1", (
    Column("old_system", "原系统名称", "text", example="杭州社保旧网办",
           note="历史系统列表中的名称（字典管理 → 历史系统）"),
    Column("old_login", "原登录名", "text", example="hz000001"),
    Column("secret", "原密码摘要或一次性验证码", "secret", example="Abc#12345"),
    Column("uscc", "统一社会信用代码", "uscc", example="91330106MA2ABCDE1G"),
), "")


@dataclass
class RowResult:
    row_no: int  # as the spreadsheet numbers it (header is row 1)
    values: dict = field(default_factory=dict)
    raw: list = field(default_factory=list)  # the cells as uploaded, in schema order
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column header, reason)
    #: Suspect values (a spreadsheet's rounding): not 合格 until the user confirms or fixes.
    held: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.held


def match_headers(schema: BatchSchema, headers: list) -> tuple[dict[str, int], list[str]]:
    """Column key → position by header name (any order), and the problems found."""
    names = [normalise_header(h) for h in headers]
    positions, problems = {}, []
    for column in schema.columns:
        if column.header in names:
            positions[column.key] = names.index(column.header)
        elif column.required:
            problems.append(f"缺少列：{column.header}")
    unknown = [h for h in names if h and h not in schema.headers and h != REASON_HEADER]
    if unknown:
        problems.append(f"无法识别的列：{'、'.join(unknown)}（请使用下载的模板，不要修改表头）")
    duplicated = {h for h in names if h and names.count(h) > 1}
    if duplicated:
        problems.append(f"重复的列：{'、'.join(sorted(duplicated))}")
    return positions, problems


def normalise_header(value) -> str:
    return "".join(str(value or "").split()).replace("*", "")


_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E\+?\d+$", re.IGNORECASE)
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _as_number(value, what: str) -> None:
    """Refuse a value a spreadsheet stored as a number or in scientific notation."""
    if type(value) is str and value.isascii() and "e" not in value and "E" not in value:
        return  # plain text without an exponent (the common cell): nothing to normalise
    if isinstance(value, (NumericCell, int, float, Decimal)) or \
            _SCIENTIFIC.match(normalise(value)):
        raise InvalidValue(f"{what}被Excel转成了数字（文件中为{value}），数字可能已丢失或改变，"
                           f"请{TEXT_FORMAT_HINT}")


def _id_no(value, today: dt.date | None = None) -> str:
    _as_number(value, "身份证号码")
    return validate_resident_id(value, today)


#: A number kept as a spreadsheet number holds 15 significant digits: an 18-digit ID number
#: then ends in 000 (a genuine one does so about once in 1,100).
ROUNDING_TAIL = "000"
SUSPECT_ID = ("身份证号码末三位为000，疑似表格软件按数字保存后只保留了15位有效数字；"
              f"请核对原件后改正（{TEXT_FORMAT_HINT}），或确认无误")


def suspect_rounding(id_no: str) -> bool:
    """True if an 18-digit number shows the 15-significant-digit rounding tail."""
    return len(id_no) == 18 and id_no.endswith(ROUNDING_TAIL)


def _date(value) -> dt.date:
    if isinstance(value, NumericCell):  # an Excel date serial, as the file stores it
        try:
            value = float(value)
        except ValueError:
            raise InvalidValue("日期无效") from None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value <= 2958465 and float(value).is_integer():  # an Excel date serial
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise InvalidValue("日期无效")
    found = _date_text(normalise(value))
    if isinstance(found, str):
        raise InvalidValue(found)
    return found


_SERIAL = re.compile(r"\d{5}")
_DAY = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_COMPACT_DAY = re.compile(r"(\d{4})(\d{2})(\d{2})")


@lru_cache(maxsize=4096)
def _date_text(text: str) -> dt.date | str:
    """A date typed as text, or the reason it is not one (a file repeats few dates)."""
    if _SERIAL.fullmatch(text):
        return EXCEL_EPOCH + dt.timedelta(days=int(text))
    match = _DAY.fullmatch(text) or _COMPACT_DAY.fullmatch(text)
    if not match:
        return "日期格式应为 2026-11-01"
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return "日期无效"


def _text(value) -> str:
    text = " ".join(str(value).split())
    if len(text) > 50:
        raise InvalidValue("不能超过50个字符")
    return text


def _phone(value) -> str:
    _as_number(value, "手机号码")
    return validate_mobile(str(value))


@cache
def _choice(column: Column):
    """The parser of a choice column (built once per column)."""
    by_label = {label: value for value, label in column.choices}
    by_value = {value: value for value, _ in column.choices}

    def parse(value) -> str:
        text = normalise(value) if not isinstance(value, str) else value.strip()
        found = by_label.get(text) or by_value.get(text)
        if found is None:
            raise InvalidValue(f"应为：{'、'.join(label for _, label in column.choices)}")
        return found
    return parse


def _secret(value) -> str:
    text = str(value).strip()
    if len(text) < 6:
        raise InvalidValue("至少6个字符")
    return text


PARSERS = {"id_no": _id_no, "date": _date, "text": _text, "number": validate_wage,
           "phone": _phone, "secret": _secret, "uscc": validate_uscc}


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_row(schema: BatchSchema, row_no: int, cells: dict,
              today: dt.date | None = None) -> RowResult:
    """Parse and check one row's cells (column key → raw value) by the shared rules;
    ``today`` (the office's date) is read from the clock when not given."""
    today = today or clock.today_in(None)
    result = RowResult(row_no)
    for column, parse, is_date, is_id in schema.plan:
        raw = cells.get(column.key)
        if _blank(raw):
            if column.required:
                result.errors.append((column.header, "必填"))
            continue
        if isinstance(raw, str) and len(raw) > MAX_CELL_CHARS:
            result.errors.append((column.header, f"内容超过{MAX_CELL_CHARS}个字符"))
            continue
        if isinstance(raw, str) and raw.startswith("="):
            result.errors.append((column.header, "不接受公式，请填写值"))
            continue
        try:
            value = _id_no(raw, today) if is_id else parse(raw)
            if is_date:
                value = validate_date_in_range(column.key, value, today)
        except InvalidValue as error:
            result.errors.append((column.header, str(error)))
            continue
        result.values[column.key] = value
        if is_id:
            if suspect_rounding(value):
                result.held.append((column.header, SUSPECT_ID))
            if raw != value and (notice := conversion_notice(raw, value)):
                result.held.append((column.header, notice + "，请核对后确认"))
    if _is_example(schema, cells):
        result.errors, result.held = [("", "模板中的示例行未删除")], []
    return result


def _is_example(schema: BatchSchema, cells: dict) -> bool:
    return all(str(cells.get(c.key) or "").strip() == c.example for c in schema.columns
               if c.example)


def mark_duplicates(results: list[RowResult], key: str, header: str) -> None:
    """Rows repeating an earlier row's value of ``key`` get an error naming that row."""
    first: dict[str, int] = {}
    for result in results:
        value = result.values.get(key)
        if value is None:
            continue
        if value in first:
            result.errors.append((header, f"与第{first[value]}行重复"))
        else:
            first[value] = result.row_no
