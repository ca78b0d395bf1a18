"""xlsx uploads are read by python-calamine unless the file holds what only the XML reader
reports as the file has it (formulas, numbers in other words than their shortest form);
both readers give the same rows."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook

from models import reading
from models.reading import open_table


def _workbook(extra=None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(["身份证号码", "姓名", "手机号码", "参保日期", "缴费工资", "险种"])
    sheet.append(["330106198507210020", "张三", "13800000001", "2026-11-01", 8000, "五险"])
    sheet.append([330106198507210020, "李四", 13800000002, dt.date(2026, 11, 1), 8000.5, True])
    sheet.append([])
    sheet.append([None, "  ", None, dt.datetime(2026, 11, 1, 12, 30), -0.25, "N/A"])
    sheet["H9"] = "far"
    if extra:
        extra(sheet)
    meta = book.create_sheet("_meta")
    meta.append(["item", "SB_ENROLL_BATCH"])
    meta.append(["version", 3])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _whole_numbers() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(["身份证号码", "姓名", "手机号码", "参保日期", "缴费工资", "险种"])
    for n in range(3):
        sheet.append(["330106198507210020", "张三", 13800000001, 46327, 8000 - n, "五险"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_sheet_of_whole_numbers_is_read_by_calamine(monkeypatch):
    calls = []
    original = reading._calamine_rows
    monkeypatch.setattr(reading, "_calamine_rows",
                        lambda *a: calls.append(a[1]) or original(*a))
    rows = list(open_table(_whole_numbers(), 20).rows())
    assert calls == ["数据"] and rows[1][2] == "13800000001" and rows[1][4] == "8000"


def _rows_both_ways(data: bytes, monkeypatch):
    fast = open_table(data, 20)
    fast_rows = list(fast.rows())
    with monkeypatch.context() as patched:
        patched.setattr(reading, "_calamine_book", lambda data: None)
        slow = open_table(data, 20)
        slow_rows = list(slow.rows())
    return (fast.meta, fast_rows), (slow.meta, slow_rows)


def test_calamine_and_the_xml_reader_give_the_same_rows(monkeypatch):
    calls = []
    original = reading._calamine_rows
    monkeypatch.setattr(reading, "_calamine_rows",
                        lambda *a: calls.append(a[1]) or original(*a))
    fast, slow = _rows_both_ways(_workbook(), monkeypatch)
    assert calls == ["_meta", "数据"]  # the fast reader ran
    # two documented differences, same verdicts: a cell of spaces only comes back empty,
    # and a date with a time of day as its serial to 17 digits
    assert slow[1][4][1] == "  " and fast[1][4][1] is None
    assert abs(float(slow[1][4][3]) - float(fast[1][4][3])) < 1e-9
    for rows in (fast[1], slow[1]):
        rows[4][1] = rows[4][3] = None
    assert fast == slow
    assert [type(v).__name__ for v in fast[1][2][:2]] == ["NumericCell", "str"]


def test_formulas_and_error_cells_send_the_file_to_the_xml_reader(monkeypatch):
    monkeypatch.setattr(reading, "_calamine_book", lambda data: 1 / 0)
    rows = list(open_table(_workbook(lambda sheet: sheet.__setitem__("B3", "=A2")), 20).rows())
    assert rows[2][1] == "=A2"
    rows = list(open_table(_workbook(lambda sheet: sheet.__setitem__("B3", "#N/A")), 20).rows())
    assert rows[2][1] == "#N/A"


@pytest.mark.parametrize("text", ["8.0E3", "08000", "8000.0", "-0", "1234567890123456"])
@pytest.mark.parametrize("whole", [False, True])
def test_a_number_in_other_words_sends_the_file_to_the_xml_reader(monkeypatch, text, whole):
    """Whole numbers of up to 15 digits pass the scan at once (``whole``: a sheet of only
    such numbers); anything else is compared with its shortest form."""
    data = _whole_numbers() if whole else _workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {n: source.read(n) for n in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"<v>8000</v>", f"<v>{text}</v>".encode(), 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, body in parts.items():
            target.writestr(name, body)
    monkeypatch.setattr(reading, "_calamine_book", lambda data: 1 / 0)
    rows = list(open_table(out.getvalue(), 20).rows())
    assert rows[1][4] == text
