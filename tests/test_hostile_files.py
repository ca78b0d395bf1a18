"""Hostile files are refused while streaming, with a Chinese message, before they cost
memory; macros are ignored; CSV comes as UTF-8 (with or without BOM) or GB18030."""
from __future__ import annotations

import pytest

from benchmarks import hostile_files as hostile
from tests.test_imports import fresh_ids, upload


@pytest.mark.parametrize(("make", "kwargs", "name", "message"), [
    (hostile.wide_declared, {"rows": 20}, "x.xlsx", "列数超过12列"),
    (hostile.wide_real, {"rows": 20}, "x.xlsx", "列数超过12列"),
    (hostile.too_many_rows, {"rows": 51_200}, "x.xlsx", "最多50000行"),
    (hostile.far_row, {}, "x.xlsx", "最多50000行"),
    (hostile.long_cell, {"chars": 200_000}, "x.xlsx", "超过1000个字符"),
    (hostile.zip_bomb, {"megabytes": 20}, "x.xlsx", "压缩比异常"),
    (hostile.shared_strings_bomb, {"count": 20_000}, "x.xlsx", "压缩比异常"),
    (hostile.many_sheets, {"sheets": 11}, "x.xlsx", "工作表超过10个"),
    (hostile.entity_expansion, {}, "x.xlsx", "已损坏"),
    (hostile.encrypted, {}, "x.xlsx", "已加密"),
    (hostile.newlines_csv, {"megabytes": 1}, "x.csv", "最多50000行"),
    (hostile.long_line_csv, {"megabytes": 1}, "x.csv", "超过16384个字符"),
    (hostile.wide_csv, {"rows": 3}, "x.csv", "列数超过12列"),
])
def test_hostile_files_are_refused_with_a_message(unit_a, tmp_path, make, kwargs, name,
                                                  message):
    data = make(tmp_path / name, **kwargs).read_bytes()
    batch, page = upload(unit_a, data, name)
    assert batch.rows_good == 0 and batch.rows == []
    assert any(message in p for p in batch.problems), batch.problems
    assert message in page


def test_macros_are_ignored_and_the_rows_read(unit_a, tmp_path):
    id_no = fresh_ids(1, 81)[0]
    batch, _ = upload(unit_a, hostile.macro_workbook(tmp_path / "m.xlsm", id_no).read_bytes(),
                      "m.xlsm")
    assert batch.rows_good == 1 and batch.rows[0]["id_no"] == id_no


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(unit_a, encoding):
    id_no = fresh_ids(1, 82)[0]
    text = ",".join(hostile.HEADERS) + f"\n{id_no},编码测试䶮,,2026-11-01,8000,五险\n"
    batch, _ = upload(unit_a, text.encode(encoding), "x.csv")
    assert batch.rows_good == 1 and batch.rows[0]["name"] == "编码测试䶮"


def test_a_file_in_no_known_encoding_is_refused(unit_a):
    batch, page = upload(unit_a, b"\xff\xfe\xfa" * 100 + b"\x81\x20", "x.csv")
    assert "无法识别文件编码" in page and batch.rows_good == 0
