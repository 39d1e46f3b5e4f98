"""Township, district and city staff pages: coverage drilled down the grid, and what came in.

Each area page lists the units one level down with their counts (a city its
districts, a district its townships, a township its villages), each a link
one level further; the counts come from the rows kept current by every
write, so a city's page costs a few hundred reads, not a parse of the city.
"""

from __future__ import annotations

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

from . import audit, coverage, exports, registry, roster, roster_jobs, state
from .i18n import _

bp = Blueprint("staff", __name__, url_prefix="/s")


@bp.before_request
@login_required
def _require_staff():
    if not current_user.is_staff:
        abort(404)


@bp.route("/")
def home():
    """The user's own area: one area page, or a short list when an account has several."""
    grid = state.current_grid()
    areas = [grid.get(code) for code in current_user.area if grid.get(code)]
    if len(areas) == 1:
        return _area_page(areas[0]["code"])
    rows = [_unit_row(unit) for unit in areas]
    return render_template("staff/area.html", unit=None, trail=[], rows=rows,
                           total=registry.totals(rows), reasons=_reason_labels())


@bp.route("/a/<code>")
def area(code: str):
    grid = state.current_grid()
    unit = grid.get(code)
    if unit is None or unit["level"] == "village" or not grid.covers(current_user.area, code):
        abort(404)  # outside the area reads the same as absent
    return _area_page(code)


def _area_page(code: str):
    grid = state.current_grid()
    unit = grid.get(code)
    if unit["level"] == "village":
        return village(code)
    children = grid.children(code)
    if unit["level"] == "township":
        rows = [{**row, "code": row["village"], "level": "village"}
                for row in registry.coverage(state.store(), grid, [c["code"] for c in children])]
    else:
        rows = [_unit_row(child) for child in children]
    trail = [u for u in grid.ancestors(code) if grid.covers(current_user.area, u["code"])]
    return render_template("staff/area.html", unit=unit, trail=trail, rows=rows,
                           total=coverage.unit_row(state.store(), grid, code), reasons=_reason_labels())


def _unit_row(unit: dict) -> dict:
    row = coverage.unit_row(state.store(), state.current_grid(), unit["code"])
    return {**row, "code": unit["code"], "name": unit["name"], "level": unit["level"]}


@bp.route("/v/<village>")
def village(village: str):
    scope = state.scope()
    store = state.store()
    houses = {h["doc_id"]: h for h in registry.households(store, scope, village)}
    people = registry.persons_in(store, scope, village)
    audit.record_read(store, scope, "read_village", village)  # the page lists full ID numbers
    return render_template("staff/village.html", unit=state.current_grid().get(village),
                           houses=houses, people=people, form=state.registration_form(),
                           coverage=registry.village_coverage(store, village))


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
    except roster.RosterError as exc:  # refused before any reading
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


from . import staff_compare  # noqa: E402,F401  (信息比对 routes on this blueprint)
