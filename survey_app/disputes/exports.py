"""The dispute analysis and the ledger itself (台账) as tables for CSV and XLSX.

Every cell goes through the project's spreadsheet writers (``spreadsheet.csv_stream`` and
``xlsx_stream``), so text that a spreadsheet would read as a formula is neutralised exactly
as in every other export.  The party's phone leaves masked (``privacy.mask_phone``) and only
in the ledger; the analysis names parties by their masked name and never by phone.

The analysis has several tables: in CSV they follow one another as sections (a title line,
the header, the rows, a blank line); in XLSX each is a sheet.  The one-sheet XLSX writer
stays the only code that writes cells: each section is written by it and the sheets are
gathered into one workbook here.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from .. import spreadsheet
from ..formdef import FormDefinition
from ..privacy import mask_phone
from ..spreadsheet import Column, csv_stream, xlsx_stream
from ..workdays import WorkCalendar
from . import ledger
from .rules import CLASS_LABELS, DisputeRules
from .stats import SATISFACTION_LABELS, by_ref

REPLY_WAY_LABELS = {"phone": "电话", "in_person": "当面", "letter": "书面", "online": "网上"}
STATE_LABELS = {"open": "办理中", "overdue": "已逾期", "closed": "已办结"}
BOM = "\ufeff".encode()


@dataclass(frozen=True)
class Section:
    """One table: its name (the CSV section's title, the XLSX sheet's name), header and rows."""
    name: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]


# -- the analysis ---------------------------------------------------------------------------------
def stats_sections(summary: Mapping[str, Any], period: str, today: dt.date) -> list[Section]:
    """The breakdowns of ``stats.summarise`` as tables, headline figures first."""
    handling = summary["handling"]
    headline = [
        ["统计日期", today.isoformat()], ["受理期间", period], ["受理总数", summary["total"]],
        ["办理中", summary["open"]], ["已办结", summary["closed"]], ["当前逾期", summary["overdue"]],
        ["逾期件数（逾期办结及逾期未办结）", summary["late"]], ["逾期率", summary["overdue_rate_text"]],
        ["计算用时的已办结件数", handling["count"]],
        ["平均办理用时（工作日）", "" if handling["average"] is None else handling["average"]],
        ["最长办理用时（工作日）", "" if handling["worst"] is None else handling["worst"]],
        ["最长用时事项编号", handling["worst_ref"] or ""], ["曾上报件数", summary["escalated"]],
    ]
    return [
        Section("总体情况", [Column("指标", 34), Column("数值", 16)], headline),
        Section("按争议类别", [Column("争议类别", 36), Column("件数", 8)],
                [[r["name"], r["count"]] for r in summary["by_category"]]),
        Section("按分类分级", [Column("分级", 8), Column("当前件数", 10), Column("曾上报至此级", 14)],
                [[r["name"], r["current"], r["escalated"]] for r in summary["by_class"]]),
        Section("按承办部门", [Column("部门", 16), Column("曾流转件数", 12), Column("在办件数", 10)],
                [[r["name"], r["routed"], r["holding"]] for r in summary["by_department"]]),
        Section("按村（社区）", [Column("代码", 14, text=True), Column("村（社区）", 16), Column("件数", 8),
                              Column("办理中", 8), Column("当前逾期", 10)],
                [[r["code"], r["name"], r["count"], r["open"], r["overdue"]] for r in summary["by_village"]]),
        Section("按受理月份", [Column("月份", 10, text=True), Column("件数", 8)],
                [[r["month"], r["count"]] for r in summary["by_month"]]),
        Section("满意度", [Column("评价", 12), Column("件数", 8)],
                [[r["name"], r["count"]] for r in summary["satisfaction"]]),
        Section("重复当事人", [Column("当事人（脱敏）", 14), Column("件数", 8), Column("事项编号", 40)],
                [[r["name"], r["count"], "、".join(r["refs"])] for r in summary["repeat_parties"]]),
        Section("重复户", [Column("户编号", 18, text=True), Column("村（社区）", 16), Column("件数", 8),
                        Column("事项编号", 40)],
                [[r["household"], r["village_name"], r["count"], "、".join(r["refs"])]
                 for r in summary["repeat_households"]]),
    ]


# -- the ledger (台账) -------------------------------------------------------------------------------
LEDGER_COLUMNS = (
    Column("事项编号", 14, text=True), Column("受理时间", 17), Column("村（社区）", 14),
    Column("户编号", 18, text=True), Column("当事人姓名", 10), Column("联系电话（脱敏）", 14, text=True),
    Column("受理渠道", 10), Column("争议类别", 24), Column("争议内容", 36), Column("初步处理意见", 30),
    Column("分级", 6), Column("办结期限", 11), Column("承办部门", 16), Column("状态", 8),
    Column("剩余工作日（负数为逾期）", 12), Column("答复内容", 36), Column("答复人", 10),
    Column("答复时间", 17), Column("答复方式", 8), Column("满意度", 8),
)


def ledger_rows(items: Sequence[Mapping[str, Any]], *, definition: FormDefinition, rules: DisputeRules,
                calendar: WorkCalendar, village_names: Mapping[str, str], today: dt.date) -> list[list]:
    """One row per item, in number order.  The reply is the first one (统一答复: it stays when
    an item is reopened).  Days left only for open items; the state says 已逾期 when late."""
    channel, category = definition.field("channel"), definition.field("category")
    rows = []
    for item in sorted(items, key=by_ref):
        answers, answer = item["answers"], item.get("reply") or {}
        is_open = item["state"] == "open"
        state = "overdue" if ledger.overdue(item, calendar, today) else item["state"]
        rows.append([
            item["ref"], _stamp(item["received_at"]), village_names.get(item["village"], item["village"]),
            item.get("household") or "", answers.get("party_name", ""),
            mask_phone(answers.get("party_phone", "")), channel.choice_label(answers.get("channel")),
            category.choice_label(answers.get("category")), answers.get("content", ""),
            answers.get("first_opinion", ""), CLASS_LABELS.get(item["level"], item["level"]), item["due"],
            "、".join(rules.department_name(k) for k in item.get("holders", ())), STATE_LABELS[state],
            ledger.days_left(item, calendar, today) if is_open else "", answer.get("text", ""),
            answer.get("by", ""), _stamp(answer.get("at")), REPLY_WAY_LABELS.get(answer.get("how"), ""),
            SATISFACTION_LABELS.get(item.get("satisfaction"), ""),
        ])
    return rows


def _stamp(value: str | None) -> str:
    """"2026-09-29T10:00:00+08:00" → "2026-09-29 10:00" (the campaign's own time)."""
    return value[:16].replace("T", " ") if value else ""


# -- writing ----------------------------------------------------------------------------------------
def csv_sections(sections: Sequence[Section]) -> bytes:
    """The sections one after another, each a title line, its header and rows, then a blank line;
    one byte-order mark at the very start for Excel and WPS."""
    out = [BOM]
    for section in sections:
        out.append(b"".join(csv_stream([Column(f"【{section.name}】")], [])).removeprefix(BOM))
        out.append(b"".join(csv_stream(section.columns, section.rows)).removeprefix(BOM))
        out.append(b"\r\n")
    return b"".join(out)


def xlsx_sections(sections: Sequence[Section], now: dt.datetime) -> bytes:
    """One sheet per section, each written by ``spreadsheet.xlsx_stream`` and taken out of its
    one-sheet package; the package around them follows that writer's (same styles)."""
    stamp = now.timetuple()[:6]
    names = sheet_names([s.name for s in sections])
    sheets = []
    for section, name in zip(sections, names, strict=True):
        single = b"".join(xlsx_stream(section.columns, section.rows, sheet_name=name, now=now))
        with zipfile.ZipFile(io.BytesIO(single)) as book:
            sheets.append(book.read("xl/worksheets/sheet1.xml"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as book:
        parts = [("[Content_Types].xml", _content_types(len(sheets))), ("_rels/.rels", spreadsheet.ROOT_RELS),
                 ("xl/workbook.xml", _workbook(names)), ("xl/_rels/workbook.xml.rels", _rels(len(sheets))),
                 ("xl/styles.xml", spreadsheet.STYLES)]
        for part, text in parts:
            book.writestr(zipfile.ZipInfo(part, date_time=stamp), text.encode("utf-8"),
                          compress_type=zipfile.ZIP_DEFLATED)
        for number, xml in enumerate(sheets, start=1):
            book.writestr(zipfile.ZipInfo(f"xl/worksheets/sheet{number}.xml", date_time=stamp), xml,
                          compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def sheet_names(wanted: Sequence[str]) -> list[str]:
    """Names Excel accepts: none of []:*?/\\, at most 31 characters, each used once."""
    names: list[str] = []
    for name in wanted:
        clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
        base, n = clean, 2
        while clean in names:
            clean, n = f"{base[:28]}({n})", n + 1
        names.append(clean)
    return names


SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _content_types(count: int) -> str:
    one = f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEET_TYPE}"/>'
    every = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{SHEET_TYPE}"/>'
                    for n in range(1, count + 1))
    if one not in spreadsheet.CONTENT_TYPES:  # the writer's package changed: this must follow it
        raise RuntimeError("spreadsheet.CONTENT_TYPES no longer names sheet1 as expected")
    return spreadsheet.CONTENT_TYPES.replace(one, every)


def _workbook(names: Sequence[str]) -> str:
    sheets = "".join(f'<sheet name={quoteattr(name)} sheetId="{n}" r:id="rId{n}"/>'
                     for n, name in enumerate(names, start=1))
    return spreadsheet.XML_HEAD + (
        f'<workbook xmlns="{spreadsheet.MAIN_NS}" xmlns:r="{spreadsheet.REL_NS}">'
        f'<sheets>{sheets}</sheets></workbook>')


def _rels(count: int) -> str:
    sheets = "".join(f'<Relationship Id="rId{n}" Type="{spreadsheet.REL_NS}/worksheet" '
                     f'Target="worksheets/sheet{n}.xml"/>' for n in range(1, count + 1))
    return spreadsheet.XML_HEAD + (
        f'<Relationships xmlns="{spreadsheet.PACKAGE_REL_NS}">{sheets}'
        f'<Relationship Id="rId{count + 1}" Type="{spreadsheet.REL_NS}/styles" Target="styles.xml"/>'
        '</Relationships>')
