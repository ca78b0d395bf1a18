"""Reading uploaded spreadsheets as streams, with every limit checked before allocation.

xlsx is read from its zip with a streaming XML parser (no DTDs), keeping each cell's type:
a cell stored as a number comes back as ``NumericCell`` holding the file's own text. xls goes
through xlrd (ragged rows, never padded); csv is decoded as UTF-8 (with or without BOM) or
GB18030 and read line by bounded line. Every refusal is ``BadFile`` with a Chinese message.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from posixpath import join, normpath

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse, parse

from rules.imports import (
    MAX_COMPRESSION_RATIO,
    MAX_FILE_BYTES,
    MAX_FILE_CELL_CHARS,
    MAX_LINE_CHARS,
    MAX_ROWS,
    MAX_SHARED_STRINGS,
    MAX_SHEETS,
    MAX_UNPACKED_BYTES,
    MAX_ZIP_ENTRIES,
    NumericCell,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
SMALL_PART = 1024 * 1024  # workbook.xml, relationships: never more than this
#: Physical lines (csv) or row elements (xlsx) a file may have beyond the header and its
#: data rows: blank or formatted rows, notes.
CSV_LINE_MARGIN = ROW_MARGIN = 1000
CSV_CHUNK = 64 * 1024
DATA_SHEET, META_SHEET = "数据", "_meta"
EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_EPOCH_TIME = dt.datetime(1899, 12, 30)


class BadFile(Exception):
    """The file cannot be imported at all; the message says why in Chinese."""


class Table:
    """The rows of one sheet, streamed: ``meta`` (the template's hidden sheet, if any) is
    read first; ``rows()`` yields lists no wider than ``max_columns``."""

    def __init__(self, rows: Iterator[list], meta: dict | None = None):
        self._rows = rows
        self.meta = meta or {}

    def rows(self) -> Iterator[list]:
        return self._rows


def open_table(data: bytes, max_columns: int) -> Table:
    """The data sheet of an xlsx, xls or csv upload; BadFile for anything else."""
    if not data:
        raise BadFile("文件为空")
    if len(data) > MAX_FILE_BYTES:
        raise BadFile(f"文件不能超过{MAX_FILE_BYTES >> 20}MB")
    if data[:4] == ZIP_MAGIC:
        return _xlsx(data, max_columns)
    if data[:8] == OLE_MAGIC:
        return _xls(data, max_columns)
    return Table(_csv(data, max_columns))


def _too_wide(max_columns: int) -> BadFile:
    return BadFile(f"表格列数超过{max_columns}列，请使用下载的模板，不要增加列")


def _too_long() -> BadFile:
    return BadFile(f"有单元格内容超过{MAX_FILE_CELL_CHARS}个字符，已拒绝")


def _too_many_rows() -> BadFile:
    return BadFile(f"每个文件最多{MAX_ROWS}行数据，请拆分后导入")


# --- xlsx --------------------------------------------------------------------------------------

_REF = re.compile(r"([A-Z]{1,3})(\d+)$")


def _column_index(ref: str) -> int:
    """0-based column of a cell reference such as "XFD3000"."""
    match = _REF.match(ref)
    if not match:
        raise BadFile("Excel文件已损坏（单元格位置无效）")
    n = 0
    for char in match.group(1):
        n = n * 26 + ord(char) - 64
    return n - 1


def _text_of(element) -> str:
    """The text of a shared or inline string: its <t> runs, without phonetic (rPh) runs."""
    parts = []
    for child in element:
        if child.tag == NS + "t":
            parts.append(child.text or "")
        elif child.tag == NS + "r":
            parts.extend(t.text or "" for t in child.iter(NS + "t"))
    return "".join(parts)


def _part(archive: zipfile.ZipFile, name: str):
    info = archive.getinfo(name)
    if info.file_size > SMALL_PART:
        raise BadFile("Excel文件结构异常，已拒绝")
    with archive.open(info) as handle:
        return parse(handle, forbid_dtd=True).getroot()


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part's path, from workbook.xml and its relationships."""
    book = _part(archive, "xl/workbook.xml")
    rels = _part(archive, "xl/_rels/workbook.xml.rels")
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(PKG_REL_NS + "Relationship")}
    sheets = book.find(NS + "sheets")
    found = list(sheets) if sheets is not None else []
    if len(found) > MAX_SHEETS:
        raise BadFile(f"工作表超过{MAX_SHEETS}个，请使用下载的模板")
    paths = {}
    for sheet in found:
        target = targets.get(sheet.get(REL_NS + "id"), "")
        path = target.lstrip("/") if target.startswith("/") else normpath(join("xl", target))
        paths[sheet.get("name", "")] = path
    return paths


def _shared_strings(archive: zipfile.ZipFile, names: set[str]) -> list[str]:
    if "xl/sharedStrings.xml" not in names:
        return []
    strings: list[str] = []
    with archive.open("xl/sharedStrings.xml") as handle:
        table = None
        for event, element in iterparse(handle, events=("start", "end"), forbid_dtd=True):
            if table is None:
                table = element  # <sst>: emptied as it goes, the strings are kept as str
            if event == "start" or element.tag != NS + "si":
                continue
            text = _text_of(element)
            if len(text) > MAX_FILE_CELL_CHARS:
                raise _too_long()
            strings.append(text)
            if len(strings) > MAX_SHARED_STRINGS:
                raise BadFile("Excel文件中的文本过多，已拒绝")
            table.clear()
    return strings


def _declared(dimension: str, max_columns: int) -> None:
    """Refuse a sheet whose declared size (<dimension ref="A1:XFD3000">) is too big."""
    last = dimension.split(":")[-1]
    match = _REF.match(last)
    if not match:
        return
    if _column_index(last) >= max_columns:
        raise _too_wide(max_columns)
    if int(match.group(2)) > MAX_ROWS + 1 + CSV_LINE_MARGIN:
        raise _too_many_rows()


def _sheet_rows(archive: zipfile.ZipFile, path: str, strings: list[str],
                max_columns: int) -> Iterator[list]:
    """The sheet's rows as lists, streamed; cells keep their type (text or NumericCell)."""
    with archive.open(path) as handle:
        row: dict[int, object] = {}
        next_row = 1
        sheet_data = None
        for event, element in iterparse(handle, events=("start", "end"), forbid_dtd=True):
            tag = element.tag
            if event == "start":
                if tag == NS + "dimension":
                    _declared(element.get("ref", ""), max_columns)
                elif tag == NS + "sheetData":
                    sheet_data = element
                continue
            if tag == NS + "c":
                value = _cell(element, strings)
                if value is not None:
                    position = _column_index(element.get("r")) if element.get("r") \
                        else len(row)
                    if position >= max_columns:
                        raise _too_wide(max_columns)
                    row[position] = value
                element.clear()
            elif tag == NS + "row":
                number = int(element.get("r") or next_row)
                if number > MAX_ROWS + 1 + CSV_LINE_MARGIN:
                    raise _too_many_rows()
                while next_row < number:  # rows the file skipped are blank
                    yield []
                    next_row += 1
                width = max(row) + 1 if row else 0
                yield [row.get(i) for i in range(width)]
                next_row, row = number + 1, {}
                if sheet_data is not None:
                    sheet_data.clear()  # the finished rows are not kept
            elif tag == NS + "sheetData":
                element.clear()


def _cell(element, strings: list[str]):
    kind = element.get("t", "n")
    formula = element.find(NS + "f")
    if formula is not None:
        return "=" + (formula.text or "")  # refused by the row check: values only
    if kind == "inlineStr":
        inline = element.find(NS + "is")
        text = _text_of(inline) if inline is not None else ""
    else:
        v = element.find(NS + "v")
        if v is None or v.text is None:
            return None
        text = v.text
        if kind == "s":
            try:
                return strings[int(text)]
            except (ValueError, IndexError):
                raise BadFile("Excel文件已损坏（共享字符串缺失）") from None
        if kind == "n":
            if len(text) > 64:
                raise _too_long()
            return NumericCell(text)
    if len(text) > MAX_FILE_CELL_CHARS:
        raise _too_long()
    return text  # str, b (0/1), e (#N/A …), d (ISO date text)


def _xlsx(data: bytes, max_columns: int) -> Table:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise BadFile("不是有效的Excel文件") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise BadFile("Excel文件结构异常，已拒绝")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        raise BadFile("不是有效的Excel（xlsx）文件")
    if any(i.flag_bits & 0x1 for i in infos):
        raise BadFile("文件已加密，请取消密码后重新上传")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_COMPRESSION_RATIO or any(
            i.file_size / max(i.compress_size, 1) > MAX_COMPRESSION_RATIO for i in infos
            if i.file_size > SMALL_PART):
        raise BadFile("文件解压后过大（压缩比异常），已拒绝")
    if any(n.startswith("xl/externalLinks/") for n in names):
        raise BadFile("文件含有外部链接，已拒绝；请使用下载的模板")
    # Macros (vbaProject.bin) are never run: ignored, like every part but the sheets.
    try:
        paths = _sheet_paths(archive)
        sheet = DATA_SHEET if DATA_SHEET in paths else next(iter(paths), None)
        if sheet is None or paths[sheet] not in names:
            raise BadFile("Excel文件中没有工作表")
        scan = _scan(archive, paths[sheet], max_columns)
        has_meta = META_SHEET in paths and paths[META_SHEET] in names
        # Formulas are reported cell by cell by the XML reader; python-calamine (Rust)
        # reads everything else, with the cells' types.
        fast = not scan.formulas and not (
            has_meta and _scan(archive, paths[META_SHEET], max_columns).formulas)
        book = _calamine_book(data) if fast else None
        fast = book is not None  # what calamine cannot open, the XML reader judges
        if fast and _count(archive, "xl/sharedStrings.xml", (b"<si>", b"<si ")) \
                > MAX_SHARED_STRINGS:
            raise BadFile("Excel文件中的文本过多，已拒绝")
        strings = [] if fast else _shared_strings(archive, names)
        meta = {}
        if has_meta:
            meta_rows = _calamine_rows(book, META_SHEET, max_columns) if fast else \
                _sheet_rows(archive, paths[META_SHEET], strings, max_columns)
            for row in meta_rows:
                if len(row) >= 2 and row[0] is not None:
                    meta[str(row[0])] = row[1]
                if len(meta) > 20:
                    break
    except KeyError:
        raise BadFile("Excel文件已损坏，无法读取") from None
    except (DefusedXmlException, SyntaxError, zipfile.BadZipFile, EOFError, ValueError):
        raise BadFile("Excel文件已损坏，无法读取") from None
    if scan.rows > MAX_ROWS + 1 + ROW_MARGIN:
        raise _too_many_rows()
    if fast:
        return Table(_guarded(_calamine_rows(book, sheet, max_columns)), meta)
    return Table(_guarded(_sheet_rows(archive, paths[sheet], strings, max_columns)), meta)


class _Scan:
    """What a sheet's bytes say before any parsing: how many <row> elements it has and
    whether python-calamine would lose something the checks show the user (``formulas``):
    a formula (<f>), an error cell (#N/A), or a number stored in other words than its
    shortest form (the user is shown the cell as the file holds it). Its declared size is
    checked on the way. (A date cell with a time of day comes back from calamine as a
    datetime, shown as its serial to 17 digits where the file may round earlier; a cell of
    spaces only comes back empty: both are refused or blank on either path.)"""

    def __init__(self, rows: int, formulas: bool):
        self.rows, self.formulas = rows, formulas


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s[^>]*ref=\"([^\"]*)\"")


def _scan(archive: zipfile.ZipFile, path: str, max_columns: int) -> _Scan:
    """One pass over a sheet's bytes (no parsing, no storage)."""
    rows, formulas, tail, first = 0, False, b"", True
    with archive.open(path) as handle:
        while chunk := handle.read(CSV_CHUNK * 16):
            block = tail + chunk
            if first:
                first = False
                if dimension := _DIMENSION.search(block[:4096]):
                    _declared(dimension.group(1).decode("ascii", "replace"), max_columns)
            rows += block.count(b"<row ") + block.count(b"<row>")
            formulas = formulas or _FORMULA.search(block) is not None or \
                b' t="e"' in block or not _plain_numbers(block)
            tail = block[-4:]  # shorter than "<row ": no row is counted twice
    return _Scan(rows, formulas)


_NUMBER_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?v>([^<]*)<")
#: A value that is not a plain integer of at most 15 digits (such a one is its own shortest
#: text): one C-speed pass answers for the common sheet, whose numbers are all whole.
_NOT_PLAIN_INTEGER = re.compile(rb"<(?:\w+:)?v>(?!(?:0|-?[1-9][0-9]{0,14})<)")


def _plain_numbers(block: bytes) -> bool:
    """True if every number cell whole in ``block`` holds its value's shortest text (what
    ``_xls_number`` makes of python-calamine's float)."""
    if _NOT_PLAIN_INTEGER.search(block) is None:
        return True
    for attributes, text in _NUMBER_CELL.findall(block):
        if b' t="' in attributes and b' t="n"' not in attributes:
            continue
        try:
            if _xls_number(float(text)) != text.decode("ascii"):
                return False
        except (ValueError, UnicodeDecodeError):
            return False
    return True


def row_elements(archive: zipfile.ZipFile, path: str) -> int:
    """How many <row> elements a sheet has, counted in its bytes (no parsing, no storage)."""
    return _count(archive, path, (b"<row ", b"<row>"))


def _count(archive: zipfile.ZipFile, name: str, patterns: tuple[bytes, ...]) -> int:
    """Occurrences of ``patterns`` in a part's bytes (shorter than 5 bytes: no overlap)."""
    if name not in archive.namelist():
        return 0
    count, tail = 0, b""
    with archive.open(name) as handle:
        while chunk := handle.read(CSV_CHUNK * 16):
            block = tail + chunk
            count += sum(block.count(p) for p in patterns)
            tail = block[-3:]
    return count


def _calamine_value(value):
    """A python-calamine value as the XML reader gives it: numbers (dates too: Excel stores
    them as serials) as NumericCell, booleans as "1"/"0", empty as None."""
    if type(value) is str:
        if len(value) > MAX_FILE_CELL_CHARS:
            raise _too_long()
        return value or None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return _xls_number(float(value))
    if isinstance(value, dt.datetime):
        return _xls_number((value - EXCEL_EPOCH_TIME).total_seconds() / 86400)
    if isinstance(value, dt.date):
        return NumericCell(str((value - EXCEL_EPOCH).days))
    if isinstance(value, dt.time):
        return _xls_number((value.hour * 3600 + value.minute * 60 + value.second) / 86400)
    if isinstance(value, dt.timedelta):
        return _xls_number(value.total_seconds() / 86400)
    return str(value)


def _calamine_book(data: bytes):
    """The workbook opened by python-calamine, or None if it cannot open it."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError):
        return None


def _calamine_rows(book, sheet_name: str, max_columns: int) -> Iterator[list]:
    """The sheet's rows read by python-calamine, as ``_sheet_rows`` gives them: from A1,
    each row as wide as its last value, blank rows empty."""
    from python_calamine import CalamineError

    try:
        sheet = book.get_sheet_by_name(sheet_name)
        first_col = sheet.start[1] if sheet.start else 0
        for row in sheet.iter_rows():
            values = [_calamine_value(v) for v in row]
            while values and values[-1] is None:
                values.pop()
            if not values:
                yield []
                continue
            if first_col + len(values) > max_columns:
                raise _too_wide(max_columns)
            yield [None] * first_col + values if first_col else values
    except CalamineError:
        raise BadFile("Excel文件已损坏，无法读取") from None


def _guarded(rows: Iterator[list]) -> Iterator[list]:
    """Broken XML or zip data met while streaming becomes BadFile."""
    try:
        yield from rows
    except (DefusedXmlException, SyntaxError, zipfile.BadZipFile, EOFError, ValueError) \
            as error:
        if isinstance(error, BadFile):
            raise
        raise BadFile("Excel文件已损坏，无法读取") from None


# --- xls ---------------------------------------------------------------------------------------

def _xls(data: bytes, max_columns: int) -> Table:
    if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" in data:
        raise BadFile("文件已加密，请取消密码后重新上传")
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, ragged_rows=True)
    except Exception as error:  # xlrd raises XLRDError and struct errors on broken files
        if "encrypted" in str(error).lower():
            raise BadFile("文件已加密，请取消密码后重新上传") from None
        raise BadFile("Excel（xls）文件已损坏，无法读取") from None
    names = book.sheet_names()
    if len(names) > MAX_SHEETS:
        raise BadFile(f"工作表超过{MAX_SHEETS}个，请使用下载的模板")
    try:
        sheet = book.sheet_by_name(DATA_SHEET) if DATA_SHEET in names else book.sheet_by_index(0)
    except Exception:
        raise BadFile("Excel（xls）文件已损坏，无法读取") from None
    if sheet.nrows > MAX_ROWS + 1 + CSV_LINE_MARGIN:
        raise _too_many_rows()
    return Table(_xls_rows(book, sheet, max_columns))


def _xls_number(value: float) -> NumericCell:
    # The file holds a binary double: its shortest exact text, integers without ".0".
    if value.is_integer() and abs(value) < 1e15:
        return NumericCell(str(int(value)))
    return NumericCell(repr(value))


def _xls_rows(book, sheet, max_columns: int) -> Iterator[list]:
    import xlrd

    for r in range(sheet.nrows):
        row = []
        for c in range(sheet.row_len(r)):
            cell = sheet.cell(r, c)
            if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                row.append(None)
                continue
            if c >= max_columns:
                raise _too_wide(max_columns)
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                except (ValueError, OverflowError):
                    row.append(_xls_number(cell.value))
            elif cell.ctype == xlrd.XL_CELL_NUMBER:
                row.append(_xls_number(cell.value))
            elif cell.ctype == xlrd.XL_CELL_TEXT:
                if len(cell.value) > MAX_FILE_CELL_CHARS:
                    raise _too_long()
                row.append(cell.value)
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                row.append("TRUE" if cell.value else "FALSE")
            else:  # an error cell
                row.append(xlrd.error_text_from_code.get(cell.value, "#错误"))
        while row and row[-1] is None:
            row.pop()
        yield row


# --- csv ---------------------------------------------------------------------------------------

def _encoding(data: bytes) -> tuple[str, int]:
    """(codec, bytes to skip): UTF-8 with or without BOM, else GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", len(codecs.BOM_UTF8)
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for i in range(0, len(data), CSV_CHUNK):  # validated in chunks, nothing kept
                decoder.decode(data[i:i + CSV_CHUNK])
            decoder.decode(b"", final=True)
            return encoding, 0
        except UnicodeDecodeError:
            continue
    raise BadFile("无法识别文件编码，请另存为UTF-8或GBK编码的CSV")


def _lines(text: io.TextIOBase) -> Iterator[str]:
    """Physical lines, each bounded before it is held; too many lines refuse the file."""
    count = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        count += 1
        if len(line) > MAX_LINE_CHARS:
            raise BadFile(f"CSV中有一行超过{MAX_LINE_CHARS}个字符，已拒绝")
        if count > MAX_ROWS + 1 + CSV_LINE_MARGIN:
            raise _too_many_rows()
        yield line


def _csv(data: bytes, max_columns: int) -> Iterator[list]:
    if b"\x00" in data[:4096]:
        raise BadFile("不是表格文件：请上传xlsx、xls或csv")
    if data.count(b"\n") > MAX_ROWS + 1 + CSV_LINE_MARGIN:
        raise _too_many_rows()
    encoding, skip = _encoding(data)
    text = io.TextIOWrapper(io.BytesIO(data[skip:] if skip else data), encoding=encoding,
                            newline="")
    reader = csv.reader(_lines(text))
    try:
        for row in reader:
            if len(row) > max_columns:
                if any(v.strip() for v in row[max_columns:]):
                    raise _too_wide(max_columns)
                row = row[:max_columns]
            if any(len(v) > MAX_FILE_CELL_CHARS for v in row):
                raise _too_long()
            yield row
    except csv.Error:
        raise BadFile("CSV格式错误") from None
