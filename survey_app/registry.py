"""Households and persons: the rules of one person, one form.

Every read and write here is given the caller's area (a :class:`Scope`).  A
record outside it raises :class:`NotFound`, exactly as if it did not exist.
The village of a record is the village file it lives in — never taken from
the request.  Web form and JSON API both register through :func:`submit`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import clock
from . import coverage as coverage_rows
from .formdef import FormDefinition, Result
from .grid import Grid
from .i18n import lazy
from .privacy import mask_id
from .store import Shard, Store
from .textnorm import person_name

RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ENVELOPE = frozenset({"uuid", "household", "person", "incomplete"})
TRUE_WORDS = (True, "1", "true", "on", "yes")
REVISIONS = "revisions"  # earlier answers of edited persons, in their village's file


class NotFound(LookupError):
    """Absent, or outside the caller's area — the two are never told apart."""


class Invalid(ValueError):
    def __init__(self, result: Result):
        super().__init__("invalid")
        self.errors = result.errors
        self.warnings = result.warnings


class Duplicate(Exception):
    """The ID number belongs to a person already registered in the district.

    It carries what the answer may use and never the number itself: whether the
    submitted name is the registered person's (only then may a village outside
    the caller's area be named) and the number masked for the audit.
    """

    def __init__(self, ref: str, village_code: str, in_scope: bool, *,
                 name_matches: bool = False, masked_id: str = ""):
        super().__init__(ref)
        self.ref = ref
        self.village_code = village_code
        self.in_scope = in_scope
        self.name_matches = name_matches
        self.masked_id = masked_id


class Conflict(Exception):
    """The uuid was used before with different content."""

    def __init__(self, ref: str | None):
        super().__init__(ref)
        self.ref = ref


@dataclass(frozen=True)
class Scope:
    villages: frozenset[str]
    username: str = ""

    def require(self, village: str) -> None:
        if village not in self.villages:
            raise NotFound(village)


@dataclass
class Submitted:
    ref: str
    receipt: str
    created: bool
    replayed: bool = False
    warnings: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # a 暂存: the required answers still open
    household_size: int | None = None  # the household's declared size, when this person grew it


def now_iso() -> str:
    return clock.now_iso()


def make_ref(village: str, doc_id: int) -> str:
    return f"{village}.{doc_id}"


def parse_ref(ref: Any) -> tuple[str, int]:
    try:
        village, number = str(ref).split(".")
        Store.village(village)
        return village, int(number)
    except ValueError:
        raise NotFound(ref) from None


def _with_ref(village: str, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "ref": make_ref(village, record["doc_id"]), "village": village}


# -- reading --------------------------------------------------------------------
def households(store: Store, scope: Scope, village: str) -> list[dict[str, Any]]:
    scope.require(village)
    shard = store.read(Store.village(village))
    people: dict[int, list[dict[str, Any]]] = {}
    for p in shard.all("persons"):
        people.setdefault(p["household"], []).append(p)
    houses = []
    for h in shard.all("households"):
        progress = coverage_rows.household_progress(h, people.get(h["doc_id"], ()))
        houses.append({**_with_ref(village, h), "registered": progress["registered"], "progress": progress})
    return houses


def _record(store: Store, scope: Scope, table: str, ref: Any) -> dict[str, Any]:
    village, doc_id = parse_ref(ref)
    scope.require(village)
    record = store.read(Store.village(village)).get(table, doc_id)
    if record is None:
        raise NotFound(ref)
    return _with_ref(village, record)


def household(store: Store, scope: Scope, ref: str) -> dict[str, Any]:
    return _record(store, scope, "households", ref)


def members(store: Store, scope: Scope, household_ref: str) -> list[dict[str, Any]]:
    village, doc_id = parse_ref(household_ref)
    scope.require(village)
    shard = store.read(Store.village(village))
    return [_with_ref(village, p) for p in shard.find("persons", household=doc_id)]


def persons_in(store: Store, scope: Scope, village: str) -> list[dict[str, Any]]:
    scope.require(village)
    return [_with_ref(village, p) for p in store.read(Store.village(village)).all("persons")]


def person(store: Store, scope: Scope, ref: str) -> dict[str, Any]:
    return _record(store, scope, "persons", ref)


def _reader(store: Store, shards: Mapping[str, Shard] | None) -> Callable[[str], Shard]:
    """Shards already open in a transaction are reused, so a file is parsed once."""
    return lambda name: (shards or {}).get(name) or store.read(name)


def locate_id_number(store: Store, id_number: str,
                     shards: Mapping[str, Shard] | None = None) -> tuple[str, int] | None:
    """Where a person with this ID lives, checked against the village file itself."""
    read = _reader(store, shards)
    entry = read(Store.index("idnum", id_number)).find_one("entries", key=id_number)
    if entry is None:
        return None
    record = read(Store.village(entry["village"])).get("persons", entry["person"])
    if record is None or record.get("answers", {}).get("id_number") != id_number:
        return None  # a reservation whose village write never happened
    return entry["village"], entry["person"]


# -- households -----------------------------------------------------------------
def add_household(store: Store, scope: Scope, definition: FormDefinition, village: str,
                  payload: Mapping[str, Any]) -> tuple[str, bool]:
    """Add a household found in the field; returns (ref, created).

    With a client ``uuid`` a retry over a bad signal, or a double tap, returns
    the household already made instead of a second one.
    """
    scope.require(village)
    answers = {k: v for k, v in payload.items() if k not in ENVELOPE}
    submission_id = check_uuid(payload["uuid"]) if payload.get("uuid") else None
    digest = content_digest({"village": village, "answers": answers})
    result = definition.validate(answers)
    name = Store.village(village)
    with coverage_rows.transaction(store, [village]) as shards:
        shard = shards[name]
        earlier = shard.find_one("households", uuid=submission_id) if submission_id else None
        if earlier:
            if earlier.get("digest") != digest:
                raise Conflict(make_ref(village, earlier["doc_id"]))
            return make_ref(village, earlier["doc_id"]), False
        if not result.ok:
            raise Invalid(result)
        confirmed = result.values.pop("confirm_new_household", False)
        if not confirmed:
            _refuse_a_second_copy(shard, result.values)
        doc_id = shard.insert("households", {
            **result.values, "source": "field", "created_by": scope.username,
            "created_at": now_iso(), "uuid": submission_id, "digest": digest,
        })
        write_audit(shard, scope, "add_household", make_ref(village, doc_id))
    return make_ref(village, doc_id), True


def _refuse_a_second_copy(shard: Shard, values: Mapping[str, Any]) -> None:
    """A household whose head or address the village already has is added only once confirmed."""
    same = [h for h in shard.all("households")
            if h.get("head_name") == values.get("head_name") or h.get("address") == values.get("address")]
    if same:
        found = "；".join(f"{h['head_name']}（{h['address']}）" for h in same[:3])
        raise Invalid(Result(errors={"confirm_new_household": lazy(
            "本村已有相同户主或相同地址的家庭户：%(f)s。如果就是这一户，请回到该户登记；"
            "如确是另一户，请勾选“确认这是另一户”后再保存。", f=found)}))


def write_audit(shard: Shard, scope: Scope, action: str, ref: str, **details: Any) -> None:
    # Audit entries name records by reference only: never an ID or phone number.
    shard.insert("audit", {"at": now_iso(), "user": scope.username, "action": action,
                           "ref": ref, **details})


# -- one person, one form ------------------------------------------------------------
def content_digest(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(dict(payload), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def new_receipt() -> str:
    # One read of the system's randomness, not eight: 32 letters, so each byte maps evenly.
    chars = "".join(RECEIPT_ALPHABET[b % len(RECEIPT_ALPHABET)] for b in secrets.token_bytes(8))
    return f"{chars[:4]}-{chars[4:]}"


def check_uuid(value: Any) -> str:
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        raise Invalid(Result(errors={"uuid": "缺少或无效的 uuid（客户端生成的唯一编号）。"})) from None


def submit(store: Store, scope: Scope, definition: FormDefinition,
           payload: Mapping[str, Any]) -> Submitted:
    """Register (or update) one person from one form.  Idempotent on ``uuid``."""
    submission_id = check_uuid(payload.get("uuid"))
    home = household(store, scope, payload.get("household"))
    target = target_person(store, scope, home, payload.get("person"))
    answers = {k: v for k, v in payload.items() if k not in ENVELOPE}
    incomplete = payload.get("incomplete") in TRUE_WORDS
    digest = content_digest({"household": home["ref"], "person": payload.get("person"),
                             "answers": answers, **({"incomplete": True} if incomplete else {})})
    replay = _replay(store, scope, submission_id, digest)
    if replay:
        return replay
    result = definition.validate(answers, partial=incomplete)
    if incomplete and "name" in result.missing:
        # 暂存 keeps what is known, but a record nobody can find on the household page is no use
        result.errors["name"] = "暂存也需要填写姓名。"
    if not result.ok:
        raise Invalid(result)
    return _write(store, scope, home, target, submission_id, digest, result)


def target_person(store: Store, scope: Scope, home: dict[str, Any],
                   ref: Any) -> dict[str, Any] | None:
    if ref in (None, ""):
        return None
    found = person(store, scope, str(ref))
    if found["village"] != home["village"] or found["household"] != home["doc_id"]:
        raise NotFound(ref)
    return found


def _replay(store: Store, scope: Scope, submission_id: str, digest: str,
            shards: Mapping[str, Shard] | None = None) -> Submitted | None:
    read = _reader(store, shards)
    entry = read(Store.index("uuid", submission_id)).find_one("entries", key=submission_id)
    if entry is None:
        return None
    record = read(Store.village(entry["village"])).get("persons", entry["person"])
    if record is None or submission_id not in record.get("uuids", ()):
        return None  # reserved but never written: treat as new
    ref = make_ref(entry["village"], entry["person"])
    if entry["digest"] != digest:
        raise Conflict(ref if entry["village"] in scope.villages else None)
    scope.require(entry["village"])
    return Submitted(ref, record["receipt"], created=False, replayed=True,
                     missing=record.get("missing", []))


def _write(store: Store, scope: Scope, home: dict[str, Any], target: dict[str, Any] | None,
           submission_id: str, digest: str, result: Result) -> Submitted:
    village = home["village"]
    id_number = result.values.get("id_number")  # absent only from an incomplete (暂存) form
    old_id = (target or {}).get("answers", {}).get("id_number")
    names = [Store.index("uuid", submission_id)] + \
        [Store.index("idnum", number) for number in (id_number, old_id) if number]
    with coverage_rows.transaction(store, [village], *names) as shards:
        shard = shards[Store.village(village)]
        replay = _replay(store, scope, submission_id, digest, shards)  # a racing twin may have won
        if replay:
            return replay
        existing = locate_id_number(store, id_number, shards) if id_number else None
        if existing and (target is None or existing != (village, target["doc_id"])):
            holder = _reader(store, shards)(Store.village(existing[0])).get("persons", existing[1])
            raise Duplicate(make_ref(*existing), existing[0], existing[0] in scope.villages,
                            name_matches=_same_name(result.values.get("name"),
                                                    (holder or {}).get("answers", {}).get("name")),
                            masked_id=mask_id(id_number))
        current = shard.get("persons", target["doc_id"]) if target else None
        doc_id = target["doc_id"] if target else shard.next_id("persons")
        record = _person_record(scope, home, current, submission_id, result)
        # Index entries first: a crash before the village write leaves only a
        # reservation that lookups verify and ignore, never a person without index.
        if id_number:
            shards[Store.index("idnum", id_number)].upsert(
                "entries", {"key": id_number, "village": village, "person": doc_id}, key=id_number)
        shards[Store.index("uuid", submission_id)].upsert(
            "entries", {"key": submission_id, "village": village, "person": doc_id,
                        "digest": digest}, key=submission_id)
        grown = None
        if current:
            _keep_revision(shard, scope, doc_id, current, record)
            shard.replace("persons", doc_id, record)
        else:
            shard.insert("persons", record, doc_id=doc_id)
            grown = _grow_household(shard, scope, home)
        if old_id and old_id != id_number:
            shards[Store.index("idnum", old_id)].remove("entries", key=old_id)
        ref = make_ref(village, doc_id)
        write_audit(shard, scope, "update_person" if current else "register_person", ref,
                    receipt=record["receipt"])
    return Submitted(ref, record["receipt"], created=current is None, warnings=result.warnings,
                     missing=record["missing"], household_size=grown)


def _same_name(given: Any, registered: Any) -> bool:
    """Names compared as typed by any input method (full-width letters, odd dots and spaces)."""
    given, registered = person_name(str(given or "")), person_name(str(registered or ""))
    return bool(given) and given == registered


def _grow_household(shard: Shard, scope: Scope, home: dict[str, Any]) -> int | None:
    """A person added beyond the declared size makes the size grow (and says so): the list and
    the size must agree, and the new person never stands in for a roster person still pending."""
    house = shard.get("households", home["doc_id"])
    listed = len(shard.find("persons", household=home["doc_id"]))
    declared = int(house.get("members_count") or 0)
    if listed <= declared:
        return None
    shard.update("households", home["doc_id"], {"members_count": listed})
    write_audit(shard, scope, "household_size", make_ref(home["village"], home["doc_id"]),
                before=declared, after=listed)
    return listed


def _person_record(scope: Scope, home: dict[str, Any], current: dict[str, Any] | None,
                   submission_id: str, result: Result) -> dict[str, Any]:
    stamp = now_iso()
    base = dict(current or {"created_at": stamp, "household": home["doc_id"]})
    # Any write undoes the last review (review.py): a registered form waits for 初审 again and the
    # county's audit of the earlier answers no longer holds; a 暂存 is not reviewed until complete.
    for key in ("doc_id", "review", "audit"):
        base.pop(key, None)
    status = "incomplete" if result.missing else "registered"
    return {
        # Every uuid that ever wrote this record, so a late retry of an earlier
        # form is recognised as a replay even after the record was edited.
        **base, "answers": result.values, "status": status,
        "missing": list(result.missing),  # required answers a 暂存 left open (人不漏项, measurable)
        "uuids": [*base.get("uuids", ()), submission_id],
        "receipt": base.get("receipt") or new_receipt(),
        # who registered whom and when stays; who changed it last follows each edit
        "registered_by": base.get("registered_by") or scope.username,
        "registered_at": base.get("registered_at") or (stamp if status == "registered" else None),
        "changed_by": scope.username, "updated_at": stamp,
        "warnings": {k: [str(w) for w in v] for k, v in result.warnings.items()},
        **({"review": {"state": "pending"}} if status == "registered" else {}),
    }


def _keep_revision(shard: Shard, scope: Scope, doc_id: int, current: dict[str, Any],
                   record: dict[str, Any]) -> None:
    """Keep the answers an edit replaces: nothing once saved is lost, and who changed what shows."""
    if current["answers"] == record["answers"]:
        return
    shard.insert(REVISIONS, {
        "person": doc_id, "answers": current["answers"], "status": current["status"],
        "saved_at": current.get("updated_at") or current.get("created_at"),
        "saved_by": current.get("changed_by") or current.get("registered_by") or current.get("source", ""),
        "replaced_at": record["updated_at"], "replaced_by": scope.username,
    })


def history(store: Store, current: dict[str, Any]) -> list[dict[str, Any]]:
    """A person's edits, newest first: when, by whom, and each changed field's old and new value.

    ``current`` is the person as :func:`person` returned it, so the caller's
    area was already checked and the record is not read a second time.
    """
    kept = sorted(store.read(Store.village(current["village"])).find(REVISIONS, person=current["doc_id"]),
                  key=lambda r: r["doc_id"])
    versions = [r["answers"] for r in kept] + [current["answers"]]
    changes = []
    for revision, before, after in zip(kept, versions, versions[1:], strict=False):
        fields = [name for name in dict.fromkeys([*before, *after]) if before.get(name) != after.get(name)]
        changes.append({"at": revision["replaced_at"], "by": revision["replaced_by"],
                        "was_expected": revision["status"] == "expected",
                        "fields": [(name, before.get(name), after.get(name)) for name in fields]})
    return changes[::-1]


def record_export(store: Store, scope: Scope, area: str, fmt: str, villages: int, persons: int) -> None:
    """Personal data leaving the system is always on record (PIPL): who, when, which area, in
    what format, how many people.  Written before the first byte goes (a streamed file's rows
    are not counted until it ends, and a client may stop reading), so ``persons`` is the area's
    coverage count at that moment; the area is named by its code, never by what it contains."""
    with store.transaction(Store.SYSTEM) as shards:
        write_audit(shards[Store.SYSTEM], scope, f"export_{fmt}", area, format=fmt,
                    villages=villages, persons=persons)


# -- coverage -------------------------------------------------------------------------
def village_coverage(store: Store, village: str) -> dict[str, Any]:
    return coverage_rows.village_row(store, village)


def coverage(store: Store, grid: Grid, villages: Iterable[str]) -> list[dict[str, Any]]:
    codes = list(villages)
    found = coverage_rows.rows(store, codes)
    rows = []
    for code in codes:
        unit = grid.get(code) or {"name": code}
        township = grid.township_of(code) or {"name": ""}
        rows.append({**found[code], "name": unit["name"], "township": township["name"]})
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return coverage_rows.totals(rows)
