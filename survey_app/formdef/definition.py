"""The FormDefinition: which fields a set of answers asks, and the validation of those answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import idcard
from ..i18n import lazy
from .cleaners import CONSTRAINTS, TYPES
from .conditions import Facts, conditions_hold
from .errors import DefinitionError, FieldError
from .model import Field, Result, Section


@dataclass(frozen=True)
class FormDefinition:
    id: str
    title: str
    version: str
    sections: tuple[Section, ...]
    title_en: str = ""

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sections for f in s.fields)

    def field(self, name: str) -> Field:
        found = self.find(name)
        if found is None:
            raise KeyError(name)
        return found

    def find(self, name: str) -> Field | None:
        """The field, or None for a name it no longer has (an answer kept from an older form)."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    @property
    def id_field(self) -> str | None:
        """The ID number field that age terms count from (the first of its type)."""
        return next((f.name for f in self.fields if f.type == "id_number"), None)

    def settle(self, answers: Mapping[str, Any],
               today: dt.date | None = None) -> tuple[frozenset[str], Facts]:
        """The names of the fields asked, and the facts their conditions were read from.

        A field not asked counts as unanswered in every condition, wherever it stands
        in the form (a child's pension answer does not ask for a tier): the answers
        are read again without those of fields found not asked until nothing changes,
        at most once per level of dependency (they have no cycle: checked at load).
        static/app.js settles the web form the same way.
        """
        today = today or idcard.current_date()
        names = self.field_names
        id_field = self.id_field
        birth = idcard.birth_date_of(answers.get(id_field), today) if id_field else None
        asked = names
        for _ in range(len(names) + 1):
            facts = Facts({k: v for k, v in answers.items() if k in asked or k not in names},
                          birth if id_field in asked else None, today)
            now = frozenset(
                f.name for s in self.sections if conditions_hold(s.relevant, s.relevant_any, facts)
                for f in s.fields if conditions_hold(f.relevant, f.relevant_any, facts)
            )
            if now == asked:
                return asked, facts
            asked = now
        raise DefinitionError(f"{self.id}: relevance does not settle")  # not with a cycle refused

    def is_asked(self, section: Section, fld: Field, answers: Mapping[str, Any]) -> bool:
        return fld.name in self.settle(answers)[0]

    def validate(self, answers: Mapping[str, Any], *, partial: bool = False) -> Result:
        """Clean every asked field; irrelevant answers are dropped, never stored.

        ``partial`` (暂存, a form saved with what is known so far): a required
        answer not given is listed in ``missing`` instead of being an error;
        every answer given is still checked.
        """
        result = Result()
        asked, facts = self.settle(answers)
        for section in self.sections:
            for fld in section.fields:
                if fld.derived or fld.name not in asked:
                    continue
                self._validate_field(fld, answers, result, partial)
        self._apply_checks(facts, result)
        self._derive(result)
        return result

    def required_open(self, answers: Mapping[str, Any]) -> list[str]:
        """The required answers still to give, in form order (the form's progress)."""
        return self.validate(answers, partial=True).missing

    def _validate_field(self, fld: Field, answers: Mapping[str, Any], result: Result,
                        partial: bool = False) -> None:
        raw = answers.get(fld.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if fld.required and partial:
                result.missing.append(fld.name)
            elif fld.required:
                result.errors[fld.name] = lazy("此项必填。")
            return
        try:
            value = TYPES[fld.type](raw, fld, answers)
            if fld.constraint:
                cleaned = CONSTRAINTS[fld.constraint](value)
                value = value if cleaned is None else cleaned
        except FieldError as exc:
            result.errors[fld.name] = exc.args[0]
            return
        if isinstance(value, idcard.IdNumber):
            result.values[fld.name] = value.number
            result.values["_id"] = value
            if value.warnings:
                result.warnings[fld.name] = list(value.warnings)
        else:
            result.values[fld.name] = value

    def _apply_checks(self, facts: Facts, result: Result) -> None:
        """An answer given and accepted so far that a check's conditions show to be wrong."""
        for fld in self.fields:
            if fld.name not in result.values or fld.name in result.errors:
                continue
            failed = next((c for c in fld.checks if conditions_hold(c.when, (), facts)), None)
            if failed:
                result.errors[fld.name] = failed.message

    def _derive(self, result: Result) -> None:
        parsed: idcard.IdNumber | None = result.values.pop("_id", None)
        result.values.pop("confirm_id_upgrade", None)
        if parsed is None:
            return
        for fld in self.fields:
            if fld.derived and fld.type == "date":
                result.values[fld.name] = parsed.birth_date.isoformat()
        sex = result.values.get("sex")
        if sex and sex != parsed.sex and "sex" not in result.errors:
            result.errors["sex"] = lazy("性别与公民身份号码不符（号码第17位单数为男、双数为女）。")
