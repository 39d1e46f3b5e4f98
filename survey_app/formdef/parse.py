"""Definitions read from TOML (every term and operator checked at load) and written as JSON for clients."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .cleaners import CONSTRAINTS, TYPES
from .conditions import COMPARISONS, FIELD_OPS, QUANTITIES, json_conditions
from .definition import FormDefinition
from .errors import DefinitionError
from .model import Check, Choice, Field, Section


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
