"""Expected rosters (应登记名单) from Excel/WPS (.xlsx) or CSV files, one row per person.

Township staff receive the list of people to visit (seed 002: villages
download the list of the unregistered) and load it village by village; a
county's office loads one file for all its villages, with a 村（社区）代码
column.  Every problem in the file is listed with its row number, and nothing
is imported until the file is clean.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import formdef, idcard, registry, roster_load, sheets, textnorm
from .formdef import FormDefinition
from .i18n import lazy
from .store import Store

COLUMNS = {
    "村（社区）代码": "village", "户编号": "house", "户主姓名": "head_name", "门牌地址": "address",
    "姓名": "name", "公民身份号码": "id_number", "与户主关系": "relationship",
    "联系电话": "phone",
}
REQUIRED = ("户编号", "户主姓名", "门牌地址", "姓名", "公民身份号码", "与户主关系")
MAX_ROWS = 20000  # one upload through the browser; the command line takes a county's file

class RosterError(sheets.SheetError):
    """The roster's rows are wrong (every problem listed by row); nothing is imported."""


def parse(rows: list[dict[str, str]], definition: FormDefinition) -> list[dict[str, Any]]:
    """One village's households with their members, or RosterError listing every problem by row."""
    return parse_villages(rows, definition, villages=None, default_village="")[""]


def parse_villages(rows: list[dict[str, str]], definition: FormDefinition, *,
                   villages: set[str] | None, default_village: str | None,
                   max_rows: int | None = MAX_ROWS) -> dict[str, list[dict[str, Any]]]:
    """Households per village.  A row's village is its 村（社区）代码, else ``default_village``;
    ``villages`` (when given) are the codes the caller may load into."""
    _check_shape(rows, default_village, max_rows)
    relationships = {c.label: c.value for c in definition.field("relationship").choices}
    houses: dict[tuple[str, str], dict[str, Any]] = {}
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(rows, start=2):
        row = {COLUMNS[k]: v for k, v in raw.items() if k in COLUMNS}
        village = row.get("village") or default_village or ""
        if default_village and row.get("village") and row["village"] != default_village:
            problems.append(f"第{line}行：村（社区）代码 {row['village']} 不是本村（{default_village}）")
            continue
        if villages is not None and village not in villages:
            problems.append(f"第{line}行：村（社区）代码“{village}”不在网格中，或不在您的管辖范围内")
            continue
        member, row_problems = _member(row, relationships)
        problems += [f"第{line}行：{p}" for p in row_problems]
        if member:
            if member["id_number"] in seen:
                problems.append(f"第{line}行：公民身份号码与第{seen[member['id_number']]}行重复")
            seen[member["id_number"]] = line
            number = textnorm.fold_code(row["house"])
            house = houses.setdefault((village, number), {
                "number": number, "head_name": textnorm.person_name(row["head_name"]),
                "address": textnorm.fold_text(row["address"]), "phone": "", "members": []})
            house["phone"] = house["phone"] or member.get("phone", "")
            house["members"].append(member)
    if problems:
        raise RosterError(problems)
    by_village: dict[str, list[dict[str, Any]]] = {}
    for (village, _number), house in houses.items():
        house["members_count"] = len(house["members"])
        by_village.setdefault(village, []).append(house)
    return by_village


def _check_shape(rows: list[dict[str, str]], default_village: str | None, max_rows: int | None) -> None:
    if not rows:
        raise RosterError(["文件中没有数据行"])
    required = REQUIRED if default_village is not None else ("村（社区）代码", *REQUIRED)
    missing = [h for h in required if h not in rows[0]]
    if missing:
        raise RosterError([f"缺少列：{'、'.join(missing)}（第一行应为表头）"])
    if max_rows is not None and len(rows) > max_rows:
        raise RosterError([f"一次最多导入 {max_rows} 行，请按村拆分文件"])


def _member(row: dict[str, str], relationships: dict[str, str]) -> tuple[dict | None, list[str]]:
    problems = [f"缺少{label}" for label, key in COLUMNS.items()
                if label in REQUIRED and not row.get(key)]
    if problems:
        return None, problems
    try:
        parsed = idcard.parse(row["id_number"])
        name = formdef.CONSTRAINTS["person_name"](row["name"])
        phone = formdef.TYPES["phone"](row["phone"], None, {}) if row.get("phone") else ""
    except (idcard.IdNumberError, formdef.FieldError) as exc:
        return None, [str(exc.args[0])]
    relationship = relationships.get(textnorm.fold_text(row["relationship"]))
    if relationship is None:
        return None, [f"与户主关系“{row['relationship']}”应为 {'、'.join(relationships)} 之一"]
    member = {"name": name, "id_number": parsed.number, "sex": parsed.sex,
              "birth_date": parsed.birth_date.isoformat(), "relationship": relationship}
    return {**member, "phone": phone} if phone else member, []


def import_file(store: Store, scope: registry.Scope, definition: FormDefinition, village: str | None,
                filename: str, content: bytes | Path, *, max_rows: int | None = MAX_ROWS,
                progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Load a roster file: into ``village``, or (``village=None``) into each row's own village.

    ``progress(stage, rows)`` hears how far it got: "reading" every sheets.PROGRESS_ROWS rows, then
    "checking" and "saving" (a background job's page shows it)."""
    if village is not None:
        scope.require(village)
    rows: list[dict[str, str]] = []
    for row in sheets.iter_rows(filename, content, max_rows=max_rows):
        rows.append(row)
        if progress and len(rows) % sheets.PROGRESS_ROWS == 0:
            progress("reading", len(rows))
    if progress:
        progress("checking", len(rows))
    by_village = parse_villages(rows, definition, villages=set(scope.villages),
                                default_village=village, max_rows=max_rows)
    del rows
    if progress:
        progress("saving", sum(len(h["members"]) for houses in by_village.values() for h in houses))
    results = roster_load.import_rosters(store, by_village, scope.username or "system")
    return {"villages": len(results), **{key: sum(r[key] for r in results.values())
                                         for key in roster_load.COUNT_KEYS}}


def report(counts: dict[str, int]) -> str:
    """What a load did, in the words staff check it by: loading the same file again shows
    every household unchanged and nothing new."""
    return str(lazy("新增 %(h)d 户 %(p)d 人；已有的 %(c)d 户有更正（更正 %(pc)d 人），%(u)d 户无变化；"
                    "已在其他户登记的 %(s)d 人未重复导入。",
                    h=counts["households"], p=counts["persons"], c=counts["households_changed"],
                    pc=counts["persons_changed"], u=counts["households_unchanged"], s=counts["skipped"]))
