"""Spreadsheet damage is caught, never guessed: ID numbers and phones stored as numbers or in
scientific notation are refused; an 18-digit number with the 15-significant-digit rounding
tail is held until confirmed or corrected; every cell is shown exactly as the file has it."""
from __future__ import annotations

import io
import re
import zipfile

import sqlalchemy as sa
from openpyxl import load_workbook
from stdnum.cn import ric

from models import ImportBatch, Person, db
from models.reading import _xls_number
from tests.conftest import csrf_token
from tests.test_imports import HEADERS, filled, fresh_ids, post_file, reasons, upload

HINT = "把该列设置为文本格式后重新录入"


def rounded_tail_id() -> str:
    """A valid ID number ending in 000, as a spreadsheet number would leave it."""
    used = set(db.session.scalars(sa.select(Person.id_no)))
    for day in range(1, 29):
        for d in range(10):
            body = f"330106198001{day:02d}{d}00"
            if ric.calc_check_digit(body + "0") == "0" and body + "0" not in used:
                return body + "0"
    raise AssertionError("no such number")


def sheet_xml(data: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()


def with_sheet_xml(data: bytes, change) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content.decode()).encode()
            target.writestr(info, content)
    return out.getvalue()


def test_an_id_number_stored_as_a_number_is_refused_whatever_its_digits(unit_a):
    good = fresh_ids(2, 71)
    data = filled(unit_a, [[float(good[0]), "数一", None, "2026-11-01", 8000, "五险"],
                           [float(good[1]), "数二", None, "2026-11-01", 8000, "五险"]])
    # A number cell holding all 18 digits right: refused all the same.
    data = with_sheet_xml(data, lambda xml: re.sub(
        r'(<c r="A3"[^>]*><v>)[^<]+', lambda m: m.group(1) + good[1], xml))
    stored = re.findall(r'<c r="A[23]"[^>]*><v>([^<]+)</v>', sheet_xml(data))
    assert stored[1] == good[1] and "e+17" in stored[0]
    batch, page = upload(unit_a, data)
    assert batch.rows_good == 0
    for row_no in (2, 3):
        assert "Excel转成了数字" in reasons(batch)[row_no] and HINT in reasons(batch)[row_no]
    # The table and the workbook show the cell as the file holds it, not a re-rendered float.
    assert [e["cells"][0] for e in batch.errors] == stored
    assert stored[0] in page and str(int(float(good[0]))) not in page
    book = load_workbook(io.BytesIO(unit_a.get(f"/unit/import/batch/{batch.id}/errors/").data))
    assert [book["数据"]["A2"].value, book["数据"]["A3"].value] == stored


def test_scientific_notation_and_numeric_phones_are_refused(unit_a):
    good = fresh_ids(2, 72)
    data = filled(unit_a, [["3.30106E+17", "科一", None, "2026-11-01", 8000, "五险"],
                           [good[0], "电一", 13912345678, "2026-11-01", 8000, "五险"],
                           [good[1], "电二", "1.39123E+10", "2026-11-01", 8000, "五险"]])
    batch, _ = upload(unit_a, data)
    found = reasons(batch)
    assert batch.rows_good == 0
    assert "身份证号码被Excel转成了数字（文件中为3.30106E+17）" in found[2]
    assert "手机号码被Excel转成了数字" in found[3] and HINT in found[3]
    assert "手机号码被Excel转成了数字" in found[4]


def test_lowercase_exponents_and_blank_required_cells_are_refused(unit_a):
    """Scientific notation typed in lower case (as LibreOffice and csv files write it) is
    refused like Excel's; a required cell left blank says 必填 and the row is not kept; a
    date serial that is not a whole day is no date."""
    good = fresh_ids(4, 74)
    data = filled(unit_a, [["3.30106e+17", "小写", None, "2026-11-01", 8000, "五险"],
                           [good[0], "电三", "1.39123e+10", "2026-11-01", 8000, "五险"],
                           [good[1], None, None, "2026-11-01", 8000, "五险"],
                           [good[2], "缺日期", None, None, 8000, "五险"],
                           [good[3], "半天", None, 46000.5, 8000, "五险"]])
    batch, _ = upload(unit_a, data)
    found = reasons(batch)
    assert batch.rows_good == 0 and batch.rows_bad == 5
    assert found[6] == "参保日期：日期无效"  # a date serial with a fraction of a day
    assert "身份证号码被Excel转成了数字（文件中为3.30106e+17）" in found[2]
    assert "手机号码被Excel转成了数字" in found[3]
    assert found[4] == "姓名：必填" and found[5] == "参保日期：必填"


def test_a_rounding_tail_is_held_until_the_user_confirms(unit_a):
    suspect = rounded_tail_id()
    other = fresh_ids(1, 73)[0]
    batch, page = upload(unit_a, filled(unit_a, [
        [suspect, "尾零", None, "2026-11-01", 8000, "五险"],
        [other, "正常", None, "2026-11-01", 8000, "五险"]]))
    assert (batch.rows_good, batch.rows_bad) == (1, 1)  # held: not 合格
    assert "末三位为000" in reasons(batch)[2]
    assert "待确认 <strong>1</strong> 行" in page and 'name="row_no" value="2"' in page
    nothing = unit_a.post(f"/unit/import/batch/{batch.id}/confirm/",
                          data={"csrf_token": csrf_token(unit_a)}, follow_redirects=True)
    assert "请勾选要确认的行" in nothing.get_data(as_text=True)
    unit_a.post(f"/unit/import/batch/{batch.id}/confirm/",
                data={"csrf_token": csrf_token(unit_a), "row_no": "2"})
    batch = db.session.get(ImportBatch, batch.id)
    assert (batch.rows_good, batch.rows_bad) == (2, 0)
    assert {r["id_no"] for r in batch.rows} == {suspect, other}
    unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": csrf_token(unit_a)})
    assert db.session.get(ImportBatch, batch.id).application_id is not None


def test_csv_keeps_text_and_holds_the_tail(unit_a):
    suspect = rounded_tail_id()
    text = ",".join(HEADERS) + f"\n3.30106E+17,甲,,2026-11-01,8000,五险\n" \
        f"{suspect},乙,,2026-11-01,8000,五险\n"
    response = post_file(unit_a, "/unit/import/upload/SB_ENROLL_BATCH/",
                         text.encode("gb18030"), "导入.csv")
    batch = db.session.get(ImportBatch, int(re.search(r"/batch/(\d+)/",
                                                      response.location).group(1)))
    found = reasons(batch)
    assert HINT in found[2] and batch.errors[0]["cells"][0] == "3.30106E+17"
    assert "末三位为000" in found[3] and batch.rows_good == 0


def test_xls_numbers_are_shown_as_the_file_stores_them():
    assert _xls_number(3.30106198507210e17) == "3.3010619850721e+17"
    assert _xls_number(13912345678.0) == "13912345678"
    assert _xls_number(8000.5) == "8000.5"


def test_import_dates_keep_to_the_range_of_their_column(unit_a):
    ids = fresh_ids(2, 74)
    batch, _ = upload(unit_a, filled(unit_a, [
        [ids[0], "早", None, "0001-01-01", 8000, "五险"],
        [ids[1], "晚", None, "9999-12-31", 8000, "五险"]]))
    assert batch.rows_good == 0
    assert "日期应在1951-01-01至" in reasons(batch)[2] and "日期应在1951-01-01至" in \
        reasons(batch)[3]


def test_a_fifteen_digit_number_is_converted_and_held_for_confirmation(unit_a):
    batch, _ = upload(unit_a, filled(unit_a, [["330106500101001", "老", None, "2026-11-01",
                                                8000, "五险"]]))
    assert batch.rows_good == 0
    assert "已转换为18位：33010619500101001X" in reasons(batch)[2]
    unit_a.post(f"/unit/import/batch/{batch.id}/confirm/",
                data={"csrf_token": csrf_token(unit_a), "row_no": "2"})
    assert db.session.get(ImportBatch, batch.id).rows[0]["id_no"] == "33010619500101001X"
