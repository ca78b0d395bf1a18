"""Reading uploaded spreadsheets safely, checking every row against the database in sets,
and filing the good rows as one batch application."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import load_workbook

from models.base import db
from models.claims import business_of, pending_filings
from models.enrollment import Enrollment
from models.person import Person
from models.service import ImportBatch
from rules.codes import EnrollmentStatus, ImportStatus
from rules.eligibility import Refused, enrollment_kind, may_suspend
from rules.imports import (
    MAX_COMPRESSION_RATIO,
    MAX_FILE_BYTES,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    BatchSchema,
    RowResult,
    check_row,
    mark_duplicates,
    match_headers,
)

DATA_SHEET, HELP_SHEET, META_SHEET = "数据", "填写说明", "_meta"
CHUNK = 500


class BadFile(Exception):
    """The file cannot be imported at all; the message says why in Chinese."""


# --- reading ---------------------------------------------------------------------------------

def read_table(data: bytes, schema: BatchSchema) -> list[list]:
    """Rows (header first) of an xlsx, xls or csv upload; BadFile for anything else."""
    if not data:
        raise BadFile("文件为空")
    if len(data) > MAX_FILE_BYTES:
        raise BadFile("文件不能超过10MB")
    if data[:4] == b"PK\x03\x04":
        rows = _read_xlsx(data, schema)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        rows = _read_xls(data)
    else:
        rows = _read_csv(data)
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()  # blank trailing rows
    if len(rows) - 1 > MAX_ROWS:
        raise BadFile(f"每个文件最多{MAX_ROWS}行数据，请拆分后导入")
    if not rows:
        raise BadFile("文件中没有数据")
    return rows


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_xlsx(data: bytes, schema: BatchSchema) -> list[list]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except zipfile.BadZipFile:
        raise BadFile("不是有效的Excel文件") from None
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise BadFile("不是有效的Excel（xlsx）文件")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise BadFile("文件含有宏，已拒绝；请使用下载的模板")
    if any(n.startswith("xl/externalLinks/") for n in names):
        raise BadFile("文件含有外部链接，已拒绝；请使用下载的模板")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_COMPRESSION_RATIO:
        raise BadFile("文件解压后过大，已拒绝")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a broken file
        raise BadFile("Excel文件已损坏，无法读取") from None
    try:
        if META_SHEET in book.sheetnames:
            meta = dict(book[META_SHEET].iter_rows(min_row=1, max_col=2, values_only=True))
            if meta.get("item") != schema.code:
                raise BadFile("该模板不是本业务的模板，请下载本业务模板")
            if meta.get("version") != schema.version:
                raise BadFile("模板版本已更新，请重新下载模板")
        sheet = book[DATA_SHEET] if DATA_SHEET in book.sheetnames else book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _read_xls(data: bytes) -> list[list]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception:  # xlrd raises XLRDError and struct errors on broken files
        raise BadFile("Excel（xls）文件已损坏，无法读取") from None
    sheet = book.sheet_by_name(DATA_SHEET) if DATA_SHEET in book.sheet_names() \
        else book.sheet_by_index(0)
    rows = []
    for r in range(sheet.nrows):
        row = []
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
            elif cell.ctype == xlrd.XL_CELL_EMPTY:
                row.append(None)
            else:
                row.append(cell.value)
        rows.append(row)
    return rows


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadFile("无法识别文件编码，请另存为UTF-8或GBK编码的CSV")


def _read_csv(data: bytes) -> list[list]:
    if b"\x00" in data[:4096]:
        raise BadFile("不是表格文件：请上传xlsx、xls或csv")
    text = _decode(data)
    try:
        return [row for row in csv.reader(io.StringIO(text))]
    except csv.Error:
        raise BadFile("CSV格式错误") from None


# --- checking --------------------------------------------------------------------------------

def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _people(id_nos: list[str]) -> dict[str, tuple[int, str]]:
    """id_no → (person id, name) for the known ones, in chunked IN queries."""
    found = {}
    for chunk in _chunks(sorted(set(id_nos))):
        for pid, id_no, name in db.session.execute(sa.select(
                Person.id, Person.id_no, Person.name).where(Person.id_no.in_(chunk))):
            found[id_no] = (pid, name)
    return found


def _enrollments(person_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """person id → [(unit id, status)]."""
    found: dict[int, list] = {}
    for chunk in _chunks(sorted(set(person_ids))):
        for pid, unit_id, status in db.session.execute(sa.select(
                Enrollment.person_id, Enrollment.unit_id, Enrollment.status)
                .where(Enrollment.person_id.in_(chunk))):
            found.setdefault(pid, []).append((unit_id, status))
    return found


def check_against_records(schema: BatchSchema, unit_id: int, results: list[RowResult],
                          application_id: int | None = None) -> None:
    """Each good row's person against the records and the unit's unfinished filings of the
    same business (other than ``application_id``), looked up in sets (no per-row SELECT)."""
    good = [r for r in results if r.ok]
    id_header = schema.columns[0].header
    pending = pending_filings(unit_id, business_of(schema.handler),
                              [r.values["id_no"] for r in good], exclude=application_id)
    for result in good:
        if earlier := pending.get(result.values["id_no"]):
            result.errors.append((id_header, f"已在办件{earlier}中申报，该办件尚未办结，"
                                             "不能重复申报"))
    good = [r for r in good if r.ok]
    people = _people([r.values["id_no"] for r in good])
    enrollments = _enrollments([pid for pid, _ in people.values()])
    active = EnrollmentStatus.ACTIVE
    for result in good:
        known = people.get(result.values["id_no"])
        rows = enrollments.get(known[0], []) if known else []
        if known and known[1] != result.values.get("name"):
            result.errors.append(("姓名", f"与系统登记的姓名（{known[1]}）不一致"))
            continue
        try:
            if schema.handler == "enroll_batch":
                result.values["kind"] = enrollment_kind(
                    active_here=any(u == unit_id and s == active for u, s in rows),
                    active_elsewhere=any(u != unit_id and s == active for u, s in rows),
                    suspended_here=any(u == unit_id and s == EnrollmentStatus.SUSPENDED
                                       for u, s in rows)).value
            else:
                may_suspend(any(u == unit_id and s == active for u, s in rows))
        except Refused as refused:
            result.errors.append((id_header, str(refused)))


def check_rows(schema: BatchSchema, unit_id: int, rows: list[list]) -> tuple[
        list[RowResult], list[str]]:
    """(row results, file-level problems) for a table whose first row is the header."""
    positions, problems = match_headers(schema, rows[0])
    if problems:
        return [], problems
    results = []
    for offset, raw in enumerate(rows[1:], start=2):
        if all(_blank(v) for v in raw):
            continue
        cells = {key: raw[pos] if pos < len(raw) else None for key, pos in positions.items()}
        result = check_row(schema, offset, cells)
        result.raw = [raw[positions[c.key]] if c.key in positions and positions[c.key] < len(raw)
                      else None for c in schema.columns]
        results.append(result)
    if not results:
        return [], ["文件中没有数据行"]
    if schema.handler:  # a batch filing about people: checked against their records
        mark_duplicates(results, "id_no", schema.columns[0].header)
        check_against_records(schema, unit_id, results)
    return results, []


def _json(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_upload(schema: BatchSchema, unit_id: int, data: bytes) -> tuple[
        list[RowResult], list[str]]:
    """Read and check an upload: (row results, file-level problems)."""
    try:
        return check_rows(schema, unit_id, read_table(data, schema))
    except BadFile as bad:
        return [], [str(bad)]


def store_batch(schema: BatchSchema, results: list[RowResult], problems: list[str], *,
                unit_id: int, item_id: int, account_id: int, file_name: str,
                data: bytes) -> ImportBatch:
    """A checked (not yet filed) batch holding the good rows and the bad rows' reasons."""
    batch = ImportBatch(unit_id=unit_id, item_id=item_id, filed_by_id=account_id,
                        file_name=(file_name or "upload")[:200], status=ImportStatus.CHECKED,
                        problems=problems)
    batch.rows = [{k: _json(v) for k, v in r.values.items()} | {"row_no": r.row_no}
                  for r in results if r.ok]
    batch.errors = [{"row_no": r.row_no, "cells": [_json(v) for v in r.raw],
                     "reasons": [f"{h}：{m}" if h else m for h, m in r.errors]}
                    for r in results if not r.ok]
    # Fingerprint the content, not the bytes: the same rows saved again by Excel (new
    # timestamps inside the xlsx) are still the same filing.
    content = [{k: v for k, v in row.items() if k != "row_no"} for row in batch.rows]
    batch.sha256 = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False)
                                  .encode()).hexdigest() if content else \
        hashlib.sha256(data).hexdigest()
    batch.rows_total = len(results)
    batch.rows_good, batch.rows_bad = len(batch.rows), len(batch.errors)
    db.session.add(batch)
    return batch


def new_batch(schema: BatchSchema, *, unit_id: int, item_id: int, account_id: int,
              file_name: str, data: bytes) -> ImportBatch:
    """Read, check and store an upload as a batch (not yet filed)."""
    results, problems = check_upload(schema, unit_id, data)
    return store_batch(schema, results, problems, unit_id=unit_id, item_id=item_id,
                       account_id=account_id, file_name=file_name, data=data)


def already_filed(batch: ImportBatch) -> ImportBatch | None:
    """An earlier batch of the same file, unit and item that was filed."""
    return db.session.scalar(sa.select(ImportBatch).where(
        ImportBatch.unit_id == batch.unit_id, ImportBatch.item_id == batch.item_id,
        ImportBatch.sha256 == batch.sha256, ImportBatch.status == ImportStatus.FILED,
        ImportBatch.id != batch.id))
