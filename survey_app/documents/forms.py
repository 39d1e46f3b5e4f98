"""One person, one form: the printed registration sheets (one A4 page each) with their QR codes,
laid out from the registration form's definition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import registry, state, tokens
from ..formdef import Field, FormDefinition
from ..registry import NotFound, Scope
from .area import Area, resolve_area
from .folder import KINDS, Export, export_meta, produce
from .pdf import CHUNK_PAGES, DocumentError, qr_svg, render_chunks, template, token_url

MAX_BLANK = 500


# Sheet layout: choices are pre-broken into lines so each line is one text run
# (a span per choice made WeasyPrint ~25 % slower).  Widths in em, from the fonts.
CHOICE_LINE_EM = {"normal": 44.0, "many": 54.0}
BOX_EM = 0.9  # DejaVu Sans ☐ ☑


def _text_em(text: str) -> float:
    return sum(1.0 if ord(c) >= 0x2E80 or c in "（）：，" else 0.62 for c in text)


def choice_lines(fld: Field, value: Any) -> list[str]:
    """'☐汉族　☑蒙古族…' broken into lines that fit the answer column, every choice whole."""
    budget = CHOICE_LINE_EM["many" if len(fld.choices) > 12 else "normal"]
    lines: list[str] = []
    current, width = "", 0.0
    for choice in fld.choices:
        item = ("☑" if value is not None and str(value) == choice.value else "☐") + choice.label
        item_em = BOX_EM + _text_em(choice.label) + 1.0  # + the ideographic space after it
        if current and width + item_em > budget:
            lines.append(current.rstrip("\u3000"))
            current, width = "", 0.0
        current += item + "\u3000"
        width += item_em
    if current:
        lines.append(current.rstrip("\u3000"))
    return lines


def relevance_note(definition: FormDefinition, all_of: tuple, any_of: tuple) -> str:
    """'仅在 缴费人员类别 为“特殊人群” 时填写' — the web form's relevance, in words for paper."""
    parts = [_condition_words(definition, c) for c in all_of]
    if any_of:
        parts.append("或".join(_condition_words(definition, c) for c in any_of))
    return f"（{'且'.join(parts)}时填写）" if parts else ""


# An age term as an instruction on paper: 年满16周岁 reads "from the 16th birthday on".
AGE_WORDS = {
    ("age", ">="): "年满{n}周岁", ("age", ">"): "超过{n}周岁",
    ("age", "<"): "未满{n}周岁", ("age", "<="): "不超过{n}周岁",
    ("age_months", ">="): "出生满{n}个月", ("age_months", ">"): "出生超过{n}个月",
    ("age_months", "<"): "出生未满{n}个月", ("age_months", "<="): "出生{n}个月内",
}


def _condition_words(definition: FormDefinition, condition: tuple) -> str:
    name, op, expected = condition
    if (name, op) in AGE_WORDS:
        return AGE_WORDS[name, op].format(n=expected)
    fld = definition.field(name)
    if op == "length":
        return f"{fld.label}为{expected}位"
    values = expected if op == "in" else (expected,)
    # "" (not answered, read as the usual case) says nothing on paper, where every box is seen
    labels = "或".join(f"“{fld.choice_label(v) or v}”" for v in values if v != "")
    return f"{fld.label}{'不' if op == '!=' else ''}为{labels}"


@dataclass
class FormSheet:
    token: str
    person: dict[str, Any] | None
    household: dict[str, Any] | None

    @property
    def values(self) -> dict[str, Any]:
        return dict((self.person or {}).get("answers", {}))


def form_sheets(scope: Scope, area: Area, household_refs: list[str] | None,
                blank: int) -> list[FormSheet]:
    """Every person of the village (or of the chosen households), then the blank forms."""
    store = state.store()
    houses = {h["doc_id"]: h for h in registry.households(store, scope, area.code)}
    chosen = _chosen_households(houses, area.code, household_refs)
    people = [p for p in registry.persons_in(store, scope, area.code) if p["household"] in chosen]
    people.sort(key=lambda p: (p["household"], p["doc_id"]))
    if not (0 <= blank <= MAX_BLANK):
        raise DocumentError(f"空白表数量应在 0 到 {MAX_BLANK} 之间。")
    if not people and not blank:
        raise DocumentError("所选范围内没有人员，也未要求空白表，未生成文件。")
    issued = tokens.for_persons(store, scope, area.code, [p["doc_id"] for p in people])
    sheets = [FormSheet(issued[p["doc_id"]], p, houses[p["household"]]) for p in people]
    sheets += [FormSheet(t, None, None) for t in tokens.issue_blank(store, scope, area.code, blank)]
    return sheets


def _chosen_households(houses: dict[int, dict], village: str, refs: list[str] | None) -> set[int]:
    if not refs:
        return set(houses)
    chosen = set()
    for ref in refs:
        try:
            code, doc_id = registry.parse_ref(ref.strip())
        except NotFound:
            code, doc_id = "", 0
        if code != village or doc_id not in houses:
            raise DocumentError(f"户编号“{ref.strip()}”不属于该村（社区），未生成文件。")
        chosen.add(doc_id)
    return chosen


def forms_html(area: Area, sheets: list[FormSheet], first_page: int, total: int) -> str:
    definition = state.registration_form()
    return template("documents/forms.html").render(
        definition=definition, area=area, sheets=sheets, first_page=first_page, total=total,
        qr_svg=qr_svg, token_url=token_url, relevance_note=relevance_note,
        choice_lines=choice_lines,
        place=" ".join(state.current_grid().path_names(area.code)),
    )


def print_forms(scope: Scope, *, village: str, household_refs: list[str] | None = None,
                blank: int = 0, progress: Callable[[int], None] | None = None,
                on_start: Callable[[int], None] | None = None) -> Export:
    """A village's forms (one A4 page each) in one PDF under the exports folder."""
    grid = state.current_grid()
    area = resolve_area(grid, scope, village=village)
    sheets = form_sheets(scope, area, household_refs, blank)
    if on_start:
        on_start(len(sheets))
    chunks = (forms_html(area, sheets[i:i + CHUNK_PAGES], i + 1, len(sheets))
              for i in range(0, len(sheets), CHUNK_PAGES))
    meta = export_meta("forms", area, scope, title=f"{area.name}{KINDS['forms']}",
                 persons=len(sheets) - blank, blank=blank)
    return produce(scope, area, "forms", meta, lambda tmp: render_chunks(chunks, tmp,
                                                                          progress=progress))
