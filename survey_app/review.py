"""初审 and 审核: the township's first review of each registration, the county's audit of approvals.

Seed 002, 第四阶段: 乡镇（街道）社保经办机构负责对村（社区）采集补录的基础和信息变更情况进行初审和维护；
各区县负责辖区内居民基础数据审核.  So a registered form waits for the township (待初审), which
approves it (初审通过) or returns it to the enumerator with a comment (退回); the county audits
what townships approved (已审核) or questions it (有疑问), also with a comment.

Both live on the person record, under keys the dashboards count from::

    person["review"] = {"state": "pending" | "approved" | "returned", "by", "at", "comment"}
    person["audit"]  = {"state": "audited" | "questioned", "by", "at", "comment"}

``registry._person_record`` sets the review to pending and drops the audit on every registered
write (an enumerator's correction goes back to 待初审; the county's audit was of the earlier
answers); a 暂存 has no review until it is complete.  A township decision drops the audit too:
the county audits an approval, and a new decision is a new approval to audit.

Every decision is also kept in the village shard's ``reviews`` table (the review log), written
in the same transaction as the record.  Not in ``revisions``: that table keeps the answers an
edit replaced, and :func:`registry.history` diffs its versions one after another; a decision
changes no answer.  Each log entry notes how many revisions and writes the person had then,
so that :func:`timeline` puts decisions and edits in their true order even within one second.

Writes go through :func:`coverage.transaction` like registry's, so coverage rows stay current;
the audit entry names the record by reference only (a comment may hold any text, even an ID
number, so it stays with the record and is never copied into the audit log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import coverage as coverage_rows
from . import registry
from .i18n import lazy
from .registry import REVISIONS, NotFound, Scope, make_ref, now_iso, parse_ref, write_audit
from .store import Store

PENDING, APPROVED, RETURNED = "pending", "approved", "returned"
AUDITED, QUESTIONED = "audited", "questioned"
REVIEW_LABELS = {PENDING: lazy("待初审"), APPROVED: lazy("初审通过"), RETURNED: lazy("退回")}
AUDIT_LABELS = {AUDITED: lazy("已审核"), QUESTIONED: lazy("有疑问")}
LOG = "reviews"  # the review log, in the village's shard
COMMENT_LONGEST = 500
# Who takes which step: a township's staff the 初审, a county's the 审核 of what townships approved.
# Nobody does both, so an approval is always looked at by a second office.
FIRST_REVIEW_ROLES = ("township_staff",)
AUDIT_ROLES = ("district_admin",)
# action: (which key of the person it sets, the state, whether a comment is required)
ACTIONS = {
    "approve": ("review", APPROVED, False), "return": ("review", RETURNED, True),
    "audit": ("audit", AUDITED, False), "question": ("audit", QUESTIONED, True),
}


class Refused(ValueError):
    """A decision that cannot be taken: the message says why; nothing was written."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Outcome:
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not waiting for this step, or changed since shown


def review_state(person: Mapping[str, Any]) -> str | None:
    """待初审/初审通过/退回 of a registered person; None for a roster person or a 暂存."""
    if person.get("status") != "registered":
        return None
    return (person.get("review") or {}).get("state") or PENDING  # registered before reviews existed


def audit_state(person: Mapping[str, Any]) -> str | None:
    if review_state(person) != APPROVED:
        return None
    return (person.get("audit") or {}).get("state")


def returned(person: Mapping[str, Any]) -> bool:
    return review_state(person) == RETURNED


def version(person: Mapping[str, Any]) -> str:
    """What a reviewer saw: any write since (an edit, another reviewer's decision) changes it,
    however soon after (times are kept to the second, two writes can share one)."""
    kept = {k: person.get(k) for k in ("answers", "status", "uuids", "updated_at", "review", "audit")}
    return registry.content_digest(kept)[:20]


def may_review(role: str) -> bool:
    return role in FIRST_REVIEW_ROLES


def may_audit(role: str) -> bool:
    return role in AUDIT_ROLES


def allowed_actions(role: str, person: Mapping[str, Any]) -> list[str]:
    """The decisions this role may take on this person now."""
    actions = []
    if may_review(role) and review_state(person):
        actions += ["approve", "return"]
    if may_audit(role) and review_state(person) == APPROVED:
        actions += ["audit", "question"]
    return actions


# -- deciding ----------------------------------------------------------------------------------
def decide(store: Store, scope: Scope, role: str, ref: str, action: str, comment: str = "",
           seen: str | None = None) -> dict[str, Any]:
    """One decision on one person, as shown to the reviewer (``seen``: its :func:`version` then).

    Raises NotFound outside the caller's area (as for a missing record) and :class:`Refused`
    when the decision does not apply, lacks its comment, or the form changed since it was shown.
    """
    if action not in ACTIONS:
        raise Refused(lazy("未知的操作。"))
    key, state, needs_comment = ACTIONS[action]
    comment = " ".join(str(comment or "").split())[:COMMENT_LONGEST]
    if needs_comment and not comment:
        raise Refused(lazy("退回或提出疑问时必须填写意见，说明需要修改或核实什么。"))
    village, doc_id = _checked([ref], scope)[0]
    with coverage_rows.transaction(store, [village]) as shards:
        shard = shards[Store.village(village)]
        current = shard.get("persons", doc_id)
        if current is None:
            raise NotFound(ref)
        if action not in allowed_actions(role, current):
            raise Refused(lazy("这条登记现在不能进行该操作。"))
        if seen is not None and seen != version(current):
            raise Refused(lazy("这条登记在您查看之后又被修改过，请重新查看后再审。"))
        return _write(shard, scope, village, current, key, state, comment)


def approve_many(store: Store, scope: Scope, role: str, refs: Iterable[str], as_of: str | None = None,
                 seen: Mapping[str, str] | None = None) -> Outcome:
    """初审通过 for many persons at once (ticked rows, or every row a filter shows).

    Every ref is checked before anything is written: one outside the caller's area, or
    missing, refuses the whole request with NotFound and changes nothing.  A person not waiting
    for 初审 is skipped, and so is one changed since the list was shown: its :func:`version` is
    not the one ``seen`` gives for it, or (rows the list did not carry) it changed after ``as_of``.
    """
    seen = seen or {}
    if not may_review(role):
        raise Refused(lazy("这条登记现在不能进行该操作。"))
    outcome = Outcome()
    by_village: dict[str, list[int]] = {}
    for village, doc_id in _checked(refs, scope):
        by_village.setdefault(village, []).append(doc_id)
    for village, ids in by_village.items():
        known = store.read(Store.village(village)).get_many("persons", ids)
        if len(known) != len(ids):
            raise NotFound(village)
    for village, ids in sorted(by_village.items()):  # one village's lock at a time
        with coverage_rows.transaction(store, [village]) as shards:
            shard = shards[Store.village(village)]
            people = shard.get_many("persons", ids)
            for doc_id in ids:
                current = people.get(doc_id, {})
                ref = make_ref(village, doc_id)
                changed = version(current) != seen[ref] if ref in seen else \
                    bool(as_of and current.get("updated_at", "") > as_of)
                if review_state(current) != PENDING or changed:
                    outcome.skipped.append(ref)
                    continue
                _write(shard, scope, village, current, "review", APPROVED, "")
                outcome.changed.append(ref)
    return outcome


def _checked(refs: Iterable[str], scope: Scope) -> list[tuple[str, int]]:
    found = []
    for ref in dict.fromkeys(refs):
        village, doc_id = parse_ref(ref)
        scope.require(village)
        found.append((village, doc_id))
    return found


def _write(shard, scope: Scope, village: str, current: dict[str, Any], key: str, state: str,
           comment: str) -> dict[str, Any]:
    doc_id = current.pop("doc_id")
    entry = {"state": state, "by": scope.username, "at": now_iso(), "comment": comment}
    record = {**current, key: entry}
    if key == "review":
        record.pop("audit", None)
    shard.replace("persons", doc_id, record)
    shard.insert(LOG, {"person": doc_id, "kind": key, **entry, "writes": len(current.get("uuids", ())),
                       "revisions": len(shard.find(REVISIONS, person=doc_id))})
    write_audit(shard, scope, f"{key}_{state}", make_ref(village, doc_id))
    return record


# -- what happened --------------------------------------------------------------------------------
def timeline(store: Store, person: dict[str, Any]) -> list[dict[str, Any]]:
    """Edits and decisions of one person, newest first.

    ``person`` as :func:`registry.person` returned it (the area was checked).  Each item has
    ``kind`` ("edit", "review", "audit" or "resubmitted"), ``at`` and ``by``; an edit has the
    changed ``fields`` as :func:`registry.history` gives them, a decision ``state`` and
    ``comment``.  A form saved again with the same answers keeps no revision; when that is what
    sent it back to 待初审, a "resubmitted" item says who and when.
    """
    edits = registry.history(store, person)[::-1]  # oldest first
    shard = store.read(Store.village(person["village"]))
    log = sorted(shard.find(LOG, person=person["doc_id"]), key=lambda e: e["doc_id"])
    items = [((number, 0, 0), {**edit, "kind": "edit"}) for number, edit in enumerate(edits, start=1)]
    items += [((e.get("revisions", 0), 1, e["doc_id"]),
               {k: e.get(k) for k in ("kind", "state", "by", "at", "comment")}) for e in log]
    ordered = [item for _key, item in sorted(items, key=lambda pair: pair[0])]
    last = log[-1] if log else None
    if last and review_state(person) == PENDING and last.get("writes") != len(person.get("uuids", ())) \
            and ordered[-1]["kind"] != "edit":
        ordered.append({"kind": "resubmitted", "at": person.get("updated_at"),
                        "by": person.get("changed_by")})
    return ordered[::-1]


# -- the list ---------------------------------------------------------------------------------------
def in_sample(ref: str, seed: str, percent: int) -> bool:
    """Whether a person falls in a random sample of ``percent`` %: drawn from the seed, so the
    same sample comes back on every page and reload, and a new seed draws a new one."""
    if percent >= 100:
        return True
    digest = hashlib.sha256(f"{seed}:{ref}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def submissions(store: Store, villages: Iterable[str]) -> list[dict[str, Any]]:
    """Every form handed in (registered, or kept incomplete) in these villages (already checked
    against the caller's area), oldest change first: the one waiting longest comes first."""
    found = []
    for code in villages:
        shard = store.read(Store.village(code))
        houses = {h["doc_id"]: h for h in shard.all("households")}
        for person in shard.all("persons"):
            if person.get("status") in ("registered", "incomplete"):
                house = houses.get(person.get("household"), {})
                found.append({**person, "ref": make_ref(code, person["doc_id"]), "village": code,
                              "head_name": house.get("head_name", "")})
    return sorted(found, key=lambda p: (p.get("updated_at") or "", p["ref"]))


def registered_on(person: Mapping[str, Any]) -> str:
    """When the form was first registered (older records: when they were created)."""
    return person.get("registered_at") or person.get("created_at") or ""
