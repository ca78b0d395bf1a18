"""Reading uploaded spreadsheets safely, checking every row against the database in sets,
and filing the good rows as one batch application."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

import sqlalchemy as sa

from models import clock
from models.base import db
from models.bulk import one_of
from models.claims import business_of, claimed_by, pending_filings
from models.collector import paused
from models.enrollment import Enrollment
from models.person import Person
from models.reading import OLE_MAGIC, ZIP_MAGIC, BadFile, open_table, row_elements
from models.service import ImportBatch
from rules.codes import EnrollmentStatus, ImportStatus
from rules.eligibility import Refused, enrollment_kind, may_suspend
from rules.imports import (
    COLUMN_MARGIN,
    MAX_ROWS,
    BatchSchema,
    RowResult,
    check_row,
    mark_duplicates,
    match_headers,
)


# --- reading ---------------------------------------------------------------------------------

def max_columns(schema: BatchSchema) -> int:
    """The widest row a file may have: the template, its reason column and a margin."""
    return len(schema.columns) + 1 + COLUMN_MARGIN


def read_table(data: bytes, schema: BatchSchema) -> Iterator[list]:
    """Rows (header first) of an xlsx, xls or csv upload, streamed; BadFile (now or while
    iterating) for a file that cannot be imported."""
    table = open_table(data, max_columns(schema))
    if table.meta:
        if table.meta.get("item") != schema.code:
            raise BadFile("该模板不是本业务的模板，请下载本业务模板")
        if table.meta.get("version") != schema.version:
            raise BadFile("模板版本已更新，请重新下载模板")
    return table.rows()


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- checking --------------------------------------------------------------------------------

def _records(id_nos: list[str]) -> dict[str, tuple[int, str, list[tuple[int, str]]]]:
    """id_no → (person id, name, [(unit id, enrollment status)]) of the known people, in one
    statement (person left join enrollment; no per-row or per-chunk SELECT)."""
    found: dict[str, tuple[int, str, list]] = {}
    if not id_nos:
        return found
    for pid, id_no, name, unit_id, status in db.session.execute(
            sa.select(Person.id, Person.id_no, Person.name, Enrollment.unit_id, Enrollment.status)
            .outerjoin(Enrollment, Enrollment.person_id == Person.id)
            .where(one_of(Person.id_no, id_nos))):
        known = found.setdefault(id_no, (pid, name, []))
        if unit_id is not None:
            known[2].append((unit_id, status))
    return found


def check_against_records(schema: BatchSchema, unit_id: int, results: list[RowResult],
                          application_id: int | None = None) -> dict[str, int]:
    """Each good row's person against the records and the unit's unfinished filings of the
    same business (other than ``application_id``), looked up in sets (no per-row SELECT).
    Held rows are checked too, so that confirming one leaves nothing unchecked. Returns the
    person ids of the known people among the rows checked, by ID number."""
    good = [r for r in results if not r.errors]
    id_header = schema.columns[0].header
    business = business_of(schema.handler)
    # A person this filing holds the claim of is in no other unfinished filing (the claim's
    # unique key): only the others are looked for in the unit's unfinished filings.
    held = claimed_by(application_id, unit_id, business) if application_id else set()
    pending = pending_filings(unit_id, business, [r.values["id_no"] for r in good
                                                  if r.values["id_no"] not in held],
                              exclude=application_id)
    for result in good:
        if earlier := pending.get(result.values["id_no"]):
            result.errors.append((id_header, f"已在办件{earlier}中申报，该办件尚未办结，"
                                             "不能重复申报"))
    good = [r for r in good if not r.errors]
    records = _records([r.values["id_no"] for r in good])
    nobody = (False, False, False)  # most rows of a new-enrolment batch: nobody known yet
    for result in good:
        known = records.get(result.values["id_no"])
        if known and known[1] != result.values.get("name"):
            result.errors.append(("姓名", f"与系统登记的姓名（{known[1]}）不一致"))
            continue
        here, elsewhere, suspended = _standing(known[2], unit_id) if known else nobody
        try:
            if schema.handler == "enroll_batch":
                result.values["kind"] = enrollment_kind(
                    active_here=here, active_elsewhere=elsewhere, suspended_here=suspended).value
            else:
                may_suspend(here)
        except Refused as refused:
            result.errors.append((id_header, str(refused)))
    return {id_no: known[0] for id_no, known in records.items()}


def _standing(enrollments: list[tuple[int, str]], unit_id: int) -> tuple[bool, bool, bool]:
    """(active here, active elsewhere, suspended here) of a person's enrolments."""
    active, suspended = EnrollmentStatus.ACTIVE, EnrollmentStatus.SUSPENDED
    return (any(u == unit_id and s == active for u, s in enrollments),
            any(u != unit_id and s == active for u, s in enrollments),
            any(u == unit_id and s == suspended for u, s in enrollments))


def check_rows(schema: BatchSchema, unit_id: int, rows: Iterable[list]) -> tuple[
        list[RowResult], list[str]]:
    """(row results, file-level problems) for a table whose first row is the header; the
    rows are consumed as a stream (BadFile when there are too many)."""
    rows = iter(rows)
    header = next(rows, None)
    if header is None:
        raise BadFile("文件中没有数据")
    positions, problems = match_headers(schema, header)
    if problems:
        return [], problems
    results, read, today = [], [], clock.today()
    for offset, raw in enumerate(rows, start=2):
        if all(_blank(v) for v in raw):
            continue
        if len(results) >= MAX_ROWS:
            raise BadFile(f"每个文件最多{MAX_ROWS}行数据，请拆分后导入")
        cells = {key: raw[pos] if pos < len(raw) else None for key, pos in positions.items()}
        results.append(check_row(schema, offset, cells, today))
        read.append(raw)
    if not results:
        return [], ["文件中没有数据行"]
    if schema.handler:  # a batch filing about people: checked against their records
        mark_duplicates(results, "id_no", schema.columns[0].header)
        check_against_records(schema, unit_id, results)
    # The cells as uploaded, in the template's order, are shown for the rows not taken.
    order = [positions.get(c.key) for c in schema.columns]
    for result, raw in zip(results, read):
        if not result.ok:
            result.raw = [raw[p] if p is not None and p < len(raw) else None for p in order]
    return results, []


def _json(value):
    if type(value) is str or value is None:  # most cells: nothing to convert
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _counted(rows: Iterable[list], progress: Callable[[], None]) -> Iterator[list]:
    for row in rows:
        progress()
        yield row


def check_upload(schema: BatchSchema, unit_id: int, data: bytes,
                 progress: Callable[[], None] | None = None) -> tuple[
        list[RowResult], list[str]]:
    """Read and check an upload: (row results, file-level problems). ``progress()`` is
    called as each row is read (a background job's progress bar)."""
    try:
        rows = read_table(data, schema)
        return check_rows(schema, unit_id, _counted(rows, progress) if progress else rows)
    except BadFile as bad:
        return [], [str(bad)]


def store_batch(schema: BatchSchema, results: list[RowResult], problems: list[str], *,
                unit_id: int, item_id: int, account_id: int, file_name: str,
                data: bytes) -> ImportBatch:
    """A checked (not yet filed) batch holding the good rows and the bad rows' reasons."""
    batch = ImportBatch(unit_id=unit_id, item_id=item_id, filed_by_id=account_id,
                        file_name=(file_name or "upload")[:200], status=ImportStatus.CHECKED,
                        problems=problems)
    good = [r for r in results if r.ok]
    content = [{k: _json(v) for k, v in r.values.items()} for r in good]
    batch.rows = [values | {"row_no": r.row_no} for values, r in zip(content, good)]
    batch.errors = [{"row_no": r.row_no, "cells": [_json(v) for v in r.raw],
                     "reasons": [f"{h}：{m}" if h else m for h, m in r.errors + r.held]}
                    | ({"held": True, "values": {k: _json(v) for k, v in r.values.items()}}
                       if r.held and not r.errors else {})
                    for r in results if not r.ok]
    batch.rows_total = len(results)
    _recount(batch, data, content)
    db.session.add(batch)
    return batch


def _recount(batch: ImportBatch, data: bytes = b"", content: list[dict] | None = None) -> None:
    # Fingerprint the content, not the bytes: the same rows saved again by Excel (new
    # timestamps inside the xlsx) are still the same filing. ``content``: the rows without
    # their numbers, when the caller has them.
    if content is None:
        content = [{k: v for k, v in row.items() if k != "row_no"} for row in batch.rows]
    batch.sha256 = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False)
                                  .encode()).hexdigest() if content else \
        hashlib.sha256(data or str(batch.id).encode()).hexdigest()
    batch.rows_good, batch.rows_bad = len(batch.rows), len(batch.errors)


def held_rows(batch: ImportBatch) -> list[dict]:
    """The rows held for confirmation (a suspect ID number and nothing else wrong)."""
    return [e for e in batch.errors if e.get("held")]


def confirm_held(batch: ImportBatch, row_nos: set[int]) -> int:
    """The user confirms held rows as they are: they become good rows. Returns how many."""
    if batch.status != ImportStatus.CHECKED:
        raise Refused("该批次已保存，不能再确认")
    confirmed = [e for e in held_rows(batch) if e["row_no"] in row_nos]
    if not confirmed:
        raise Refused("请勾选要确认的行")
    batch.rows = sorted([*batch.rows, *({**e["values"], "row_no": e["row_no"]}
                                        for e in confirmed)], key=lambda r: r["row_no"])
    batch.errors = [e for e in batch.errors if e not in confirmed]
    _recount(batch)
    return len(confirmed)


@paused()
def new_batch(schema: BatchSchema, *, unit_id: int, item_id: int, account_id: int,
              file_name: str, data: bytes,
              progress: Callable[[], None] | None = None) -> ImportBatch:
    """Read, check and store an upload as a batch (not yet filed)."""
    results, problems = check_upload(schema, unit_id, data, progress)
    return store_batch(schema, results, problems, unit_id=unit_id, item_id=item_id,
                       account_id=account_id, file_name=file_name, data=data)


def estimated_rows(data: bytes) -> int:
    """About how many rows an upload has, without reading it: an xlsx sheet's <row>
    elements, a csv's lines, an xls's size. Decides whether a background job checks it and
    scales its progress bar."""
    if data[:4] == ZIP_MAGIC:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                sheets = [i for i in archive.infolist()
                          if i.filename.startswith("xl/worksheets/sheet")]
                largest = max(sheets, key=lambda i: i.file_size, default=None)
                return max(row_elements(archive, largest.filename) - 1, 0) if largest else 0
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError):
            return 0
    if data[:8] == OLE_MAGIC:
        return len(data) // 60
    return max(data.count(b"\n") - 1, 0)


def already_filed(batch: ImportBatch) -> ImportBatch | None:
    """An earlier batch of the same file, unit and item that was filed."""
    return db.session.scalar(sa.select(ImportBatch).where(
        ImportBatch.unit_id == batch.unit_id, ImportBatch.item_id == batch.item_id,
        ImportBatch.sha256 == batch.sha256, ImportBatch.status == ImportStatus.FILED,
        ImportBatch.id != batch.id))
