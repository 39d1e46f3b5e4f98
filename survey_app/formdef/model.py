"""What a form definition is made of: choices, checks, fields, sections, and a validation's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .conditions import json_conditions


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    label_en: str = ""


@dataclass(frozen=True)
class Check:
    """A rule on a field's answer: when every condition holds, the answer is refused."""

    when: tuple[tuple, ...]
    message: str
    message_en: str = ""

    @property
    def json(self) -> dict[str, Any]:
        """As the browser and API clients see it."""
        return {"when": json_conditions(self.when), "message": self.message}


@dataclass(frozen=True)
class Field:
    type: str
    name: str
    label: str
    label_en: str = ""
    required: bool = False
    choices: tuple[Choice, ...] = ()
    constraint: str | None = None
    relevant: tuple[tuple, ...] = ()
    relevant_any: tuple[tuple, ...] = ()
    derived: str | None = None
    hint: str = ""
    hint_en: str = ""
    checks: tuple[Check, ...] = ()

    def choice(self, value: Any) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)

    def choice_label(self, value: Any) -> str:
        found = self.choice(value)
        return found.label if found else ""


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    fields: tuple[Field, ...]
    label_en: str = ""
    relevant: tuple[tuple, ...] = ()
    relevant_any: tuple[tuple, ...] = ()


@dataclass
class Result:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # required answers not given (a partial save)

    @property
    def ok(self) -> bool:
        return not self.errors
