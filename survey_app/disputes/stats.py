"""综合分析: the figures of a set of dispute items, worked out from the items alone.

Pure computation: the caller passes the items it may show (``ledger.visible``), the intake
form (the seven categories and their order), the rules (departments), the calendar and
``today``; nothing here reads the store or the clock, so every figure is exactly testable.

Definitions (the page and the exports say the same):

- **open / closed**: the item's state now; **overdue now**: open and past its due date in
  working days (``ledger.overdue``: due on Friday is not late on Saturday).
- **handling time** (办理用时): for each item closed now, the working days from the date it
  was received to the date of its *first* reply (``WorkCalendar.between``: a reply on the day
  of receipt is 0).  A reopened item is measured to the first reply too, which stays.  The
  average is rounded half up to one decimal; the worst names its item.
- **overdue rate** (逾期率) = late items / all items, where an item is *late* when it is closed
  and the day it was (last) closed is past its due date in working days, or it is open and
  overdue now.  A closed item's due date is the one in force when it was closed: only a
  reopening sets a new one.
- **class**: the current class of each item, and how many items were ever escalated into
  that class (an ``escalate`` event naming it); a class set directly (``classify``) is not
  an escalation.
- **department**: items ever routed to it (``held_by``), and of those the open items it
  holds now (``holders``): what is on its desk.
- **repeat parties**: the same person (name folded as the form folds it, and the phone's
  digits) with two or more items; only the masked name is ever shown, never the phone.
  **repeat households**: the same household reference on two or more items.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .. import textnorm
from ..formdef import FormDefinition
from ..privacy import mask_name
from ..workdays import WorkCalendar
from . import ledger
from .rules import CLASS_LABELS, CLASSES, DisputeRules

SATISFACTION_LABELS = {"satisfied": "满意", "basically": "基本满意", "dissatisfied": "不满意"}
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# -- selecting ------------------------------------------------------------------------------------
def received_on(item: Mapping[str, Any]) -> dt.date:
    """The day an item was received (stamps are written in the campaign's time zone)."""
    return dt.date.fromisoformat(item["received_at"][:10])


def month_of(item: Mapping[str, Any]) -> str:
    return item["received_at"][:7]


def parse_month(text: Any) -> str | None:
    """"2026-09" as typed in a month field, or None when it is not a month."""
    text = str(text or "").strip()
    return text if MONTH.match(text) else None


def in_period(items: Iterable[Mapping[str, Any]], first: str | None, last: str | None) -> list:
    """The items received in the months ``first``..``last`` (either end may be open)."""
    return [item for item in items
            if (first is None or month_of(item) >= first) and (last is None or month_of(item) <= last)]


def by_ref(item: Mapping[str, Any]) -> tuple[str, int]:
    """Items in the order they were numbered: township, then number (…-2 before …-10)."""
    return ledger.parse_ref(item["ref"])


# -- the figures ----------------------------------------------------------------------------------
def summarise(items: Sequence[Mapping[str, Any]], *, definition: FormDefinition, rules: DisputeRules,
              calendar: WorkCalendar, village_names: Mapping[str, str], today: dt.date,
              first: str | None = None, last: str | None = None) -> dict[str, Any]:
    """Every figure of the 综合分析 page and exports.  ``first``/``last`` (YYYY-MM), when given,
    widen the month rows to the period asked for, so a quiet month shows as 0."""
    items = sorted(items, key=by_ref)
    late = [i for i in items if is_late(i, calendar, today)]
    return {
        "total": len(items),
        "open": sum(i["state"] == "open" for i in items),
        "closed": sum(i["state"] == "closed" for i in items),
        "overdue": sum(ledger.overdue(i, calendar, today) for i in items),
        "late": len(late),
        "overdue_rate": len(late) / len(items) if items else None,
        "overdue_rate_text": rate_text(len(late), len(items)),
        "handling": handling(items, calendar),
        "escalated": sum(any(e["action"] == "escalate" for e in i["events"]) for i in items),
        "by_category": by_category(items, definition),
        "by_class": by_class(items),
        "by_department": by_department(items, rules),
        "by_village": by_village(items, village_names, calendar, today),
        "by_month": by_month(items, first, last),
        "satisfaction": satisfaction(items),
        "repeat_parties": repeat_parties(items),
        "repeat_households": repeat_households(items, village_names),
    }


def is_late(item: Mapping[str, Any], calendar: WorkCalendar, today: dt.date) -> bool:
    """Closed after its due date, or open and past it now (see the module's definitions)."""
    if item["state"] == "closed":
        closed = dt.date.fromisoformat(item["closed_at"][:10])
        return ledger.days_left(item, calendar, closed) < 0
    return ledger.overdue(item, calendar, today)


def handling_days(item: Mapping[str, Any], calendar: WorkCalendar) -> int:
    return calendar.between(received_on(item), dt.date.fromisoformat(item["reply"]["at"][:10]))


def handling(items: Sequence[Mapping[str, Any]], calendar: WorkCalendar) -> dict[str, Any]:
    """Closed items' working days to the first reply: how many, the average (one decimal, half
    up), and the worst with its item (the first numbered of equals)."""
    measured = [(handling_days(i, calendar), i["ref"]) for i in items
                if i["state"] == "closed" and i.get("reply")]
    if not measured:
        return {"count": 0, "average": None, "worst": None, "worst_ref": None}
    average = (Decimal(sum(d for d, _ in measured)) / len(measured)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP)
    worst, worst_ref = max(measured, key=lambda m: m[0])  # max keeps the first of equals
    return {"count": len(measured), "average": float(average), "worst": worst, "worst_ref": worst_ref}


def by_category(items: Sequence[Mapping[str, Any]], definition: FormDefinition) -> list[dict[str, Any]]:
    """The form's categories in its order, a row for each even when nothing falls in it."""
    counts = Counter(i["answers"].get("category") for i in items)
    return [{"key": c.value, "name": c.label, "count": counts.get(c.value, 0)}
            for c in definition.field("category").choices]


def by_class(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    current = Counter(i["level"] for i in items)
    escalated: Counter = Counter()
    for item in items:
        escalated.update({e["level"] for e in item["events"] if e["action"] == "escalate"})
    return [{"key": level, "name": CLASS_LABELS[level], "current": current.get(level, 0),
             "escalated": escalated.get(level, 0)} for level in CLASSES]


def by_department(items: Sequence[Mapping[str, Any]], rules: DisputeRules) -> list[dict[str, Any]]:
    """Every department of the rules, in their order (zero rows too), then any key an item
    names that the rules no longer list, so no routed item drops out of the table."""
    routed: Counter = Counter()
    holding: Counter = Counter()
    for item in items:
        routed.update(set(item.get("held_by", ())))
        if item["state"] == "open":
            holding.update(set(item.get("holders", ())))
    keys = [key for key, _ in rules.departments]
    keys += sorted(set(routed) - set(keys))
    return [{"key": key, "name": rules.department_name(key), "routed": routed.get(key, 0),
             "holding": holding.get(key, 0)} for key in keys]


def by_village(items: Sequence[Mapping[str, Any]], names: Mapping[str, str], calendar: WorkCalendar,
               today: dt.date) -> list[dict[str, Any]]:
    """The villages that have items, by code: how many, how many open, how many overdue."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        code = item["village"]
        row = rows.setdefault(code, {"code": code, "name": names.get(code, code),
                                     "count": 0, "open": 0, "overdue": 0})
        row["count"] += 1
        row["open"] += item["state"] == "open"
        row["overdue"] += ledger.overdue(item, calendar, today)
    return [rows[code] for code in sorted(rows)]


def by_month(items: Sequence[Mapping[str, Any]], first: str | None = None,
             last: str | None = None) -> list[dict[str, Any]]:
    """Items per month of receipt, every month from the first to the last (of the items, or of
    the period asked for) with the empty ones at 0: a chart with gaps would hide a quiet month."""
    counts = Counter(month_of(i) for i in items)
    ends = sorted(set(counts) | {m for m in (first, last) if m})
    if not ends:
        return []
    start, stop = first or ends[0], last or ends[-1]
    months, (year, month) = [], (int(start[:4]), int(start[5:]))
    while f"{year:04d}-{month:02d}" <= stop:
        key = f"{year:04d}-{month:02d}"
        months.append({"month": key, "count": counts.get(key, 0)})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def satisfaction(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each answer of the party's satisfaction, then the closed items not yet asked (未评价)."""
    counts = Counter(i.get("satisfaction") for i in items)
    rows = [{"key": key, "name": name, "count": counts.get(key, 0)}
            for key, name in SATISFACTION_LABELS.items()]
    unrated = sum(i["state"] == "closed" and not i.get("satisfaction") for i in items)
    return [*rows, {"key": "unrated", "name": "未评价", "count": unrated}]


def party_key(answers: Mapping[str, Any]) -> tuple[str, str]:
    """One person: the name folded as the intake form folds it, any case, and the phone's digits."""
    name = textnorm.person_name(str(answers.get("party_name") or "")).casefold()
    return name, re.sub(r"\D", "", str(answers.get("party_phone") or ""))


def repeat_parties(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Parties with two or more items, most items first: the masked name, the count, the items.
    The key (with the phone) never leaves this function."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        groups[party_key(item["answers"])].append(item)
    found = [{"name": mask_name(group[0]["answers"].get("party_name", "")), "count": len(group),
              "refs": [i["ref"] for i in group]} for group in groups.values() if len(group) >= 2]
    return sorted(found, key=lambda row: -row["count"])  # stable: equals stay in item order


def repeat_households(items: Sequence[Mapping[str, Any]],
                      names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Households with two or more items (items taken in during a visit name theirs)."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        if item.get("household"):
            groups[item["household"]].append(item)
    found = [{"household": ref, "village": group[0]["village"],
              "village_name": names.get(group[0]["village"], group[0]["village"]), "count": len(group),
              "refs": [i["ref"] for i in group]} for ref, group in groups.items() if len(group) >= 2]
    return sorted(found, key=lambda row: -row["count"])


def rate_text(late: int, of: int) -> str:
    """3 of 8 → "37.5%" (half up, one decimal, from the counts: no float rounding), none → "—"."""
    if not of:
        return "—"
    return f"{(Decimal(late * 100) / of).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"
