"""The portal's contact directory: the grid as district -> township -> village, public fields only.

Private fields (a grid member's mobile number) are dropped here, before anything
reaches a template, so no theme change can leak them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .grid import MOBILE_INSIDE
from .portal_errors import PortalError

log = logging.getLogger(__name__)

LEVELS = ("district", "township", "village")
MOBILE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True)
class PublicContact:
    role: str
    name: str
    office_phone: str
    # Set when office_phone is borrowed from a unit higher up (the township).
    office_phone_of: str = ""


@dataclass(frozen=True)
class PublicUnit:
    code: str
    level: str
    name: str
    contacts: tuple[PublicContact, ...]
    children: tuple[PublicUnit, ...] = ()
    window: str = ""  # a township's service window (受理窗口), plain text

    @property
    def office_phone(self) -> str:
        """The unit's own public line: its first contact with an office phone."""
        return _first_phone(self.contacts)

    @property
    def page(self) -> str:
        """Output path of the unit's directory page (townships only)."""
        return f"contacts/{self.code}.html"

    @property
    def villages(self) -> tuple[PublicUnit, ...]:
        return self.children


@dataclass(frozen=True)
class Directory:
    districts: tuple[PublicUnit, ...]

    @property
    def townships(self) -> tuple[PublicUnit, ...]:
        return tuple(t for d in self.districts for t in d.children)


def _office_phone(raw: Mapping[str, Any], where: str) -> str:
    phone = str(raw.get("office_phone") or "").strip()
    if MOBILE.search(phone.replace("-", "").replace(" ", "")):
        # A mobile typed into the office field is still someone's private number.
        log.warning("%s %s 的办公电话像是手机号，门户不公开", where, raw.get("name"))
        return ""
    return phone


def _window(unit: Mapping[str, Any]) -> str:
    """The township's window as the grid holds it; grid.py refuses a mobile in it, this is the
    last line should an older or hand-edited grid.json carry one."""
    window = str(unit.get("window") or "").strip() if unit["level"] == "township" else ""
    if MOBILE_INSIDE.search(re.sub(r"[\s-]", "", window)):
        log.warning("%s 的受理窗口里像是有手机号，门户不公开", unit["name"])
        return ""
    return window


def _first_phone(contacts: Iterable[PublicContact]) -> str:
    return next((c.office_phone for c in contacts if c.office_phone), "")


def _public_contacts(
    unit: Mapping[str, Any], fallback: str = "", fallback_of: str = ""
) -> tuple[PublicContact, ...]:
    """Keep only role, name and office phone: the fields meant for the public."""
    where = unit["name"]
    contacts = tuple(
        PublicContact(str(c["role"]), str(c["name"]).strip(), _office_phone(c, where))
        for c in unit.get("contacts", ())
    )
    if not fallback:
        return contacts
    return tuple(
        c if c.office_phone else PublicContact(c.role, c.name, fallback, fallback_of) for c in contacts
    )


def public_directory(grid_units: Sequence[Mapping[str, Any]]) -> Directory:
    """Arrange the grid as district -> township -> village with public fields only.

    A city above the districts is left out: residents look for their county's
    and township's offices, and each district then heads its own part.
    """
    cities = {str(u["code"]) for u in grid_units if u.get("level") == "city"}
    grid_units = [{**u, "parent": None} if u.get("parent") and str(u["parent"]) in cities else u
                  for u in grid_units if u.get("level") != "city"]
    by_code = {str(u["code"]): u for u in grid_units}
    children: dict[str, list[Mapping[str, Any]]] = {code: [] for code in by_code}
    roots = []
    for unit in grid_units:
        if unit.get("level") not in LEVELS:
            raise PortalError(f"网格 {unit.get('code')} 的层级不对：{unit.get('level')!r}")
        parent = unit.get("parent")
        if parent is None:
            roots.append(unit)
        elif str(parent) in children:
            children[str(parent)].append(unit)
        else:
            raise PortalError(f"网格 {unit['code']} 的上级 {parent} 不存在")

    def build(unit: Mapping[str, Any], depth: int, fallback: str, fallback_of: str) -> PublicUnit:
        expected = LEVELS[depth] if depth < len(LEVELS) else "（无）"
        if unit["level"] != expected:
            raise PortalError(f"网格 {unit['code']} 应是 {expected} 级，实际是 {unit['level']}")
        contacts = _public_contacts(unit, fallback, fallback_of)
        # A village without an office line is reached through its township's.
        own = _first_phone(contacts) if unit["level"] == "township" else ""
        kids = tuple(
            build(k, depth + 1, own, unit["name"] if own else "")
            for k in sorted(children[str(unit["code"])], key=lambda u: str(u["code"]))
        )
        return PublicUnit(str(unit["code"]), unit["level"], unit["name"], contacts, kids, _window(unit))

    directory = Directory(tuple(build(r, 0, "", "") for r in sorted(roots, key=lambda u: str(u["code"]))))
    placed = len(directory.districts) + sum(1 + len(t.villages) for t in directory.townships)
    if placed != len(grid_units):
        raise PortalError("网格编码有重复，或有网格没有挂到区县下面")
    return directory
