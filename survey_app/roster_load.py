"""Loading expected rosters (应登记名单) into the store, as often as staff like.

A roster file is loaded again when it is corrected, when the comparison with
the police extract is run again, or by mistake; each time the same household
must be found again, never made a second time (a second copy inflated 户 totals
on every dashboard and PDF).  A household is matched on a stable key, in this
order: the roster's household number (户编号), the head's ID number, the head's
name with the address.  What was new, changed and unchanged is reported.

People already registered are never touched; an expected person the file now
spells differently is corrected; a person whose ID number is known in another
household anywhere is left where they are and counted as skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import coverage as coverage_rows
from . import textnorm
from .registry import Scope, locate_id_number, now_iso, write_audit
from .store import Shard, Store

CHUNK_PERSONS = 30_000  # persons per transaction in a bulk import (memory stays bounded)
HOUSE_FIELDS = ("number", "head_name", "address", "phone")
MEMBER_FIELDS = ("name", "relationship", "phone")
COUNT_KEYS = ("households", "households_changed", "households_unchanged",
              "persons", "persons_changed", "skipped")


def import_roster(store: Store, village: str, houses: list[dict[str, Any]],
                  username: str = "system") -> dict[str, int]:
    """Load one village's expected households and persons (status "expected")."""
    return import_rosters(store, {village: houses}, username)[village]


def import_rosters(store: Store, rosters: Mapping[str, list[dict[str, Any]]],
                   username: str = "system") -> dict[str, dict[str, int]]:
    """Load the expected rosters of many villages with one write per file touched.

    Each house is the household's fields (``number`` when the file has one) plus
    ``members``: a list of partial form answers (at least name and id_number).
    Villages are taken in chunks of about ``CHUNK_PERSONS`` people, one
    transaction each, so the ID-index buckets a county touches are each
    written once per chunk rather than once per village.

    Returns per village: ``households`` new, ``households_changed``,
    ``households_unchanged``, ``persons`` added, ``persons_changed``, ``skipped``.
    """
    results: dict[str, dict[str, int]] = {}
    for chunk in _chunks(rosters):
        numbers = {m["id_number"] for v in chunk for h in rosters[v] for m in h["members"]}
        buckets = sorted({Store.index("idnum", n) for n in numbers})
        with coverage_rows.transaction(store, chunk, *buckets) as shards:
            known, stale = _known_numbers(store, shards, numbers)
            for village in chunk:
                loader = _VillageLoader(shards, village, known, stale)
                results[village] = loader.load(rosters[village])
                write_audit(loader.shard, Scope(frozenset(), username), "import_roster", village,
                            **results[village])
    return results


def _chunks(rosters: Mapping[str, list[dict[str, Any]]]) -> Iterable[list[str]]:
    chunk: list[str] = []
    size = 0
    for village, houses in rosters.items():
        chunk.append(village)
        size += sum(len(h["members"]) for h in houses)
        if size >= CHUNK_PERSONS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _known_numbers(store: Store, shards: Mapping[str, Shard],
                   numbers: set[str]) -> tuple[dict[str, tuple[str, int]], dict[str, int]]:
    """Where each of these ID numbers is held already, and which have only a stale index entry
    (a reservation whose village write never happened), by entry id: one look-up per bucket."""
    by_bucket: dict[str, list[str]] = {}
    for number in numbers:
        by_bucket.setdefault(Store.index("idnum", number), []).append(number)
    known: dict[str, tuple[str, int]] = {}
    stale: dict[str, int] = {}
    for bucket, wanted in by_bucket.items():
        for entry in shards[bucket].find_any("entries", "key", wanted):
            where = locate_id_number(store, entry["key"], shards)
            if where:
                known[entry["key"]] = where
            else:
                stale[entry["key"]] = entry["doc_id"]
    return known, stale


def household_keys(house: Mapping[str, Any], head_id: str | None) -> list[tuple]:
    """The keys a household is found again by, strongest first."""
    keys: list[tuple] = []
    if house.get("number"):
        keys.append(("number", str(house["number"])))
    if head_id:
        keys.append(("head_id", head_id))
    if house.get("head_name") and house.get("address"):
        keys.append(("name_address", textnorm.person_name(house["head_name"]),
                     textnorm.fold_text(house["address"])))
    return keys


def _head_id(members: Iterable[Mapping[str, Any]]) -> str | None:
    head = next((m for m in members if m.get("relationship") == "head"), None)
    return (head or {}).get("id_number") or None


class _VillageLoader:
    """One village's households matched, corrected or added; ``known`` grows as people are
    added, so a number twice in one file is loaded once."""

    def __init__(self, shards: Mapping[str, Shard], village: str,
                 known: dict[str, tuple[str, int]], stale: dict[str, int]):
        self.shards = shards
        self.village = village
        self.shard = shards[Store.village(village)]
        self.known = known
        self.stale = stale
        self.stamp = now_iso()
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        self.by_key = self._existing_keys()

    def _existing_keys(self) -> dict[tuple, int]:
        members: dict[int, list[dict]] = {}
        for person in self.shard.all("persons"):
            members.setdefault(person["household"], []).append(person["answers"])
        found: dict[tuple, int] = {}
        for house in self.shard.all("households"):
            for key in household_keys(house, _head_id(members.get(house["doc_id"], ()))):
                found.setdefault(key, house["doc_id"])
        return found

    def load(self, houses: list[dict[str, Any]]) -> dict[str, int]:
        for house in houses:
            keys = household_keys(house, _head_id(house["members"]))
            house_id = next((self.by_key[k] for k in keys if k in self.by_key), None)
            if house_id is None:
                house_id = self._add_household(house)
                self._load_members(house_id, house["members"])
                self.counts["households"] += 1
            else:
                changed = self._correct_household(house_id, house)
                changed = self._load_members(house_id, house["members"]) or changed
                self.counts["households_changed" if changed else "households_unchanged"] += 1
            for key in keys:
                self.by_key.setdefault(key, house_id)
        return self.counts

    def _add_household(self, house: Mapping[str, Any]) -> int:
        fields = {k: v for k, v in house.items() if k != "members"}
        return self.shard.insert("households", {**fields, "source": "roster", "created_at": self.stamp})

    def _correct_household(self, house_id: int, house: Mapping[str, Any]) -> bool:
        """The file's household fields where they differ; the size only ever grows here, since
        people added in the field are not in the file."""
        current = self.shard.get("households", house_id)
        fields = {k: house[k] for k in HOUSE_FIELDS if house.get(k) and house[k] != current.get(k)}
        size = max(int(current.get("members_count") or 0), int(house.get("members_count") or 0))
        if size != current.get("members_count"):
            fields["members_count"] = size
        if fields:
            self.shard.update("households", house_id, fields)
        return bool(fields)

    def _load_members(self, house_id: int, members: Iterable[Mapping[str, Any]]) -> bool:
        changed = False
        for answers in members:
            number = answers["id_number"]
            where = self.known.get(number)
            if where is None:
                self._add_person(house_id, answers)
                self.counts["persons"] += 1
                changed = True
            elif where[0] == self.village and self._same_house(where[1], house_id):
                if self._correct_person(where[1], answers):
                    self.counts["persons_changed"] += 1
                    changed = True
            else:
                self.counts["skipped"] += 1  # held by another household: left where it is
        return changed

    def _same_house(self, doc_id: int, house_id: int) -> bool:
        person = self.shard.get("persons", doc_id)
        return person is not None and person["household"] == house_id

    def _correct_person(self, doc_id: int, answers: Mapping[str, Any]) -> bool:
        """A person still only expected takes the file's spelling; a registered one is the
        enumerator's record and is never overwritten by a file."""
        person = self.shard.get("persons", doc_id)
        if person["status"] != "expected":
            return False
        fields = {k: answers[k] for k in MEMBER_FIELDS
                  if answers.get(k) and answers[k] != person["answers"].get(k)}
        if fields:
            self.shard.update("persons", doc_id, {"answers": {**person["answers"], **fields}})
        return bool(fields)

    def _add_person(self, house_id: int, answers: Mapping[str, Any]) -> None:
        number = answers["id_number"]
        doc_id = self.shard.insert("persons", {"household": house_id, "status": "expected",
                                               "answers": dict(answers), "created_at": self.stamp})
        self.known[number] = (self.village, doc_id)
        entry = {"key": number, "village": self.village, "person": doc_id}
        bucket = self.shards[Store.index("idnum", number)]
        if number in self.stale:
            bucket.replace("entries", self.stale.pop(number), entry)
        else:
            bucket.insert("entries", entry)
