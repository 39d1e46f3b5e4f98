"""Spreadsheets people upload (.xlsx from Excel or WPS, .csv in UTF-8 or GBK), read within bounds.

Rosters, the police extract and the insured lists of 信息比对 all come in this way.
A file's cost is judged before it is read: an .xlsx's zip directory and every part's
XML shape are checked before openpyxl sees it (a 1.4 MB file can hold a 300 MB
sheet), rows stream out one at a time, and reading stops one row past the limit.
Every refusal is a :class:`SheetError` with its reasons in Chinese.
"""

from __future__ import annotations

import codecs
import csv
import io
import pyexpat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook


class SheetError(ValueError):
    """The file cannot be used; ``problems`` lists why, in Chinese, by row where there is one."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# -- what reading one file may cost (OWASP ASVS V12.1) ------------------------------------------
# Anyone with a staff login can send a file, and an .xlsx is a zip archive: a 1.9 MB upload once
# held a server thread for 198 s and 1.7 GB of memory.  The archive is judged by its directory,
# and each part by one pass of expat that builds nothing, before openpyxl opens it; rows are then
# read one at a time and reading stops at the row limit.  openpyxl keeps in memory every element
# it does not recognise, and what is left of each row it has read, until the sheet ends: the
# checks of a part's shape below are what keep that small.
SHEET_ROWS = 1_048_576          # Excel's and WPS's last row: a longer sheet was not made by them
MAX_COLUMNS = 256               # header width: a roster has 8 columns, a police extract a few dozen
MAX_XLSX_BYTES = 200 * 2**20    # all parts unpacked: a 300,000-row, 9-column extract written with
                                # inline strings (the bulkiest way) is 167 MB; openpyxl reads ~3 MB/s
MAX_XLSX_PARTS = 1000           # Excel and WPS write 10–30 parts
MAX_DIRECTORY_BYTES = 2**20     # the zip's directory, which zipfile reads whole (~80 bytes a part)
MAX_RATIO = 100                 # unpacked : packed, for a part of over RATIO_FROM bytes: sheets are
RATIO_FROM = 2**20              # 5–20 : 1, a bomb's repeated rows 200–1,000 : 1
MAX_PART_BYTES = 16 * 2**20     # any part but sheets and the shared strings (images, the theme)
MAX_XML_PART_BYTES = 4 * 2**20  # any other XML part: openpyxl may parse it whole (styles, workbook,
                                # whatever the file's own references name), ~30× its size in memory
MAX_ELEMENT_BYTES = 2**20       # one row, one shared string, or any other element kept whole: a
                                # parsed row takes ~30× its XML in memory; a 256-column row of long
                                # Chinese text is under 100 KB
MAX_OUTSIDE_BYTES = 2 * 2**20   # a sheet's XML outside its rows (merged cells, validations, ...)
MAX_SHARED_STRINGS = 1_000_000  # openpyxl keeps them all, ~190 bytes each; a 300,000-row, 9-column
                                # extract has ~700,000
MAX_LINE_CHARS = 65536          # one line of a CSV file
PROGRESS_ROWS = 1000            # rows between two progress reports
CHUNK = 2**18                   # bytes read at a time
SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
WORKSHEET, SHEET_DATA, ROW = (f"{SPREADSHEET_NS} {tag}" for tag in ("worksheet", "sheetData", "row"))
STRING_TABLE, STRING = f"{SPREADSHEET_NS} sst", f"{SPREADSHEET_NS} si"


def read_rows(filename: str, content: bytes | Path, *, max_rows: int | None = None) -> list[dict[str, str]]:
    """Rows as dicts keyed by the Chinese headers, from .xlsx or .csv (UTF-8 or GBK), all at once
    (a village's file).  ``content`` is the file's bytes or its path."""
    return list(iter_rows(filename, content, max_rows=max_rows))


def iter_rows(filename: str, content: bytes | Path, *,
              max_rows: int | None = None) -> Iterator[dict[str, str]]:
    """The same rows one at a time: a county's file is never all in memory.

    What is wrong with the whole file (its type, its size once unpacked, its
    encoding) is raised here, before any row; a row past ``max_rows`` (blank
    rows not counted) and ID numbers stored as numbers raise SheetError
    from the iteration, the first as soon as the row is reached.
    """
    suffix = check_filename(filename)
    if suffix == ".xlsx":
        check_xlsx(content)
        return _xlsx_rows(content, max_rows)
    return _csv_rows(content, _csv_encoding(content), max_rows)


def check_filename(filename: str) -> str:
    """The file's type from its name, or SheetError: .xlsx and .csv are read."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise SheetError([f"不支持的文件类型“{suffix or filename}”：请上传 .xlsx 或 .csv 文件"])
    return suffix


def _open(content: bytes | Path) -> IO[bytes]:
    return open(content, "rb") if isinstance(content, Path) else io.BytesIO(content)


def _unreadable(reason: str) -> SheetError:
    return SheetError([f"无法读取该 Excel 文件：{reason}"])


def _too_big(what: str) -> SheetError:
    return SheetError([f"该 Excel 文件{what}，不像是一份名单，未读取。请只保留名单所在的工作表，删去图片"
                        "和多余的行列后另存为 .xlsx，或另存为 CSV 后上传；名单本身过大时请按村拆分。"])


# -- .xlsx: the archive and each part judged before openpyxl opens it ---------------------------
def check_xlsx(content: bytes | Path) -> None:
    """Refuse a workbook whose reading would cost too much, or that is not an .xlsx at all."""
    with _open(content) as raw:
        _check_directory_record(raw)
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
            raise _unreadable("BadZipFile") from None
        with archive:
            parts = archive.infolist()
            _check_directory(parts)
            for part in parts:
                _check_part(archive, part)


def _check_directory_record(raw: IO[bytes]) -> None:
    """zipfile reads the whole directory the archive's end record points to, and makes an object
    of each entry: its size and count are read from that record first, found as zipfile finds it."""
    raw.seek(0, io.SEEK_END)
    size = raw.tell()
    raw.seek(max(size - 22, 0))
    record = raw.read()
    if not (len(record) == 22 and record[:4] == b"PK\x05\x06" and record[-2:] == b"\0\0"):
        start = max(size - 22 - 65535, 0)
        raw.seek(start)
        tail = raw.read()
        found = tail.rfind(b"PK\x05\x06")
        record = tail[found:found + 22] if found >= 0 else b""
        if len(record) < 22:
            raise _unreadable("BadZipFile")
        at = start + found
    else:
        at = size - 22
    _sig, _disk, _disk_of_directory, _here, count, directory_size, _offset, _comment = struct.unpack(
        "<4s4H2LH", record)
    raw.seek(max(at - 20, 0))
    if raw.read(4) == b"PK\x06\x07":  # a Zip64 locator: zipfile then believes the Zip64 record
        raw.seek(max(at - 20 - 56, 0))
        zip64 = raw.read(56)
        if len(zip64) < 56 or zip64[:4] != b"PK\x06\x06":
            raise _unreadable("BadZipFile")
        count, directory_size = struct.unpack("<QQ", zip64[32:48])
    if count > MAX_XLSX_PARTS:
        raise _too_big(f"有 {count} 个组成部分")
    if directory_size > MAX_DIRECTORY_BYTES:
        raise _too_big(f"的目录有 {directory_size // 2**10} KB")


def _check_directory(parts: list[zipfile.ZipInfo]) -> None:
    """zipfile stops every part at the size the directory gives (and fails on its checksum), so
    these sizes bound what unpacking can produce."""
    names = {part.filename for part in parts}
    if "[Content_Types].xml" not in names:
        raise _unreadable("不是有效的 .xlsx 文件（可能是 .xls 或 .et 文件改了扩展名），"
                          "请用 Excel 或 WPS 另存为 .xlsx")
    if len(parts) > MAX_XLSX_PARTS:
        raise _too_big(f"有 {len(parts)} 个组成部分")
    total = sum(part.file_size for part in parts)
    if total > MAX_XLSX_BYTES:
        raise _too_big(f"解压后有 {total // 2**20} MB（最多 {MAX_XLSX_BYTES // 2**20} MB）")
    for part in parts:
        if part.flag_bits & 0x1:
            raise _unreadable("文件已加密，请取消密码后另存")
        if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _unreadable("不支持的压缩方式，请用 Excel 或 WPS 另存为 .xlsx")
        ratio = part.file_size // max(part.compress_size, 1)
        if part.file_size > RATIO_FROM and ratio > MAX_RATIO:
            raise _too_big(f"的“{part.filename}”解压后是压缩时的 {ratio} 倍（正常不超过 {MAX_RATIO} 倍），"
                           "疑为“压缩炸弹”")


def _check_part(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """One pass of expat over a part, building nothing.  What openpyxl streams (worksheets, the
    shared strings) is allowed to be large if made of rows or strings each of bounded size;
    any other XML it parses whole, and is allowed only small."""
    scan = _PartScan(part.file_size)
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(CHUNK):
                scan.parser.Parse(chunk, False)
                if scan.done:
                    break
            else:
                scan.parser.Parse(b"", True)
    except pyexpat.ExpatError:
        pass  # not XML, or damaged: openpyxl fails at the same byte, having read no further
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        raise _unreadable("文件已损坏") from None
    if scan.kind is None and part.file_size > MAX_PART_BYTES:
        raise _too_big(f"的“{part.filename}”有 {part.file_size // 2**20} MB")


class _PartScan:
    """expat callbacks checking one part's shape as it streams by; SheetError at the first excess.

    In a worksheet openpyxl frees each row once read but keeps a remnant of it, keeps whole
    every other element it does not know, and keeps text between elements; in the shared
    strings it keeps every string.  So: only rows in sheetData, each row (each string, each
    other element) at most MAX_ELEMENT_BYTES, at most SHEET_ROWS rows (MAX_SHARED_STRINGS
    strings), and at most MAX_OUTSIDE_BYTES of anything else.  Any other XML is parsed whole,
    so it may only be small.
    """

    def __init__(self, size: int):
        self.size = size
        self.kind: str | None = None  # "sheet", "strings" or "other", from the root element
        self.done = False
        self.depth = 0
        self.in_data = False          # inside sheetData, between rows
        self.measuring = 0            # depth of the element being measured; 0 between elements
        self.is_item = False          # that element is a row (or a string)
        self.started = 0              # byte where it began
        self.items = 0
        self.outside = 0
        self.text = 0                 # characters of the text between two elements
        parser = self.parser = pyexpat.ParserCreate(namespace_separator=" ")
        parser.ordered_attributes = True  # a list: cheaper, and most are never looked at
        parser.StartElementHandler, parser.EndElementHandler = self.start, self.end
        parser.CharacterDataHandler = self.characters
        parser.StartDoctypeDeclHandler = self.doctype

    def doctype(self, *_args: Any) -> None:
        raise _unreadable("含有 Excel 不会写入的 DOCTYPE 声明")

    def start(self, name: str, attrs: list[str]) -> None:
        self.depth += 1
        if self.measuring:
            return
        self.text = 0
        if self.depth == 1:
            self._root(name)
            return
        if self.kind == "sheet" and self.depth == 2 and name == SHEET_DATA:
            self.in_data = True
            return
        if self.kind == "sheet" and self.in_data:
            if name != ROW:
                raise _too_big("的工作表中含有不是行的内容")
            self._item(next((v for k, v in zip(attrs[::2], attrs[1::2], strict=True) if k == "r"), None))
        elif self.kind == "strings" and name == STRING:
            self._item(None)
        else:
            self.is_item = False
        self.measuring = self.depth
        self.started = self.parser.CurrentByteIndex
        self.parser.CharacterDataHandler = None  # text inside an element is measured with it

    def _root(self, name: str) -> None:
        self.kind = {WORKSHEET: "sheet", STRING_TABLE: "strings"}.get(name, "other")
        if self.kind == "other":
            if self.size > MAX_XML_PART_BYTES:
                raise _too_big(f"的一个组成部分有 {self.size // 2**20} MB")
            self.done = True  # small enough to be parsed whole
            self.parser.StartElementHandler = self.parser.EndElementHandler = None
            self.parser.CharacterDataHandler = None

    def _item(self, number: str | None) -> None:
        self.is_item = True
        self.items += 1
        if self.kind == "strings":
            if self.items > MAX_SHARED_STRINGS:
                raise _too_big(f"有超过 {MAX_SHARED_STRINGS} 个不同的文字")
        elif self.items > SHEET_ROWS or (number is not None and not _row_number_ok(number)):
            raise _too_big(f"的工作表超过 {SHEET_ROWS} 行（Excel 的最大行数）")

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth -= 1
        self.text = 0
        if not self.measuring:
            if name == SHEET_DATA and depth == 2:
                self.in_data = False
            return
        if depth > self.measuring:
            return
        size = self.parser.CurrentByteIndex - self.started
        if size > MAX_ELEMENT_BYTES:
            raise _too_big(f"的一行或一个部分有 {size // 2**10} KB")
        if not self.is_item:
            self._outside(size)
        self.measuring = 0
        self.parser.CharacterDataHandler = self.characters

    def characters(self, data: str) -> None:
        self.text += len(data)
        if self.text > MAX_ELEMENT_BYTES:
            raise _too_big("含有过长的文字")
        if not data.isspace():
            self._outside(len(data))

    def _outside(self, size: int) -> None:
        self.outside += size
        if self.outside > MAX_OUTSIDE_BYTES:
            raise _too_big("的工作表中行以外的内容过多")


def _row_number_ok(number: str) -> bool:
    try:
        return float(number) <= SHEET_ROWS  # openpyxl fills a gap in the numbers with empty rows
    except ValueError:
        return True  # openpyxl refuses it itself


def _xlsx_rows(content: bytes | Path, max_rows: int | None) -> Iterator[dict[str, str]]:
    with _open(content) as raw:
        try:
            book = load_workbook(raw, read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
            raise _unreadable(type(exc).__name__) from None
        try:
            yield from _sheet_rows(book, max_rows)
        finally:
            book.close()


def _sheet_rows(book: Any, max_rows: int | None) -> Iterator[dict[str, str]]:
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # its <dimension> may claim 16,384 columns, or be wrong
        first = next(sheet.iter_rows(max_row=1, max_col=MAX_COLUMNS + 1, values_only=True), ())
        header = [str(c or "").strip() for c in first]
        width = max((i + 1 for i, h in enumerate(header) if h), default=1)
        if width > MAX_COLUMNS:
            raise SheetError([f"表头超过 {MAX_COLUMNS} 列：请删去多余的列后再上传"])
        header = (header + [""] * width)[:width]
        numeric: list[int] = []
        count = 0
        for values in sheet.iter_rows(min_row=2, max_col=width, values_only=True):
            if values.count(None) == width or all(v in (None, "") for v in values):
                continue
            count += 1
            _check_count(count, max_rows)
            record = dict(zip(header, values, strict=False))
            if isinstance(record.get("公民身份号码"), int | float):
                numeric.append(count + 1)
            yield {h: _cell(v) for h, v in record.items()}
    except SheetError:
        raise
    except Exception as exc:  # a damaged sheet
        raise _unreadable(type(exc).__name__) from None
    if numeric:
        # A spreadsheet keeps 15 significant digits of a number: the last digits of an
        # 18-digit ID typed into a number cell are already gone and cannot be recovered.
        raise SheetError([f"第{line}行：公民身份号码被存成了数字，末几位已丢失；请把该列设为"
                           "“文本”格式后重新录入" for line in numeric])


def _check_count(count: int, max_rows: int | None) -> None:
    if max_rows is not None and count > max_rows:
        raise SheetError([f"一次最多导入 {max_rows} 行，请按村拆分文件"])


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 户编号 1 arrives as 1.0
    return "" if value is None else str(value).strip()


# -- .csv: decoded as it is read -------------------------------------------------------------
def _csv_encoding(content: bytes | Path) -> str:
    """UTF-8 (Excel's "CSV UTF-8", with or without BOM) or GB 18030 (WPS and older Excel), checked
    over the whole file a piece at a time before any row is read."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with _open(content) as raw:
                while chunk := raw.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise SheetError(["文件编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV"])


def _csv_rows(content: bytes | Path, encoding: str, max_rows: int | None) -> Iterator[dict[str, str]]:
    with _open(content) as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
        reader = csv.reader(_csv_lines(text))
        try:
            header = next((values for values in reader if values), [])  # as csv.DictReader
            header = [h.strip() for h in header]
            width = max((i + 1 for i, h in enumerate(header) if h), default=len(header))
            if width > MAX_COLUMNS:
                raise SheetError([f"表头超过 {MAX_COLUMNS} 列：请删去多余的列后再上传"])
            header = header[:width]
            count = 0
            for values in reader:
                if not values:
                    continue  # an empty line, as csv.DictReader skips it
                count += 1
                _check_count(count, max_rows)
                if len(values) < width:
                    values += [""] * (width - len(values))  # as csv.DictReader: missing cells are empty
                yield dict(zip(header, map(str.strip, values), strict=False))  # extra cells dropped
        except csv.Error:
            raise SheetError([f"无法读取该文件：第{reader.line_num}行 CSV 格式有误（引号不成对或单元格"
                               "过长），请用 Excel 或 WPS 另存为 CSV 后再上传"]) from None


def _csv_lines(text: io.TextIOWrapper) -> Iterator[str]:
    line_number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        line_number += 1
        if line_number > SHEET_ROWS:
            raise SheetError([f"无法读取该文件：超过 {SHEET_ROWS} 行（Excel 的最大行数），请拆分文件"])
        if len(line) > MAX_LINE_CHARS:
            raise SheetError([f"无法读取该文件：第{line_number}行超过 {MAX_LINE_CHARS} 个字符，"
                               "不像是名单中的一行"])
        yield line
