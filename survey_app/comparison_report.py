"""Keeping a comparison (信息比对) and what comes out of it: the tables, 附件1 and the visit lists.

A comparison is one record in the ``comparisons`` shard (counts per village,
the problems found, the files' names) plus its visit lists, one shard per
township under ``comparisons/v<token>/``.  The visit lists hold personal data
only until a newer comparison of the same area replaces them; audit entries
carry counts only, never a name, ID or phone number.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Any

from . import registry, roster_load
from .comparison import COUNT_KEYS, Outcome, finish_houses, hukou_total, verify
from .grid import Grid
from .registry import NotFound, Scope
from .spreadsheet import Column, xlsx_stream
from .store import Store

SHARD = "comparisons"
TABLE = "results"
HOUSES = "houses"
SHOWN = 10                 # earlier comparisons listed on the upload page
KEPT_PER_AREA = 5          # comparisons of one area kept (the newest with its visit list)
STALE_RUN_SECONDS = 900    # a roster creation not finished in this time died with its process


def _houses_shard(token: str, township: str) -> str:
    return f"{SHARD}/v{token}/t{township.lower()}"


def save(store: Store, grid: Grid, scope: Scope, area: Iterable[str], outcome: Outcome) -> int:
    """Keep the comparison; return its id.  Visit lists first, then the record naming them, so a
    crash in between leaves unreferenced lists, never a record without its lists."""
    token = secrets.token_hex(8)
    by_shard: dict[str, list[dict[str, Any]]] = {}
    for village, houses in finish_houses(outcome).items():
        township = (grid.township_of(village) or {"code": village[:9]})["code"]
        by_shard.setdefault(_houses_shard(token, township), []).extend(
            {"village": village, **house} for house in houses)
    for name, houses in sorted(by_shard.items()):
        with store.transaction(name) as shards:
            shards[name].insert_many(HOUSES, houses)
    totals = total_counts(outcome.counts.values())
    record = {
        "user": scope.username, "area": sorted(area), "created_at": registry.now_iso(),
        "files": outcome.files, "counts": outcome.counts, "problems": outcome.problems,
        "notes": outcome.notes, "shards": sorted(by_shard), "roster": None, "superseded_by": None,
        "to_visit": {"households": sum(len(h) for h in outcome.houses.values()),
                     "persons": sum(len(h["members"]) for hs in outcome.houses.values()
                                    for h in hs.values())},
    }
    with store.transaction(SHARD, Store.SYSTEM) as shards:
        doc_id = shards[SHARD].insert(TABLE, record)
        replaced = [r for r in shards[SHARD].all(TABLE)
                    if r["area"] == record["area"] and r["doc_id"] != doc_id and not r["superseded_by"]]
        for old in replaced:
            shards[SHARD].update(TABLE, old["doc_id"], {"superseded_by": doc_id})
        same_area = sorted((r["doc_id"] for r in shards[SHARD].all(TABLE) if r["area"] == record["area"]),
                           reverse=True)
        shards[SHARD].remove_ids(TABLE, same_area[KEPT_PER_AREA:])  # their lists were emptied before
        registry.write_audit(shards[Store.SYSTEM], scope, "compare", ",".join(record["area"]),
                             comparison=doc_id, **{k: totals[k] for k in ("hukou", *COUNT_KEYS)},
                             **{f"problems_{k}": v["count"] for k, v in outcome.problems.items()})
    for old in replaced:  # the older visit lists go: one area, one current list of people
        for name in old["shards"]:
            with store.transaction(name) as shards:
                shards[name].replace_all(HOUSES, [])
    return doc_id


def visible(store: Store, grid: Grid, user_area: Iterable[str]) -> list[dict[str, Any]]:
    """Comparisons whose whole area lies in the user's, newest first."""
    area = tuple(user_area)
    found = [r for r in store.read(SHARD).all(TABLE) if all(grid.covers(area, c) for c in r["area"])]
    return sorted(found, key=lambda r: r["doc_id"], reverse=True)[:SHOWN]


def get(store: Store, grid: Grid, user_area: Iterable[str], doc_id: int) -> dict[str, Any]:
    """One comparison, or NotFound when absent or (even partly) outside the user's area."""
    record = store.read(SHARD).get(TABLE, doc_id)
    area = tuple(user_area)
    if record is None or not all(grid.covers(area, c) for c in record["area"]):
        raise NotFound(doc_id)
    return record


class RosterRefused(ValueError):
    """The visit lists cannot be made from this comparison; the message says why."""


def create_rosters(store: Store, grid: Grid, scope: Scope, user_area: Iterable[str],
                   doc_id: int, messages: dict[str, str]) -> dict[str, int]:
    """Load the comparison's 需核实 and 未参保 people into their villages' expected rosters, once."""
    record = get(store, grid, user_area, doc_id)
    with store.transaction(SHARD) as shards:
        current = shards[SHARD].get(TABLE, doc_id)
        roster = current.get("roster") or {}
        if current["superseded_by"]:
            raise RosterRefused(messages["superseded"])
        if roster.get("state") == "done" or (roster.get("state") == "running"
                                             and time.time() - roster["started"] < STALE_RUN_SECONDS):
            raise RosterRefused(messages["done"])
        shards[SHARD].update(TABLE, doc_id, {"roster": {"state": "running", "started": time.time(),
                                                        "by": scope.username}})
    try:
        rosters: dict[str, list[dict[str, Any]]] = {}
        for name in record["shards"]:
            for house in store.read(name, cache=False).all(HOUSES):
                village = house.pop("village")
                house.pop("doc_id", None)
                rosters.setdefault(village, []).append(house)
        if not set(rosters) <= scope.villages:
            raise NotFound(doc_id)  # the grid changed under the comparison: nothing is loaded
        results = roster_load.import_rosters(store, rosters, scope.username or "system")
    except BaseException:
        with store.transaction(SHARD) as shards:
            shards[SHARD].update(TABLE, doc_id, {"roster": None})
        raise
    totals: dict[str, int] = {"villages": len(results)}
    for counts in results.values():
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    with store.transaction(SHARD, Store.SYSTEM) as shards:
        shards[SHARD].update(TABLE, doc_id, {"roster": {"state": "done", "at": registry.now_iso(),
                                                        "by": scope.username, **totals}})
        registry.write_audit(shards[Store.SYSTEM], scope, "compare_rosters", ",".join(record["area"]),
                             comparison=doc_id, **totals)
    return totals


# -- tables ---------------------------------------------------------------------------
def total_counts(rows: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(COUNT_KEYS, 0)
    for row in rows:
        for key in COUNT_KEYS:
            total[key] += row.get(key, 0)
    return {**total, "verify": verify(total), "hukou": hukou_total(total)}


def village_table(grid: Grid, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Village rows grouped by township, each township followed by its subtotal; then the people
    no village could be given to, then the total."""
    counts = record["counts"]
    by_township: dict[str, list[str]] = {}
    for code in sorted(c for c in counts if c):
        township = grid.township_of(code) or {"code": code[:9]}
        by_township.setdefault(township["code"], []).append(code)
    rows = []
    for township, villages in sorted(by_township.items()):
        for code in villages:
            rows.append({"kind": "village", "code": code, "name": _name(grid, code),
                         **total_counts([counts[code]])})
        rows.append({"kind": "township", "code": township, "name": _name(grid, township),
                     **total_counts(counts[c] for c in villages)})
    if counts.get(""):
        rows.append({"kind": "unassigned", "code": "", "name": "", **total_counts([counts[""]])})
    rows.append({"kind": "total", "code": "", "name": "", **total_counts(counts.values())})
    return rows


def _name(grid: Grid, code: str) -> str:
    return (grid.get(code) or {"name": code})["name"]


def stats_rows(grid: Grid, record: dict[str, Any]) -> list[dict[str, Any]]:
    """附件1 (未参保人员统计表): 未参保户籍人口数 per district and per township, then 合计.

    A district appears (with its townships under it) only when the comparison covers all of
    it; a township's staff see their townships alone, never a part of a district as a district.
    """
    counts = record["counts"]

    def uninsured(code: str) -> int:
        return sum(counts.get(v, {}).get("uninsured", 0) for v in grid.villages_under(code))

    rows: list[dict[str, Any]] = []
    for code in record["area"]:
        unit = grid.get(code)
        if unit is None:
            continue
        districts = grid.children(code) if unit["level"] == "city" else [unit]
        for district in districts:
            if district["level"] == "district":
                rows.append({"level": "district", "district": district["name"], "township": "",
                             "name": district["name"], "uninsured": uninsured(district["code"])})
                townships = grid.children(district["code"])
            else:
                townships = [district]
            for township in townships:
                parent = grid.get(township["parent"] or "") or {"name": ""}
                rows.append({"level": "township", "district": parent["name"], "township": township["name"],
                             "name": township["name"], "uninsured": uninsured(township["code"])})
    total = sum(c.get("uninsured", 0) for code, c in counts.items() if code)
    rows.append({"level": "total", "district": "", "township": "", "name": "合计", "uninsured": total})
    return rows


def area_title(grid: Grid, record: dict[str, Any]) -> str:
    return "、".join(_name(grid, code) for code in record["area"])


STATS_COLUMNS = (Column("区县", 16), Column("乡镇（街道）", 20), Column("未参保户籍人口数", 18))


def stats_xlsx(grid: Grid, record: dict[str, Any]) -> bytes:
    """附件1 as a workbook; every cell passes spreadsheet.safe (a grid name is never a formula)."""
    rows = []
    for row in stats_rows(grid, record):
        if row["level"] == "district":
            rows.append([row["district"], "小计", row["uninsured"]])
        elif row["level"] == "township":
            rows.append([row["district"], row["township"], row["uninsured"]])
        else:
            rows.append(["合计", "", row["uninsured"]])
    return b"".join(xlsx_stream(STATS_COLUMNS, rows, sheet_name="未参保人员统计表"))
