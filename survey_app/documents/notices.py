"""The village notices: the collection notice (集中征缴通知), the public roster of payers
(缴费清册公示) and the progress report (登记进度通报)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import current_app

from .. import charts, coverage, state, users
from ..campaign import load_campaign
from ..collection import roll
from ..collection.rates import SCHEME_SHORT
from ..grid import CHILD_LEVEL, Grid
from ..privacy import mask_id, mask_name
from ..registry import Scope
from ..store import Store
from .area import Area, resolve_area
from .folder import KINDS, Export, export_meta, produce
from .pdf import DocumentError, cn_date, public_url, qr_svg, render_pdf, template, today

POSTING_DAYS = 7          # how long the public roster stays on the village board


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
    html = template(f"documents/{kind}.html").render(area=area, day=day, cn_date=cn_date,
                                                     **context)
    meta = export_meta(kind, area, scope, title=title)
    return produce(scope, area, kind, meta, lambda tmp: render_pdf(html, tmp))


def grid_contacts(area: Area) -> list[dict[str, str]]:
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
        "contacts": grid_contacts(area),
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
        "contacts": grid_contacts(area),
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
