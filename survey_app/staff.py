"""Township and district staff pages: coverage village by village, and what came in."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import registry, roster, spreadsheet, state
from .i18n import _

bp = Blueprint("staff", __name__, url_prefix="/s")


@bp.before_request
@login_required
def _require_staff():
    if not current_user.is_staff:
        abort(404)


@bp.route("/")
def home():
    scope = state.scope()
    rows = registry.coverage(state.store(), state.current_grid(), sorted(scope.villages))
    by_township = [(name, list(group)) for name, group in groupby(rows, key=lambda r: r["township"])]
    return render_template("staff/home.html", by_township=by_township,
                           total=registry.totals(rows), reasons=_reason_labels())


@bp.route("/v/<village>")
def village(village: str):
    scope = state.scope()
    store = state.store()
    houses = {h["doc_id"]: h for h in registry.households(store, scope, village)}
    people = registry.persons_in(store, scope, village)
    return render_template("staff/village.html", unit=state.current_grid().get(village),
                           houses=houses, people=people, form=state.registration_form(),
                           coverage=registry.village_coverage(store, village))


def _reason_labels() -> dict[str, str]:
    field = state.registration_form().field("not_enrolled_reason")
    return {c.value: c.label for c in field.choices}


@bp.route("/v/<village>/roster", methods=("GET", "POST"))
def import_roster(village: str):
    """Upload the expected roster of one village (.xlsx from Excel/WPS, or .csv)."""
    scope = state.scope()
    scope.require(village)
    unit = state.current_grid().get(village)
    if request.method == "GET":
        return render_template("staff/roster.html", unit=unit, problems=[])
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("staff/roster.html", unit=unit,
                               problems=[_("请选择要上传的名单文件。")]), 422
    try:
        counts = roster.import_file(state.store(), scope, state.registration_form(), village,
                                    upload.filename, upload.read())
    except roster.RosterError as exc:
        return render_template("staff/roster.html", unit=unit, problems=exc.problems), 422
    flash(_("已导入 %(h)d 户 %(p)d 人；已在系统中的 %(s)d 人未重复导入。",
            h=counts["households"], p=counts["persons"], s=counts["skipped"]), "success")
    return redirect(url_for(".village", village=village))


@bp.route("/export.xlsx")
@bp.route("/v/<village>/export.xlsx")
def export(village: str | None = None):
    """Registrations of one village, or of the whole area, as an Excel sheet."""
    scope = state.scope()
    villages = [village] if village else sorted(scope.villages)
    store, grid, definition = state.store(), state.current_grid(), state.registration_form()
    rows = []
    for code in villages:
        houses = {h["doc_id"]: h for h in registry.households(store, scope, code)}
        rows += [spreadsheet.row(p, houses.get(p["household"], {}), grid, definition)
                 for p in registry.persons_in(store, scope, code)]
    registry.record_export(store, scope, villages, len(rows))
    stamp = dt.date.today().isoformat()
    name = f"canbao-{village or 'area'}-{stamp}.xlsx"
    return Response(spreadsheet.workbook(rows, definition), headers={
        "Content-Disposition": f"attachment; filename={name}",
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    })
