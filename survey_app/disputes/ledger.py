"""One dispute item's life, every step kept: nothing is overwritten but the current state.

Items live in their township's ledger shard (``Store.disputes``).  Who may see an
item (:class:`Viewer`): staff whose area holds its village, members of a
department it was ever routed to whose area holds it, and the person who took
it in; anyone else gets NotFound, as for an item that does not exist.  Who may
act on it: staff of its area and members of a department holding it now, in
their area.  A department that takes an item in holds it from the start (首接负责:
the first receiver answers for it until it is routed on).

The party's phone is kept in the item's answers only: events, audit entries and
logs name the item by its number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import clock
from ..formdef import FormDefinition, Result
from ..i18n import lazy
from ..registry import Conflict, Invalid, NotFound, Scope, check_uuid, write_audit
from ..store import Shard, Store
from ..workdays import WorkCalendar
from .rules import CLASSES, ESCALATION_HOLDER, DisputeRules

TABLE = "items"
NOTE_LONGEST = 500
SATISFACTION = ("satisfied", "basically", "dissatisfied")   # 满意 / 基本满意 / 不满意
REPLY_WAYS = ("phone", "in_person", "letter", "online")
# A form sent again (Back, edited, sent again) with its first uuid: the page offers a new one.
UUID_REUSED = lazy("这张登记单已经提交过，内容与已受理的不同，未作修改：请核对后再次提交，将作为新的登记。")


@dataclass(frozen=True)
class Viewer:
    villages: frozenset[str]
    username: str
    departments: frozenset[str] = field(default_factory=frozenset)
    staff: bool = False

    def may_see(self, item: Mapping[str, Any]) -> bool:
        return self._covers(item, "held_by") or item.get("received_by") == self.username

    def may_act(self, item: Mapping[str, Any]) -> bool:
        return self._covers(item, "holders")

    def _covers(self, item: Mapping[str, Any], holders: str) -> bool:
        """Staff: any item of their area.  A department: what it holds (or held), in its area."""
        if item["village"] not in self.villages:
            return False
        return self.staff or bool(self.departments & set(item.get(holders, ())))


@dataclass(frozen=True)
class Context:
    """What every step needs besides the item: the store, who acts, the rules and the calendar."""
    store: Store
    viewer: Viewer
    rules: DisputeRules
    calendar: WorkCalendar


def refuse(**errors: Any) -> Invalid:
    return Invalid(Result(errors=errors))


def make_ref(village: str, doc_id: int) -> str:
    return f"{village[:9]}-{doc_id}"


def parse_ref(ref: Any) -> tuple[str, int]:
    try:
        township, number = str(ref).split("-")
        if len(township) != 9 or not township.isdigit():
            raise ValueError(ref)
        return township, int(number)
    except ValueError:
        raise NotFound(ref) from None


# -- intake ----------------------------------------------------------------------------------------
def intake(ctx: Context, definition: FormDefinition, village: str, payload: Mapping[str, Any], *,
           household: str | None = None, person: str | None = None) -> str:
    """Register a dispute where it was first heard (首接负责): the item's number (see
    :func:`intake_replayed`)."""
    return intake_replayed(ctx, definition, village, payload, household=household, person=person)[0]


def intake_replayed(ctx: Context, definition: FormDefinition, village: str, payload: Mapping[str, Any], *,
                    household: str | None = None, person: str | None = None) -> tuple[str, bool]:
    """Register a dispute, idempotent on the client's uuid: its number, and whether the uuid had
    registered it already (the API answers a replay 200, a new item 201).

    The same uuid again with the same matter and place gives the first item's number; with any
    other content it is refused (Conflict), decided inside the ledger's transaction so that two
    different bodies racing with one uuid cannot both be answered with the first one's number."""
    if village not in ctx.viewer.villages:
        raise NotFound(village)
    uuid = check_uuid(payload.get("uuid"))
    result = definition.validate({k: v for k, v in payload.items() if k in definition.field_names})
    name = Store.disputes(village)
    with ctx.store.transaction(name) as shards:
        shard = shards[name]
        earlier = shard.find_one(TABLE, uuid=uuid)
        if earlier:
            if not (ctx.viewer.may_see(earlier) and result.ok and earlier["answers"] == result.values
                    and (earlier["household"], earlier["person"]) == (household, person)):
                raise Conflict(make_ref(village, earlier["doc_id"]))
            return make_ref(village, earlier["doc_id"]), True
        if not result.ok:
            raise Invalid(result)
        today = clock.today()
        # 首接负责: a department that hears it first holds it (staff and enumerators route it on)
        first = [] if ctx.viewer.staff else sorted(ctx.viewer.departments)
        doc_id = shard.insert(TABLE, {
            "village": village, "household": household, "person": person, "uuid": uuid,
            "answers": result.values, "received_by": ctx.viewer.username, "received_at": clock.now_iso(),
            "level": "routine", "level_since": today.isoformat(),
            "due": ctx.rules.due(ctx.calendar, "routine", today).isoformat(),
            "holders": first, "held_by": first, "state": "open", "reply": None, "replies": [],
            "satisfaction": None, "closed_at": None,
            "events": [_event(ctx, "intake", "", level="routine", **({"holders": first} if first else {}))],
        })
        write_audit(shard, _scope(ctx), "dispute_intake", make_ref(village, doc_id))
    return make_ref(village, doc_id), False


# -- steps --------------------------------------------------------------------------------------------
def classify(ctx: Context, ref: str, level: str, note: str = "") -> dict[str, Any]:
    """Set the class (日常/疑难/重大); the due date follows from today and the class's limit."""
    if level not in CLASSES:
        raise refuse(level=lazy("请选择日常、疑难或重大。"))
    return _step(ctx, ref, "classify", note, lambda item: _set_level(ctx, item, level))


def transfer(ctx: Context, ref: str, department: str, note: str) -> dict[str, Any]:
    """Route to the one department whose duty it is (内部流转), with a note saying why."""
    _require_departments(ctx, [department])
    _require_note(note)
    return _step(ctx, ref, "transfer", note, lambda item: _hold(item, [department]),
                 departments=[department])


def joint(ctx: Context, ref: str, departments: Iterable[str], note: str) -> dict[str, Any]:
    """Several departments handle it together (联合处理)."""
    chosen = list(dict.fromkeys(departments))
    if len(chosen) < 2:
        raise refuse(departments=lazy("联合处理至少选择两个部门。"))
    _require_departments(ctx, chosen)
    _require_note(note)
    return _step(ctx, ref, "joint", note, lambda item: _hold(item, chosen), departments=chosen)


def escalate(ctx: Context, ref: str, note: str) -> dict[str, Any]:
    """One class up: 疑难 goes to the working group, 重大 to the leading group's office."""
    _require_note(note)

    def change(item: dict[str, Any]) -> None:
        position = CLASSES.index(item["level"])
        if position == len(CLASSES) - 1:
            raise refuse(level=lazy("重大事项已在县领导小组办公室，不能再上报。"))
        level = CLASSES[position + 1]
        _set_level(ctx, item, level)
        _hold(item, [*item["holders"], ESCALATION_HOLDER[level]])
    return _step(ctx, ref, "escalate", note, change)


def reply(ctx: Context, ref: str, text: str, how: str) -> dict[str, Any]:
    """The one answer to the party (统一答复): it closes the item.  A reopened item's first reply
    stays; a later one is kept beside it."""
    text = " ".join(str(text or "").split())[:NOTE_LONGEST]
    errors = {}
    if not text:
        errors["text"] = lazy("请填写答复内容。")
    if how not in REPLY_WAYS:
        errors["how"] = lazy("请选择答复方式。")
    if errors:
        raise refuse(**errors)

    def change(item: dict[str, Any]) -> None:
        answer = {"text": text, "how": how, "by": ctx.viewer.username, "at": clock.now_iso()}
        if item["reply"] is None:
            item["reply"] = answer
        else:
            item["replies"].append(answer)
        item["state"], item["closed_at"] = "closed", answer["at"]
    return _step(ctx, ref, "reply", "", change, open_only=True)


def rate(ctx: Context, ref: str, satisfaction: str) -> dict[str, Any]:
    if satisfaction not in SATISFACTION:
        raise refuse(satisfaction=lazy("请选择满意、基本满意或不满意。"))

    def change(item: dict[str, Any]) -> None:
        if item["state"] != "closed":
            raise refuse(satisfaction=lazy("答复之后才能记录当事人的满意度。"))
        item["satisfaction"] = satisfaction
    return _step(ctx, ref, "rate", "", change, open_only=False, satisfaction=satisfaction)


def reopen(ctx: Context, ref: str, note: str) -> dict[str, Any]:
    """The party is not satisfied, or the matter came back: open again from today."""
    _require_note(note)

    def change(item: dict[str, Any]) -> None:
        if item["state"] != "closed":
            raise refuse(note=lazy("这件事项尚未办结，无需重新打开。"))
        item["state"], item["closed_at"] = "open", None
        _set_level(ctx, item, item["level"])
    return _step(ctx, ref, "reopen", note, change, open_only=False)


# -- reading ------------------------------------------------------------------------------------------
def get(ctx: Context, ref: str) -> dict[str, Any]:
    township, doc_id = parse_ref(ref)
    item = ctx.store.read(Store.disputes(township)).get(TABLE, doc_id)
    if item is None or not ctx.viewer.may_see(item):
        raise NotFound(ref)
    return {**item, "ref": make_ref(township, doc_id)}


def visible(ctx: Context, townships: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every item the viewer may see, in the townships named (default: every ledger)."""
    names = [Store.disputes(t) for t in townships] if townships is not None \
        else ctx.store.names("disputes/")
    found = []
    for name in sorted(set(names)):
        township = name.split("/", 1)[1]
        found += [{**item, "ref": make_ref(township, item["doc_id"])}
                  for item in ctx.store.read(name).all(TABLE) if ctx.viewer.may_see(item)]
    return found


def days_left(item: Mapping[str, Any], calendar: WorkCalendar, today: dt.date | None = None) -> int:
    """Working days until the due date: 0 on the day itself, below zero once overdue."""
    return calendar.between(today or clock.today(), dt.date.fromisoformat(item["due"]))


def overdue(item: Mapping[str, Any], calendar: WorkCalendar, today: dt.date | None = None) -> bool:
    return item["state"] == "open" and days_left(item, calendar, today) < 0


# -- helpers ------------------------------------------------------------------------------------------
def _step(ctx: Context, ref: str, action: str, note: str, change, *, open_only: bool = True,
          **details: Any) -> dict[str, Any]:
    township, doc_id = parse_ref(ref)
    name = Store.disputes(township)
    with ctx.store.transaction(name) as shards:
        shard: Shard = shards[name]
        item = shard.get(TABLE, doc_id)
        if item is None or not ctx.viewer.may_see(item):
            raise NotFound(ref)
        if not ctx.viewer.may_act(item):
            raise refuse(item=lazy("这件事项不在您的办理范围内，只能查看。"))
        if open_only and item["state"] != "open":
            raise refuse(item=lazy("这件事项已经办结；如需继续办理，请先重新打开。"))
        item = {k: v for k, v in item.items() if k != "doc_id"}
        change(item)
        item["events"] = [*item["events"], _event(ctx, action, note, level=item["level"],
                                                   holders=list(item["holders"]), **details)]
        shard.replace(TABLE, doc_id, item)
        write_audit(shard, _scope(ctx), f"dispute_{action}", make_ref(township, doc_id))
    return {**item, "doc_id": doc_id, "ref": make_ref(township, doc_id)}


def _set_level(ctx: Context, item: dict[str, Any], level: str) -> None:
    today = clock.today()
    item["level"], item["level_since"] = level, today.isoformat()
    item["due"] = ctx.rules.due(ctx.calendar, level, today).isoformat()


def _hold(item: dict[str, Any], departments: list[str]) -> None:
    item["holders"] = list(dict.fromkeys(departments))
    item["held_by"] = list(dict.fromkeys([*item["held_by"], *departments]))


def _require_departments(ctx: Context, departments: list[str]) -> None:
    known = {key for key, _ in ctx.rules.departments}
    if not departments or any(d not in known for d in departments):
        raise refuse(departments=lazy("请选择承办部门。"))


def _require_note(note: str) -> None:
    if not " ".join(str(note or "").split()):
        raise refuse(note=lazy("请写明流转或上报的理由。"))


def _event(ctx: Context, action: str, note: str, **details: Any) -> dict[str, Any]:
    return {"at": clock.now_iso(), "by": ctx.viewer.username, "action": action,
            "note": " ".join(str(note or "").split())[:NOTE_LONGEST], **details}


def _scope(ctx: Context) -> Scope:
    return Scope(ctx.viewer.villages, ctx.viewer.username)
