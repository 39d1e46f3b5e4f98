"""受理登记 at a window (``/d/new``): the dispute form, where the matter belongs, and for staff an
optional ID number that links the item to the person and household registered in their area.

The form's hidden uuid makes a double submit record one item (``ledger.intake`` is idempotent
on it).  Anything wrong shows the form again with the messages (422) and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from . import desk_view, registry, state
from .desk import bp
from .disputes import ledger
from .i18n import _
from .registry import Conflict, Invalid

DEFAULT_CHANNEL = "window"  # 窗口来访: this page is the window's


@bp.route("/new", methods=("GET", "POST"))
def new():
    ctx = desk_view.context()
    definition = state.dispute_form()
    errors: dict[str, str] = {}
    values: Mapping[str, Any] = request.form if request.method == "POST" else {"channel": DEFAULT_CHANNEL}
    submission_id = request.form.get("uuid") or str(uuid.uuid4())
    if request.method == "POST":
        village = request.form.get("village", "")
        answers = {k: v for k, v in request.form.items() if k in definition.field_names}
        payload = {**answers, "uuid": request.form.get("uuid", "")}
        try:
            if village not in ctx.viewer.villages:  # the form's own messages too, all at once
                raise _refused(**definition.validate(answers).errors,
                               village=_("请选择当事人所在的村（社区）。"))
            household, person = _linked(village, request.form.get("id_number", ""))
            ref = ledger.intake(ctx, definition, village, payload, household=household, person=person)
        except Invalid as exc:
            errors = {key: str(message) for key, message in exc.errors.items()}
        except Conflict:  # this form was sent before with other answers: sending again makes a new item
            errors = {"uuid": str(ledger.UUID_REUSED)}
            submission_id = str(uuid.uuid4())
        else:
            flash(_("已受理登记，事项编号 %(ref)s。", ref=ref), "success")
            return redirect(url_for(".item", ref=ref))
    return render_template("desk/new.html", definition=definition, values=values, errors=errors,
                           villages=_village_choices(ctx), may_link=current_user.is_staff,
                           submission_id=submission_id), \
        422 if errors else 200


def _linked(village: str, id_number: str) -> tuple[str | None, str | None]:
    """The household and person refs of an ID number registered in ``village``, for staff; none
    when no number was given.  A number not found in the user's area reads the same as unknown."""
    number = "".join(str(id_number or "").split()).upper()
    if not number or not current_user.is_staff:
        return None, None
    found = registry.locate_id_number(state.store(), number)
    if found is None or found[0] not in state.scope().villages:
        raise _refused(id_number=_("您的辖区内没有这个公民身份号码的登记；可以不填，仅登记争议。"))
    if found[0] != village:
        raise _refused(id_number=_("这个公民身份号码登记在其他村（社区）：请改选当事人所在的村（社区）。"))
    person = registry.person(state.store(), state.scope(), registry.make_ref(*found))
    return registry.make_ref(village, person["household"]), person["ref"]


def _refused(**errors: str) -> Invalid:
    return ledger.refuse(**errors)


def _village_choices(ctx: ledger.Context) -> list[tuple[str, list[tuple[str, str]]]]:
    """(township name, [(village code, village name)]) for the select's option groups."""
    grid = state.current_grid()
    groups: dict[str, list[tuple[str, str]]] = {}
    for code in sorted(ctx.viewer.villages):
        groups.setdefault(code[:9], []).append((code, (grid.get(code) or {}).get("name", code)))
    return [((grid.get(t) or {}).get("name", t), villages) for t, villages in groups.items()]
