"""The collection roll (征收清册) for staff: the village's page, its files, its papers.

- ``/s/v/<village>/collection/roll``: households in order, each person's lines (scheme, tier,
  standard, the government's share, the person's part, what is paid, the state), the totals.
- ``…/collection/roll.csv|xlsx`` of a village, or of an area (``/s/a/<code>/…``: every village
  under it in the user's area), one row per line (roll.COLUMNS), streamed village by village and
  formula-safe (spreadsheet.safe); audited before the first byte, as every export.
- ``POST …/collection/roll.pdf``: the roll on paper for the village agent; ``POST
  …/collection/reminders.pdf``: 缴费提醒单 for the households that still owe.  Both are made
  as the print room makes notices (collection/papers.py) and sent at once.

Outside the user's area every route is a 404, the same as a code that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, flash, render_template, send_file
from flask_login import current_user

from . import audit, clock, coverage, exports, idcard, registry, spreadsheet, state
from .collection import papers, roll
from .collection.rates import SCHEME_LABELS, fen_to_yuan
from .documents import DocumentError, Export
from .registry import Scope
from .staff import _trail, bp

SHEET_NAME = "征收清册"
ROLL_FILE = "collection/roll.<any(csv, xlsx):fmt>"


@bp.route("/v/<village>/collection/roll")
def collection_roll(village: str):
    """The village's roll as a page (full names and ID numbers: the read is audited)."""
    return _roll_page(village)


def _roll_page(village: str, status: int = 200):
    scope, store = state.scope(), state.store()
    entries = roll.village_roll(store, scope, state.rates(), village)  # NotFound → 404
    audit.record_read(store, scope, "read_roll", village)
    return render_template(
        "staff/collection_roll.html", unit=state.current_grid().get(village), trail=_trail(village),
        houses=papers.households(entries), total=roll.totals(entries), rates=state.rates(),
        labels=papers.choice_labels(state.registration_form()), schemes=SCHEME_LABELS,
        states=roll.STATES, yuan=fen_to_yuan), status


@bp.route(f"/v/<village>/{ROLL_FILE}")
@bp.route(f"/a/<code>/{ROLL_FILE}")
def roll_file(fmt: str, village: str | None = None, code: str | None = None):
    """The roll of a village or an area as CSV or Excel, for the tax office (one row per line)."""
    grid, store, scope = state.current_grid(), state.store(), state.scope()
    area = village or code
    if village is not None:
        scope.require(village)  # outside the area reads the same as absent
    else:
        unit = grid.get(code)
        if unit is None or unit["level"] == "village" or not grid.covers(current_user.area, code):
            abort(404)  # as /s/a/<code> itself
    villages = [v for v in grid.villages_under(area) if v in scope.villages]
    row = coverage.unit_row(store, grid, area)  # how many are on its roll, for the audit entry
    persons = row.get("persons_due", 0) + row.get("special_due", 0)
    registry.record_export(store, scope, area, fmt, villages=len(villages), persons=persons)
    labels = papers.choice_labels(state.registration_form())
    body = roll.file_rows(roll.area_roll(store, scope, state.rates(), villages), labels)
    if fmt == "csv":
        data = spreadsheet.csv_stream(roll.COLUMNS, body)
    else:
        # two lines a person at most; ZIP64 must be chosen before the first byte goes
        zip64 = 2 * persons * exports.XLSX_ROW_BOUND > spreadsheet.ZIP64_LIMIT
        data = spreadsheet.xlsx_stream(roll.COLUMNS, body, sheet_name=SHEET_NAME, zip64=zip64,
                                       now=clock.now())
    name = exports.filename(f"roll-{area}", fmt, idcard.current_date())
    return Response(data, content_type=exports.MIMETYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Accel-Buffering": "no"})


@bp.route("/v/<village>/collection/roll.pdf", methods=("POST",))
def roll_pdf(village: str):
    return _paper(village, lambda scope: papers.print_roll(scope, village=village))


@bp.route("/v/<village>/collection/reminders.pdf", methods=("POST",))
def reminders_pdf(village: str):
    return _paper(village, lambda scope: papers.print_reminders(scope, village=village))


def _paper(village: str, make: Callable[[Scope], Export]):
    """Make the PDF (kept in the print room's folder, audited there) and send it; a refusal
    (nobody owes, no amounts set) is said on the roll page and writes nothing."""
    scope = state.scope()
    scope.require(village)
    try:
        export = make(scope)
    except DocumentError as exc:
        flash(str(exc), "error")
        return _roll_page(village, status=400)
    audit.record_download(state.store(), scope, export.relative)
    return send_file(export.pdf, mimetype="application/pdf", as_attachment=True,
                     download_name=export.pdf.name)
