"""Printed documents: one-person-one-form sheets and the village notices.

Everything printed is an auto-escaped Jinja template turned into PDF by
WeasyPrint.  WeasyPrint may only fetch the app's own print stylesheet,
through a private ``canbao:`` scheme; every other URL (file:, http:, data:,
whatever a resident's name might smuggle in) is refused and recorded.

Rendering itself (render.py) runs in a forked child so a render that hangs
can be killed (the time limit) and so a long batch never holds more than a
chunk's layout in memory; big batches render chunk by chunk on both cores
and are joined with poppler's ``pdfunite``.  WeasyPrint is imported only
when something is printed: every CLI call and server worker starts faster.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import qrcode
from flask import current_app
from markupsafe import Markup

from . import charts, clock, coverage, registry, state, tokens, users
from .atomicfile import private_folder, remove_stale, write_atomically
from .campaign import load_campaign
from .collection import roll
from .collection.rates import SCHEME_SHORT
from .formdef import Field, FormDefinition
from .grid import CHILD_LEVEL, Grid
from .privacy import mask_id, mask_name
from .registry import NotFound, Scope
from .store import Store

SCHEME = "canbao:"
STATIC_PREFIX = SCHEME + "static/"
BASE_URL = STATIC_PREFIX
KINDS = {
    "forms": "全民参保登记表（一人一表）",
    "collection": "城乡居民社会保险费集中征缴通知",
    "roster": "城乡居民社会保险费缴费清册公示",
    "progress": "全民参保入户登记进度通报",
    "roll": "城乡居民社会保险费征收清册",          # collection/papers.py: the village agent's roll
    "reminders": "城乡居民社会保险费缴费提醒单",    # collection/papers.py: slips for households that owe
}
PUBLIC_KINDS = ("collection", "roster")
CHUNK_PAGES = 40          # small enough that one chunk's layout stays well under 200 MB
RENDER_SECONDS = 60       # per chunk or single document, before it is killed
MAX_BLANK = 500
POSTING_DAYS = 7          # how long the public roster stays on the village board
FILE_NAME = re.compile(r"^[a-z]+-\d{9,12}-\d{6}-[a-z0-9]{4}\.pdf$")
PDF_MODE = 0o600          # printed forms carry ID numbers: the server's account alone reads them
# What a crash leaves in exports/<township>/<day>/: a PDF being rendered, a batch's chunk folder
# (render.py), a description being written (atomicfile).
TEMPORARY = ("*/*/.*.pdf.partial", "*/*/canbao-print-*", "*/*/.*.json.*.tmp")


class DocumentError(ValueError):
    """Bad input for a document (unknown village, foreign household…): nothing was written."""


class RenderTimeout(DocumentError):
    pass


@dataclass
class Rendered:
    pages: int
    fetched: list[str] = field(default_factory=list)


def render_pdf(html: str, target: Path, seconds: float | None = None) -> Rendered:
    """Render one document in a child process (see render.py); WeasyPrint loads only when used."""
    from . import render
    return render.render_pdf(html, target, seconds)


def render_chunks(chunks: Iterable[str], target: Path, **options: Any) -> Rendered:
    from . import render
    return render.render_chunks(chunks, target, **options)


def qr_svg(data: str, size_mm: int = 24) -> Markup:
    """An inline SVG QR code (qrcode's matrix, no Pillow).  ``data`` is our own URL, never user text.

    Dark modules are drawn as one path of horizontal runs rather than
    qrcode's one square per module: a third of the path for WeasyPrint to parse
    on each of a thousand sheets.
    """
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            x += 1
    n = len(matrix)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_mm}mm" height="{size_mm}mm" '
                  f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
                  f'<path d="{"".join(runs)}" fill="#000"/></svg>')


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


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def token_url(token: str) -> str:
    return public_url(f"/q/{token}")


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def today() -> dt.date:
    return clock.today()


def _template(name: str):
    # The app's environment autoescapes .html; documents never use url_for or
    # gettext, so they render the same from the CLI as from a request.
    return current_app.jinja_env.get_template(name)


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


# -- where files land -------------------------------------------------------------------
@dataclass
class Export:
    pdf: Path
    meta: dict[str, Any]
    fetched: list[str] = field(default_factory=list)

    @property
    def relative(self) -> str:
        return self.meta["path"]


def _new_export_path(exports_dir: Path, township: str, kind: str, area: str) -> Path:
    now = clock.now()
    folder = exports_dir / township / now.date().isoformat()
    for level in (exports_dir, folder.parent, folder):  # 0700: printed forms carry ID numbers
        private_folder(level)
    suffix = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(4))
    return folder / f"{kind}-{area}-{now:%H%M%S}-{suffix}.pdf"


def _publish(exports_dir: Path, tmp_pdf: Path, target: Path, meta: dict[str, Any]) -> Export:
    """Move the finished PDF into place, then write its description (listing reads only those)."""
    os.chmod(tmp_pdf, PDF_MODE)  # again: a joined batch is pdfunite's (or a moved part's) file
    os.replace(tmp_pdf, target)
    meta = {**meta, "path": str(target.relative_to(exports_dir)), "bytes": target.stat().st_size}
    write_atomically(target.with_suffix(".json"), json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return Export(target, meta)


def remove_stale_temporaries(exports_dir: str | Path) -> list[Path]:
    """At start-up: partial PDFs and chunk folders of renders a crash cut short (not touched for
    an hour; a render at work writes a chunk at least every RENDER_SECONDS)."""
    root = Path(exports_dir)
    return remove_stale(root, TEMPORARY) if root.is_dir() else []


def make_private(exports_dir: str | Path) -> int:
    """Files printed before files were made private (0644 in 0755 folders), made 0600 in 0700
    folders: once, while the exports folder itself is not yet 0700.  Returns how many changed."""
    root = Path(exports_dir)
    if not root.is_dir() or root.stat().st_mode & 0o777 == 0o700 or root.stat().st_uid != os.geteuid():
        return 0
    changed = 0
    for folder, subfolders, files in os.walk(root):
        for name, wanted in [*((d, 0o700) for d in subfolders), *((f, PDF_MODE) for f in files)]:
            if name.startswith("."):
                continue  # the repository's .gitkeep, not a printed file: no warning on a fresh clone
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                status = path.lstat()
                if not stat.S_ISLNK(status.st_mode) and status.st_uid == os.geteuid() \
                        and status.st_mode & 0o777 != wanted:
                    path.chmod(wanted)
                    changed += 1
    private_folder(root)
    return changed


def list_exports(exports_dir: str | Path, villages: Iterable[str]) -> list[dict[str, Any]]:
    """Generated files whose every village is in ``villages``, newest first."""
    allowed = set(villages)
    found = [m for m in _all_meta(Path(exports_dir)) if set(m.get("villages", ())) <= allowed]
    return sorted(found, key=lambda m: m["created_at"], reverse=True)


def _all_meta(exports_dir: Path) -> list[dict[str, Any]]:
    if not exports_dir.is_dir():
        return []
    metas = []
    for path in exports_dir.glob("*/*/*.json"):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a half-copied or foreign file is not ours to list
        if isinstance(meta, dict) and meta.get("kind") in KINDS and path.with_suffix(".pdf").is_file():
            metas.append(meta)
    return metas


def published_notices(exports_dir: str | Path) -> list[dict[str, Any]]:
    """The public notices (collection and roster) in the shape ``build_portal(notices=…)`` takes."""
    root = Path(exports_dir)
    latest: dict[tuple, dict[str, Any]] = {}
    for meta in sorted(_all_meta(root), key=lambda m: m["created_at"]):
        if meta["kind"] in PUBLIC_KINDS:  # a reprint replaces the earlier posting
            latest[(meta["kind"], meta["township_name"], meta["village_name"])] = meta
    return [
        {"title": m["title"], "kind": m["kind"], "village_name": m["village_name"],
         "township_name": m["township_name"], "pdf": root / m["path"],
         "published": dt.date.fromisoformat(m["created_at"][:10])}
        for m in latest.values()
    ]


def export_file(exports_dir: str | Path, relative: str, villages: Iterable[str]) -> Path | None:
    """The PDF at ``relative`` if it is one of ours and the caller may read it."""
    parts = relative.split("/")
    if len(parts) != 3 or not FILE_NAME.match(parts[2]):
        return None
    pdf = Path(exports_dir).joinpath(*parts)
    allowed = {m["path"] for m in list_exports(exports_dir, villages)}
    return pdf if relative in allowed else None


def _audit(store: Store, scope: Scope, export: Export) -> None:
    # Audit entries name the file, never a person: no ID or phone number.
    villages = export.meta["villages"]
    name = Store.village(villages[0]) if len(villages) == 1 else Store.SYSTEM
    with store.transaction(name) as shards:
        registry.write_audit(shards[name], scope, f"print_{export.meta['kind']}",
                        export.meta["area"], file=export.relative, pages=export.meta["pages"])


# -- the area a document covers -----------------------------------------------------------
@dataclass(frozen=True)
class Area:
    code: str
    name: str
    township: dict[str, Any]
    villages: tuple[str, ...]
    unit: dict[str, Any]

    @property
    def is_village(self) -> bool:
        return self.unit["level"] == "village"


def resolve_area(grid: Grid, scope: Scope, *, village: str | None = None,
                 township: str | None = None) -> Area:
    """The village, or the township, district or city (``township=``), if it exists and is
    wholly in the caller's area."""
    code = (village or township or "").strip()
    unit = grid.get(code)
    levels = ("village",) if village else ("township", "district", "city")
    villages = tuple(grid.villages_under(code)) if unit and unit["level"] in levels else ()
    if not villages or not set(villages) <= scope.villages:
        # Unknown and out-of-area read the same, as everywhere else in the app.
        raise DocumentError(f"找不到{'村（社区）' if village else '乡镇（街道）或区县'}代码“{code}”，"
                            "或不在您的管辖范围内。")
    office = grid.township_of(code) if village else unit  # whose folder the file goes in
    return Area(code, unit["name"], office, villages, unit)


# -- one person, one form ----------------------------------------------------------------
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
    return _template("documents/forms.html").render(
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
    meta = _meta("forms", area, scope, title=f"{area.name}{KINDS['forms']}",
                 persons=len(sheets) - blank, blank=blank)
    return _produce(scope, area, "forms", meta, lambda tmp: render_chunks(chunks, tmp,
                                                                          progress=progress))


def _meta(kind: str, area: Area, scope: Scope, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "kind_label": KINDS[kind], "area": area.code,
            "village_name": area.name if area.is_village else "",
            "township": area.township["code"], "township_name": area.township["name"],
            "villages": list(area.villages), "user": scope.username,
            "created_at": registry.now_iso(), **extra}


def _produce(scope: Scope, area: Area, kind: str, meta: dict[str, Any],
             render: Callable[[Path], Rendered]) -> Export:
    exports_dir = Path(current_app.config["EXPORTS_DIR"])
    target = _new_export_path(exports_dir, area.township["code"], kind, area.code)
    tmp = target.with_name(f".{target.name}.partial")
    # Made here, private, before the renderer opens it (it keeps the mode of the file it truncates).
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PDF_MODE))
    try:
        rendered = render(tmp)
        export = _publish(exports_dir, tmp, target, {**meta, "pages": rendered.pages})
    finally:
        tmp.unlink(missing_ok=True)
    export.fetched = rendered.fetched
    _audit(state.store(), scope, export)
    return export


# -- village notices -----------------------------------------------------------------
def print_notice(scope: Scope, kind: str, *, village: str | None = None,
                 township: str | None = None, day: dt.date | None = None) -> Export:
    if kind not in ("collection", "roster", "progress"):
        raise DocumentError(f"未知的公告类型“{kind}”：应为 collection、roster 或 progress。")
    if kind != "progress" and not village:
        raise DocumentError("村务公告须指定村（社区）：--village 代码。")
    area = resolve_area(state.current_grid(), scope, village=village, township=township)
    day = day or today()
    context = NOTICE_CONTEXT[kind](scope, area, day)
    title = context["title"]
    html = _template(f"documents/{kind}.html").render(area=area, day=day, cn_date=cn_date,
                                                     **context)
    meta = _meta(kind, area, scope, title=title)
    return _produce(scope, area, kind, meta, lambda tmp: render_pdf(html, tmp))


def _grid_contacts(area: Area) -> list[dict[str, str]]:
    """Grid leader and members for a public notice: name and office phone only, never the mobile."""
    return [{"role": c["role"], "name": c["name"], "office_phone": c.get("office_phone", "")}
            for c in area.unit.get("contacts", ())]


def _collection_context(scope: Scope, area: Area, day: dt.date) -> dict[str, Any]:
    definition = state.registration_form()
    campaign = load_campaign(current_app.config["CAMPAIGN_FILE"])
    return {
        "title": f"{area.name}{KINDS['collection']}", "campaign": campaign,
        "tiers": definition.field("pension_tier").choices,
        "channels": definition.field("payment_channel").choices,
        "categories": definition.field("person_category").choices,
        "contacts": _grid_contacts(area),
        "guide_url": public_url("/portal/how-to-pay.html"),
        "guide_qr": qr_svg(public_url("/portal/how-to-pay.html"), 26),
    }


def roster_rows(scope: Scope, village: str) -> list[dict[str, str]]:
    """Who has paid this year in full (the roll's "paid"), masked by the one rule: name, ID
    number, schemes and pension tier only — no amount, phone, address, birth date or group."""
    tiers = state.registration_form().field("pension_tier")
    entries = roll.village_roll(state.store(), scope, state.rates(), village)
    return [
        {"name": mask_name(e["name"]), "id_number": mask_id(e["id_number"]),
         "schemes": "、".join(SCHEME_SHORT[p["scheme"]] for p in e["lines"]),
         "pension_tier": "".join(tiers.choice_label(p["line"].tier) for p in e["lines"]
                                 if p["line"].tier) or "—"}
        for e in entries if e["state"] == "paid"
    ]


def _roster_context(scope: Scope, area: Area, day: dt.date) -> dict[str, Any]:
    return {
        "title": f"{area.name}{KINDS['roster']}", "year": state.rates().year,
        "rows": roster_rows(scope, area.code),
        "period": (day, day + dt.timedelta(days=POSTING_DAYS - 1)),
        "contacts": _grid_contacts(area),
    }


def _progress_context(scope: Scope, area: Area, day: dt.date) -> dict[str, Any]:
    """The area's units one level down (a township's villages, a district's townships,
    a city's districts), each with its counts, then the total; for a district or a city each
    of those units again with its own units and its 小计.  The charts are the dashboards'
    (charts.py), drawn wider; the daily chart ends on the notice's day."""
    grid, store = state.current_grid(), state.store()
    rows = _named_rows(store, grid, area.code)
    groups = [(row, _named_rows(store, grid, row["code"])) for row in rows] \
        if area.unit["level"] in ("district", "city") else []
    total = coverage.unit_row(store, grid, area.code)
    reasons = {c.value: c.label for c in
               state.registration_form().field("not_enrolled_reason").choices}
    child_level = CHILD_LEVEL.get(area.unit["level"], "village")
    people = []
    if area.unit["level"] == "township":  # a district's hundreds of enumerators are its townships' to read
        names = {a.username: a.display_name for a in users.list_users(store)}
        people = charts.enumerator_rows(total["by_user"], names)
    return {
        "title": f"{area.name}{KINDS['progress']}", "rows": rows, "groups": groups,
        "total": total, "reasons": reasons, "percent": charts.percent,
        # the dashboards' own chart; WeasyPrint draws the inline SVG in the fonts it names
        "chart": charts.coverage_bars(rows, f"各{UNIT_LABELS[child_level]}登记进度", CHART_WIDTH),
        "daily_chart": charts.daily_bars(total["by_day"], f"近{PROGRESS_DAYS}天每日登记人数",
                                         PROGRESS_DAYS, day, width=CHART_WIDTH),
        "days": PROGRESS_DAYS, "enumerators": people,
        "unit_label": UNIT_LABELS[child_level],
        "sub_label": UNIT_LABELS.get(CHILD_LEVEL.get(child_level, ""), ""),
        "place": " ".join(grid.path_names(area.code)),
    }


def _named_rows(store: Store, grid: Grid, code: str) -> list[dict[str, Any]]:
    """The rows of a unit's units one level down, with their names and codes (a township's
    villages in one read of its summary shard)."""
    children = grid.children(code)
    if children and children[0]["level"] == "village":
        found = coverage.rows(store, [c["code"] for c in children])
        return [{**found[c["code"]], "name": c["name"], "code": c["code"]} for c in children]
    return [{**coverage.unit_row(store, grid, c["code"]), "name": c["name"], "code": c["code"]}
            for c in children]


UNIT_LABELS = {"district": "区县", "township": "乡镇（街道）", "village": "村（社区）"}
PROGRESS_DAYS = 14
CHART_WIDTH = 640  # viewBox units across the page's 180 mm: 13-unit text prints at about 10 pt


NOTICE_CONTEXT: dict[str, Callable[[Scope, Area, dt.date], dict[str, Any]]] = {
    "collection": _collection_context,
    "roster": _roster_context,
    "progress": _progress_context,
}
