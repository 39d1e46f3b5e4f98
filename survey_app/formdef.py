"""Form definitions as data (forms/*.toml), and the one validator they drive.

The same :class:`FormDefinition` renders the web form, validates web and API
submissions, lays out the printed paper form and names the export columns, so
a field added to the TOML appears everywhere at once.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import idcard
from .i18n import lazy


class DefinitionError(ValueError):
    """The TOML itself is wrong: fail loudly at load, never at a user."""


class FieldError(ValueError):
    """One answer is not acceptable; the message is shown next to the field."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    label_en: str = ""


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


# -- answer types -------------------------------------------------------------
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3})-?(\d{7,8})$")


def _clean_text(raw: Any, limit: int) -> str:
    text = str(raw).strip()
    if len(text) > limit:
        raise FieldError(lazy("不能超过%(n)d个字。", n=limit))
    return text


def _clean_select(raw: Any, fld: Field, _answers: Mapping) -> str:
    value = str(raw).strip()
    if value not in {c.value for c in fld.choices}:
        raise FieldError(lazy("请从选项中选择。"))
    return value


def _clean_phone(raw: Any, _fld: Field, _answers: Mapping) -> str:
    compact = re.sub(r"[\s()（）]", "", str(raw))
    if MOBILE.match(compact):
        return compact
    landline = LANDLINE.match(compact)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise FieldError(lazy("请填写11位手机号码，或带区号的固定电话（如0632-4412345）。"))


def _clean_id(raw: Any, _fld: Field, answers: Mapping) -> idcard.IdNumber:
    try:
        return idcard.parse(str(raw), upgrade_confirmed=bool(answers.get("confirm_id_upgrade")))
    except idcard.IdNumberError as exc:
        raise FieldError(exc.args[0]) from None


def _clean_date(raw: Any, _fld: Field, _answers: Mapping) -> str:
    try:
        return dt.date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise FieldError(lazy("日期格式应为 年-月-日，如 1990-01-31。")) from None


def _clean_integer(raw: Any, _fld: Field, _answers: Mapping) -> int:
    text = str(raw).strip()
    if not re.fullmatch(r"-?\d{1,6}", text):
        raise FieldError(lazy("请填写整数。"))
    return int(text)


def _clean_confirm(raw: Any, _fld: Field, _answers: Mapping) -> bool:
    return raw in (True, "1", "on", "true", "yes", "y")


TYPES: Mapping[str, Callable[[Any, Field, Mapping], Any]] = MappingProxyType({
    "text": lambda raw, _f, _a: _clean_text(raw, 100),
    "textarea": lambda raw, _f, _a: _clean_text(raw, 500),
    "select_one": _clean_select,
    "id_number": _clean_id,
    "phone": _clean_phone,
    "date": _clean_date,
    "integer": _clean_integer,
    "confirm": _clean_confirm,
})

NAME_CHARS = re.compile(r"^[\u3400-\u9fffA-Za-z·•．. ]+$")


def _person_name(value: str) -> None:
    if not 2 <= len(value) <= 30 or not NAME_CHARS.match(value):
        raise FieldError(lazy("姓名应为2到30个汉字或字母，少数民族姓名可用“·”分隔。"))


def _address(value: str) -> None:
    if len(value) < 4:
        raise FieldError(lazy("地址太短，请写到门牌号。"))


def _household_size(value: int) -> None:
    if not 1 <= value <= 50:
        raise FieldError(lazy("家庭人口数应在1到50之间。"))


CONSTRAINTS: Mapping[str, Callable[[Any], None]] = MappingProxyType({
    "person_name": _person_name,
    "address": _address,
    "remark": lambda value: None,  # the type's length limit is the rule
    "household_size": _household_size,
})


# -- relevance ------------------------------------------------------------------
def _condition_holds(condition: tuple, answers: Mapping[str, Any]) -> bool:
    name, op, expected = condition
    actual = answers.get(name)
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


def conditions_hold(all_of: tuple, any_of: tuple, answers: Mapping[str, Any]) -> bool:
    if not all(_condition_holds(c, answers) for c in all_of):
        return False
    return not any_of or any(_condition_holds(c, answers) for c in any_of)


# -- the definition -----------------------------------------------------------------
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

    def is_asked(self, section: Section, fld: Field, answers: Mapping[str, Any]) -> bool:
        return conditions_hold(section.relevant, section.relevant_any, answers) and \
            conditions_hold(fld.relevant, fld.relevant_any, answers)

    def validate(self, answers: Mapping[str, Any], *, partial: bool = False) -> Result:
        """Clean every asked field; irrelevant answers are dropped, never stored.

        ``partial`` (暂存, a form saved with what is known so far): a required
        answer not given is listed in ``missing`` instead of being an error;
        every answer given is still checked.
        """
        result = Result()
        for section in self.sections:
            for fld in section.fields:
                if fld.derived or not self.is_asked(section, fld, answers):
                    continue
                self._validate_field(fld, answers, result, partial)
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
                CONSTRAINTS[fld.constraint](value)
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


def _conditions(raw: Any) -> tuple[tuple, ...]:
    return tuple(
        (c[0], c[1], tuple(c[2]) if isinstance(c[2], list) else c[2]) for c in (raw or ())
    )


def _build_field(raw: dict, choices: dict[str, list[dict]], form_id: str) -> Field:
    kind = raw.get("type")
    if kind not in TYPES:
        raise DefinitionError(f"{form_id}: field {raw.get('name')!r} has unknown type {kind!r}")
    constraint = raw.get("constraint")
    if constraint and constraint not in CONSTRAINTS:
        raise DefinitionError(f"{form_id}: unknown constraint {constraint!r}")
    choice_list = ()
    if kind == "select_one":
        if raw.get("choices") not in choices:
            raise DefinitionError(f"{form_id}: {raw['name']} names missing choices")
        choice_list = tuple(Choice(str(c["value"]), c["label"], c.get("label_en", ""))
                            for c in choices[raw["choices"]])
    return Field(
        type=kind, name=raw["name"], label=raw["label"], label_en=raw.get("label_en", ""),
        required=bool(raw.get("required", False)), choices=choice_list, constraint=constraint,
        relevant=_conditions(raw.get("relevant")),
        relevant_any=_conditions(raw.get("relevant_any")),
        derived=raw.get("derived"), hint=raw.get("hint", ""),
    )


def parse_definition(raw: dict) -> FormDefinition:
    meta = raw.get("form", {})
    form_id = meta.get("id", "?")
    choices = raw.get("choices", {})
    sections = tuple(
        Section(
            name=s["name"], label=s["label"], label_en=s.get("label_en", ""),
            fields=tuple(_build_field(f, choices, form_id) for f in s.get("fields", ())),
            relevant=_conditions(s.get("relevant")),
            relevant_any=_conditions(s.get("relevant_any")),
        )
        for s in raw.get("sections", ())
    )
    names = [f.name for s in sections for f in s.fields]
    if len(names) != len(set(names)):
        raise DefinitionError(f"{form_id}: duplicate field names")
    return FormDefinition(form_id, meta.get("title", form_id), str(meta.get("version", "")),
                          sections, meta.get("title_en", ""))


@lru_cache(maxsize=16)
def load(forms_dir: str, form_id: str) -> FormDefinition:
    path = Path(forms_dir) / f"{form_id}.toml"
    with open(path, "rb") as handle:
        return parse_definition(tomllib.load(handle))


def to_json(definition: FormDefinition) -> dict[str, Any]:
    """The definition as the browser and API clients see it (relevance included)."""
    return {
        "id": definition.id, "title": definition.title, "version": definition.version,
        "sections": [
            {
                "name": s.name, "label": s.label,
                "relevant": [list(c) for c in s.relevant],
                "relevant_any": [list(c) for c in s.relevant_any],
                "fields": [
                    {
                        "type": f.type, "name": f.name, "label": f.label,
                        "required": f.required, "derived": f.derived, "hint": f.hint,
                        "relevant": [list(c) for c in f.relevant],
                        "relevant_any": [list(c) for c in f.relevant_any],
                        "choices": [{"value": c.value, "label": c.label} for c in f.choices],
                    }
                    for f in s.fields
                ],
            }
            for s in definition.sections
        ],
    }
