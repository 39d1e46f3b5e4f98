"""Server-drawn SVG charts for the staff pages and the PDFs: no script, no chart library.

A dashboard read on a cheap phone in a township office must draw at once and
print the same; an inline SVG with a viewBox scales from 360 px to a desktop
and WeasyPrint draws it natively.  The default width (320 units) is about a
phone's column at 360 px, so 13-unit text reads at about 13 px there (the page's
stylesheet caps a chart's width on a desktop); a PDF passes a wider box for
smaller print.  Every label is escaped: unit names and user
names come from data.  Each drawn bar carries ``data-series`` and
``data-value`` so what a chart says can be read back (tests do).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from markupsafe import Markup, escape

from . import idcard

# The order of static/print/print.css: rare name characters (extensions A-H) fall back to
# HanaMin, then BabelStone; an SVG names its fonts itself, in a page and in a PDF alike.
FONTS = "WenQuanYi Micro Hei, DejaVu Sans, HanaMinA, HanaMinB, BabelStone Han, sans-serif"
TRACK, INK, TEXT = "#e6e9ee", "#2b6cb0", "#1a202c"
WIDTH = 320
VALUE_W = 52  # the column right of the bars for "100%" or a count


class Measure(NamedTuple):
    """One coverage figure: done / of, from a coverage row."""
    key: str
    label: str
    done: str
    of: tuple[str, ...]  # summed: 人不漏项 is registered out of registered + incomplete
    colour: str

    def share(self, row: Mapping[str, Any]) -> float | None:
        total = self.total(row)
        return row.get(self.done, 0) / total if total else None

    def total(self, row: Mapping[str, Any]) -> int:
        return sum(row.get(k, 0) for k in self.of)


MEASURES = (
    Measure("households", "村不漏户", "households_visited", ("households",), "#2b6cb0"),
    Measure("persons", "户不漏人", "persons_registered", ("persons_expected",), "#2f855a"),
    Measure("fields", "人不漏项", "persons_registered", ("persons_registered", "persons_incomplete"),
            "#b7791f"),
)


class Series(NamedTuple):
    """One bar of each group in a count chart: the key in the group's mapping, its label, colour."""
    key: str
    label: str
    colour: str


# Per enumerator (a coverage row's ``by_user``): what each did.
ENUMERATOR_SERIES = (
    Series("households", "走访户数", "#2b6cb0"),
    Series("registered", "已登记", "#2f855a"),
    Series("incomplete", "待补充", "#b7791f"),
    Series("returned", "被退回", "#c53030"),
)


def percent(share: float | None) -> str:
    """0.4 → "40%", None (nothing to count) → "—": the one way shares are written."""
    return "—" if share is None else f"{share:.0%}"


def _svg(width: int, height: float, body: Iterable[str], title: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:g}" width="100%" '
        f'role="img" aria-label="{escape(title)}" font-family="{FONTS}" font-size="13" fill="{TEXT}">'
        f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def _legend(width: int, items: Sequence[tuple[str, str]]) -> str:
    step = width // max(len(items), 1)
    return "".join(f'<rect x="{i * step}" y="4" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{i * step + 16}" y="15" font-size="12">{escape(label)}</text>'
                   for i, (label, colour) in enumerate(items))


def _groups(groups: Sequence[tuple[str, list[tuple[str, str, float, str, str]]]], title: str,
            width: int, legend: Sequence[tuple[str, str]]) -> Markup:
    """Per group a name line, then one bar per item: (series, colour, fill 0..1, value text, tip).
    Names above the bars, not beside them: at 360 px a label column squeezes the bars to nothing."""
    bar, gap, line, legend_h = 10, 4, 18, 24
    track = width - VALUE_W
    body = [_legend(width, legend)]
    top = legend_h
    for name, items in groups:
        body.append(f'<text x="0" y="{top + 14}" font-weight="600">{escape(name)}</text>')
        for j, (key, colour, fill, value, tip) in enumerate(items):
            y = top + line + j * (bar + gap)
            body.append(f'<rect x="0" y="{y}" width="{track}" height="{bar}" fill="{TRACK}"/>'
                        f'<rect x="0" y="{y}" width="{track * max(0.0, min(fill, 1.0)):.1f}" '
                        f'height="{bar}" fill="{colour}" data-series="{key}" data-value="{escape(value)}">'
                        f'<title>{escape(tip)}</title></rect>'
                        f'<text x="{track + 6}" y="{y + bar + 1}" font-size="12">{escape(value)}</text>')
        top += line + len(items) * (bar + gap) + 8
    return _svg(width, top, body, title)


def coverage_bars(rows: Sequence[Mapping[str, Any]], title: str, width: int = WIDTH) -> Markup:
    """Per unit (each row needs a ``name``) one bar for each of 村不漏户、户不漏人、人不漏项."""
    groups = []
    for row in rows:
        items = []
        for m in MEASURES:
            share = m.share(row)
            items.append((m.key, m.colour, share or 0.0, percent(share),
                          f"{m.label} {row.get(m.done, 0)}/{m.total(row)}"))
        groups.append((str(row["name"]), items))
    return _groups(groups, title, width, [(m.label, m.colour) for m in MEASURES])


def count_bars(rows: Sequence[Mapping[str, Any]], series: Sequence[Series], title: str,
               width: int = WIDTH) -> Markup:
    """Per row (a ``name`` and counts) one bar per series, all on one scale: the largest count."""
    peak = max((int(row.get(s.key, 0)) for row in rows for s in series), default=0) or 1
    groups = [(str(row["name"]), [(s.key, s.colour, int(row.get(s.key, 0)) / peak, str(row.get(s.key, 0)),
                                   f"{s.label} {row.get(s.key, 0)}") for s in series])
              for row in rows]
    return _groups(groups, title, width, [(s.label, s.colour) for s in series])


def enumerator_rows(by_user: Mapping[str, Mapping[str, int]], names: Mapping[str, str],
                    unknown: str = "未记录") -> list[dict[str, Any]]:
    """One row per enumerator of a coverage row's ``by_user``, by user name, with every count of
    ``ENUMERATOR_SERIES``; ``name`` labels them: "display name（user）", or ``unknown`` for
    records written before the registering user was kept."""
    rows = []
    for user in sorted(by_user):
        label = f"{names[user]}（{user}）" if names.get(user) else (user or unknown)
        rows.append({"user": user, "name": label,
                     **{s.key: int(by_user[user].get(s.key, 0)) for s in ENUMERATOR_SERIES}})
    return rows


def enumerator_bars(rows: Sequence[Mapping[str, Any]], title: str, width: int = WIDTH) -> Markup:
    """Per enumerator: households visited, persons registered, incomplete, returned by review."""
    return count_bars(rows, ENUMERATOR_SERIES, title, width)


def last_days(today: dt.date | None = None, days: int = 14) -> list[dt.date]:
    """The ``days`` days up to and including ``today`` (the campaign's one clock by default)."""
    end = today or idcard.current_date()
    return [end - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


def daily_bars(by_day: Mapping[str, int], title: str, days: int = 14, today: dt.date | None = None,
               width: int = WIDTH, height: int = 150) -> Markup:
    """How many were registered each day, the last ``days`` days up to ``today`` (Beijing)."""
    return _daily(by_day, title, str, days, today, width, height)


def money_daily_bars(fen_by_day: Mapping[str, int], title: str, days: int = 14,
                     today: dt.date | None = None, width: int = WIDTH, height: int = 150) -> Markup:
    """The amount raised each day (fen in, yuan drawn), the last ``days`` days up to ``today``."""
    return _daily(fen_by_day, title, _yuan, days, today, width, height)


def _yuan(fen: int) -> str:
    """Fen as a bar's label: whole yuan without decimals ("1200"), else two ("1200.50")."""
    return str(fen // 100) if fen % 100 == 0 else f"{fen / 100:.2f}"


def _daily(by_day: Mapping[str, int], title: str, shown: Callable[[int], str], days: int,
           today: dt.date | None, width: int, height: int) -> Markup:
    dates = last_days(today, days)
    counts = [int(by_day.get(d.isoformat(), 0)) for d in dates]
    peak = max(counts) or 1
    plot_h, slot = height - 36, width / days
    body = [f'<line x1="0" y1="{18 + plot_h}" x2="{width}" y2="{18 + plot_h}" stroke="#a0aec0"/>']
    for i, (day, count) in enumerate(zip(dates, counts, strict=True)):
        h = plot_h * count / peak
        x = i * slot
        body.append(f'<rect x="{x + 2:.1f}" y="{18 + plot_h - h:.1f}" width="{slot - 4:.1f}" '
                    f'height="{h:.1f}" fill="{INK}" data-series="{day.isoformat()}" '
                    f'data-value="{shown(count)}"><title>{day.isoformat()}：{shown(count)}</title></rect>')
        if count:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{14 + plot_h - h:.1f}" font-size="11" '
                        f'text-anchor="middle">{shown(count)}</text>')
        if i % 2 == (days - 1) % 2 or days <= 7:  # every other day, always today
            body.append(f'<text x="{x + slot / 2:.1f}" y="{height - 4}" font-size="11" '
                        f'text-anchor="middle">{day.month}/{day.day}</text>')
    return _svg(width, height, body, title)


# Per unit of a collection page (collection/progress.py figures): who has paid, special groups apart.
PAID_SERIES = (
    Series("paid", "已缴清人数占比", "#2f855a"),
    Series("special", "特殊人群已缴清", "#b7791f"),
)


def paid_bars(units: Sequence[Mapping[str, Any]], title: str, width: int = WIDTH) -> Markup:
    """Per unit (a ``name`` and progress figures) the share of persons on the roll fully paid,
    and of the special groups among them."""
    groups = []
    for unit in units:
        parts = ((PAID_SERIES[0], unit["paid"], unit["persons"]),
                 (PAID_SERIES[1], unit["special"]["paid"], unit["special"]["persons"]))
        groups.append((str(unit["name"]), [
            (s.key, s.colour, done / of if of else 0.0, percent(done / of if of else None),
             f"{s.label} {done}/{of}") for s, done, of in parts]))
    return _groups(groups, title, width, [(s.label, s.colour) for s in PAID_SERIES])


def column_bars(points: Sequence[tuple[str, str, int]], title: str, width: int = WIDTH,
                height: int = 150) -> Markup:
    """One column per point (key, short label, count), left to right, on one scale: months of
    dispute items.  Labels under the columns, every other one when more than 12 would crowd
    a phone's width; each column's tip says its key and count in full."""
    counts = [int(count) for _key, _label, count in points]
    peak = max(counts, default=0) or 1
    plot_h, slot = height - 36, width / max(len(points), 1)
    body = [f'<line x1="0" y1="{18 + plot_h}" x2="{width}" y2="{18 + plot_h}" stroke="#a0aec0"/>']
    for i, ((key, label, _count), count) in enumerate(zip(points, counts, strict=True)):
        h, x = plot_h * count / peak, i * slot
        body.append(f'<rect x="{x + 2:.1f}" y="{18 + plot_h - h:.1f}" width="{max(slot - 4, 1):.1f}" '
                    f'height="{h:.1f}" fill="{INK}" data-series="{escape(key)}" data-value="{count}">'
                    f'<title>{escape(key)}：{count}</title></rect>')
        if count:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{14 + plot_h - h:.1f}" font-size="11" '
                        f'text-anchor="middle">{count}</text>')
        if len(points) <= 12 or i % 2 == (len(points) - 1) % 2:  # always the last
            body.append(f'<text x="{x + slot / 2:.1f}" y="{height - 4}" font-size="11" '
                        f'text-anchor="middle">{escape(label)}</text>')
    return _svg(width, height, body, title)
