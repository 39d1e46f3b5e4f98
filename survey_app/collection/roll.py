"""The collection roll (征收清册): from the registrations, who owes what this year.

One entry per person on the roll (a registered person living here who joined a
residents' scheme), in household order, with their lines and what is paid.  The
roll's PDF, its XLSX/CSV for the tax office, the reminders and the payment form
all read :func:`village_roll`; the files have one row per line, as the tax
office's own rolls do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..registry import Scope, make_ref
from ..spreadsheet import Column
from ..store import Store
from . import ledger
from .rates import SCHEME_LABELS, Line, Rates, fen_to_yuan

STATES = {"unpaid": "未缴", "partly": "部分已缴", "paid": "已缴清"}


def entry(person: Mapping[str, Any], household: Mapping[str, Any] | None, village: str,
          rates: Rates) -> dict[str, Any] | None:
    """One person's roll entry, or None when they owe nothing this year."""
    found = ledger.person_lines(person, rates)
    if not found:
        return None
    paid = person.get("collection") or {}
    parts = [_line(line, paid.get(line.scheme)) for line in found]
    answers = person.get("answers", {})
    return {
        "ref": make_ref(village, person["doc_id"]), "village": village,
        "household": person["household"],
        "household_ref": make_ref(village, person["household"]),
        "household_no": (household or {}).get("number", ""),
        "head_name": (household or {}).get("head_name", ""),
        "address": (household or {}).get("address", ""),
        "household_phone": (household or {}).get("phone", ""),
        "name": answers.get("name", ""), "id_number": answers.get("id_number", ""),
        "phone": answers.get("phone", ""), "category": answers.get("person_category", ""),
        "group": found[0].group, "channel": answers.get("payment_channel", ""),
        "lines": parts,
        "due_person": sum(p["line"].person for p in parts),
        "due_government": sum(p["line"].government for p in parts),
        "owed_person": sum(p["owed_person"] for p in parts),
        "owed_government": sum(p["owed_government"] for p in parts),
        "state": _state(parts),
    }


def _line(line: Line, paid: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"line": line, "scheme": line.scheme, "paid_person": int((paid or {}).get("person", 0)),
            "paid_government": int((paid or {}).get("government", 0)),
            "owed_person": ledger.outstanding(line, paid, "person"),
            "owed_government": ledger.outstanding(line, paid, "government"),
            "settled": ledger.settled(line, paid)}


def _state(parts: list[dict[str, Any]]) -> str:
    if all(p["settled"] for p in parts):
        return "paid"
    if any(p["paid_person"] or p["paid_government"] for p in parts):
        return "partly"
    return "unpaid"


def village_roll(store: Store, scope: Scope, rates: Rates, village: str) -> list[dict[str, Any]]:
    """The roll of one village, in household order (raises NotFound outside the area)."""
    scope.require(village)
    shard = store.read(Store.village(village))
    houses = {h["doc_id"]: h for h in shard.all("households")}
    entries = [entry(p, houses.get(p["household"]), village, rates)
               for p in sorted(shard.all("persons"), key=lambda p: (p["household"], p["doc_id"]))]
    return [e for e in entries if e is not None]


def area_roll(store: Store, scope: Scope, rates: Rates, villages: Iterable[str]
              ) -> Iterator[dict[str, Any]]:
    """A township's roll: its villages' rolls one after the other (one village in memory)."""
    for village in villages:
        yield from village_roll(store, scope, rates, village)


def totals(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Persons, lines and money of some roll entries (the roll's last line; the remittance check)."""
    total = dict.fromkeys(("persons", "paid_persons", "special_persons", "lines", "due_person",
                           "due_government", "paid_person", "paid_government"), 0)
    for e in entries:
        total["persons"] += 1
        total["paid_persons"] += e["state"] == "paid"
        total["special_persons"] += bool(e["group"])
        total["lines"] += len(e["lines"])
        total["due_person"] += e["due_person"]
        total["due_government"] += e["due_government"]
        total["paid_person"] += sum(p["paid_person"] for p in e["lines"])
        total["paid_government"] += sum(p["paid_government"] for p in e["lines"])
    return total


# -- the file for the tax office ------------------------------------------------------------------
COLUMNS = (
    Column("村（社区）代码", 14, text=True), Column("户编号", 12, text=True), Column("户主", 10),
    Column("姓名", 10), Column("公民身份号码", 21, text=True), Column("缴费人员类别", 14),
    Column("特殊人群类别", 16), Column("险种", 22), Column("档次（元）", 10),
    Column("缴费标准（元）", 12), Column("政府代缴资助（元）", 14), Column("个人应缴（元）", 12),
    Column("个人已缴（元）", 12), Column("政府已拨（元）", 12), Column("状态", 10),
)


def file_rows(entries: Iterable[Mapping[str, Any]], labels: Mapping[str, Mapping[str, str]]
              ) -> Iterator[list[Any]]:
    """One row per line; ``labels`` maps a choice list's values to their labels
    (``person_category``, ``special_group``).  Amounts are yuan numbers (Excel sums them)."""
    for e in entries:
        for part in e["lines"]:
            line: Line = part["line"]
            yield [e["village"], e["household_no"], e["head_name"], e["name"], e["id_number"],
                   labels["person_category"].get(e["category"], e["category"]),
                   labels["special_group"].get(e["group"], e["group"]),
                   SCHEME_LABELS[line.scheme], int(line.tier) if line.tier.isdigit() else "",
                   _yuan(line.standard), _yuan(line.government), _yuan(line.person),
                   _yuan(part["paid_person"]), _yuan(part["paid_government"]),
                   STATES["paid"] if part["settled"] else
                   STATES["partly" if part["paid_person"] or part["paid_government"] else "unpaid"]]


def _yuan(fen: int) -> float | int:
    return fen // 100 if fen % 100 == 0 else float(fen_to_yuan(fen))
