"""Form definitions as data (forms/*.toml), and the one validator they drive.

The same :class:`FormDefinition` renders the web form, validates web and API
submissions, lays out the printed paper form and names the export columns, so
a field added to the TOML appears everywhere at once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import idcard, textnorm
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


# -- answer types -------------------------------------------------------------
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3})-?(\d{7,8})$")


def _clean_text(raw: Any, limit: int) -> str:
    text = textnorm.fold_text(str(raw))
    if len(text) > limit:
        raise FieldError(lazy("不能超过%(n)d个字。", n=limit))
    return text


def _clean_select(raw: Any, fld: Field, _answers: Mapping) -> str:
    value = str(raw).strip()
    if value not in {c.value for c in fld.choices}:
        raise FieldError(lazy("请从选项中选择。"))
    return value


def _clean_phone(raw: Any, _fld: Field, _answers: Mapping) -> str:
    compact = re.sub(r"[()]", "", textnorm.phone(str(raw)))
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

# Every CJK ideograph a name may hold (GB 18030-2022): the basic block, extension A, the
# compatibility ideographs, 〇, and the supplementary planes' extensions B to H.
IDEOGRAPHS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
NAME_CHARS = re.compile(f"^[{IDEOGRAPHS}A-Za-z·' -]+$")
NAME_LONGEST = 50  # the norm's minimum field length for a name in government systems


def _person_name(value: str) -> str:
    name = textnorm.person_name(value)
    if not 2 <= len(name) <= NAME_LONGEST or not NAME_CHARS.match(name):
        raise FieldError(lazy("姓名应为2到%(n)d个汉字或字母，少数民族姓名各部分之间用“·”分隔。",
                              n=NAME_LONGEST))
    return name


def _address(value: str) -> None:
    if len(value) < 4:
        raise FieldError(lazy("地址太短，请写到门牌号。"))


def _household_size(value: int) -> None:
    if not 1 <= value <= 50:
        raise FieldError(lazy("家庭人口数应在1到50之间。"))


# A check raises FieldError; one that also tidies the answer (a name's separators) returns it.
CONSTRAINTS: Mapping[str, Callable[[Any], Any]] = MappingProxyType({
    "person_name": _person_name,
    "address": _address,
    "remark": lambda value: None,  # the type's length limit is the rule
    "household_size": _household_size,
})


# -- relevance ------------------------------------------------------------------
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


def _conditions(raw: Any, where: str) -> tuple[tuple, ...]:
    if not isinstance(raw or [], list) or \
            any(not isinstance(c, list) or len(c) != 3 for c in raw or ()):
        raise DefinitionError(f"{where}: a condition is [subject, op, value], in a list")
    return tuple(
        (c[0], c[1], tuple(c[2]) if isinstance(c[2], list) else c[2]) for c in (raw or ())
    )


CHECK_KEYS = frozenset({"when", "message", "message_en"})


def _build_check(raw: Any, where: str) -> Check:
    if not isinstance(raw, dict) or set(raw) - CHECK_KEYS:
        raise DefinitionError(f"{where}: a check has only {sorted(CHECK_KEYS)}")
    when = _conditions(raw.get("when"), where)
    if not when or not str(raw.get("message", "")).strip():
        raise DefinitionError(f"{where}: a check needs conditions (when) and a message")
    return Check(when, str(raw["message"]), str(raw.get("message_en", "")))


def _check_condition(condition: tuple, where: str, fields: Mapping[str, Field],
                     id_field: str | None) -> None:
    """Every term known, every operator fit for its subject: a typo fails here, at load."""
    subject, op, expected = condition
    if subject in QUANTITIES:
        if id_field is None:
            raise DefinitionError(f"{where}: {subject!r} is counted from an id_number field; "
                                  "the form has none")
        if op not in COMPARISONS:
            raise DefinitionError(f"{where}: {subject!r} is compared with {sorted(COMPARISONS)}, "
                                  f"not {op!r}")
        if not isinstance(expected, int) or isinstance(expected, bool):
            raise DefinitionError(f"{where}: {subject!r} is compared with a whole number")
        return
    fld = fields.get(subject)
    if fld is None:
        raise DefinitionError(f"{where}: unknown term {subject!r} (neither a field nor one of "
                              f"{sorted(QUANTITIES)})")
    if fld.derived:
        raise DefinitionError(f"{where}: {subject!r} is derived; use an age term")
    if op not in FIELD_OPS:
        raise DefinitionError(f"{where}: unknown operator {op!r} for field {subject!r}")
    fits = {"==": isinstance(expected, str), "!=": isinstance(expected, str),
            "in": isinstance(expected, tuple) and all(isinstance(v, str) for v in expected),
            "length": isinstance(expected, int) and not isinstance(expected, bool)}
    if not fits[op]:
        raise DefinitionError(f"{where}: {op!r} on {subject!r} does not take {expected!r}")


def _check_definition(form_id: str, sections: tuple[Section, ...]) -> None:
    fields = {f.name: f for s in sections for f in s.fields}
    clash = set(fields) & set(QUANTITIES)
    if clash:
        raise DefinitionError(f"{form_id}: a field may not be named {sorted(clash)}")
    id_field = next((f.name for f in fields.values() if f.type == "id_number"), None)
    depends: dict[str, set[str]] = {}
    for s in sections:
        for c in s.relevant + s.relevant_any:
            _check_condition(c, f"{form_id}: section {s.name}", fields, id_field)
        for f in s.fields:
            where = f"{form_id}: field {f.name}"
            for c in f.relevant + f.relevant_any + tuple(c for k in f.checks for c in k.when):
                _check_condition(c, where, fields, id_field)
            depends[f.name] = {id_field if c[0] in QUANTITIES else c[0]
                               for c in s.relevant + s.relevant_any + f.relevant + f.relevant_any}
    _refuse_cycles(form_id, depends)


def _refuse_cycles(form_id: str, depends: Mapping[str, set[str]]) -> None:
    """Relevance must not go round (a asked when b, b when a): it would never settle."""
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            loop = " → ".join(path[path.index(name):] + (name,))
            raise DefinitionError(f"{form_id}: relevance goes round: {loop}")
        if name in done:
            return
        for other in depends.get(name, ()):
            visit(other, path + (name,))
        done.add(name)

    for name in depends:
        visit(name, ())


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
    where = f"{form_id}: field {raw.get('name')}"
    return Field(
        type=kind, name=raw["name"], label=raw["label"], label_en=raw.get("label_en", ""),
        required=bool(raw.get("required", False)), choices=choice_list, constraint=constraint,
        relevant=_conditions(raw.get("relevant"), where),
        relevant_any=_conditions(raw.get("relevant_any"), where),
        derived=raw.get("derived"), hint=raw.get("hint", ""), hint_en=raw.get("hint_en", ""),
        checks=tuple(_build_check(c, where) for c in raw.get("checks", ())),
    )


def parse_definition(raw: dict) -> FormDefinition:
    meta = raw.get("form", {})
    form_id = meta.get("id", "?")
    choices = raw.get("choices", {})
    sections = tuple(
        Section(
            name=s["name"], label=s["label"], label_en=s.get("label_en", ""),
            fields=tuple(_build_field(f, choices, form_id) for f in s.get("fields", ())),
            relevant=_conditions(s.get("relevant"), f"{form_id}: section {s['name']}"),
            relevant_any=_conditions(s.get("relevant_any"), f"{form_id}: section {s['name']}"),
        )
        for s in raw.get("sections", ())
    )
    names = [f.name for s in sections for f in s.fields]
    if len(names) != len(set(names)):
        raise DefinitionError(f"{form_id}: duplicate field names")
    _check_definition(form_id, sections)
    return FormDefinition(form_id, meta.get("title", form_id), str(meta.get("version", "")),
                          sections, meta.get("title_en", ""))


@lru_cache(maxsize=16)
def load(forms_dir: str, form_id: str) -> FormDefinition:
    path = Path(forms_dir) / f"{form_id}.toml"
    with open(path, "rb") as handle:
        return parse_definition(tomllib.load(handle))


def to_json(definition: FormDefinition) -> dict[str, Any]:
    """The definition as the browser and API clients see it (relevance and checks included).

    ``quantities`` names the terms a condition may use besides fields: each counts the
    calendar time since the birth date in the ``from`` field, in months per unit.
    """
    return {
        "id": definition.id, "title": definition.title, "version": definition.version,
        "quantities": {name: {"from": definition.id_field, "months": months}
                       for name, months in QUANTITIES.items()} if definition.id_field else {},
        "sections": [
            {
                "name": s.name, "label": s.label,
                "relevant": json_conditions(s.relevant),
                "relevant_any": json_conditions(s.relevant_any),
                "fields": [
                    {
                        "type": f.type, "name": f.name, "label": f.label,
                        "required": f.required, "derived": f.derived, "hint": f.hint,
                        "relevant": json_conditions(f.relevant),
                        "relevant_any": json_conditions(f.relevant_any),
                        "choices": [{"value": c.value, "label": c.label} for c in f.choices],
                        "checks": [k.json for k in f.checks],
                    }
                    for f in s.fields
                ],
            }
            for s in definition.sections
        ],
    }
