"""The condition language of relevance and checks: answers and ages compared, as the TOML writes them."""

from __future__ import annotations

import calendar
import datetime as dt
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .. import idcard
from .errors import DefinitionError

# A condition is [subject, op, value].  Its subject is either a field, compared with
#   == / != a choice value, in a list of them, or length (characters of an ID number);
# or a quantity derived from the form's ID number (QUANTITIES), compared with
#   >= > < <= a whole number of its unit.
FIELD_OPS = frozenset({"==", "!=", "in", "length"})
COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = MappingProxyType({
    ">=": operator.ge, ">": operator.gt, "<": operator.lt, "<=": operator.le,
})
# Time since the birth date in the ID number, in calendar months per unit.  The age is
# N on the day N years (months) after birth: ["age", ">=", 16] holds from the 16th
# birthday on, ["age_months", "<=", 6] until the day six months after birth, included.
# A date the month lacks (31 August + 6 months, 29 February + 16 years) is its last day.
# While the number cannot be read, the age is unknown and no age term holds.
QUANTITIES: Mapping[str, int] = MappingProxyType({"age": 12, "age_months": 1})


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later, or that month's last day."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Facts:
    """What conditions read: the answers of the fields asked, the birth date they show, today."""

    answers: Mapping[str, Any]
    birth: dt.date | None = None
    today: dt.date | None = None


def json_conditions(conditions: tuple[tuple, ...]) -> list[list]:
    """Conditions as JSON lists, as the TOML wrote them."""
    return [[name, op, list(value) if isinstance(value, tuple) else value]
            for name, op, value in conditions]


def _condition_holds(condition: tuple, facts: Facts | Mapping[str, Any]) -> bool:
    if not isinstance(facts, Facts):
        facts = Facts(facts)
    name, op, expected = condition
    if name in QUANTITIES:
        if facts.birth is None:
            return False
        anniversary = add_months(facts.birth, expected * QUANTITIES[name])
        return COMPARISONS[op](facts.today or idcard.current_date(), anniversary)
    actual = facts.answers.get(name)
    actual = "" if actual is None else str(actual).strip()
    if op == "==":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "length":
        return len(idcard.normalise(actual)) == expected
    raise DefinitionError(f"unknown operator {op!r}")


def conditions_hold(all_of: tuple, any_of: tuple, facts: Facts | Mapping[str, Any]) -> bool:
    if not isinstance(facts, Facts):
        facts = Facts(facts)
    if not all(_condition_holds(c, facts) for c in all_of):
        return False
    return not any_of or any(_condition_holds(c, facts) for c in any_of)
