"""The grid: (city →) district/county → township/street → village/community.

A county-only deployment starts at the district; a city (seed 002's 市 → 县区
→ 乡镇 → 村, seed 004's districts of one city) puts one city unit above its
districts.  Each unit carries its grid leader (网格长) and grid members
(网格员) — the contact table (联络表) of seed 000.  A contact's ``phone`` is a
private mobile; only ``office_phone`` is ever published.  A township may name its
service window (``window``, 受理窗口: where in its 便民服务中心 people bring a
problem), which the portal's dispute guide publishes.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .formdef import LANDLINE, MOBILE
from .store import Store

LEVELS = ("city", "district", "township", "village")
LEVEL_NAMES = {"city": "市", "district": "区县", "township": "乡镇/街道", "village": "村/社区"}
ROLES = ("网格长", "网格员")
CODE_LENGTH = {"city": 6, "district": 6, "township": 9, "village": 12}
CHILD_LEVEL = {"city": "district", "district": "township", "township": "village"}
CHILD_KEY = {"district": "districts", "township": "townships", "village": "villages"}
WINDOW_LONGEST = 60  # one line of a phone screen's table cell, a few lines at most
# Any run of 11 digits that looks like a mobile: the window text is published.
MOBILE_INSIDE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class GridError(ValueError):
    """The grid file has problems; ``problems`` lists every one, in Chinese."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Grid:
    """All units by code, with the navigation every scope check needs.

    A Grid is built once per version of grid.json and shared by every request,
    so the navigation is worked out once and then looked up: a request's
    scope costs the same for a village enumerator as for a city.
    """

    units: dict[str, dict[str, Any]]
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    def get(self, code: str) -> dict[str, Any] | None:
        return self.units.get(code)

    def children(self, code: str | None) -> list[dict[str, Any]]:
        if "children" not in self._memo:
            by_parent: dict[str | None, list[dict[str, Any]]] = {}
            for unit in sorted(self.units.values(), key=lambda u: u["code"]):
                by_parent.setdefault(unit["parent"], []).append(unit)
            self._memo["children"] = by_parent
        return self._memo["children"].get(code, [])

    def villages_under(self, code: str) -> list[str]:
        memo = self._memo.setdefault("villages_under", {})
        if code not in memo:
            unit = self.units.get(code)
            if unit is None:
                memo[code] = []
            elif unit["level"] == "village":
                memo[code] = [code]
            else:
                memo[code] = [v for child in self.children(code)
                              for v in self.villages_under(child["code"])]
        return memo[code]

    def villages_of_area(self, area: Iterable[str]) -> frozenset[str]:
        """Every village under any of these units: an account's whole scope."""
        key = tuple(sorted(area))
        memo = self._memo.setdefault("areas", {})
        if key not in memo:
            memo[key] = frozenset(v for code in key for v in self.villages_under(code))
        return memo[key]

    def township_of(self, village_code: str) -> dict[str, Any] | None:
        village = self.units.get(village_code)
        return self.units.get(village["parent"]) if village else None

    def owns_code_prefix(self, township: str) -> bool:
        """Whether exactly this township's villages have codes starting with its code
        (true of national codes; a hand-made grid may differ, and then totals are summed)."""
        memo = self._memo.get("prefix_owners")
        if memo is None:
            by_prefix: dict[str, int] = {}
            consistent: dict[str, bool] = {}
            for unit in self.units.values():
                if unit["level"] == "village":
                    by_prefix[unit["code"][:9]] = by_prefix.get(unit["code"][:9], 0) + 1
                    parent = unit["parent"]
                    consistent[parent] = consistent.get(parent, True) and unit["code"][:9] == parent
            memo = self._memo["prefix_owners"] = {
                code: ok and by_prefix.get(code, 0) == len(self.villages_under(code))
                for code, ok in consistent.items()}
        return memo.get(township, False)

    def ancestors(self, code: str) -> list[dict[str, Any]]:
        """The units above ``code``, from the top down (not the unit itself)."""
        chain: list[dict[str, Any]] = []
        unit = self.units.get(code)
        while unit and unit["parent"]:
            unit = self.units.get(unit["parent"])
            if unit:
                chain.insert(0, unit)
        return chain

    def covers(self, area: Iterable[str], code: str) -> bool:
        """Whether ``code`` is one of the area's units or lies below one of them."""
        wanted = set(area)
        return code in wanted or any(u["code"] in wanted for u in self.ancestors(code))

    def path_names(self, code: str) -> list[str]:
        names: list[str] = []
        unit = self.units.get(code)
        while unit:
            names.insert(0, unit["name"])
            unit = self.units.get(unit["parent"]) if unit["parent"] else None
        return names

    @property
    def villages(self) -> list[dict[str, Any]]:
        return sorted((u for u in self.units.values() if u["level"] == "village"),
                      key=lambda u: u["code"])

    @property
    def townships(self) -> list[dict[str, Any]]:
        return self.children_of_level("township")

    def children_of_level(self, level: str) -> list[dict[str, Any]]:
        return sorted((u for u in self.units.values() if u["level"] == level),
                      key=lambda u: u["code"])


def load(store: Store) -> Grid:
    return Grid({u["code"]: _public_shape(u) for u in store.read(Store.GRID).all("units")})


def _public_shape(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "doc_id"}


# -- import ---------------------------------------------------------------------
def parse_file(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    # JSON is YAML too: the same nesting, as another system may write it.
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        return parse_yaml(text)
    if path.suffix.lower() == ".csv":
        return parse_csv(text)
    raise GridError([f"不支持的文件类型 {path.suffix}：请用 .yaml、.json 或 .csv"])


def parse_yaml(text: str) -> list[dict[str, Any]]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GridError([f"YAML 格式错误：{exc}"]) from None
    top = next((level for level in ("city", "district") if isinstance(raw, dict) and level in raw), None)
    if top is None:
        raise GridError(["文件顶层应有 city（市）或 district（区县）"])
    units: list[dict[str, Any]] = []
    _flatten(raw[top], top, None, units)
    return validate_units(units)


def _flatten(node: Any, level: str, parent: str | None, out: list[dict[str, Any]]) -> None:
    if not isinstance(node, dict):
        raise GridError([f"{LEVEL_NAMES[level]}条目格式错误：{node!r}"])
    code = str(node.get("code", "")).strip()
    unit = {
        "code": code, "level": level, "name": str(node.get("name", "")).strip(),
        "parent": parent, "contacts": [_contact(c) for c in node.get("contacts") or ()],
    }
    out.append(_with_window(unit, node.get("window")))
    child_level = CHILD_LEVEL.get(level)
    for child in node.get(CHILD_KEY[child_level], ()) if child_level else ():
        _flatten(child, child_level, code, out)


def _contact(raw: dict[str, Any]) -> dict[str, str]:
    return {
        "role": str(raw.get("role", "")).strip(),
        "name": str(raw.get("name", "")).strip(),
        "phone": str(raw.get("phone", "") or "").strip(),
        "office_phone": str(raw.get("office_phone", "") or "").strip(),
    }


def _with_window(unit: dict[str, Any], raw: Any) -> dict[str, Any]:
    """Only units that name a window carry the key, so every other unit keeps its shape.
    A bare number (``window: 3``) is text; a YAML list or mapping is kept as it is, for
    validation to refuse."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = str(raw)
    window = raw.strip() if isinstance(raw, str) else raw
    return {**unit, "window": window} if window not in (None, "") else unit


CSV_COLUMNS = {
    "层级": "level", "代码": "code", "名称": "name", "上级代码": "parent",
    "角色": "role", "姓名": "contact", "手机": "phone", "办公电话": "office_phone",
    "受理窗口": "window",
}
LEVEL_BY_NAME = {"市": "city", "地级市": "city", "区县": "district", "县": "district", "区": "district",
                 "乡镇": "township", "街道": "township",
                 "乡镇/街道": "township", "村": "village", "社区": "village", "村/社区": "village"}


def parse_csv(text: str) -> list[dict[str, Any]]:
    """One row per contact; a unit's rows repeat its code.  Headers in Chinese."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [h for h in ("层级", "代码", "名称", "上级代码") if h not in (reader.fieldnames or ())]
    if missing:
        raise GridError([f"缺少列：{'、'.join(missing)}"])
    units: dict[str, dict[str, Any]] = {}
    clashes: list[str] = []
    for row in reader:
        row = {CSV_COLUMNS.get(k, k): (v or "").strip() for k, v in row.items() if k}
        level = LEVEL_BY_NAME.get(row["level"], row["level"])
        unit = units.setdefault(row["code"], {
            "code": row["code"], "level": level, "name": row["name"],
            "parent": row["parent"] or None, "contacts": [],
        })
        clashes += _csv_window(unit, row.get("window", ""))
        if row.get("contact"):
            unit["contacts"].append(_contact({**row, "name": row["contact"]}))
    try:
        checked = validate_units(list(units.values()))
    except GridError as exc:
        raise GridError(clashes + exc.problems) from None
    if clashes:
        raise GridError(clashes)
    return checked


def _csv_window(unit: dict[str, Any], window: str) -> list[str]:
    """A unit's rows repeat it; its window may be on any one of them, the same on all."""
    if not window or unit.get("window") == window:
        return []
    if unit.get("window"):
        return [f"{unit['name'] or '?'}（{unit['code'] or '无代码'}）：受理窗口前后两行写得不一样"]
    unit["window"] = window
    return []


def validate_units(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems: list[str] = []
    levels = {u["code"]: u["level"] for u in units}
    seen: set[str] = set()
    for unit in units:
        label = f"{unit.get('name') or '?'}（{unit['code'] or '无代码'}）"
        problems += _unit_problems(unit, label, levels)
        if unit["code"] in seen:
            problems.append(f"{label}：代码重复")
        seen.add(unit["code"])
    if problems:
        raise GridError(problems)
    return units


def _unit_problems(unit: dict[str, Any], label: str, levels: dict[str, str]) -> list[str]:
    problems = []
    level = unit["level"]
    if level not in LEVELS:
        return [f"{label}：层级“{level}”应为 市、区县、乡镇/街道 或 村/社区"]
    if not unit["code"].isdigit() or len(unit["code"]) != CODE_LENGTH[level]:
        problems.append(f"{label}：{LEVEL_NAMES[level]}代码应为{CODE_LENGTH[level]}位数字")
    if not unit["name"]:
        problems.append(f"{label}：缺少名称")
    parent = levels.get(unit["parent"]) if unit["parent"] else None
    if level in ("township", "village") and unit["parent"] not in levels:
        problems.append(f"{label}：上级代码 {unit['parent']} 不存在")
    elif unit["parent"] and parent is not None and CHILD_LEVEL.get(parent) != level:
        problems.append(f"{label}：上级 {unit['parent']} 是{LEVEL_NAMES.get(parent, parent)}，"
                        f"不能直接管{LEVEL_NAMES[level]}")
    elif level == "district" and unit["parent"] and parent is None:
        problems.append(f"{label}：上级代码 {unit['parent']} 不存在")
    elif level == "city" and unit["parent"]:
        problems.append(f"{label}：市是最高一级，不应有上级")
    for contact in unit["contacts"]:
        problems += _contact_problems(contact, label)
    return problems + _window_problems(unit, label)


def _window_problems(unit: dict[str, Any], label: str) -> list[str]:
    window = unit.get("window", "")
    if not window:
        return []
    if unit["level"] != "township":
        return [f"{label}：只有乡镇/街道填写受理窗口"]
    if not isinstance(window, str) or not _one_line(window):
        return [f"{label}：受理窗口只能写一行文字，不能有换行或控制字符"]
    if len(window) > WINDOW_LONGEST:
        return [f"{label}：受理窗口最多写{WINDOW_LONGEST}个字"]
    if MOBILE_INSIDE.search(re.sub(r"[\s-]", "", window)):
        return [f"{label}：受理窗口会在门户上公开，不要写手机号，电话请填在办公电话里"]
    return []


def _contact_problems(contact: dict[str, str], label: str) -> list[str]:
    problems = []
    who = f"{label} 的 {contact['name'] or '联系人'}"
    if contact["role"] not in ROLES:
        problems.append(f"{who}：角色应为 网格长 或 网格员")
    if not contact["name"]:
        problems.append(f"{who}：缺少姓名")
    if contact["phone"] and not MOBILE.match(contact["phone"]):
        problems.append(f"{who}：手机号码应为11位")
    if contact["office_phone"] and not LANDLINE.match(contact["office_phone"]):
        problems.append(f"{who}：办公电话应带区号，如 0632-4412345")
    return problems


def _one_line(text: str) -> bool:
    # Not str.isprintable(): that refuses the full-width space (　) people type in Chinese text.
    return not any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
                   for ch in text)


def save(store: Store, units: list[dict[str, Any]]) -> int:
    """Upsert by code: re-importing a corrected file updates units, never drops data."""
    with store.transaction(Store.GRID) as shards:
        grid = shards[Store.GRID]
        merged = {u["code"]: _public_shape(u) for u in grid.all("units")}
        merged.update({u["code"]: u for u in units})
        grid.replace_all("units", sorted(merged.values(), key=lambda u: u["code"]))
    return len(units)


def import_file(store: Store, path: str | Path) -> int:
    return save(store, parse_file(path))
