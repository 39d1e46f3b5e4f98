"""Dispute intake over the JSON API (/api/v1): a party's dispute heard at the door (征缴争议).

The phone's outbox posts here as it posts registrations and payments: the client's
``uuid`` makes a retry over a bad signal return the item already registered, and the
same uuid with other content is refused (409).  Where the matter belongs is named,
not typed: the village, and optionally the household and the person, all inside the
caller's area (else 404, as for a record that does not exist).  The party's phone
is never sent back whole: the receiver typed it, the API shows its last four digits.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import current_user, login_required

from . import registry, state
from .api import _error, _json_body, bp
from .api_payments import _refuse_unknown
from .disputes import ledger
from .disputes.rules import CLASS_LABELS
from .formdef import FormDefinition, Result
from .i18n import _
from .privacy import mask_phone
from .registry import Conflict, Invalid, NotFound, Scope
from .store import Store

ENVELOPE = frozenset({"uuid", "village", "household", "person"})


@bp.route("/disputes", methods=("POST",))
@login_required
def take_in_dispute():
    ctx = state.dispute_context()
    try:
        ref, replayed = take_in(ctx, state.dispute_form(), state.scope(), _json_body())
    except Conflict:
        return _error(409, "uuid_conflict", _("该 uuid 已用于内容不同的争议登记，未作任何修改。"))
    item = ledger.get(ctx, ref)
    return jsonify(id=ref, village=item["village"], due=item["due"], level=item["level"],
                   replayed=replayed), 200 if replayed else 201, {"Location": url_for(".dispute", ref=ref)}


@bp.route("/disputes/<ref>")
@login_required
def dispute(ref: str):
    """One item as its viewer may see it: outside what they may see, a 404."""
    ctx = state.dispute_context()
    return jsonify(item_json(ledger.get(ctx, ref), ctx))


@bp.route("/disputes")
@login_required
def my_disputes():
    """The items the caller took in (首接), newest first."""
    ctx = state.dispute_context()
    return jsonify(disputes=[item_json(item, ctx) for item in received_by_me(ctx)])


def received_by_me(ctx: ledger.Context) -> list[dict[str, Any]]:
    mine = [i for i in ledger.visible(ctx) if i.get("received_by") == current_user.username]
    return sorted(mine, key=lambda i: i["received_at"], reverse=True)


def take_in(ctx: ledger.Context, definition: FormDefinition, scope: Scope,
            body: dict[str, Any]) -> tuple[str, bool]:
    """One body as the phone's outbox sends it, checked as the API checks it: its item's number,
    and whether it was registered already (a replay).  The API and ``canbao submissions import``
    both take items in here."""
    _refuse_unknown(body, ENVELOPE | definition.field_names)
    # every answer of the form is text: an object or a number is not quietly turned into one
    not_text = {k: _("应为文字。") for k in sorted(definition.field_names)
                if body.get(k) is not None and not isinstance(body[k], str)}
    if not_text:
        raise Invalid(Result(errors=not_text))
    village, household, person = place_of(ctx.store, scope, body)
    return ledger.intake_replayed(ctx, definition, village, body, household=household, person=person)


def place_of(store: Store, scope: Scope, body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """The village, household and person an item belongs to, each checked against the caller's
    area: a household or person of another village, or outside the area, is NotFound."""
    village, household, person = (body.get(k) for k in ("village", "household", "person"))
    errors = {k: _("应为文字。") for k, v in (("household", household), ("person", person))
              if v is not None and not isinstance(v, str)}
    if not isinstance(village, str) or not village:
        errors["village"] = _("请指明争议所属的村（社区）。")
    if errors:
        raise Invalid(Result(errors=errors))
    scope.require(village)
    home = registry.household(store, scope, household) if household else None
    if home and home["village"] != village:
        raise NotFound(household)
    if person:
        found = registry.person(store, scope, person)
        if found["village"] != village or (home and found["household"] != home["doc_id"]):
            raise NotFound(person)
        home = home or registry.household(store, scope, registry.make_ref(village, found["household"]))
        person = found["ref"]
    return village, home and home["ref"], person or None


def item_json(item: dict[str, Any], ctx: ledger.Context) -> dict[str, Any]:
    """What the API shows of an item: its matter and where it stands, the phone masked."""
    answers = dict(item["answers"])
    if answers.get("party_phone"):
        answers["party_phone"] = mask_phone(answers["party_phone"])
    reply = item.get("reply")
    return {
        "id": item["ref"], "village": item["village"], "household": item.get("household"),
        "person": item.get("person"), "received_by": item["received_by"], "received_at": item["received_at"],
        "answers": answers, "state": item["state"], "level": item["level"],
        "level_name": CLASS_LABELS.get(item["level"], item["level"]), "due": item["due"],
        "days_left": ledger.days_left(item, ctx.calendar), "overdue": ledger.overdue(item, ctx.calendar),
        "reply": reply and {k: reply.get(k) for k in ("text", "how", "at")},
        "satisfaction": item.get("satisfaction"), "closed_at": item.get("closed_at"),
    }
