"""争议台账: the list of items (``/d/``), one item with its history (``/d/i/<ref>``) and, one click
away, the payment records of the person it concerns (``/d/i/<ref>/payments``).

Which items a user sees is the ledger's decision (``disputes.ledger.Viewer``); these pages only
read the townships that can hold such items.  The party's phone appears on the item page alone,
in full to staff of the area and to the departments holding the item now (they call the party
back); the list never shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import abort, render_template, request
from flask_login import current_user

from . import audit, desk_view, registry, state
from .collection import ledger as payments_ledger
from .collection import roll
from .collection.rates import SCHEME_LABELS, fen_to_yuan
from .desk import bp
from .disputes import ledger
from .disputes.rules import CLASSES, ESCALATION_HOLDER
from .privacy import mask_id, mask_phone
from .registry import NotFound, Scope
from .store import Store

STATE_FILTERS = ("open", "closed", "all")


# -- the list ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The list's GET parameters; a value that is not one of the choices is ignored."""
    view: str = "all"      # "mine": what the user's department holds now (departments' default)
    state: str = "all"
    level: str = ""
    department: str = ""
    overdue: bool = False
    township: str = ""
    village: str = ""

    @classmethod
    def parse(cls, args: Mapping[str, str], ctx: ledger.Context) -> Filters:
        departments = {key for key, _ in ctx.rules.departments}
        mine = desk_view.own_department()
        view = args.get("view", "mine" if mine else "all")
        return cls(
            view="mine" if mine and view == "mine" else "all",
            state=_one_of(args.get("state"), STATE_FILTERS, "open" if mine and view == "mine" else "all"),
            level=_one_of(args.get("level"), CLASSES, ""),
            department=_one_of(args.get("department"), departments, ""),
            overdue=args.get("overdue") == "1",
            township=_one_of(args.get("township"), desk_view.townships(ctx), ""),
            village=_one_of(args.get("village"), ctx.viewer.villages, ""))

    def keeps(self, row: Mapping[str, Any]) -> bool:
        return ((self.view != "mine" or desk_view.own_department() in row["holders"])
                and (self.state == "all" or row["state"] == self.state)
                and (not self.level or row["level"] == self.level)
                and (not self.department or self.department in row["holders"])
                and (not self.overdue or row["overdue"])
                and (not self.township or row["village"].startswith(self.township))
                and (not self.village or row["village"] == self.village))

    def in_view(self, row: Mapping[str, Any]) -> bool:
        return self.view != "mine" or desk_view.own_department() in row["holders"]


def _one_of(value: Any, allowed, default: str) -> str:
    return value if isinstance(value, str) and value in allowed else default


@bp.route("/")
def home():
    ctx = desk_view.context()
    filters = Filters.parse(request.args, ctx)
    day = desk_view.today()
    rows = [desk_view.row(item, ctx, day) for item in desk_view.visible_items(ctx)]
    counted = desk_view.counts(r for r in rows if filters.in_view(r))
    shown = desk_view.order([r for r in rows if filters.keeps(r)])
    grid = state.current_grid()
    choices = {
        "state": [(k, desk_view.STATE_FILTER_LABELS[k]) for k in STATE_FILTERS],
        "level": [(k, desk_view.CLASS_LABELS[k]) for k in CLASSES],
        "department": list(ctx.rules.departments),
        "township": [(t, (grid.get(t) or {}).get("name", t)) for t in desk_view.townships(ctx)],
        "village": [(v, (grid.get(v) or {}).get("name", v))
                    for v in sorted(ctx.viewer.villages)
                    if not filters.township or v.startswith(filters.township)],
    }
    return render_template("desk/list.html", rows=shown, counts=counted, filters=filters,
                           choices=choices, department=desk_view.own_department(), today=day,
                           definition=state.dispute_form())


# -- one item ------------------------------------------------------------------------------------
@bp.route("/i/<ref>")
def item(ref: str):
    return render_item(ref)


def render_item(ref: str, *, step: str = "", errors: Mapping[str, Any] | None = None,
                values: Mapping[str, Any] | None = None, status: int = 200):
    """The item page; after a refused step, that step's form shows ``errors`` and ``values``."""
    ctx = desk_view.context()
    found = ledger.get(ctx, ref)  # NotFound → 404: absent and not visible look the same
    shown = desk_view.row(found, ctx, desk_view.today())
    may_act = ctx.viewer.may_act(found)
    full_phone = ctx.viewer.staff or may_act  # they call the party back; others read it masked
    if not step:  # a refused step shows again what was read just before: nothing more is written
        audit.record_read(state.store(), desk_view.audit_scope(ctx), "dispute_read_item",
                          found["village"], item=found["ref"])
    definition = state.dispute_form()
    answers = [(f, found["answers"].get(f.name)) for s in definition.sections for f in s.fields]
    names = desk_view.display_names()
    return render_template(
        "desk/item.html", item=shown, definition=definition, answers=answers,
        phone=found["answers"].get("party_phone", "") if full_phone
        else mask_phone(found["answers"].get("party_phone", "")),
        belongs=_belongs(found), may_act=may_act, names=names, events=_events(found, ctx, names),
        departments=ctx.rules.departments, escalation=_escalation(found, ctx),
        step=step, errors=errors or {}, values=values or {},
        ways=desk_view.REPLY_WAYS, satisfaction=desk_view.SATISFACTION_LABELS,
        class_labels=desk_view.CLASS_LABELS), status


def _belongs(found: Mapping[str, Any]) -> dict[str, Any]:
    """The household and person an item is linked to, as far as the user may read them: staff of
    the area get the person's name (a link to the person's page) and the household's head; a
    department's people, who read no registration data, only that a link exists."""
    out: dict[str, Any] = {"person": found.get("person"), "household": found.get("household")}
    if not current_user.is_staff:
        return out
    store, scope = state.store(), state.scope()
    try:
        if found.get("person"):
            out["person_name"] = registry.person(store, scope, found["person"])["answers"].get("name", "")
        if found.get("household"):
            house = registry.household(store, scope, found["household"])
            out["household_text"] = " · ".join(x for x in (house.get("head_name", ""),
                                                           house.get("number", "")) if x)
    except NotFound:  # removed since, or outside this account's registration area
        pass
    return out


def _events(found: Mapping[str, Any], ctx: ledger.Context, names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{**e, "who": names.get(e["by"], e["by"]),
             "label": desk_view.ACTION_LABELS.get(e["action"], e["action"]),
             "level_label": desk_view.CLASS_LABELS.get(e.get("level"), ""),
             "holder_names": [ctx.rules.department_name(k) for k in e.get("holders", ())],
             "department_names": [ctx.rules.department_name(k) for k in e.get("departments", ())],
             "satisfaction_label": desk_view.SATISFACTION_LABELS.get(e.get("satisfaction"), "")}
            for e in found["events"]]


def _escalation(found: Mapping[str, Any], ctx: ledger.Context) -> dict[str, Any] | None:
    """Where 上报 sends the item: one class up, to that class's holder (None at the top)."""
    position = CLASSES.index(found["level"])
    if position == len(CLASSES) - 1:
        return None
    level = CLASSES[position + 1]
    return {"level": desk_view.CLASS_LABELS[level],
            "holder": ctx.rules.department_name(ESCALATION_HOLDER[level]),
            "limit": ctx.rules.limits[level]}


# -- the person's payments -----------------------------------------------------------------------
@bp.route("/i/<ref>/payments")
def payments(ref: str):
    """The payment rows of the person an item concerns, and what they owe this year.  Seeing the
    item is the grant: the read is scoped to its village alone and audited by the person."""
    ctx = desk_view.context()
    found = ledger.get(ctx, ref)
    if not found.get("person"):
        abort(404)
    store = state.store()
    scope = Scope(frozenset([found["village"]]), current_user.username)
    person = registry.person(store, scope, found["person"])
    house = store.read(Store.village(found["village"])).get("households", person["household"])
    audit.record_read(store, scope, "dispute_read_payments", person["ref"], item=found["ref"])
    entry = roll.entry(person, house, found["village"], state.rates())
    return render_template(
        "desk/payments.html", item=desk_view.row(found, ctx, desk_view.today()), person=person,
        masked_id=mask_id(person["answers"].get("id_number", "")), entry=entry,
        rows=payments_ledger.history(store, scope, person["ref"]), year=state.rates().year,
        yuan=fen_to_yuan, schemes=SCHEME_LABELS)


# -- the staff dashboard's panel -----------------------------------------------------------------
def area_panel(code: str | None) -> dict[str, Any]:
    """Open, overdue and soon-due items of an area (a staff area page; None: the whole account)."""
    ctx = desk_view.context()
    grid = state.current_grid()
    villages = grid.villages_under(code) if code else None
    day = desk_view.today()
    rows = [desk_view.row(i, ctx, day) for i in desk_view.visible_items(ctx, villages)]
    open_rows = [r for r in rows if r["is_open"]]
    unit = grid.get(code) if code else None
    link = {"township": code} if unit and unit["level"] == "township" else {}
    return {"open": len(open_rows), "overdue": sum(r["overdue"] for r in open_rows),
            "soon": sum(r["bucket"] in ("today", "soon") for r in open_rows),
            "late": desk_view.order([r for r in open_rows if r["overdue"]])[:5], "link": link}
