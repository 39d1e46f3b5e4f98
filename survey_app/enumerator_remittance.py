"""The village agent's own remittance page (我的按日报解): what they took on a day in each of
their villages, the cash still to hand in, and recording that they handed it in.

An agent sees and records only their own cash (collection/remittance.py refuses
another agent's); the township sees everyone's (staff_remittance.py).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from . import clock, state
from .collection import remittance
from .collection.rates import fen_to_yuan
from .enumerator import bp
from .i18n import _
from .registry import Invalid
from .staff_remittance import FORM_FIELDS, sheet_context


@bp.route("/remittance", methods=("GET", "POST"))
def remittance_page():
    scope = state.scope()
    errors: dict[str, Any] = {}
    values: dict[str, str] = {}
    failed_village = None
    if request.method == "POST":
        village = request.form.get("village", "")
        scope.require(village)  # not one of the agent's villages: 404, as everywhere
        values = {k: request.form.get(k, "") for k in FORM_FIELDS}
        values["agent"] = scope.username  # an agent hands in their own cash only
        try:
            remittance.remit(state.store(), scope, village, values)
        except Invalid as exc:
            errors, failed_village = exc.errors, village
        else:
            flash(_("已登记解缴 %(a)s 元。", a=values["amount"]), "success")
            return redirect(url_for(".remittance_page", day=values["day"]))
    day = remittance.parse_day(values.get("day") or request.args.get("day"))
    if day is None:
        errors = {"day": _("日期应为“年-月-日”，如 2026-11-03。")}
        day = clock.today().isoformat()
    grid = state.current_grid()
    villages = sorted(scope.villages)
    sheets = [(grid.get(v), sheet_context(remittance.village_sheet(state.store(), scope, v, day,
                                                                   agent=scope.username)))
              for v in villages]
    pending = remittance.outstanding(state.store(), scope, villages, agent=scope.username)
    return render_template("enumerator/remittance.html", day=day, sheets=sheets, pending=pending,
                           village_names={v: grid.get(v)["name"] for v in villages}, errors=errors,
                           values=values, failed_village=failed_village,
                           yuan=fen_to_yuan), 422 if errors else 200
