"""Hostile upload files, written to disk as streams (a zip bomb is never held in memory).

Used by ``benchmarks.hostile_bench`` (full size) and the tests (small sizes).
"""
from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

HEADERS = ["身份证号码", "姓名", "手机号码", "参保日期", "月缴费工资", "参保险种"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def _workbook_parts(sheets: int) -> dict[str, str]:
    names = "".join(f'<sheet name="{"数据" if n == 1 else f"表{n}"}" sheetId="{n}" r:id="rId{n}"/>'
                    for n in range(1, sheets + 1))
    rels = "".join(f'<Relationship Id="rId{n}" Type="{RELS}/worksheet" '
                   f'Target="worksheets/sheet{n}.xml"/>' for n in range(1, sheets + 1))
    return {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxml'
                               'formats.org/package/2006/content-types"/>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{names}'
                           '</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">{rels}</Relationships>',
    }


def _cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _header_row() -> str:
    return '<row r="1">' + "".join(_cell(f"{chr(65 + i)}1", h)
                                   for i, h in enumerate(HEADERS)) + "</row>"


def write_xlsx(path: Path, sheet_xml: Callable[[], Iterator[str]], sheets: int = 1,
               extra: dict[str, bytes] | None = None) -> Path:
    """An xlsx whose first sheet's XML is streamed from ``sheet_xml`` into the zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in _workbook_parts(sheets).items():
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for chunk in sheet_xml():
                sheet.write(chunk.encode())
        for n in range(2, sheets + 1):
            book.writestr(f"xl/worksheets/sheet{n}.xml",
                          f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>')
        for name, data in (extra or {}).items():
            book.writestr(name, data)
    return path


def _sheet(rows: Callable[[], Iterator[str]], dimension: str = "") -> Callable:
    def xml() -> Iterator[str]:
        yield f'<worksheet xmlns="{MAIN}">'
        if dimension:
            yield f'<dimension ref="{dimension}"/>'
        yield "<sheetData>" + _header_row()
        yield from rows()
        yield "</sheetData></worksheet>"
    return xml


def wide_declared(path: Path, rows: int = 3000) -> Path:
    """Declares 16,384 columns (A1:XFD…) and puts one cell in the last column of each row."""
    def body():
        for r in range(2, rows + 2):
            yield f'<row r="{r}">{_cell(f"A{r}", "x")}{_cell(f"XFD{r}", "x")}</row>'
    return write_xlsx(path, _sheet(body, f"A1:XFD{rows + 1}"))


def wide_real(path: Path, rows: int = 3000) -> Path:
    """No declared size; every row has a cell in column XFD (16,384)."""
    def body():
        for r in range(2, rows + 2):
            yield f'<row r="{r}">{_cell(f"XFD{r}", "x")}</row>'
    return write_xlsx(path, _sheet(body))


def too_many_rows(path: Path, rows: int = 60_000) -> Path:
    """More data rows than a file may have."""
    def body():
        for r in range(2, rows + 2):
            yield f'<row r="{r}">{_cell(f"B{r}", "某")}</row>'
    return write_xlsx(path, _sheet(body))


def far_row(path: Path) -> Path:
    """One row numbered 1,048,576: nothing between is real."""
    def body():
        yield f'<row r="1048576">{_cell("B1048576", "某")}</row>'
    return write_xlsx(path, _sheet(body))


def long_cell(path: Path, chars: int = 4_000_000) -> Path:
    """One cell of four million characters (varied, so that it does not compress away)."""
    rng = random.Random(5)

    def body():
        yield '<row r="2"><c r="B2" t="inlineStr"><is><t>'
        for _ in range(max(1, chars // 100_000)):
            yield "".join(chr(0x4E00 + rng.randrange(20_000)) for _ in range(100_000))
        yield "</t></is></c></row>"
    return write_xlsx(path, _sheet(body))


def zip_bomb(path: Path, megabytes: int = 1024) -> Path:
    """A sheet that inflates to a gigabyte of blanks (compression ratio about 1,000)."""
    def body():
        yield "<row r=\"2\">"
        block = " " * (1024 * 1024)
        for _ in range(megabytes):
            yield block
        yield "</row>"
    return write_xlsx(path, _sheet(body))


def shared_strings_bomb(path: Path, count: int = 3_000_000) -> Path:
    """Millions of tiny shared strings (each one a Python object if kept)."""
    def body():
        yield ""
    strings = io.StringIO()
    strings.write(f'<sst xmlns="{MAIN}">')
    for n in range(count):
        strings.write(f"<si><t>{n % 10}</t></si>")
    strings.write("</sst>")
    return write_xlsx(path, _sheet(body), extra={
        "xl/sharedStrings.xml": strings.getvalue().encode()})


def many_sheets(path: Path, sheets: int = 500) -> Path:
    """Five hundred sheets."""
    return write_xlsx(path, _sheet(lambda: iter(())), sheets=sheets)


def entity_expansion(path: Path) -> Path:
    """A billion-laughs DTD in the sheet."""
    def xml():
        yield '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        previous = "lol"
        for n in range(1, 10):
            yield f'<!ENTITY lol{n} "{("&" + previous + ";") * 10}">'
            previous = f"lol{n}"
        yield f']><worksheet xmlns="{MAIN}"><sheetData><row r="1">'
        yield f'<c r="A1" t="inlineStr"><is><t>&{previous};</t></is></c></row>'
        yield "</sheetData></worksheet>"
    return write_xlsx(path, xml)


def macro_workbook(path: Path, id_no: str) -> Path:
    """A workbook with a VBA project and one good row: the macro is ignored."""
    def body():
        yield ('<row r="2">' + "".join(_cell(f"{chr(65 + i)}2", v) for i, v in enumerate(
            [id_no, "宏", "", "2026-11-01", "8000", "五险"])) + "</row>")
    return write_xlsx(path, _sheet(body), extra={"xl/vbaProject.bin": b"\x00" * 512})


def encrypted(path: Path) -> Path:
    """What Excel writes for a password-protected workbook: an OLE file, EncryptedPackage."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    names = "EncryptionInfo".encode("utf-16-le") + b"\x00" * 50 + \
        "EncryptedPackage".encode("utf-16-le")
    path.write_bytes(header + names + b"\x00" * 4096)
    return path


def newlines_csv(path: Path, megabytes: int = 10) -> Path:
    """Ten megabytes of newlines (just under the size limit)."""
    path.write_bytes(",".join(HEADERS).encode() + b"\n" + b"\n" * (megabytes * 1024 * 1024
                                                                    - 200))
    return path


def long_line_csv(path: Path, megabytes: int = 9) -> Path:
    """A header, then one line of nine million commas."""
    path.write_bytes(",".join(HEADERS).encode() + b"\n" + b"," * (megabytes * 1024 * 1024))
    return path


def wide_csv(path: Path, rows: int = 1000) -> Path:
    """Every line with a value in its 5,000th column (under the line length limit)."""
    line = "x" + "," * 4_999 + "x\n"
    path.write_text(",".join(HEADERS) + "\n" + line * rows, encoding="utf-8")
    return path


HOSTILE = {
    "xlsx declaring 16,384 columns (5 KB)": wide_declared,
    "xlsx with real cells in column 16,384": wide_real,
    "xlsx of 60,000 rows": too_many_rows,
    "xlsx with row 1,048,576": far_row,
    "xlsx with a 4-million-character cell": long_cell,
    "xlsx zip bomb (1 GiB of blanks)": zip_bomb,
    "xlsx with 3 million shared strings": shared_strings_bomb,
    "xlsx with 500 sheets": many_sheets,
    "xlsx with a billion-laughs DTD": entity_expansion,
    "encrypted workbook": encrypted,
    "csv of 10 MB of newlines": newlines_csv,
    "csv with a 9-million-comma line": long_line_csv,
    "csv with 5,000 columns": wide_csv,
}
