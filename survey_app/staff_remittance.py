"""Remittance pages for the township (按日报解): a village's sheet of a day, and the cash not
yet handed in across an area.

The sheet lists no person: per agent the receipt numbers, the amounts by channel and
the cash; so it can be printed and signed at the township's counter.  Recording and
cancelling a remittance is audited in the village's shard (collection/remittance.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from . import clock, exports, idcard, registry, state
from .collection import remittance
from .collection.rates import fen_to_yuan
from .i18n import _
from .registry import Invalid
from .spreadsheet import Column, csv_stream, xlsx_stream
from .staff import _area_unit, _display_names, _trail, bp
from .store import Store
from .views import label

FORM_FIELDS = ("agent", "day", "amount", "slip_no")


def channel_labels() -> dict[str, str]:
    """Each payment channel's label, in the registration form's order."""
    return {c.value: label(c) for c in state.registration_form().field("payment_channel").choices}


def agent_names(agents: list[str]) -> dict[str, str]:
    """"display name（user）" of each agent: the sheet is signed by a person, not an account."""
    names = _display_names()
    return {a: f"{names[a]}（{a}）" if names.get(a) else a or _("未记录") for a in agents}


def sheet_context(sheet: Mapping[str, Any]) -> dict[str, Any]:
    """What the sheet's macro needs besides the sheet (staff and agent pages alike)."""
    channels = channel_labels()
    used = {c for a in sheet["agents"] for c in a["by_channel"]}
    return {"sheet": sheet, "yuan": fen_to_yuan,
            "channels": {c: text for c, text in channels.items() if c in used},
            "names": agent_names([a["agent"] for a in sheet["agents"]])}


@bp.route("/v/<village>/collection/remittance", methods=("GET", "POST"))
def village_remittance(village: str):
    """GET: a day's sheet (``?day=``, today by default); POST: record a remittance of it."""
    scope = state.scope()
    scope.require(village)  # outside the area reads the same as absent
    errors: dict[str, Any] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in FORM_FIELDS}
        try:
            remittance.remit(state.store(), scope, village, values, for_others=True)
        except Invalid as exc:
            errors = exc.errors
        else:
            flash(_("已登记解缴 %(a)s 元。", a=values["amount"]), "success")
            return redirect(url_for(".village_remittance", village=village, day=values["day"]))
    day = remittance.parse_day(values.get("day") or request.args.get("day"))
    if day is None:
        errors = {"day": _("日期应为“年-月-日”，如 2026-11-03。")}
        day = clock.today().isoformat()
    sheet = remittance.village_sheet(state.store(), scope, village, day)
    unit = state.current_grid().get(village)
    return render_template("staff/remittance.html", unit=unit, trail=_trail(village), errors=errors,
                           values=values, **sheet_context(sheet)), 422 if errors else 200


@bp.route("/v/<village>/collection/remittance/<int:doc_id>/cancel", methods=("POST",))
def cancel_remittance(village: str, doc_id: int):
    scope = state.scope()
    scope.require(village)
    try:
        remittance.cancel(state.store(), scope, registry.make_ref(village, doc_id),
                          request.form.get("reason"))
    except Invalid as exc:
        for message in exc.errors.values():
            flash(str(message), "error")
    else:
        flash(_("已撤销这笔解缴，原记录保留。"), "success")
    day = remittance.parse_day(request.form.get("day")) or clock.today().isoformat()
    return redirect(url_for(".village_remittance", village=village, day=day))


@bp.route("/a/<code>/collection/remittance")
def area_remittance(code: str):
    """The cash not yet handed in of the area's villages, by village and day, oldest first."""
    unit = _area_unit(code)
    scope = state.scope()
    grid = state.current_grid()
    villages = [v for v in grid.villages_under(code) if v in scope.villages]
    entries = remittance.outstanding(state.store(), scope, villages)
    names = {v: grid.get(v)["name"] for v in villages}
    totals = remittance.by_village(entries)
    return render_template("staff/remittance_area.html", unit=unit, trail=_trail(code), entries=entries,
                           village_names=names, totals=totals, total=sum(totals.values()),
                           agents=agent_names(sorted({e["agent"] for e in entries})), yuan=fen_to_yuan)


# -- the sheet as a file --------------------------------------------------------------------------
@bp.route("/v/<village>/collection/remittance.<any(csv, xlsx):fmt>")
def village_remittance_file(village: str, fmt: str):
    scope = state.scope()
    scope.require(village)
    day = remittance.parse_day(request.args.get("day"))
    if day is None:
        return render_template("error.html", title="422",
                               message=_("日期应为“年-月-日”，如 2026-11-03。")), 422
    sheet = remittance.village_sheet(state.store(), scope, village, day)
    header, body = sheet_table(sheet, channel_labels(), agent_names([a["agent"] for a in sheet["agents"]]))
    with state.store().transaction(Store.SYSTEM) as shards:  # before anything is sent
        registry.write_audit(shards[Store.SYSTEM], scope, f"remittance_{fmt}", village, day=day, format=fmt)
    if fmt == "csv":
        data = b"".join(csv_stream(header, body))
    else:
        data = b"".join(xlsx_stream(header, body, sheet_name="按日报解", now=clock.now()))
    name = exports.filename(f"remittance-{village}-{day}", fmt, idcard.current_date())
    return Response(data, content_type=exports.MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def sheet_table(sheet: Mapping[str, Any], channels: Mapping[str, str], names: Mapping[str, str]
                ) -> tuple[list[Column], list[list[Any]]]:
    """One row per agent, then 合计: the receipts, each channel's amount, the cash and its remittance."""
    header = [Column("日期", 12, text=True), Column("代收人", 20), Column("票据张数", 10),
              Column("票据号", 40, text=True), *(Column(f"{text}（元）", 16) for text in channels.values()),
              Column("合计（元）", 12), Column("应解缴现金（元）", 16), Column("已解缴（元）", 12),
              Column("未解缴（元）", 12), Column("缴款凭证号", 20, text=True)]

    def money(part: Mapping[str, Any]) -> list[Any]:
        return [*(_yuan(part["by_channel"].get(c, 0)) for c in channels), _yuan(part["total"]),
                _yuan(part["cash"]), _yuan(part["remitted"]), _yuan(part["unremitted"])]

    body = [[sheet["day"], names.get(a["agent"], a["agent"]), a["receipt_count"], "、".join(a["receipts"]),
             *money(a), "、".join(r["slip_no"] for r in a["remittances"] if r["in_force"])]
            for a in sheet["agents"]]
    body.append([sheet["day"], "合计", sheet["totals"]["receipt_count"], "", *money(sheet["totals"]), ""])
    return header, body


def _yuan(fen: int) -> int | float:
    return fen // 100 if fen % 100 == 0 else float(fen_to_yuan(fen))
