"""争议台账 (the dispute desk): the pages where township staff and the departments' people work on
dispute items — the list with days left, an item and its steps, intake at a window, the daily
digest of what falls due, and the analysis.

Its own blueprint (``/d``) because its users are of two kinds: staff (their area's items) and
department accounts (what was routed to their department in their area), who see nothing else
of the office.  Enumerators take items in on their phones (``enumerator_disputes``); what each
user may see or do with an item is decided by ``disputes.ledger`` alone.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("desk", __name__, url_prefix="/d")


@bp.before_request
@login_required
def _require_office():
    if not current_user.is_office:
        abort(404)


# the list, an item and its steps, window intake, the digest, and the analysis
from . import desk_digest, desk_intake, desk_items, desk_stats, desk_steps  # noqa: E402,F401
