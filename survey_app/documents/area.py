"""The area a document covers: a village, or a township, district or city, checked against
the caller's area."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..grid import Grid
from ..registry import Scope
from .pdf import DocumentError


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    township: dict[str, Any]
    villages: tuple[str, ...]
    unit: dict[str, Any]

    @property
    def is_village(self) -> bool:
        return self.unit["level"] == "village"


def resolve_area(grid: Grid, scope: Scope, *, village: str | None = None,
                 township: str | None = None) -> Area:
    """The village, or the township, district or city (``township=``), if it exists and is
    wholly in the caller's area."""
    code = (village or township or "").strip()
    unit = grid.get(code)
    levels = ("village",) if village else ("township", "district", "city")
    villages = tuple(grid.villages_under(code)) if unit and unit["level"] in levels else ()
    if not villages or not set(villages) <= scope.villages:
        # Unknown and out-of-area read the same, as everywhere else in the app.
        raise DocumentError(f"找不到{'村（社区）' if village else '乡镇（街道）或区县'}代码“{code}”，"
                            "或不在您的管辖范围内。")
    office = grid.township_of(code) if village else unit  # whose folder the file goes in
    return Area(code, unit["name"], office, villages, unit)
