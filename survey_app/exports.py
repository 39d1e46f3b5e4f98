"""全民参保登记个人基础信息汇总表 (seed 002, 附件3) of any area, streamed village by village.

Columns come from the registration form definition, so a field added to
forms/ appears here too; choices are written as their Chinese labels.  Rows
are read one village at a time without the store's cache, so exporting a city
holds one village in memory, not the city, and leaves the server's cache as
it was.  The format writers are in :mod:`spreadsheet`.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from . import clock, review, spreadsheet
from .formdef import Field, FormDefinition
from .grid import Grid
from .registry import REVISIONS, make_ref
from .spreadsheet import Column
from .store import Store

SHEET_NAME = "个人基础信息汇总表"
FORMATS = ("csv", "xlsx")
MIMETYPES = {"csv": spreadsheet.CSV_MIMETYPE, "xlsx": spreadsheet.XLSX_MIMETYPE}
STATUS = {"registered": "已登记", "expected": "待登记", "incomplete": "未完成"}
# The 初审 and the county's 审核 (review.py), in the words of the paper form: never the comments.
REVIEW = {"pending": "待初审", "approved": "初审通过", "returned": "退回"}
AUDIT = {"audited": "已审核", "questioned": "有疑问"}
TEXT_TYPES = ("id_number", "phone")  # digits a spreadsheet would turn into 3.7E+17 or drop a 0 of
LEADING = (Column("乡镇（街道）", 12), Column("村（社区）", 12), Column("户编号", 17, text=True),
           Column("户主姓名", 10), Column("门牌地址", 24), Column("状态", 8), Column("回执号", 11),
           Column("登记人", 10), Column("登记时间", 17), Column("最后修改人", 10), Column("审核状态", 28),
           Column("审核人", 16), Column("审核时间", 34))
# Typical content width by answer type, in the half-width characters Excel measures widths in.
TYPE_WIDTHS = {"id_number": 20, "phone": 14, "date": 11, "integer": 8, "text": 22, "textarea": 30}
MAX_WIDTH = 40
# A bound on one row's sheet XML (a fully answered row with a remark measures 1.4 KB):
# past zipfile's 2 GiB limit for one part the workbook needs ZIP64, which must be chosen
# before the first byte goes.  So an export of up to about a million people is plain ZIP.
XLSX_ROW_BOUND = 2048


def columns(definition: FormDefinition) -> list[Column]:
    return list(LEADING) + [_column(f) for f in _exported(definition)]


def _exported(definition: FormDefinition) -> list[Field]:
    return [f for f in definition.fields if f.type != "confirm"]


def _column(field: Field) -> Column:
    content = max((display_width(c.label) for c in field.choices), default=0) \
        if field.choices else TYPE_WIDTHS.get(field.type, 12)
    width = min(MAX_WIDTH, max(display_width(field.label), content) + 2)
    return Column(field.label, width, text=field.type in TEXT_TYPES)


def display_width(text: str) -> int:
    """Chinese characters take two columns of a spreadsheet's width unit."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def rows(store: Store, grid: Grid, definition: FormDefinition,
         villages: Iterable[str]) -> Iterator[list[Any]]:
    """Every person of these villages (the caller has checked they are in scope), household by
    household; one village's file is read at a time, outside the store's cache."""
    fields = answer_columns(definition)
    for code in villages:
        shard = store.read(Store.village(code), cache=False)
        houses = {h["doc_id"]: h for h in shard.all("households")}
        registered_at = registration_times(shard.all(REVISIONS))
        place = ((grid.township_of(code) or {}).get("name", ""), (grid.get(code) or {}).get("name", code))
        people = sorted(shard.all("persons"), key=lambda p: (p.get("household", 0), p["doc_id"]))
        del shard
        for person in people:
            yield row(person, houses.get(person.get("household"), {}), code, place, fields,
                      registered_at.get(person["doc_id"]))


def answer_columns(definition: FormDefinition) -> list[tuple[str, dict[str, str] | None]]:
    """(field name, choice labels by value or None) of each exported answer, in column order."""
    return [(f.name, {c.value: c.label for c in f.choices} if f.choices else None)
            for f in _exported(definition)]


def row(person: dict[str, Any], house: dict[str, Any], village: str, place: tuple[str, str],
        fields: list[tuple[str, dict[str, str] | None]], registered_at: str | None = None) -> list[Any]:
    """One person's cells; ``fields`` as :func:`answer_columns` gives them."""
    registered = person.get("status") == "registered"
    answers = person.get("answers", {})
    house_ref = make_ref(village, person["household"]) if "household" in person else ""
    when = person.get("registered_at") or registered_at or person.get("created_at")
    return [
        *place, house.get("number") or house_ref, house.get("head_name", ""), house.get("address", ""),
        STATUS.get(person.get("status"), person.get("status", "")), person.get("receipt", ""),
        person.get("registered_by", "") if registered else "",
        minute(when) if registered else "",
        person.get("changed_by") or (person.get("registered_by", "") if registered else ""),
        *_review_cells(person),
        *(_answer(answers.get(name), labels) for name, labels in fields),
    ]


def _review_cells(person: dict[str, Any]) -> list[str]:
    """审核状态, 审核人, 审核时间: the 初审, and after "；" the county's 审核 of an approval."""
    state = review.review_state(person)
    if state is None:
        return ["", "", ""]
    steps = [(REVIEW[state], person.get("review") or {})]
    if review.audit_state(person):
        steps.append((f"审核（县）：{AUDIT[person['audit']['state']]}", person["audit"]))
    return ["；".join(text for text, _step in steps),
            "；".join(step.get("by", "") for _text, step in steps if step.get("by")),
            "；".join(minute(step.get("at")) for _text, step in steps if step.get("at"))]


def _answer(value: Any, labels: dict[str, str] | None) -> Any:
    if value in (None, ""):
        return ""
    if labels is not None:
        return labels.get(str(value), str(value))  # a code an older form allowed stays visible
    return value


def registration_times(revisions: Iterable[dict[str, Any]]) -> dict[int, str]:
    """When each roster person was registered: the moment their "expected" record was replaced.

    A person imported from a roster keeps the import's ``created_at`` when an
    enumerator completes the form; the revision kept of the roster record says
    when that happened.  A person first entered in the field has no such
    revision, and their ``created_at`` is the registration.
    """
    found: dict[int, str] = {}
    for revision in sorted(revisions, key=lambda r: r["doc_id"]):
        if revision.get("status") == "expected":
            found.setdefault(revision["person"], revision["replaced_at"])
    return found


def minute(stamp: str | None) -> str:
    """``2026-11-21T09:30:12+08:00`` → ``2026-11-21 09:30`` (Beijing time)."""
    if not stamp:
        return ""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return str(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(clock.zone())
    return moment.strftime("%Y-%m-%d %H:%M")


def stream(fmt: str, store: Store, grid: Grid, definition: FormDefinition, villages: list[str],
           expected_rows: int = 0) -> Iterator[bytes]:
    """The file's bytes as a generator: the header goes first, then the rows as villages are read.

    Needs no request context (it runs after the view has returned);
    ``expected_rows`` (the coverage count) only decides whether a workbook
    needs ZIP64.
    """
    header = columns(definition)
    body = rows(store, grid, definition, villages)
    if fmt == "csv":
        return spreadsheet.csv_stream(header, body)
    if fmt == "xlsx":
        return spreadsheet.xlsx_stream(header, body, sheet_name=SHEET_NAME,
                                       zip64=expected_rows * XLSX_ROW_BOUND > spreadsheet.ZIP64_LIMIT,
                                       now=clock.now())
    raise ValueError(f"unknown export format {fmt!r}")


def area_label(codes: list[str]) -> str:
    """The area's code for a file name; an account with several areas joins up to three."""
    return "_".join(codes) if 0 < len(codes) <= 3 else "area"


def filename(area: str, fmt: str, day: dt.date | None = None) -> str:
    """``canbao-370403001-2026-11-21.csv``: ASCII, so every browser keeps it as given."""
    day = day or clock.today()
    return f"canbao-{area}-{day.isoformat()}.{fmt}"
