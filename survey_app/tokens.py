"""Printed-form tokens: the opaque code in each paper form's QR.

A token says nothing about the person (no name, no ID number): it is random,
drawn from an alphabet without look-alike characters so that it can also be
typed from the paper when a camera fails.  The index shard maps a token to
its village and, once known, the person; the village shard remembers each
person's token so a reprinted form carries the same code as the first one.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from .registry import Scope, now_iso, parse_ref, write_audit
from .store import Store

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed by hand
LENGTH = 10
TABLE = "print_tokens"
_SEPARATORS = re.compile(r"[\s\-_]")
_ATTEMPTS = 5


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(raw: Any) -> str | None:
    """The token as stored, from what a person typed or a camera read; None if it cannot be one."""
    text = _SEPARATORS.sub("", str(raw or "")).upper()
    if len(text) != LENGTH or any(c not in ALPHABET for c in text):
        return None
    return text


def lookup(store: Store, raw: Any) -> dict[str, Any] | None:
    """``{"token", "village", "person"}`` (person is a doc id or None for a blank form)."""
    token = normalise(raw)
    if token is None:
        return None
    entry = store.read(Store.index("token", token)).find_one("entries", key=token)
    if entry is None:
        return None
    return {"token": token, "village": entry["village"], "person": entry.get("person")}


def for_persons(store: Store, scope: Scope, village: str, doc_ids: list[int]) -> dict[int, str]:
    """Each person's token, issuing one where the person has none yet."""
    scope.require(village)
    known = _known(store, village)
    missing = [d for d in doc_ids if d not in known]
    if missing:
        known.update(_issue(store, scope, village, missing))
    return {d: known[d] for d in doc_ids}


def issue_blank(store: Store, scope: Scope, village: str, count: int) -> list[str]:
    """Fresh tokens for blank forms: bound to the village now, to a person on first use."""
    scope.require(village)
    return list(_issue(store, scope, village, [None] * count).values()) if count else []


def _known(store: Store, village: str) -> dict[int, str]:
    rows = store.read(Store.village(village)).all(TABLE)
    return {r["person"]: r["token"] for r in rows if r.get("person") is not None}


def _issue(store: Store, scope: Scope, village: str, persons: list[int | None]) -> dict:
    for _ in range(_ATTEMPTS):
        issued = {(p if p is not None else -i): new_token() for i, p in enumerate(persons, 1)}
        if _write_new(store, scope, village, issued):
            return issued
    raise RuntimeError("无法生成不重复的表单编码，请重试。")


def _write_new(store: Store, scope: Scope, village: str, issued: dict[int, str]) -> bool:
    """Write every new token in one transaction; False if a token is already taken."""
    buckets: dict[str, list[dict[str, Any]]] = {}
    for slot, token in issued.items():
        person = slot if slot > 0 else None
        buckets.setdefault(Store.index("token", token), []).append(
            {"key": token, "village": village, "person": person, "issued_at": now_iso()})
    shard_name = Store.village(village)
    with store.transaction(shard_name, *buckets) as shards:
        taken = {e["key"] for name in buckets for e in shards[name].all("entries")}
        if taken & set(issued.values()):
            return False
        for name, entries in buckets.items():
            shards[name].upsert_by_key("entries", entries)
        shards[shard_name].insert_many(TABLE, [
            {"token": t, "person": s if s > 0 else None} for s, t in issued.items()])
        write_audit(shards[shard_name], scope, "issue_tokens", village, count=len(issued))
    return True


def bind(store: Store, scope: Scope, raw: Any, person_ref: str) -> bool:
    """Make a blank form's token the new person's; False (and no change) if it cannot be."""
    token = normalise(raw)
    if token is None:
        return False
    village, doc_id = parse_ref(person_ref)
    scope.require(village)
    index_name, shard_name = Store.index("token", token), Store.village(village)
    with store.transaction(index_name, shard_name) as shards:
        entry = shards[index_name].find_one("entries", key=token)
        if entry is None or entry["village"] != village or entry.get("person") is not None:
            return False
        if shards[shard_name].get("persons", doc_id) is None or _known_in(shards[shard_name], doc_id):
            return False
        shards[index_name].upsert("entries", {**_bare(entry), "person": doc_id,
                                              "bound_at": now_iso()}, key=token)
        shards[shard_name].upsert(TABLE, {"token": token, "person": doc_id}, token=token)
        write_audit(shards[shard_name], scope, "bind_token", person_ref)
    return True


def _known_in(shard, doc_id: int) -> bool:
    # A person keeps the token they already have; a second one would split their paper trail.
    return shard.find_one(TABLE, person=doc_id) is not None


def _bare(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "doc_id"}
