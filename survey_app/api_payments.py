"""Payments over the JSON API (/api/v1): what a person owes, and recording what they paid.

The phone's outbox posts here exactly as it posts registrations: a client ``uuid``
makes a retry over a bad signal return the payment already recorded.
"""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user, login_required

from . import audit, registry, state
from .api import _error, _json_body, bp
from .collection import ledger, roll
from .collection.rates import fen_to_yuan
from .formdef import Result
from .i18n import _
from .registry import Conflict, Invalid

PAYMENT_FIELDS = frozenset({"uuid", "person", "schemes", "amount", "channel", "receipt_no",
                            "paid_on", "payer", "note"})
CORRECTION_FIELDS = frozenset({"reason", "void", "channel", "receipt_no", "paid_on"})


@bp.route("/persons/<ref>/payments")
@login_required
def person_payments(ref: str):
    """What the person owes this year, line by line, and every payment row (corrections too)."""
    found = registry.person(state.store(), state.scope(), ref)
    audit.record_read(state.store(), state.scope(), "api_read_payments", found["ref"])
    entry = roll.entry(found, None, found["village"], state.rates())
    return jsonify(person=found["ref"], year=state.rates().year,
                   lines=[_line_json(part) for part in (entry or {}).get("lines", [])],
                   state=(entry or {}).get("state", "none"),
                   payments=[_payment_json(row) for row in
                             ledger.history(state.store(), state.scope(), found["ref"])])


@bp.route("/payments", methods=("POST",))
@login_required
def record_payment():
    body = _json_body()
    _refuse_unknown(body, PAYMENT_FIELDS)
    try:
        done = ledger.record(state.store(), state.scope(), state.rates(), state.payment_channels(),
                             body, source="field", may_record_government=current_user.is_staff)
    except Conflict as conflict:
        return _error(409, "uuid_conflict", _("该 uuid 已用于内容不同的缴费记录，未作任何修改。"),
                      existing=conflict.ref)
    return jsonify(ids=done.refs, person=done.person, amount=fen_to_yuan(done.amount),
                   replayed=done.replayed), 200 if done.replayed else 201, \
        {"Location": url_for(".person_payments", ref=done.person)}


@bp.route("/payments/<ref>/corrections", methods=("POST",))
@login_required
def correct_payment(ref: str):
    body = _json_body()
    _refuse_unknown(body, CORRECTION_FIELDS)
    new_ref = ledger.correct(state.store(), state.scope(), state.rates(), state.payment_channels(),
                             ref, body)
    return jsonify(id=new_ref, corrects=ref), 201


def _refuse_unknown(body: dict, allowed: frozenset[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise Invalid(Result(errors={k: _("未知字段。") for k in sorted(unknown)}))


def _line_json(part: dict) -> dict:
    line = part["line"]
    return {"scheme": line.scheme, "tier": line.tier, "standard": fen_to_yuan(line.standard),
            "government": fen_to_yuan(line.government), "person": fen_to_yuan(line.person),
            "paid_person": fen_to_yuan(part["paid_person"]),
            "paid_government": fen_to_yuan(part["paid_government"]),
            "owed_person": fen_to_yuan(part["owed_person"]), "settled": part["settled"]}


def _payment_json(row: dict) -> dict:
    keys = ("scheme", "payer", "channel", "receipt_no", "tax_ticket", "paid_on", "recorded_by",
            "recorded_at", "source", "void", "reason", "note", "in_force")
    return {"id": row["ref"], "amount": fen_to_yuan(row["amount"]),
            "corrects": registry.make_ref(row["ref"].split(".")[0], row["corrects"])
            if row.get("corrects") else None, **{k: row.get(k) for k in keys}}
