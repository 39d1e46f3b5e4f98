"""征缴 at the door: one person's payment recorded on the phone, and the grid member's reminders.

The payment page posts to :func:`ledger.record`, the same function the phone's outbox
reaches through ``POST /api/v1/payments``; with no signal the page is a shell
(``/e/shell/pay``) that field.js fills from the phone's bundle and queues into the outbox.
The reminder list is the village's roll (:func:`roll.village_roll`) cut to the people who
still owe their own part, household by household, each with a number to call.
"""

from __future__ import annotations

import uuid
from itertools import groupby
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from . import audit, clock, registry, state
from .collection import ledger, roll
from .collection.rates import SCHEMES, fen_to_yuan
from .enumerator import bp
from .i18n import _, lazy
from .registry import Conflict, Invalid

SCHEME_NAMES = {"resident_pension": lazy("居民养老"), "resident_medical": lazy("居民医疗")}
# What field.js says on the payment and household pages (%a an amount, %t a tier, %r a receipt).
PAY_TEXTS = {
    "payment_of": lazy("缴费 %a 元"), "tier": lazy("档次 %t 元"),
    "not_on_roll": lazy("此人没有本年度应缴的城乡居民保险（登记未完成、未参加或不在本地）。"),
    "all_paid": lazy("本年度个人应缴部分已缴清。"), "pending": lazy("已记录，待上传"),
    "not_paid": lazy("未缴"), "paid_up": lazy("已缴清"), "pay": lazy("缴费"),
    "paid_notice": lazy("已上传：缴费 %a 元。"), "receipt_no": lazy("票据号 %r"),
}


@bp.app_template_global()
def pay_texts() -> dict[str, str]:
    return {key: str(text) for key, text in PAY_TEXTS.items()}


@bp.app_template_filter("yuan")
def yuan(fen: int) -> str:
    return fen_to_yuan(int(fen or 0))


@bp.app_template_global()
def scheme_name(scheme: str) -> str:
    return str(SCHEME_NAMES.get(scheme, scheme))


@bp.app_template_global()
def roll_state(person: dict[str, Any]) -> dict[str, Any] | None:
    """A household page's member on the roll: what they still owe (None when not on the roll)."""
    found = roll.entry(person, None, person.get("village", ""), state.rates())
    if found is None:
        return None
    return {"owed_person": found["owed_person"], "state": found["state"]}


# -- one person's payment ------------------------------------------------------------------------
@bp.route("/p/<ref>/pay", methods=("GET", "POST"))
def pay(ref: str):
    store, scope, rates = state.store(), state.scope(), state.rates()
    found = registry.person(store, scope, ref)  # outside the area: NotFound → 404
    home = registry.household(store, scope, registry.make_ref(found["village"], found["household"]))
    errors: dict[str, Any] = {}
    if request.method == "POST":
        payload = _payload(found["ref"])
        try:
            done = ledger.record(store, scope, rates, state.payment_channels(), payload, source="field")
        except Invalid as exc:
            errors = {k: str(v) for k, v in exc.errors.items()}
        except Conflict:
            flash(_("这笔缴费已提交过且内容不同，未作修改；请重新打开缴费页面再记录。"), "error")
            return redirect(url_for(".household", ref=home["ref"]))
        else:
            receipt = payload["receipt_no"].strip().upper()
            flash(_("已记录 %(n)s 缴费 %(a)s 元。", n=found["answers"].get("name", ""),
                    a=fen_to_yuan(done.amount))
                  + (" " + _("票据号 %(r)s", r=receipt) if receipt else ""), "success")
            return redirect(url_for(".household", ref=home["ref"]))
    else:
        audit.record_read(store, scope, "read_payments", found["ref"])
    entry = roll.entry(found, home, found["village"], rates)
    values = request.form if request.method == "POST" else {}
    return render_template("enumerator/pay.html", pay=_page(found, home, entry, values, errors)), \
        422 if errors else 200


def _payload(person_ref: str) -> dict[str, Any]:
    form = request.form
    return {"uuid": form.get("uuid") or str(uuid.uuid4()), "person": person_ref,
            "schemes": form.getlist("schemes"), "amount": form.get("amount", ""),
            "channel": form.get("channel", ""), "receipt_no": form.get("receipt_no", ""),
            "paid_on": form.get("paid_on", ""), "note": form.get("note", "")}


def _page(found, home, entry, values, errors) -> dict[str, Any]:
    """What pay.html shows: the lines, the form's values (typed ones kept after a refusal)."""
    parts = [_part(p) for p in (entry or {}).get("lines", [])]
    owed = [p for p in parts if p["owed_person"]]
    chosen = values.getlist("schemes") if values else [p["scheme"] for p in owed]
    total = fen_to_yuan(sum(p["owed_person"] for p in owed))
    channel = (values.get("channel") if values else None) or found["answers"].get("payment_channel", "")
    return {
        "person": found, "home": home,
        "unit": state.current_grid().get(found["village"]) or {"code": found["village"], "name": ""},
        "entry": entry, "parts": parts, "owed": owed, "year": state.rates().year,
        "chosen": chosen, "channels": _channels(found["answers"].get("payment_channel", "")),
        "values": {"amount": values.get("amount") if values else total,
                   "channel": channel, "receipt_no": values.get("receipt_no", "") if values else "",
                   "paid_on": values.get("paid_on") if values else clock.today().isoformat(),
                   "note": values.get("note", "") if values else ""},
        "errors": errors, "today": clock.today().isoformat(),
        "submission_id": (values.get("uuid") if values else None) or str(uuid.uuid4()),
    }


def _part(part: dict[str, Any]) -> dict[str, Any]:
    line = part["line"]
    return {"scheme": line.scheme, "tier": line.tier, "standard": line.standard,
            "government": line.government, "person": line.person, "paid_person": part["paid_person"],
            "owed_person": part["owed_person"], "settled": part["settled"]}


def _channels(preferred: str) -> list[Any]:
    """The form's payment channels, the one the person chose at registration first."""
    choices = list(state.registration_form().field("payment_channel").choices)
    return sorted(choices, key=lambda c: c.value != preferred)


@bp.app_template_global()
def pay_shell() -> dict[str, Any]:
    """The pay shell: every scheme's row hidden, filled by field.js from the phone's bundle."""
    parts = [{"scheme": s, "tier": "", "standard": 0, "government": 0, "person": 0, "paid_person": 0,
              "owed_person": 0, "settled": False} for s in SCHEMES]
    return {"person": {"ref": "", "answers": {}}, "home": {"ref": "", "head_name": ""},
            "unit": {"code": "", "name": ""}, "entry": None, "parts": parts, "owed": parts,
            "year": state.rates().year, "chosen": list(SCHEMES), "channels": _channels(""),
            "values": {"amount": "", "channel": "", "receipt_no": "", "paid_on": "", "note": ""},
            "errors": {}, "today": "", "submission_id": ""}


# -- reminders ----------------------------------------------------------------------------------
@bp.route("/v/<village>/reminders")
def reminders(village: str):
    """Who still owes their own part, by household, each with a number to call (online only)."""
    store, scope = state.store(), state.scope()
    entries = roll.village_roll(store, scope, state.rates(), village)  # outside the area: 404
    owing = [e for e in entries if e["owed_person"] > 0]
    owing.sort(key=lambda e: (e["household_no"] == "", e["household_no"], e["household"], e["ref"]))
    houses = [{"first": group[0], "people": group}
              for group in (list(g) for _key, g in groupby(owing, key=lambda e: e["household"]))]
    audit.record_reads(store, scope, "read_reminders", [village])  # lists phone numbers
    labels = {c.value: c for c in state.registration_form().field("payment_channel").choices}
    counts = {"owing": len(owing), "paid": sum(e["state"] == "paid" for e in entries),
              "roll": len(entries)}
    return render_template("enumerator/reminders.html", unit=state.current_grid().get(village),
                           village=village, houses=houses, counts=counts, channel_labels=labels,
                           year=state.rates().year)
