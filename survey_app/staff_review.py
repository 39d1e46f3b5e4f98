"""初审 and 审核 pages of the staff area: the submissions of the user's area, one record, decisions.

Routes on ``staff.bp`` (its login and staff checks apply; enumerators get 404).  The list is of
the user's area (a township's staff their township, a county's the county), narrowed by village,
enumerator, state, dates and 暂存; the township approves many at once (ticked rows, or all that
a filter shows) or one at a time, and returns a form to its enumerator with a comment.  A
county reviewer works the same list in its audit mode: what townships approved, or a random
sample of it.  A record outside the area is 404, exactly as a missing one (``registry.person``).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from . import audit, registry, review, state
from .i18n import _, lazy
from .privacy import mask_id
from .staff import bp
from .store import Store

PAGE_SIZE = 50
# A list reads every village it covers: a county of hundreds of villages is narrowed to a
# township (or a village) first, so one page never parses a county's files.
MAX_LIST_VILLAGES = 60
MODES = ("review", "audit")
STATES = {"review": ("pending", "approved", "returned", "questioned"),
          "audit": ("unaudited", "audited", "questioned")}
DATE_FIELDS = ("registered", "updated")
SAMPLE_PERCENTS = (10, 20, 50)
STATE_FILTERS = {"review": {**review.REVIEW_LABELS, "questioned": lazy("县级有疑问")},
                 "audit": {"unaudited": lazy("未审核"), **review.AUDIT_LABELS}}
DATE_LABELS = {"registered": lazy("登记时间"), "updated": lazy("最后修改时间")}
DONE = {"approve": lazy("初审通过"), "return": lazy("已退回，调查员会在手机上看到意见"),
        "audit": lazy("已审核"), "question": lazy("已提出疑问")}  # what a decision's message says


@dataclass(frozen=True)
class Filters:
    """The list's query, read from a request's arguments; a value that makes no sense is dropped."""

    mode: str = "review"
    township: str = ""
    village: str = ""
    by: str = ""
    state: str = ""
    on: str = "registered"
    since: str = ""
    until: str = ""
    incomplete: bool = False
    sample: int = 0
    seed: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args) -> Filters:
        mode = args.get("mode") if args.get("mode") in MODES else "review"
        sample = _integer(args.get("sample"))
        return cls(
            mode=mode, township=_code(args.get("township")), village=_code(args.get("village")),
            by=str(args.get("by") or "").strip()[:64],
            state=args.get("state") if args.get("state") in STATES[mode] else "",
            on=args.get("on") if args.get("on") in DATE_FIELDS else "registered",
            since=_day(args.get("since")), until=_day(args.get("until")),
            incomplete=mode == "review" and args.get("incomplete") == "1",
            sample=sample if mode == "audit" and 0 < sample <= 100 else 0,
            seed=str(args.get("seed") or "")[:16] if mode == "audit" else "",
            page=max(1, _integer(args.get("page")) or 1),
        )

    def args(self, **changes) -> dict[str, str]:
        """Query arguments that differ from the defaults (for links and hidden fields)."""
        default, mine = asdict(Filters()), asdict(replace(self, **changes))
        return {k: ("1" if v is True else str(v)) for k, v in mine.items() if v != default[k]}

    def matches(self, person: dict) -> bool:
        state_now = review.review_state(person)
        if self.mode == "audit":
            audited = review.audit_state(person)
            if state_now != review.APPROVED or (self.state == "unaudited" and audited) or \
                    (self.state in ("audited", "questioned") and audited != self.state) or \
                    (self.sample and not review.in_sample(person["ref"], self.seed, self.sample)):
                return False
        elif self.incomplete:
            if person.get("status") != "incomplete":
                return False
        elif self.state == "questioned":
            if review.audit_state(person) != review.QUESTIONED:
                return False
        elif self.state and state_now != self.state:
            return False
        if self.by and person.get("registered_by") != self.by:
            return False
        stamp = review.registered_on(person) if self.on == "registered" else person.get("updated_at")
        day = (stamp or "")[:10]
        return not ((self.since and day < self.since) or (self.until and day > self.until))


def _integer(value) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _code(value) -> str:
    value = str(value or "")
    return value if value.isdigit() and len(value) <= 12 else ""


def _day(value) -> str:
    try:
        return dt.date.fromisoformat(str(value or "")).isoformat()
    except ValueError:
        return ""


# -- the area a list covers -------------------------------------------------------------------------
def _townships(mine: frozenset[str]) -> list[dict]:
    grid = state.current_grid()
    return [t for t in grid.townships if any(v in mine for v in grid.villages_under(t["code"]))]


def _villages(filters: Filters, mine: frozenset[str]) -> list[str]:
    """The villages the list reads; a township or village outside the area is 404 like a missing one."""
    grid = state.current_grid()
    if filters.village:
        if filters.village not in mine or (filters.township and
                                           filters.village not in grid.villages_under(filters.township)):
            abort(404)
        return [filters.village]
    if filters.township:
        codes = [v for v in grid.villages_under(filters.township) if v in mine]
        if not codes:
            abort(404)
        return codes
    return sorted(mine)


def _rows(filters: Filters) -> tuple[list[dict], list[str], list[str], bool]:
    """(matching rows, the area's enumerators, the villages read, whether the area is too big)."""
    villages = _villages(filters, state.scope().villages)
    if len(villages) > MAX_LIST_VILLAGES:
        return [], [], villages, True
    every = review.submissions(state.store(), villages)
    enumerators = sorted({p["registered_by"] for p in every if p.get("registered_by")})
    return [p for p in every if filters.matches(p)], enumerators, villages, False


# -- the list ---------------------------------------------------------------------------------------
@bp.route("/review")
def review_list():
    filters = Filters.parse(request.args)
    if filters.sample and not filters.seed:  # a new draw; its seed in the URL keeps it for every page
        return redirect(url_for(".review_list", **filters.args(seed=secrets.token_hex(4), page=1)))
    rows, enumerators, villages, too_big = _rows(filters)
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(filters.page, pages)
    shown = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    store, scope, grid = state.store(), state.scope(), state.current_grid()
    # names are personal data: which villages' people were listed is on record (IDs are masked)
    audit.record_reads(store, scope, "review_list", sorted({p["village"] for p in shown}))
    listed_villages = villages if filters.township or len(villages) <= MAX_LIST_VILLAGES else []
    choices = {  # each filter's (value, label) pairs
        "township": [(t["code"], t["name"]) for t in _townships(scope.villages)],
        "village": [(v, grid.get(v)["name"]) for v in listed_villages if grid.get(v)],
        "by": [(name, name) for name in enumerators],
        "state": [(s, STATE_FILTERS[filters.mode][s]) for s in STATES[filters.mode]],
        "on": list(DATE_LABELS.items()), "sample": [(str(n), f"{n}%") for n in SAMPLE_PERCENTS],
    }
    return render_template(
        "staff/review.html", filters=filters, rows=shown, total=len(rows), page=page, pages=pages,
        pending=sum(1 for p in rows if review.review_state(p) == review.PENDING), choices=choices,
        too_big=too_big, as_of=registry.now_iso(), grid=grid, review=review, mask_id=mask_id,
        may_review=review.may_review(current_user.role), back=url_for(".review_list", **filters.args()))


@bp.route("/review", methods=("POST",))
def review_bulk():
    """初审通过 for the ticked rows, or for every row waiting for 初审 that the filter shows."""
    filters = replace(Filters.parse(request.form), mode="review")
    back = url_for(".review_list", **filters.args())
    if request.form.get("target") == "filtered":
        refs = [p["ref"] for p in _rows(filters)[0] if review.review_state(p) == review.PENDING]
    else:
        refs = request.form.getlist("ref")
    if not refs:
        flash(_("没有可初审通过的登记：请先勾选，或调整筛选条件。"), "warning")
        return redirect(back)
    as_of = request.form.get("as_of") or None
    seen = {key.removeprefix("seen:"): value for key, value in request.form.items()
            if key.startswith("seen:")}  # each listed row's version, as shown
    try:
        outcome = review.approve_many(state.store(), state.scope(), current_user.role, refs, as_of, seen)
    except review.Refused as exc:
        flash(str(exc.message), "error")
        return redirect(back)
    flash(_("已初审通过 %(n)d 条。", n=len(outcome.changed)), "success")
    if outcome.skipped:
        flash(_("%(n)d 条未处理：不是待初审，或在列表显示后又被修改过。", n=len(outcome.skipped)), "warning")
    return redirect(back)


# -- one record -------------------------------------------------------------------------------------
@bp.route("/review/<ref>", methods=("GET", "POST"))
def review_person(ref: str):
    store, scope = state.store(), state.scope()
    person = registry.person(store, scope, ref)  # NotFound → 404, outside the area as when missing
    back = _back(request.values.get("back"))
    problem, status = None, 200
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            review.decide(store, scope, current_user.role, person["ref"], action,
                          request.form.get("comment", ""), request.form.get("seen") or None)
        except review.Refused as exc:
            problem, status = exc.message, 422
        else:
            flash(_("%(name)s：%(what)s。", name=person["answers"].get("name", ""),
                    what=str(DONE[action])), "success")
            return redirect(back or url_for(".review_person", ref=person["ref"]))
    audit.record_read(store, scope, "review_read_person", person["ref"])  # shows the full ID number
    grid = state.current_grid()
    house = store.read(Store.village(person["village"])).get("households", person["household"])
    definition = state.registration_form()
    return render_template(
        "staff/review_person.html", person=person, house=house or {}, definition=definition,
        unit=grid.get(person["village"]) or {}, township=grid.township_of(person["village"]) or {},
        answers=_answers(definition, person["answers"]), events=review.timeline(store, person),
        actions=review.allowed_actions(current_user.role, person), review=review, back=back,
        problem=problem, comment=request.form.get("comment", "")), status


def _answers(definition, answers: dict) -> list[tuple[Any, list[tuple[str, Any]]]]:
    """(section or None, [(field name, answer)]) of every answer given, in the form's order; answers
    to fields the form no longer has come last, under their own names."""
    sections = [(section, [(f.name, answers[f.name]) for f in section.fields
                           if f.type != "confirm" and answers.get(f.name) not in (None, "")])
                for section in definition.sections]
    found = [(s, items) for s, items in sections if items]
    others = [(name, value) for name, value in answers.items()
              if definition.find(name) is None and value not in (None, "")]
    return found + ([(None, others)] if others else [])


def _back(target: str | None) -> str | None:
    """Where to go after a decision: only the review list of this site, with its filters."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path != url_for(".review_list"):
        return None
    return target
