"""Spreadsheets written as they go: CSV and XLSX streamed a few rows at a time.

An export of a city must neither hold the city in memory nor make the browser
wait for the last village before the first byte, so both writers take an
iterator of rows and yield bytes while they read it.

* CSV: UTF-8 with a byte-order mark (without it Excel and WPS read Chinese as
  GBK and show mojibake), CRLF line ends, RFC 4180 quoting.
* XLSX: a minimal Office Open XML package written through :mod:`zipfile` to
  a stream that cannot seek, so every part carries a data descriptor and the
  sheet is compressed and sent while rows arrive.  openpyxl cannot do this:
  its write-only mode spools the whole sheet to a temporary file and zips it
  only in ``save()``.  Strings are inline strings, numbers are numbers; text
  columns (ID numbers, phones) carry the text format "@" so Excel and WPS keep
  all 18 digits when someone edits them.

Every cell of both writers passes through :func:`safe`: characters XML 1.0
cannot carry are dropped, and text that a spreadsheet would read as a formula
is neutralised (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from . import clock

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Everything XML 1.0 cannot carry (C0 controls but tab, LF and CR; surrogates; U+FFFE/U+FFFF).
ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Excel reads _xHHHH_ inside a string as an escaped character; a literal one is escaped itself.
OOXML_ESCAPE = re.compile("(_x[0-9A-Fa-f]{4}_)")
CHUNK = 64 * 1024  # bytes gathered before each yield: few, fair-sized pieces for the server to send
ZIP64_LIMIT = zipfile.ZIP64_LIMIT
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Column:
    """A column's header, width (in characters) and whether it holds text that looks like a number."""

    title: str
    width: float = 12
    text: bool = False


def safe(value: Any) -> Any:
    """The one cell rule of both writers: numbers stay numbers; text loses characters XML cannot
    carry, and text that starts like a formula gets a leading ``'`` (OWASP), so ``=HYPERLINK(…)``
    typed into a remark or a roster arrives as text, never as a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value if math.isfinite(value) else str(value)
    text = str(value)
    if not text.isprintable():  # every character XML cannot carry is unprintable: most text skips this
        # Illegal characters go first: "\x01=1+1" must not become "=1+1" after the check.
        text = ILLEGAL_XML.sub("", text)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# -- CSV ------------------------------------------------------------------------------
def csv_stream(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The header at once, then the rows in pieces of about ``CHUNK`` bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe(c.title) for c in columns])
    yield "\ufeff".encode() + _take(buffer)
    for row in rows:
        writer.writerow([safe(v) for v in row])
        if buffer.tell() >= CHUNK:
            yield _take(buffer)
    if buffer.tell():
        yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


# -- XLSX ------------------------------------------------------------------------------
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLE_BOLD, STYLE_TEXT = 1, 2  # indexes into cellXfs below

CONTENT_TYPES = XML_HEAD + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
ROOT_RELS = XML_HEAD + (
    f'<Relationships xmlns="{PACKAGE_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>')
WORKBOOK_RELS = XML_HEAD + (
    f'<Relationships xmlns="{PACKAGE_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/styles" Target="styles.xml"/>'
    '</Relationships>')
# cellXfs: 0 default, 1 bold (the header), 2 text "@" (built-in number format 49).
STYLES = XML_HEAD + (
    f'<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def _workbook(sheet_name: str) -> str:
    return XML_HEAD + (
        f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f'<sheets><sheet name={quoteattr(sheet_name)} sheetId="1" r:id="rId1"/></sheets>'
        '</workbook>')


def _sheet_head(columns: Sequence[Column]) -> str:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{c.width:g}" customWidth="1"'
        f'{f" style={chr(34)}{STYLE_TEXT}{chr(34)}" if c.text else ""}/>'
        for i, c in enumerate(columns, start=1))
    return XML_HEAD + (
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        '</sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f'<cols>{cols}</cols><sheetData>')


SHEET_TAIL = "</sheetData></worksheet>"


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text_xml(text: str) -> str:
    if "_x" in text:
        text = OOXML_ESCAPE.sub(r"_x005F\1", text)
    if "&" in text or "<" in text or ">" in text:
        text = escape(text)
    if "\r" in text:
        text = text.replace("\r", "&#13;")  # an XML parser would read a raw CR as LF
    if text[:1].isspace() or text[-1:].isspace() or "\n" in text:
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


def _row_xml(number: int, values: Sequence[Any], letters: Sequence[str], styles: Sequence[str]) -> str:
    cells = []
    for letter, style, raw in zip(letters, styles, values, strict=False):
        value = safe(raw)
        if value == "":
            continue
        ref = f"{letter}{number}"
        if isinstance(value, str):
            cells.append(f'<c r="{ref}"{style} t="inlineStr"><is>{_text_xml(value)}</is></c>')
        else:
            cells.append(f'<c r="{ref}"{style}><v>{value!r}</v></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


class _Sink:
    """A write-only stream without ``seek``/``tell``: zipfile then writes data descriptors after
    each part instead of going back to patch sizes in its header, so bytes can leave at once."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.pieces)
        self.pieces.clear()
        self.size = 0
        return data


def xlsx_stream(columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
                sheet_name: str = "Sheet1", zip64: bool = False,
                now: dt.datetime | None = None) -> Iterator[bytes]:
    """A one-sheet workbook: bold frozen header, the rows as they come.

    ``zip64`` must be set when the sheet's XML may pass ``ZIP64_LIMIT`` (2 GiB;
    the size of a streamed part is not known when its header is sent, and
    zipfile refuses to close a larger part without it); Excel offers to
    "repair" a small file written with it, so it is off unless needed.
    """
    stamp = (now or clock.now()).timetuple()[:6]
    sink = _Sink()
    book = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED)
    try:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                           ("xl/workbook.xml", _workbook(sheet_name)),
                           ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS), ("xl/styles.xml", STYLES)):
            book.writestr(_entry(name, stamp), text.encode("utf-8"))
        with book.open(_entry("xl/worksheets/sheet1.xml", stamp), mode="w", force_zip64=zip64) as sheet:
            letters = [column_letter(i) for i in range(1, len(columns) + 1)]
            text_style = [f' s="{STYLE_TEXT}"' if c.text else "" for c in columns]
            header = _row_xml(1, [c.title for c in columns], letters, [f' s="{STYLE_BOLD}"'] * len(columns))
            sheet.write((_sheet_head(columns) + header).encode("utf-8"))
            yield sink.take()  # the first bytes go before any row is read
            pending: list[str] = []
            size = 0
            for number, values in enumerate(rows, start=2):
                xml = _row_xml(number, values, letters, text_style)
                pending.append(xml)
                size += len(xml)
                if size >= CHUNK:
                    sheet.write("".join(pending).encode("utf-8"))
                    pending, size = [], 0
                    if sink.size:
                        yield sink.take()
            sheet.write(("".join(pending) + SHEET_TAIL).encode("utf-8"))
        book.close()
        yield sink.take()
    finally:
        book.close()  # a client that went away: nothing more to send, nothing left open


def _entry(name: str, stamp: tuple) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
