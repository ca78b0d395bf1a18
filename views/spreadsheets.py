"""Writing spreadsheets: import templates, error workbooks, and streamed exports.

Exports never hold the table: csv is written a chunk of rows at a time, xlsx through
rustpy-xlsxwriter's constant-memory mode into a temporary file that is then streamed.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import chain, repeat

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from rustpy_xlsxwriter import FastExcel

from rules.imports import MAX_ROWS, REASON_HEADER, BatchSchema

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FILE_CHUNK = 64 * 1024


def neutralise(value):
    """Spreadsheet formula injection: a text cell starting with = + - @ TAB CR gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


_PLAIN = (str, int, float, Decimal, dt.date, dt.datetime, bool, type(None))


def cell(value):
    """A value a spreadsheet cell can hold: plain types stay, the rest become text."""
    if isinstance(value, _PLAIN):
        return neutralise(value)
    if isinstance(value, (list, dict)):
        return neutralise(json.dumps(value, ensure_ascii=False))
    return neutralise(str(value))


def stream_csv(header: list[str], chunks: Iterable[list]) -> Iterator[bytes]:
    """UTF-8 csv with a BOM (so Excel reads Chinese), one yield per chunk of rows (lists of
    cells, ``cell`` applied)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for chunk in chunks:
        writer.writerows(chunk)
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode("utf-8")


def _unique(header: list[str]) -> list[str]:
    """Header texts made distinct (the xlsx writer keys a row's cells by header)."""
    seen: set[str] = set()
    out = []
    for text in header:
        while text in seen:
            text += " "
        seen.add(text)
        out.append(text)
    return out


def stream_xlsx(header: list[str], chunks: Iterable[list], title: str = "导出"
                ) -> Iterator[bytes]:
    """An xlsx written by rustpy-xlsxwriter in constant-memory mode (rows go to disk as they
    come), then streamed from a temporary file. ``chunks`` as in ``stream_csv``."""
    keys = _unique([str(h) for h in header])
    records = map(dict, map(zip, repeat(keys), chain.from_iterable(chunks)))
    with tempfile.TemporaryFile() as handle:
        if keys:
            FastExcel(handle, output_format="xlsx").sheet(title[:31], records).save()
        else:  # no columns: an empty sheet
            book = Workbook(write_only=True)
            book.create_sheet(title[:31])
            book.save(handle)
        handle.seek(0)
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


def _meta_sheet(book: Workbook, schema: BatchSchema) -> None:
    meta = book.create_sheet("_meta")
    meta.append(["item", schema.code])
    meta.append(["version", schema.version])
    meta.sheet_state = "hidden"


def _data_sheet(book: Workbook, schema: BatchSchema):
    sheet = book.active
    sheet.title = "数据"
    sheet.append([c.header for c in schema.columns])
    for n, column in enumerate(schema.columns, 1):
        letter = get_column_letter(n)
        sheet.cell(row=1, column=n).font = Font(bold=True, color="C00000" if column.required
                                                else "000000")
        sheet.column_dimensions[letter].width = max(14, len(column.header) * 3)
        if column.kind in ("id_no", "phone", "text"):
            sheet.column_dimensions[letter].number_format = "@"  # keep ID digits as text
        if column.kind == "date":
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
        if column.choices:
            labels = ",".join(label for _, label in column.choices)
            check = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True,
                                   error="请从下拉列表中选择", showErrorMessage=True)
            check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(check)
    return sheet


def template_workbook(schema: BatchSchema) -> bytes:
    """The import template: headers, one example row, dropdowns, instructions, its version."""
    book = Workbook()
    sheet = _data_sheet(book, schema)
    sheet.append([c.example for c in schema.columns])
    for cell in sheet[2]:
        cell.number_format = "@"
    help_sheet = book.create_sheet("填写说明")
    help_sheet.append([f"{schema.title}导入模板（版本 {schema.version}）"])
    help_sheet.append(["1. 请勿修改表头和工作表名称；红色列为必填。"])
    help_sheet.append(["2. 第2行为示例，填写前请删除。"])
    help_sheet.append([f"3. 每个文件最多{MAX_ROWS}行，文件不超过10MB；"
                       "支持xlsx、xls、csv（UTF-8或GBK）。"])
    help_sheet.append([])
    help_sheet.append(["列名", "是否必填", "说明"])
    for column in schema.columns:
        options = "可选：" + "、".join(label for _, label in column.choices) \
            if column.choices else ""
        help_sheet.append([column.header, "必填" if column.required else "选填",
                           column.note or options])
    help_sheet.column_dimensions["A"].width = 20
    help_sheet.column_dimensions["C"].width = 60
    _meta_sheet(book, schema)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def errors_workbook(schema: BatchSchema, errors: list[dict]) -> bytes:
    """导出错误数据: the user's own bad rows and why, ready to fix and upload again."""
    book = Workbook()
    sheet = _data_sheet(book, schema)
    reason_col = len(schema.columns) + 1
    sheet.cell(row=1, column=reason_col, value=REASON_HEADER).font = Font(bold=True)
    sheet.column_dimensions[get_column_letter(reason_col)].width = 60
    for error in errors:
        cells = [neutralise(v) for v in error["cells"]]
        sheet.append([*cells, f"第{error['row_no']}行：" + "；".join(error["reasons"])])
    _meta_sheet(book, schema)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
