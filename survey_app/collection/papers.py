"""The collection's papers: the roll (征收清册) for the village agent and the reminder slips
(缴费提醒单) for the households that still owe.

Both are read from :func:`roll.village_roll`, so they agree with the roll page, its files
and the payment form to the fen.  The roll is for the staff of the area (full names and ID
numbers, like the printed forms: the file is private, 0600); a slip goes to a household's
door, so it carries masked names and the person's part only — never what the government
pays for a special group, never a group's name.  The public paid roster (缴费清册公示) is the
``roster`` notice of :mod:`documents`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from .. import documents, state
from ..documents import Area, DocumentError, Export
from ..formdef import FormDefinition
from ..privacy import mask_name
from ..registry import Scope
from . import roll
from .rates import SCHEME_LABELS, SCHEME_SHORT, SCHEMES, fen_to_yuan

LABELLED = ("person_category", "special_group", "payment_channel", "pension_tier")
GUIDE_PATH = "/portal/how-to-pay.html"
SLIPS_PER_CHUNK = 90            # about 30 pages: chunks render on both cores (render.py)
ROLL_SECONDS_PER_PERSON = 0.05  # a 1,500-person roll (100 landscape pages) takes ~45 s on a busy core


def choice_labels(definition: FormDefinition) -> dict[str, dict[str, str]]:
    """value → label of the choice lists the roll shows (the form is the one place they are named)."""
    return {name: {c.value: c.label for c in definition.field(name).choices} for name in LABELLED}


def households(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Roll entries grouped by household, in the roll's order: [{head_name, address, number, entries}]."""
    found: dict[str, dict[str, Any]] = {}
    for e in entries:
        house = found.setdefault(e["household_ref"], {
            "ref": e["household_ref"], "number": e["household_no"] or e["household_ref"],
            "head_name": e["head_name"], "address": e["address"], "entries": []})
        house["entries"].append(e)
    return list(found.values())


def _checked_roll(scope: Scope, village: str) -> tuple[Area, list[dict[str, Any]]]:
    area = documents.resolve_area(state.current_grid(), scope, village=village)
    if not state.rates().configured:
        raise DocumentError("本年度缴费标准尚未设置（campaign.toml 的 [collection]），未生成文件。")
    return area, roll.village_roll(state.store(), scope, state.rates(), village)


# -- the roll for the village agent ---------------------------------------------------------------
def print_roll(scope: Scope, *, village: str, day: dt.date | None = None) -> Export:
    """The village's 征收清册 as one PDF (landscape A4), households in order, with its totals."""
    area, entries = _checked_roll(scope, village)
    if not entries:
        raise DocumentError("该村（社区）还没有应缴费人员（已登记并参加城乡居民保险的人），未生成文件。")
    day = day or documents.today()
    title = f"{area.name}{state.rates().year}年度{documents.KINDS['roll']}"
    html = documents.template("documents/collection_roll.html").render(
        title=title, area=area, day=day, cn_date=documents.cn_date, houses=households(entries),
        total=roll.totals(entries), labels=choice_labels(state.registration_form()),
        schemes=SCHEME_LABELS, states=roll.STATES, yuan=fen_to_yuan,
        place=" ".join(state.current_grid().path_names(area.code)))
    meta = documents.export_meta("roll", area, scope, title=title, persons=len(entries))
    # One render, so its pages are numbered 第 n 页 共 m 页 through; a big village gets longer.
    seconds = max(documents.RENDER_SECONDS, len(entries) * ROLL_SECONDS_PER_PERSON)
    return documents.produce(scope, area, "roll", meta,
                              lambda tmp: documents.render_pdf(html, tmp, seconds))


# -- reminder slips ---------------------------------------------------------------------------
def reminder_slips(entries: Iterable[Mapping[str, Any]], channels: Mapping[str, str]
                   ) -> list[dict[str, Any]]:
    """One slip per household with a person's part still unpaid: its members who owe, masked,
    each with what they owe per scheme (the person's part only) and the channel they chose."""
    slips = []
    for house in households(e for e in entries if e["owed_person"] > 0):
        members = [{"name": mask_name(e["name"]),
                    "owed": {p["scheme"]: p["owed_person"] for p in e["lines"] if p["owed_person"]},
                    "total": e["owed_person"], "channel": channels.get(e["channel"], "")}
                   for e in house["entries"]]
        slips.append({"head_name": mask_name(house["head_name"]), "address": house["address"],
                      "members": members, "total": sum(m["total"] for m in members)})
    return slips


def collection_deadline() -> dt.date | None:
    """The last day of the campaign's 集中征缴 phase (None when the calendar has no such phase)."""
    try:
        return state.campaign().phase("collection").end
    except StopIteration:
        return None


def print_reminders(scope: Scope, *, village: str, day: dt.date | None = None) -> Export:
    """缴费提醒单 of every household that still owes, several to an A4 page, to cut apart."""
    area, entries = _checked_roll(scope, village)
    slips = reminder_slips(entries, choice_labels(state.registration_form())["payment_channel"])
    if not slips:
        raise DocumentError("本村（社区）没有尚未缴清个人缴费部分的家庭户，未生成提醒单。")
    day = day or documents.today()
    title = f"{area.name}{documents.KINDS['reminders']}"
    guide = documents.public_url(GUIDE_PATH)
    template = documents.template("documents/reminder_slips.html")
    common = dict(title=title, area=area, day=day, cn_date=documents.cn_date,
                  year=state.rates().year, deadline=collection_deadline(), yuan=fen_to_yuan,
                  schemes=[(s, SCHEME_SHORT[s]) for s in SCHEMES], guide_url=guide,
                  guide_qr=documents.qr_svg(guide, 22), contacts=documents.grid_contacts(area))
    # Slips are cut apart, so they need no page numbers and render in chunks on both cores.
    chunks = (template.render(slips=slips[i:i + SLIPS_PER_CHUNK], **common)
              for i in range(0, len(slips), SLIPS_PER_CHUNK))
    meta = documents.export_meta("reminders", area, scope, title=title, households=len(slips))
    return documents.produce(scope, area, "reminders", meta,
                              lambda tmp: documents.render_chunks(chunks, tmp))
