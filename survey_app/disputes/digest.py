"""每日到期提醒: what falls due, computed from items alone (no store, no request), so the page,
the command line and the tests share one answer.

An open item is in the digest when it is overdue, due today, or due within the next
``HORIZON`` working days (the calendar decides what a working day is).  Closed items never
are.  Items are grouped for the reader: township staff by village, a department's people by
who holds the item now.  The text form (one file per recipient) names items by number, the
party by a masked name and the days left: never a phone number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..privacy import mask_name
from ..workdays import WorkCalendar

HORIZON = 2  # working days ahead that a digest warns of
BUCKETS = ("overdue", "today", "soon")
BUCKET_TITLES = {"overdue": "逾期", "today": "今日到期", "soon": f"{HORIZON}个工作日内到期"}
UNHELD = "未分派（待分类转办）"


@dataclass(frozen=True)
class Line:
    ref: str
    name: str            # the party's name as recorded (masked only when written out as text)
    village: str
    village_name: str
    holders: tuple[str, ...]  # department names, in the rules' order
    days: int            # working days left: 0 on the due date, below zero when overdue
    due: str


@dataclass(frozen=True)
class Group:
    title: str
    overdue: tuple[Line, ...] = ()
    today: tuple[Line, ...] = ()
    soon: tuple[Line, ...] = ()

    def buckets(self) -> list[tuple[str, tuple[Line, ...]]]:
        return [(b, getattr(self, b)) for b in BUCKETS if getattr(self, b)]


@dataclass(frozen=True)
class Digest:
    day: dt.date
    groups: tuple[Group, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {b: sum(len(getattr(g, b)) for g in self.groups) for b in BUCKETS}

    @property
    def empty(self) -> bool:
        return not self.groups


def days_left(item: Mapping[str, Any], calendar: WorkCalendar, today: dt.date) -> int:
    return calendar.between(today, dt.date.fromisoformat(item["due"]))


def bucket(days: int, horizon: int = HORIZON) -> str | None:
    if days < 0:
        return "overdue"
    if days == 0:
        return "today"
    return "soon" if days <= horizon else None


def days_text(days: int) -> str:
    """How the digest and the lists say it: 逾期 N 个工作日 / 今日到期 / 剩 N 个工作日."""
    if days < 0:
        return f"逾期 {-days} 个工作日"
    return "今日到期" if days == 0 else f"剩 {days} 个工作日"


GroupOf = Callable[[Mapping[str, Any]], tuple[Any, str]]  # an item → (sort key, group title)


def by_village(village_names: Mapping[str, str]) -> GroupOf:
    return lambda item: (item["village"], village_names.get(item["village"], item["village"]))


def by_holders(departments: Iterable[tuple[str, str]]) -> GroupOf:
    """One group per set of current holders (税务; 税务、医保 …), in the rules' order."""
    order = {key: (i, name) for i, (key, name) in enumerate(departments)}

    def group_of(item: Mapping[str, Any]) -> tuple[Any, str]:
        held = sorted(order.get(k, (len(order), k)) for k in item.get("holders", ()))
        if not held:
            return ((len(order) + 1,), UNHELD)
        return (tuple(i for i, _ in held), "、".join(name for _, name in held))
    return group_of


def build(items: Iterable[Mapping[str, Any]], calendar: WorkCalendar, today: dt.date,
          group_of: GroupOf, *, village_names: Mapping[str, str] | None = None,
          department_name: Callable[[str], str] = str, horizon: int = HORIZON) -> Digest:
    """The digest of ``items`` as of ``today``: open items due within ``horizon`` working days or
    late, grouped by ``group_of``; in each bucket the latest first, then by item number."""
    names = village_names or {}
    found: dict[Any, tuple[str, dict[str, list[Line]]]] = {}
    for item in items:
        if item.get("state") != "open":
            continue
        days = days_left(item, calendar, today)
        where = bucket(days, horizon)
        if where is None:
            continue
        key, title = group_of(item)
        line = Line(item["ref"], str(item.get("answers", {}).get("party_name", "")), item["village"],
                    names.get(item["village"], item["village"]),
                    tuple(department_name(k) for k in item.get("holders", ())), days, item["due"])
        found.setdefault(key, (title, {b: [] for b in BUCKETS}))[1][where].append(line)
    groups = tuple(Group(title, *(tuple(sorted(lines[b], key=_line_order)) for b in BUCKETS))
                   for _key, (title, lines) in sorted(found.items(), key=lambda kv: kv[0]))
    return Digest(today, groups)


def _line_order(line: Line) -> tuple[int, str, int]:
    township, _, number = line.ref.partition("-")
    return line.days, township, int(number) if number.isdigit() else 0


def summary(counts: Mapping[str, int]) -> str:
    return " · ".join(f"{BUCKET_TITLES[b]} {counts[b]} 件" for b in BUCKETS)


def render_text(digest: Digest, recipient: str) -> str:
    """The digest as a plain UTF-8 text for one recipient: masked names, no phone numbers."""
    out = [f"每日到期提醒 · {digest.day.isoformat()}", recipient, summary(digest.counts)]
    for group in digest.groups:
        out += ["", f"【{group.title}】"]
        for where, lines in group.buckets():
            out.append(f"{BUCKET_TITLES[where]}：")
            out += [f"  {line.ref}  {mask_name(line.name)}  {days_text(line.days)}  "
                    f"{line.village_name} · {'、'.join(line.holders) or UNHELD}" for line in lines]
    return "\n".join(out) + "\n"


def for_everyone(ledgers: Mapping[str, list[Mapping[str, Any]]], calendar: WorkCalendar,
                 today: dt.date, *, unit_names: Mapping[str, str],
                 departments: Iterable[tuple[str, str]]) -> list[tuple[str, str, Digest]]:
    """(file stem, recipient, digest) of every township (its staff: by village) and every
    department (what it holds now, across the ledgers: by holders) with anything in its digest.
    ``ledgers``: township code → its items (with their refs); ``unit_names``: code → name."""
    departments = list(departments)
    name_of = dict(departments)
    out = []
    for township, items in sorted(ledgers.items()):
        found = build(items, calendar, today, by_village(unit_names), village_names=unit_names,
                      department_name=lambda k: name_of.get(k, k))
        if not found.empty:
            recipient = f"{unit_names.get(township, township)}（乡镇工作人员）"
            out.append((f"township-{township}", recipient, found))
    every = [item for items in ledgers.values() for item in items]
    for key, name in departments:
        held = [item for item in every if key in item.get("holders", ())]
        found = build(held, calendar, today, by_holders(departments), village_names=unit_names,
                      department_name=lambda k: name_of.get(k, k))
        if not found.empty:
            out.append((f"department-{key}", f"{name}（部门经办人员）", found))
    return out
