"""Collection progress pages (征缴进度): an area's units, one village, and the table's download.

Every figure comes from the coverage rows kept current by each payment (coverage.py),
priced with this year's amounts (collection/progress.py); a district's page costs
the same few reads as its registration dashboard.  Special groups (特殊人群) are
shown apart: the government pays part of their money.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, redirect, render_template, url_for

from . import charts, clock, coverage, exports, idcard, registry, state
from .collection.progress import figures, unit_figures
from .collection.rates import SCHEME_SHORT, SCHEMES, fen_to_yuan
from .i18n import _
from .spreadsheet import Column, csv_stream, xlsx_stream
from .staff import _area_unit, _child_rows, _own_areas, _trail, _unit_row, bp
from .store import Store

DAYS = 14   # the daily chart's span, as the registration dashboard's


@bp.route("/collection")
def collection_home():
    """The user's own area's progress; a short list when an account has several areas."""
    areas = _own_areas()
    if len(areas) == 1:
        return redirect(_progress_url(areas[0]))
    units = unit_figures([_unit_row(unit) for unit in areas], state.rates())
    total = figures(coverage.totals(u["row"] for u in units), state.rates())
    return _render(None, [], units, total, [], coverage.totals(u["row"] for u in units))


def _progress_url(unit: Mapping[str, Any]) -> str:
    if unit["level"] == "village":
        return url_for("staff.village_collection", village=unit["code"])
    return url_for("staff.area_collection", code=unit["code"])


@bp.route("/a/<code>/collection")
def area_collection(code: str):
    """A township's villages, or a district's townships (each with its own units and 小计)."""
    unit = _area_unit(code)
    grid, rates = state.current_grid(), state.rates()
    units = unit_figures(_child_rows(unit), rates)
    groups = [(child, unit_figures(_child_rows(grid.get(child["code"])), rates)) for child in units] \
        if unit["level"] in ("district", "city") else []
    row = coverage.unit_row(state.store(), grid, code)
    return _render(unit, _trail(code), units, figures(row, rates), groups, row)


@bp.route("/v/<village>/collection")
def village_collection(village: str):
    """One village's progress with the links to its roll, reminders, remittance and imports."""
    state.scope().require(village)  # outside the area reads the same as absent
    unit = state.current_grid().get(village)
    row = coverage.village_row(state.store(), village)
    units = unit_figures([{**row, "code": village, "name": unit["name"], "level": "village"}],
                         state.rates())
    return _render(unit, _trail(village), units, units[0], [], row, template="staff/collection_village.html")


def _render(unit: Mapping[str, Any] | None, trail: list[dict], units: list[dict], total: dict,
            groups: list, row: Mapping[str, Any], template: str = "staff/collection.html"):
    today = idcard.current_date()  # the campaign's one clock (Beijing)
    return render_template(
        template, unit=unit, trail=trail, units=units, total=total, groups=groups,
        schemes=SCHEMES, scheme_names=SCHEME_SHORT, yuan=fen_to_yuan, percent=charts.percent,
        year=state.rates().year, configured=state.rates().configured, days=DAYS,
        raised_recent=sum(row["raised_by_day"].get(d.isoformat(), 0) for d in charts.last_days(today, DAYS)),
        raised_today=row["raised_by_day"].get(today.isoformat(), 0),
        paid_today=row["paid_by_day"].get(today.isoformat(), 0),
        paid_chart=charts.paid_bars(units, _("各单位缴费进度")) if units else None,
        daily_chart=charts.money_daily_bars(
            row["raised_by_day"], _("近%(n)d天每日个人缴费金额（元）", n=DAYS), DAYS, today))


# -- the table as a file --------------------------------------------------------------------------
PROGRESS_SHEET = "征缴进度"


@bp.route("/a/<code>/collection.<any(csv, xlsx):fmt>")
def area_collection_file(code: str, fmt: str):
    """The progress table of an area's units and its 合计: counts and money, no personal data;
    the download is audited before anything is sent."""
    unit = _area_unit(code)
    rates = state.rates()
    units = unit_figures(_child_rows(unit), rates)
    total = figures(coverage.unit_row(state.store(), state.current_grid(), code), rates)
    header, body = progress_table(units, total)
    with state.store().transaction(Store.SYSTEM) as shards:
        registry.write_audit(shards[Store.SYSTEM], state.scope(), f"collection_{fmt}", code,
                             format=fmt, units=len(units))
    if fmt == "csv":
        data = b"".join(csv_stream(header, body))
    else:
        data = b"".join(xlsx_stream(header, body, sheet_name=PROGRESS_SHEET, now=clock.now()))
    name = exports.filename(f"collection-{code}", fmt, idcard.current_date())
    return Response(data, content_type=exports.MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def progress_table(units: list[dict], total: dict) -> tuple[list[Column], list[list[Any]]]:
    """Header and rows: per unit the persons, the paid and their share, the persons' money per
    scheme, then the special groups and the government's money; the last row 合计."""
    header = [Column("代码", 14, text=True), Column("单位", 16), Column("应缴人数", 10),
              Column("已缴清人数", 10), Column("缴费率", 8), Column("个人应缴（元）", 14),
              Column("个人已缴（元）", 14),
              *(Column(f"{SCHEME_SHORT[s]}个人已缴（元）", 18) for s in SCHEMES),
              Column("特殊人群人数", 12), Column("特殊人群已缴清", 14),
              Column("政府应代缴资助（元）", 20), Column("政府已拨（元）", 14)]

    def cells(f: Mapping[str, Any]) -> list[Any]:
        return [f["persons"], f["paid"], charts.percent(f["share"]), _yuan(f["due_person"]),
                _yuan(f["raised_person"]), *(_yuan(f["schemes"][s]["raised_person"]) for s in SCHEMES),
                f["special"]["persons"], f["special"]["paid"], _yuan(f["due_government"]),
                _yuan(f["raised_government"])]

    body = [[u["code"], u["name"], *cells(u)] for u in units]
    body.append(["", "合计", *cells(total)])
    return header, body


def _yuan(fen: int) -> int | float:
    """A yuan number Excel can sum (whole yuan as an integer)."""
    return fen // 100 if fen % 100 == 0 else float(fen_to_yuan(fen))
