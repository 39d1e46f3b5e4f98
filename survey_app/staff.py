"""Township and district staff pages: coverage village by village, and what came in."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from . import registry, state

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
