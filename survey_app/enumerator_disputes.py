"""Disputes heard at the door (征缴争议, 首接负责): registered during a household visit.

The page posts to :func:`ledger.intake`, the function the phone's outbox reaches through
``POST /api/v1/disputes``; with no signal the page is a shell (``/e/shell/dispute``) that
app.js fills from the phone's bundle and queues into the outbox, as a registration form.
``/e/disputes`` lists what the enumerator took in, with the reply once it is given, so
that the party can be told at the next visit (online only: the ledger is not in the bundle).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from . import audit, registry, state
from .api_disputes import received_by_me
from .disputes import ledger
from .disputes.rules import CLASS_LABELS
from .enumerator import bp
from .i18n import _, lazy
from .registry import Conflict, Invalid, NotFound
from .views import answer_text

# What field.js says about disputes (%n the party's name, %r the item's number).
DISPUTE_TEXTS = {"dispute": lazy("争议"), "dispute_label": lazy("争议登记 · 当事人 %n"),
                 "dispute_saved": lazy("已登记争议，编号 %r。")}
STATE_NAMES = {"open": lazy("办理中"), "closed": lazy("已办结")}
REPLY_WAYS = {"phone": lazy("电话"), "in_person": lazy("当面"), "letter": lazy("书面"),
              "online": lazy("网上")}


@bp.app_template_global()
def dispute_texts() -> dict[str, str]:
    return {key: str(text) for key, text in DISPUTE_TEXTS.items()}


@bp.app_template_global()
def dispute_definition():
    """The intake form, for the shell (the shell view renders every kind with one set of names)."""
    return state.dispute_form()


@bp.route("/h/<ref>/dispute", methods=("GET", "POST"))
def dispute(ref: str):
    store, scope = state.store(), state.scope()
    home = registry.household(store, scope, ref)  # outside the area: 404
    # a member of this household only (registry.target_person: any other is not found here)
    person = registry.target_person(store, scope, home, request.values.get("person") or None)
    definition = state.dispute_form()
    if request.method == "GET":
        audit.record_read(store, scope, "read_person", person and person["ref"])
        values = {"channel": "visit", "party_name": person["answers"].get("name", "") if person else ""}
        return _render(home, person, values, {}, str(uuid.uuid4()))
    payload = {k: v for k, v in request.form.to_dict().items() if k in definition.field_names}
    payload["uuid"] = request.form.get("uuid") or str(uuid.uuid4())
    try:
        number = ledger.intake(state.dispute_context(), definition, home["village"], payload,
                               household=home["ref"], person=person and person["ref"])
    except Invalid as exc:
        return _render(home, person, request.form, exc.errors, payload["uuid"], status=422)
    except Conflict:  # this form was sent before with other answers: saving again makes a new item
        fresh = str(uuid.uuid4())
        return _render(home, person, request.form, {"uuid": ledger.UUID_REUSED}, fresh, status=409)
    item = ledger.get(state.dispute_context(), number)
    flash(_("已登记争议，编号 %(r)s，应于 %(d)s 前办结。", r=number, d=item["due"]), "success")
    return redirect(url_for(".household", ref=home["ref"]))


def _render(home, person, values, errors, submission_id, status=200):
    page = render_template("enumerator/dispute.html", home=home, person=person, values=values,
                           errors={k: str(v) for k, v in errors.items()}, definition=state.dispute_form(),
                           unit=state.current_grid().get(home["village"]), submission_id=submission_id)
    return page, status


@bp.route("/disputes")
def my_disputes():
    """What this enumerator took in: where each stands, how long is left, the reply once given."""
    ctx = state.dispute_context()
    items = received_by_me(ctx)
    heads = _head_names(items)
    definition = state.dispute_form()
    rows = [_row(item, ctx, heads, definition) for item in items]
    return render_template("enumerator/disputes.html", rows=rows,
                           overdue=sum(1 for r in rows if r["overdue"]))


def _row(item: dict[str, Any], ctx: ledger.Context, heads: dict[str, str], definition) -> dict[str, Any]:
    category = item["answers"].get("category")
    return {"ref": item["ref"], "date": item["received_at"][:10],
            "party": item["answers"].get("party_name", ""),
            "household": heads.get(item.get("household") or "", ""),
            "household_ref": item.get("household"),
            "category": answer_text(definition, "category", category),
            "open": item["state"] == "open", "state": str(STATE_NAMES.get(item["state"], item["state"])),
            "level": CLASS_LABELS.get(item["level"], item["level"]), "due": item["due"],
            "days_left": ledger.days_left(item, ctx.calendar), "overdue": ledger.overdue(item, ctx.calendar),
            "reply": item.get("reply"),
            "reply_way": str(REPLY_WAYS.get((item.get("reply") or {}).get("how"), ""))}


def _head_names(items: list[dict[str, Any]]) -> dict[str, str]:
    """Each item's household by its head's name; a household since moved out of the area has none."""
    store, scope = state.store(), state.scope()
    names: dict[str, str] = {}
    for village in sorted({i["village"] for i in items if i.get("household")}):
        try:
            names.update({h["ref"]: h["head_name"] for h in registry.households(store, scope, village)})
        except NotFound:
            continue
    return names
