"""Township, district and city staff pages: coverage drilled down the grid, and what came in.

Each area page lists the units one level down with their counts (a city its
districts, a district its townships, a township its villages), each a link
one level further; the counts come from the rows kept current by every
write, so a city's page costs a few hundred reads, not a parse of the city.
The same rows draw the page's charts (charts.py: inline SVG, no script) and
fill the 未参保人员统计表 downloads (``stats.csv``/``stats.xlsx`` beside each page).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from . import (
    audit,
    charts,
    clock,
    coverage,
    exports,
    idcard,
    registry,
    roster,
    roster_jobs,
    sheets,
    state,
    users,
)
from .formdef import FormDefinition
from .i18n import _
from .spreadsheet import Column, csv_stream, xlsx_stream
from .store import Store

bp = Blueprint("staff", __name__, url_prefix="/s")


@bp.before_request
@login_required
def _require_staff():
    if not current_user.is_staff:
        abort(404)


@bp.route("/")
def home():
    """The user's own area: one area page, or a short list when an account has several."""
    areas = _own_areas()
    if len(areas) == 1:
        return _area_page(areas[0]["code"])
    rows = [_unit_row(unit) for unit in areas]
    return _render_area(None, [], rows, registry.totals(rows), [])


def _own_areas() -> list[dict]:
    grid = state.current_grid()
    return [grid.get(code) for code in current_user.area if grid.get(code)]


def _area_unit(code: str) -> dict:
    """A township, district or city in the user's area; anything else 404s."""
    grid = state.current_grid()
    unit = grid.get(code)
    if unit is None or unit["level"] == "village" or not grid.covers(current_user.area, code):
        abort(404)  # outside the area reads the same as absent
    return unit


@bp.route("/a/<code>")
def area(code: str):
    return _area_page(_area_unit(code)["code"])


def _area_page(code: str):
    """A dashboard: the units one level down with a 合计 row, the charts of the three measures,
    the last 14 days and the enumerators, review counts, and (for a district or city) each
    unit one level down with its own units and its 小计."""
    grid = state.current_grid()
    unit = grid.get(code)
    if unit["level"] == "village":
        return village(code)
    rows = _child_rows(unit)
    groups = [(row, _child_rows(grid.get(row["code"]))) for row in rows] \
        if unit["level"] in ("district", "city") else []
    return _render_area(unit, _trail(code), rows, coverage.unit_row(state.store(), grid, code), groups)


def _child_rows(unit: dict) -> list[dict]:
    """The rows of a unit's units one level down, each with its code, name and level."""
    grid = state.current_grid()
    children = grid.children(unit["code"])
    if unit["level"] == "township":  # one read of the township's summary shard
        return [{**row, "code": row["village"], "level": "village"}
                for row in registry.coverage(state.store(), grid, [c["code"] for c in children])]
    return [_unit_row(child) for child in children]


def _trail(code: str) -> list[dict]:
    grid = state.current_grid()
    return [u for u in grid.ancestors(code) if grid.covers(current_user.area, u["code"])]


def _render_area(unit: dict | None, trail: list[dict], rows: list[dict], total: dict,
                 groups: list[tuple[dict, list[dict]]]):
    from .desk_items import area_panel  # the dispute desk's panel (imported late: desk imports much)
    return render_template("staff/area.html", unit=unit, trail=trail, rows=rows, total=total,
                           groups=groups, reasons=_reason_labels(),
                           disputes=area_panel(unit["code"] if unit else None),
                           coverage_chart=charts.coverage_bars(rows, _("各单位登记进度")) if rows else None,
                           **_dashboard(total))


def _unit_row(unit: dict) -> dict:
    row = coverage.unit_row(state.store(), state.current_grid(), unit["code"])
    return {**row, "code": unit["code"], "name": unit["name"], "level": unit["level"]}


DAYS = 14              # the daily chart's span
ENUMERATOR_CHART = 30  # more enumerators than this: their table only (a district's hundreds)


def _dashboard(total: Mapping[str, Any]) -> dict[str, Any]:
    """What every dashboard shows of one row: the three measures, the days, the enumerators."""
    today = idcard.current_date()  # the campaign's one clock (Beijing)
    days = charts.last_days(today, DAYS)
    recent = {d.isoformat(): total["by_day"].get(d.isoformat(), 0) for d in days}
    people = charts.enumerator_rows(total["by_user"], _display_names(), unknown=_("未记录"))
    return {
        "measures": [(m, m.share(total), total.get(m.done, 0), m.total(total)) for m in charts.MEASURES],
        "today": today, "days": DAYS, "recent": sum(recent.values()),
        "registered_today": recent[today.isoformat()], "percent": charts.percent,
        "daily_chart": charts.daily_bars(total["by_day"], _("近%(n)d天每日登记人数", n=DAYS), DAYS, today),
        "enumerators": people,
        "enumerator_chart": charts.enumerator_bars(people, _("各网格员登记情况"))
        if 0 < len(people) <= ENUMERATOR_CHART else None,
    }


def _display_names() -> dict[str, str]:
    return {account.username: account.display_name for account in users.list_users(state.store())}


@bp.route("/v/<village>")
def village(village: str):
    """A village's dashboard (its measures, days, enumerators and reviews), its households with
    their progress, and its people."""
    scope = state.scope()
    store = state.store()
    houses = {h["doc_id"]: h for h in registry.households(store, scope, village)}
    people = registry.persons_in(store, scope, village)
    audit.record_read(store, scope, "read_village", village)  # the page lists full ID numbers
    unit = state.current_grid().get(village)
    row = registry.village_coverage(store, village)
    return render_template("staff/village.html", unit=unit, houses=houses, people=people,
                           form=state.registration_form(), coverage=row, trail=_trail(village),
                           coverage_chart=charts.coverage_bars([{**row, "name": unit["name"]}],
                                                               _("登记进度")),
                           **_dashboard(row))


def _reason_labels() -> dict[str, str]:
    field = state.registration_form().field("not_enrolled_reason")
    return {c.value: c.label for c in field.choices}


@bp.route("/v/<village>/roster", methods=("GET", "POST"))
def import_roster(village: str):
    """Upload the expected roster of one village (.xlsx from Excel/WPS, or .csv).

    The file is read and loaded by a background job (roster_jobs); the browser
    is sent to the job's page, which refreshes itself until the job is done.
    """
    scope = state.scope()
    scope.require(village)
    unit = state.current_grid().get(village)
    recent = roster_jobs.recent(state.store(), village, scope.username)
    if request.method == "GET":
        return render_template("staff/roster.html", unit=unit, problems=[], recent=recent)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("staff/roster.html", unit=unit, recent=recent,
                               problems=[_("请选择要上传的名单文件。")]), 422
    try:
        job_id = roster_jobs.start(current_app._get_current_object(), state.store(), scope,
                                   state.registration_form(), village, upload)
    except sheets.SheetError as exc:  # refused before any reading
        return render_template("staff/roster.html", unit=unit, problems=exc.problems, recent=recent), 422
    return redirect(url_for(".roster_job", village=village, job_id=job_id))


@bp.route("/v/<village>/roster/<int:job_id>")
def roster_job(village: str, job_id: int):
    """A roster upload's page: 202 and a Refresh header while the job runs; then the report on
    the village's page, or every problem of the refused file (422: nothing was imported)."""
    state.scope().require(village)
    job = roster_jobs.get(state.store(), job_id, village, current_user.username)
    if job is None:
        abort(404)
    unit = state.current_grid().get(village)
    if job["done"] is None:
        return render_template("staff/roster_job.html", unit=unit, job=job), 202, {"Refresh": "2"}
    if job["error"]:
        return render_template("staff/roster.html", unit=unit, problems=[], error=job["error"]), 500
    if job.get("problems"):
        return render_template("staff/roster.html", unit=unit, problems=job["problems"],
                               problem_count=job["problem_count"], filename=job["filename"]), 422
    flash(roster.report(job["counts"]), "success")
    return redirect(url_for(".village", village=village))


EXPORT = "export.<any(csv, xlsx):fmt>"


@bp.route(f"/{EXPORT}")
@bp.route(f"/a/<code>/{EXPORT}")
@bp.route(f"/v/<village>/{EXPORT}")
def export(fmt: str, code: str | None = None, village: str | None = None):
    """The 个人基础信息汇总表 of a village, an area, or the user's whole area, as CSV or Excel.

    Streamed village by village: the first byte leaves at once and memory
    stays the same for a city as for a village.  The audit entry is written
    before anything is sent.
    """
    grid, store, scope = state.current_grid(), state.store(), state.scope()
    if village is not None:
        scope.require(village)  # outside the area reads the same as absent
        codes = [village]
    elif code is not None:
        unit = grid.get(code)
        if unit is None or unit["level"] == "village" or not grid.covers(current_user.area, code):
            abort(404)  # as /s/a/<code> itself
        codes = [code]
    else:
        codes = [c for c in current_user.area if grid.get(c)]
    villages = [v for v in dict.fromkeys(v for c in codes for v in grid.villages_under(c))
                if v in scope.villages]
    counts = [coverage.unit_row(store, grid, c) for c in codes]
    persons = sum(row["persons_listed"] for row in counts)
    area = exports.area_label(codes)
    registry.record_export(store, scope, area, fmt, villages=len(villages), persons=persons)
    # an upper bound for the workbook's size: declared people are never fewer than listed ones
    bound = sum(row["persons_expected"] for row in counts)
    body = exports.stream(fmt, store, grid, state.registration_form(), villages, bound)
    return Response(body, content_type=exports.MIMETYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{exports.filename(area, fmt)}"',
        "X-Accel-Buffering": "no",  # a proxy in front passes pieces on as they come
    })


STATS = "stats.<any(csv, xlsx):fmt>"
STATS_SHEET = "未参保人员统计表"


@bp.route(f"/{STATS}")
@bp.route(f"/a/<code>/{STATS}")
@bp.route(f"/v/<village>/{STATS}")
def stats(fmt: str, code: str | None = None, village: str | None = None):
    """附件1 未参保人员统计表 (seed 002) from the registrations: one row per unit one level down
    (a village: itself), then 合计.  Counts only, no personal data; the download is audited."""
    grid, store, scope = state.current_grid(), state.store(), state.scope()
    if village is not None:
        scope.require(village)  # outside the area reads the same as absent
        area, rows = village, [_unit_row(grid.get(village))]
    else:
        areas = [_area_unit(code)] if code is not None else _own_areas()
        area = exports.area_label([unit["code"] for unit in areas])
        rows = _child_rows(areas[0]) if len(areas) == 1 else [_unit_row(unit) for unit in areas]
    header, body = stats_table(rows, state.registration_form())
    with store.transaction(Store.SYSTEM) as shards:  # before anything is sent, as every export
        registry.write_audit(shards[Store.SYSTEM], scope, f"stats_{fmt}", area, format=fmt, units=len(rows))
    if fmt == "csv":
        data = b"".join(csv_stream(header, body))
    else:
        data = b"".join(xlsx_stream(header, body, sheet_name=STATS_SHEET,
                                    now=clock.now()))
    name = exports.filename(f"stats-{area}", fmt, idcard.current_date())
    return Response(data, content_type=exports.MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def stats_table(rows: list[dict], definition: FormDefinition) -> tuple[list[Column], list[list[Any]]]:
    """Header and rows of the 未参保人员统计表: per unit the registered, the uninsured (registered
    residents outside either residents' scheme: ``persons_uninsured``), each scheme, each reason."""
    schemes = [definition.field(name) for name in coverage.RESIDENT_SCHEMES]
    reasons = definition.field("not_enrolled_reason").choices
    header = [Column("代码", 14, text=True), Column("单位", 16), Column("已登记人数", 10),
              Column("未参保户籍人口数", 16),
              *(Column(f"其中：未参加{f.label}", 24) for f in schemes),
              *(Column(f"未参保原因：{c.label}", 18) for c in reasons)]

    def cells(row: Mapping[str, Any]) -> list[Any]:
        return [row["persons_registered"], row["persons_uninsured"],
                *(row["uninsured"].get(f.name, 0) for f in schemes),
                *(row["not_enrolled"].get(c.value, 0) for c in reasons)]

    body = [[row["code"], row["name"], *cells(row)] for row in rows]
    body.append(["", "合计", *cells(coverage.totals(rows))])
    return header, body


# 信息比对, 初审/审核, 审计, 账号 and 征缴 (progress, the roll and its papers, tax-office files,
# remittance) routes on this blueprint
from . import (  # noqa: E402,F401
    staff_audit,
    staff_collection,
    staff_compare,
    staff_remittance,
    staff_review,
    staff_roll,
    staff_taxfile,
    staff_users,
)
