"""综合分析 on the dispute desk: the figures of the items a user may see, as a page with SVG
charts, as CSV/XLSX tables, and the ledger itself (台账) as a file.

What is counted is what the ledger lets the user see (``state.dispute_context()`` and
``ledger.visible``): staff their area's items, a department's people the items routed to
their department.  Filters: the months of receipt, and a township where the area holds
several.  A bad month is ignored with a message; a township outside the area is a 404.
Each download is audited before anything is sent, by area code and count only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, render_template, request
from flask_login import current_user

from . import charts, clock, exports, registry, state
from .desk import bp
from .disputes import exports as tables
from .disputes import ledger, stats
from .i18n import _, lazy
from .spreadsheet import csv_stream, xlsx_stream
from .store import Store

CATEGORY_SERIES = (charts.Series("count", lazy("件数"), "#2b6cb0"),)
DEPARTMENT_SERIES = (charts.Series("routed", lazy("曾流转"), "#2b6cb0"),
                     charts.Series("holding", lazy("在办"), "#b7791f"))


@bp.route("/stats")
def stats_page():
    chosen = _selection()
    summary = _summary(chosen)
    return render_template("desk/stats.html", s=summary, chosen=chosen, query=_query(chosen),
                           **_charts(summary))


def _charts(summary: dict[str, Any]) -> dict[str, Any]:
    """The three charts; one with nothing to draw is left out (its table stays)."""
    routed = [r for r in summary["by_department"] if r["routed"]]
    months = [(r["month"], f"{int(r['month'][5:])}月", r["count"]) for r in summary["by_month"]]
    return {
        "category_chart": charts.count_bars(summary["by_category"], CATEGORY_SERIES, _("按争议类别统计")),
        "month_chart": charts.column_bars(months, _("按受理月份统计")) if months else None,
        "department_chart": charts.count_bars(routed, DEPARTMENT_SERIES, _("按承办部门统计"))
        if routed else None,
    }


@bp.route("/stats.<any(csv, xlsx):fmt>")
def stats_file(fmt: str):
    """The breakdowns: sections of one CSV, or one sheet each.  Counts and masked names only."""
    chosen = _selection()
    summary = _summary(chosen)
    sections = tables.stats_sections(summary, _period_text(chosen), clock.today())
    _audit(chosen, f"dispute_stats_{fmt}", summary["total"])
    data = tables.csv_sections(sections) if fmt == "csv" else tables.xlsx_sections(sections, clock.now())
    return _download(data, fmt, f"dispute-stats-{chosen['area']}")


@bp.route("/ledger.<any(csv, xlsx):fmt>")
def ledger_file(fmt: str):
    """台账: one row per item, the party's phone masked.  Holds names: audited, by count."""
    chosen = _selection()
    ctx = chosen["ctx"]
    rows = tables.ledger_rows(chosen["items"], definition=state.dispute_form(), rules=ctx.rules,
                              calendar=ctx.calendar, village_names=chosen["names"], today=clock.today())
    _audit(chosen, f"dispute_ledger_{fmt}", len(rows))
    if fmt == "csv":
        data = b"".join(csv_stream(tables.LEDGER_COLUMNS, rows))
    else:
        data = b"".join(xlsx_stream(tables.LEDGER_COLUMNS, rows, sheet_name="征缴争议台账", now=clock.now()))
    return _download(data, fmt, f"dispute-ledger-{chosen['area']}")


# -- what is counted ----------------------------------------------------------------------------------
def _selection() -> dict[str, Any]:
    """The items the filters pick out of what the user may see, and what the page says of them."""
    ctx, grid = state.dispute_context(), state.current_grid()
    problems = []
    first, last = _month("from", problems), _month("to", problems)
    if first and last and first > last:
        problems.append(_("起始月份晚于截止月份，已按全部月份统计。"))
        first = last = None
    townships = [t for t in grid.townships if set(grid.villages_under(t["code"])) & ctx.viewer.villages]
    township = request.args.get("township", "").strip()
    villages = ctx.viewer.villages
    if township:
        if township not in {t["code"] for t in townships}:
            abort(404)  # outside the area reads the same as absent
        villages = villages & set(grid.villages_under(township))
    items = [i for i in ledger.visible(ctx, sorted({v[:9] for v in villages})) if i["village"] in villages]
    items = stats.in_period(items, first, last)
    names = {code: (grid.get(code) or {}).get("name", code) for code in {i["village"] for i in items}}
    return {"ctx": ctx, "items": items, "names": names, "first": first, "last": last,
            "townships": townships if len(townships) > 1 else [], "township": township,
            "problems": problems, "area": township or exports.area_label(list(current_user.area))}


def _month(name: str, problems: list) -> str | None:
    raw = request.args.get(name, "").strip()
    month = stats.parse_month(raw)
    if raw and month is None:
        problems.append(_("月份“%(m)s”无法识别，请按 2026-09 的格式选择月份；已忽略。", m=raw[:20]))
    return month


def _summary(chosen: dict[str, Any]) -> dict[str, Any]:
    ctx = chosen["ctx"]
    return stats.summarise(chosen["items"], definition=state.dispute_form(), rules=ctx.rules,
                           calendar=ctx.calendar, village_names=chosen["names"], today=clock.today(),
                           first=chosen["first"], last=chosen["last"])


def _period_text(chosen: dict[str, Any]) -> str:
    first, last = chosen["first"], chosen["last"]
    if first and last:
        return f"{first} 至 {last}"
    if first or last:
        return f"{first} 起" if first else f"至 {last}"
    return "全部"


def _query(chosen: dict[str, Any]) -> str:
    """The filters again, for the download links: the file holds what the page shows."""
    pairs = [("from", chosen["first"]), ("to", chosen["last"]), ("township", chosen["township"])]
    text = urlencode([(k, v) for k, v in pairs if v])
    return f"?{text}" if text else ""


def _audit(chosen: dict[str, Any], action: str, count: int) -> None:
    """On record before the first byte (PIPL): who, which area, which months, how many items."""
    ctx = chosen["ctx"]
    scope = registry.Scope(ctx.viewer.villages, ctx.viewer.username)
    with state.store().transaction(Store.SYSTEM) as shards:
        registry.write_audit(shards[Store.SYSTEM], scope, action, chosen["area"], items=count,
                             months=_period_text(chosen))


def _download(data: bytes, fmt: str, stem: str) -> Response:
    name = exports.filename(stem, fmt, clock.today())
    return Response(data, content_type=exports.MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
