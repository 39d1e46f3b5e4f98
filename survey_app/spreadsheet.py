"""Excel (.xlsx) export of registrations: 全民参保登记个人基础信息汇总表 (seed 002, 附件3).

Columns come from the form definition, so a field added to forms/ appears
here too; choices are written as their Chinese labels, and ID numbers and
phones as text cells so Excel/WPS never turns them into 3.7E+17.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .formdef import FormDefinition
from .grid import Grid

LEADING = ("乡镇（街道）", "村（社区）", "户主姓名", "门牌地址", "状态", "回执号")
STATUS = {"registered": "已登记", "expected": "待登记"}
TEXT_TYPES = ("id_number", "phone")


def columns(definition: FormDefinition) -> list[str]:
    return list(LEADING) + [f.label for f in definition.fields if f.type != "confirm"]


def row(person: dict[str, Any], house: dict[str, Any], grid: Grid,
        definition: FormDefinition) -> list[Any]:
    township = grid.township_of(person["village"]) or {"name": ""}
    village = grid.get(person["village"]) or {"name": person["village"]}
    answers = person.get("answers", {})
    leading = [township["name"], village["name"], house.get("head_name", ""),
               house.get("address", ""), STATUS.get(person["status"], person["status"]),
               person.get("receipt", "")]
    return leading + [_cell(f, answers.get(f.name)) for f in definition.fields if f.type != "confirm"]


def _cell(field, value: Any) -> Any:
    if value in (None, ""):
        return ""
    return field.choice_label(value) if field.choices else value


def workbook(rows: Iterable[list[Any]], definition: FormDefinition) -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = "个人基础信息汇总表"
    header = columns(definition)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    text_columns = [len(LEADING) + i + 1 for i, f in
                    enumerate(f for f in definition.fields if f.type != "confirm")
                    if f.type in TEXT_TYPES]
    for values in rows:
        sheet.append(values)
    for index in text_columns:
        for cell in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell[0].number_format = "@"
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(title) * 2 + 2)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
