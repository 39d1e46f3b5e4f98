"""Collection progress (征缴进度) of a unit, from its coverage row alone.

A coverage row (coverage.py) keeps how many persons are on the roll per line key
("scheme|tier|group"), how many settled, and the fen raised per "scheme|payer";
it keeps no amount due, so a change of the year's rates never leaves a row
wrong.  Here the roll is priced with this year's :class:`rates.Rates` and
special groups (特殊人群) are kept apart from everyone else: part of their money
is the government's, which the township records from the tax office's data,
and a county watches it separately from what villages collect at the door.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .rates import SCHEMES, Rates, amounts_due


def _roll_of(roll: Mapping[str, int], *, scheme: str | None = None,
             special: bool | None = None) -> dict[str, int]:
    """The part of a row's roll for one scheme and/or for special groups (or everyone else)."""
    chosen = {}
    for key, count in roll.items():
        line_scheme, _tier, group = (key.split("|") + ["", ""])[:3]
        if scheme is not None and line_scheme != scheme:
            continue
        if special is not None and bool(group) != special:
            continue
        chosen[key] = count
    return chosen


def share(done: int, of: int) -> float | None:
    return done / of if of else None


def figures(row: Mapping[str, Any], rates: Rates) -> dict[str, Any]:
    """What a progress page shows of one row; money in fen.

    ``persons``/``paid``: everyone on the roll; ``general``/``special``: the two apart;
    ``schemes[scheme]``: the persons' part due and raised, the government's due and
    received; ``due``/``raised``: the same summed over the schemes.
    """
    roll = row.get("roll") or {}
    raised = row.get("raised") or {}
    schemes = {}
    for scheme in SCHEMES:
        due = amounts_due(_roll_of(roll, scheme=scheme), rates)
        schemes[scheme] = {
            "persons": sum(_roll_of(roll, scheme=scheme).values()),
            "due_person": due["person"], "raised_person": int(raised.get(f"{scheme}|person", 0)),
            "due_government": due["government"],
            "raised_government": int(raised.get(f"{scheme}|government", 0)),
        }
    special_due = amounts_due(_roll_of(roll, special=True), rates)
    general = {"persons": row.get("persons_due", 0), "paid": row.get("persons_paid", 0)}
    special = {"persons": row.get("special_due", 0), "paid": row.get("special_paid", 0),
               "due_person": special_due["person"], "due_government": special_due["government"],
               "raised_government": sum(s["raised_government"] for s in schemes.values())}
    persons = general["persons"] + special["persons"]
    paid = general["paid"] + special["paid"]
    return {
        "persons": persons, "paid": paid, "share": share(paid, persons),
        "general": {**general, "share": share(general["paid"], general["persons"])},
        "special": {**special, "share": share(special["paid"], special["persons"])},
        "schemes": schemes,
        "due_person": sum(s["due_person"] for s in schemes.values()),
        "raised_person": sum(s["raised_person"] for s in schemes.values()),
        "due_government": special["due_government"],
        "raised_government": special["raised_government"],
    }


def unit_figures(rows: Iterable[Mapping[str, Any]], rates: Rates) -> list[dict[str, Any]]:
    """Each row (with its ``code``, ``name``, ``level``) and its figures, for a table or a chart."""
    return [{"code": r.get("code", r.get("village", "")), "name": r.get("name", ""),
             "level": r.get("level", "village"), "row": r, **figures(r, rates)} for r in rows]
