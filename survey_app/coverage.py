"""Coverage counts (村不漏户、户不漏人), kept current as writes happen.

Every village's row is a sum over its households of what each contributes
(is it visited? complete? how many people expected and registered?).  A
write that changes some households subtracts what they contributed before
and adds what they contribute now, in the same transaction: a submission
costs the size of its household, not of the village, and a dashboard reads
finished rows instead of parsing every village.

The row lives in the village's own shard (changed in the same journal line
as the records, so it is never wrong there) and a copy in the township's
summary shard, which dashboards read.  ``rebuild`` recomputes rows from the
records, for migration and for ``canbao check --repair``.

Besides the counts, a row holds nested counts the dashboards draw: persons
registered per day (``by_day``), per enumerator (``by_user``), review and
spot-check states (``reviews``) and the uninsured by scheme (``uninsured``).
Each is still what a household's people are *now*, so the same delta keeps
them current; a row's size grows with the campaign's days and a village's
enumerators, never with its people.  A row kept before a kind of count existed
reads it as zero, and is recomputed whole at its village's next write.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .collection.rates import line_keys
from .grid import Grid
from .store import Shard, Store

SUMMARY = "summary"      # the village's own row, in its shard, id 1
ROWS = "villages"        # a summary shard's rows, id = the village code as a number
TOTALS = "totals"        # a summary shard's sum of its rows, id 1: a township's total in one read
COUNTS = ("households", "households_visited", "households_complete", "persons_listed",
          "persons_expected", "persons_registered", "persons_incomplete", "special_groups",
          "persons_uninsured", "persons_due", "persons_paid", "special_due", "special_paid")
# Nested counts: {reason: n}, {scheme: n}, {"2026-11-21": n}, {state: n}, and by_user
# {user: {"households", "registered", "incomplete", "returned": n}}; and collection (征缴):
# ``roll`` {line key "scheme|tier|group": persons}, whose money is priced when read
# (collection.rates.amounts_due: a row holds no amount that a new year's rates would make
# wrong), ``raised`` {"scheme|payer": fen}, ``raised_by_day`` {day: fen paid by persons} and
# ``paid_by_day`` {day: persons whose last line was settled that day}.
NESTED = ("not_enrolled", "uninsured", "by_day", "by_user", "reviews", "roll", "raised",
          "raised_by_day", "paid_by_day")
# 未参保: a registered resident not in one of the residents' schemes (seed 002, 附件1).
RESIDENT_SCHEMES = ("resident_pension", "resident_medical")
REVIEW_STATES = ("pending", "approved", "returned")   # person["review"]["state"] (初审)
AUDIT_STATES = ("audited", "questioned")              # person["audit"]["state"] (抽查)


def household_progress(house: Mapping[str, Any], members: Iterable[Mapping[str, Any]]) -> dict:
    """户不漏人 for one household: who is still to register, and whether the list matches its size.

    A household is complete only when every person listed is registered (a person
    who died or moved away is registered with that situation) and at least as many
    are listed as its declared size.  A person added beyond the roster never
    stands in for a roster person still pending.
    """
    members = list(members)
    declared = int(house.get("members_count") or 0)
    registered = sum(1 for m in members if m.get("status") == "registered")
    pending = len(members) - registered            # listed but not yet (fully) registered
    unlisted = max(0, declared - len(members))     # declared but nobody listed for them yet
    return {"declared": declared, "listed": len(members), "registered": registered,
            "pending": pending, "unlisted": unlisted, "to_do": pending + unlisted,
            "over": max(0, len(members) - declared),
            "complete": bool(members) and pending == 0 and unlisted == 0}


def household_counts(house: Mapping[str, Any] | None, members: Iterable[Mapping[str, Any]]) -> dict:
    """What one household adds to its village's row."""
    members = list(members)
    if house is None:
        return {} if not members else _persons_only(members)
    registered = [m for m in members if m.get("status") == "registered"]
    visited = registered or any(m.get("status") == "incomplete" for m in members)
    reasons = Counter(m["answers"].get("not_enrolled_reason") for m in registered)
    reasons.pop(None, None)
    progress = household_progress(house, members)
    row = {
        "households": 1,
        "households_visited": 1 if visited else 0,
        "households_complete": 1 if progress["complete"] else 0,
        **_persons_only(members),
        # people declared but not listed are expected too: 户不漏人 counts them as missing
        "persons_expected": progress["listed"] + progress["unlisted"],
        "not_enrolled": dict(reasons),
    }
    # 走访: each enumerator who registered (or began to register) someone here visited it
    for user in {_user(m) for m in members if m.get("status") in ("registered", "incomplete")}:
        row["by_user"].setdefault(user, {})["households"] = 1
    return row


def _persons_only(members: list[Mapping[str, Any]]) -> dict:
    registered = [m for m in members if m.get("status") == "registered"]
    by_day = Counter(str(m["registered_at"])[:10] for m in registered if m.get("registered_at"))
    by_user: dict[str, Counter] = {}
    reviews: Counter = Counter()
    for m in members:
        review, spot_check = _state(m, "review"), _state(m, "audit")
        if review is None and m.get("status") == "registered":
            review = "pending"  # registered before reviews existed: waiting for its 初审 (review.py)
        done = [m["status"]] if m.get("status") in ("registered", "incomplete") else []
        done += ["returned"] if review == "returned" else []
        if done:
            by_user.setdefault(_user(m), Counter()).update(done)
        reviews.update(s for s in (review, spot_check) if s in REVIEW_STATES + AUDIT_STATES)
    uninsured = Counter(f for m in registered for f in RESIDENT_SCHEMES
                        if m["answers"].get(f) == "not_enrolled")
    return {
        "persons_listed": len(members),  # records that exist (an export's rows)
        "persons_expected": len(members),
        "persons_registered": len(registered),
        "persons_incomplete": sum(1 for m in members if m.get("status") == "incomplete"),
        "special_groups": sum(1 for m in registered if m["answers"].get("special_group")),
        "persons_uninsured": sum(1 for m in registered
                                 if any(m["answers"].get(f) == "not_enrolled" for f in RESIDENT_SCHEMES)),
        "uninsured": dict(uninsured),
        "by_day": dict(by_day),
        "by_user": {user: dict(counts) for user, counts in by_user.items()},
        "reviews": dict(reviews),
        **_collection_counts(members),
    }


def _collection_counts(members: list[Mapping[str, Any]]) -> dict:
    """The roll and the payments of some persons (collection/ledger.py keeps ``collection``).

    A person is paid when every line they owe is settled as it stands now: a payment made
    for another tier or before they joined a special group no longer settles it.
    Special groups are counted apart: part of their money comes from the government.
    """
    counts = dict.fromkeys(("persons_due", "persons_paid", "special_due", "special_paid"), 0)
    roll: Counter = Counter()
    raised: Counter = Counter()
    by_day: Counter = Counter()
    paid_by_day: Counter = Counter()
    for m in members:
        paid = m.get("collection") or {}
        for scheme, entry in paid.items():
            raised.update({f"{scheme}|person": entry.get("person", 0),
                           f"{scheme}|government": entry.get("government", 0)})
            by_day.update(entry.get("days", {}))
        keys = line_keys(m.get("answers", {}), m.get("status", ""))
        if not keys:
            continue
        roll.update("|".join(key) for key in keys)
        kind = "special" if any(group for _s, _t, group in keys) else "persons"
        counts[f"{kind}_due"] += 1
        if all(_settled("|".join(key), paid.get(key[0])) for key in keys):
            counts[f"{kind}_paid"] += 1
            days = [day for entry in paid.values() for day in entry.get("days", {})]
            if days:
                paid_by_day[max(days)] += 1
    return {**counts, "roll": dict(roll), "raised": {k: v for k, v in raised.items() if v},
            "raised_by_day": dict(by_day), "paid_by_day": dict(paid_by_day)}


def _settled(key: str, entry: Mapping[str, Any] | None) -> bool:
    return bool(entry) and entry.get("key") == key \
        and entry.get("person", 0) >= entry.get("due_person", 0) \
        and entry.get("government", 0) >= entry.get("due_government", 0)


def _user(person: Mapping[str, Any]) -> str:
    """Who registered the person ("" for a record written before that was kept)."""
    return str(person.get("registered_by") or "")


def _state(person: Mapping[str, Any], key: str) -> str | None:
    """``person[key]["state"]`` (review and spot check), or None when absent or malformed."""
    value = person.get(key)
    return value.get("state") if isinstance(value, Mapping) else None


def add(total: Mapping[str, Any], part: Mapping[str, Any], sign: int = 1) -> dict:
    """``total + sign * part`` for rows of counts and nested counts, at any depth.

    Zero entries are dropped, and so are nested dicts left empty (an enumerator
    whose every count went back to zero), so a row kept by deltas equals the row
    computed afresh; only a row's own counts and nested dicts stay, at zero or empty.
    """
    return _add(total, part, sign, top=True)


def _add(total: Mapping[str, Any], part: Mapping[str, Any], sign: int, top: bool) -> dict:
    result = {k: _copy(v) for k, v in total.items()}
    for key, value in part.items():
        if isinstance(value, dict):
            nested = _add(result.get(key) or {}, value, sign, top=False)
            if nested or top:
                result[key] = nested
            else:
                result.pop(key, None)
        else:
            result[key] = result.get(key, 0) + sign * value
            if result[key] == 0 and not (top and key in COUNTS):
                del result[key]
    return result


def _copy(value: Any) -> Any:
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


def empty_row(village: str) -> dict:
    return {"village": village, **dict.fromkeys(COUNTS, 0), **{key: {} for key in NESTED}}


# -- keeping rows current ---------------------------------------------------------------
@contextlib.contextmanager
def transaction(store: Store, villages: Iterable[str], *others: str) -> Iterator[dict[str, Shard]]:
    """A store transaction over villages (plus ``others``) that keeps their coverage rows current."""
    villages = sorted(set(villages))
    names = [Store.village(v) for v in villages] + [Store.summary(v) for v in villages]
    with store.transaction(*names, *others) as shards:
        for village in villages:
            shards[Store.village(village)].track("persons", "households")
        yield shards
        for village in villages:
            _keep_row_current(shards, village)


def _keep_row_current(shards: Mapping[str, Shard], village: str) -> None:
    shard = shards[Store.village(village)]
    delta = _delta(shard)
    if not delta:
        return
    kept = _without_id(shard.get(SUMMARY, 1))
    summary = shards[Store.summary(village)]
    if kept is not None and not _current_format(kept):
        # kept before some count existed: this village's row is recomputed whole, once, and the
        # township's total summed again from its rows (old ones reading the new counts as zero)
        row = computed_row(shard, village)
        shard.replace(SUMMARY, 1, row)
        summary.replace(ROWS, int(village), row)
        summary.replace(TOTALS, 1, {**totals(summary.all(ROWS)), "village": ""})
        return
    row = add(kept or empty_row(village), delta)
    shard.replace(SUMMARY, 1, row)
    summary.replace(ROWS, int(village), row)
    total = _without_id(summary.get(TOTALS, 1)) or empty_row("")
    summary.replace(TOTALS, 1, add(total, delta))


def _current_format(row: Mapping[str, Any]) -> bool:
    return all(key in row for key in COUNTS + NESTED)


def _delta(shard: Shard) -> dict:
    """What the households this transaction touched now add, less what they added before."""
    house_changes = {i: before for i, before, _after in shard.changes("households")}
    touched = set(house_changes)
    changed_before: dict[int, dict] = {}       # person id -> the person before the change
    left: dict[int, list[dict]] = {}           # household -> its people before, changed since
    for doc_id, before, after in shard.changes("persons"):
        touched.update(p["household"] for p in (before, after) if p is not None)
        changed_before[doc_id] = before
        if before is not None:
            left.setdefault(before["household"], []).append(before)
    members: dict[int, list[dict]] = {}
    for person in shard.find_any("persons", "household", touched):  # one look-up, not one a household
        members.setdefault(person["household"], []).append(person)
    houses = shard.get_many("households", touched)
    delta: dict = {}
    for household in touched:
        members_now = members.get(household, [])
        before_members = [m for m in members_now if m["doc_id"] not in changed_before] + \
            left.get(household, [])
        house_now = houses.get(household)
        house_before = house_changes[household] if household in house_changes else house_now
        delta = add(delta, household_counts(house_now, members_now))
        delta = add(delta, household_counts(house_before, before_members), -1)
    return {k: v for k, v in delta.items() if v}


# -- reading rows ------------------------------------------------------------------------
def village_row(store: Store, village: str) -> dict:
    return _normal(store.read(Store.summary(village)).get(ROWS, int(village)), village)


def rows(store: Store, villages: Iterable[str]) -> dict[str, dict]:
    """Rows of many villages, reading each township's summary shard once."""
    by_shard: dict[str, list[str]] = {}
    for code in villages:
        by_shard.setdefault(Store.summary(code), []).append(code)
    found = {}
    for name, codes in by_shard.items():
        shard = store.read(name)
        for code in codes:
            found[code] = _normal(shard.get(ROWS, int(code)), code)
    return found


def unit_row(store: Store, grid: Grid, code: str) -> dict:
    """The counts of any unit of the grid: a village's row, or the sum of the villages below.

    A township whose villages all carry its code as their prefix (as national
    codes do) is one read of its summary shard's total; a city sums its
    districts' townships, a few hundred reads rather than thousands of rows.
    """
    unit = grid.get(code)
    if unit is None:
        return empty_row(code)
    if unit["level"] == "village":
        return village_row(store, code)
    if unit["level"] == "township":
        if grid.owns_code_prefix(code):
            return _normal(store.read(Store.summary(code)).get(TOTALS, 1), code)
        return {**totals(rows(store, grid.villages_under(code)).values()), "village": code}
    return {**totals(unit_row(store, grid, child["code"]) for child in grid.children(code)),
            "village": code}


def totals(rows_: Iterable[Mapping[str, Any]]) -> dict:
    """The sum of many rows (names and codes in them are left out)."""
    total: dict = {k: v for k, v in empty_row("").items() if k != "village"}
    for row in rows_:
        total = add(total, {k: v for k, v in row.items() if isinstance(v, int | dict) and k != "doc_id"})
    return total


# -- rebuilding --------------------------------------------------------------------------
def computed_row(shard: Shard, village: str) -> dict:
    """A village's row computed from its records (what the kept row must equal)."""
    members: dict[int, list[dict]] = {}
    for person in shard.all("persons"):
        members.setdefault(person["household"], []).append(person)
    row = empty_row(village)
    for house in shard.all("households"):
        row = add(row, household_counts(house, members.pop(house["doc_id"], [])))
    for orphans in members.values():
        row = add(row, household_counts(None, orphans))
    return row


def rebuild(store: Store, villages: Iterable[str], repair: bool = True) -> list[str]:
    """Recompute the rows of these villages from their records, and the totals of their
    summary shards from the rows; returns the villages whose kept rows were wrong
    (and, with ``repair``, sets them right)."""
    wrong = []
    by_shard: dict[str, list[str]] = {}
    for village in villages:
        by_shard.setdefault(Store.summary(village), []).append(village)
    for summary_name, codes in sorted(by_shard.items()):
        for village in codes:
            with store.transaction(Store.village(village), summary_name) as shards:
                row = computed_row(shards[Store.village(village)], village)
                kept = _normal(shards[Store.village(village)].get(SUMMARY, 1), village)
                copy = _normal(shards[summary_name].get(ROWS, int(village)), village)
                if kept != row or copy != row:
                    wrong.append(village)
                    if not repair:
                        continue
                    shards[Store.village(village)].replace(SUMMARY, 1, row)
                    shards[summary_name].replace(ROWS, int(village), row)
        with store.transaction(summary_name) as shards:
            summary = shards[summary_name]
            total = {**totals(summary.all(ROWS)), "village": ""}
            if repair and _normal(summary.get(TOTALS, 1), "") != total:
                summary.replace(TOTALS, 1, total)
    return wrong


def _normal(row: dict | None, village: str) -> dict:
    """A kept row as computed rows look: counts a newer version added read as zero."""
    kept = {k: v for k, v in (row or {}).items() if isinstance(v, int | dict) and k != "doc_id"}
    return add(empty_row(village), kept)


def _without_id(row: dict | None) -> dict | None:
    return None if row is None else {k: v for k, v in row.items() if k != "doc_id"}
