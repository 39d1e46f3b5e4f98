"""The portal's campaign calendar: the phases by month, and the same phases as an .ics file."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar

from .campaign import Campaign


@dataclass(frozen=True)
class PhaseView:
    number: int
    key: str
    name: str
    start: dt.date
    end: dt.date
    summary: str
    status: str  # "past", "current" or "future" on the build day


@dataclass(frozen=True)
class DayCell:
    day: dt.date
    phase: PhaseView | None
    is_today: bool


@dataclass(frozen=True)
class MonthView:
    year: int
    month: int
    weeks: tuple[tuple[DayCell | None, ...], ...]


@dataclass(frozen=True)
class CalendarView:
    title: str
    year: int
    today: dt.date
    phases: tuple[PhaseView, ...]
    months: tuple[MonthView, ...]

    @property
    def current(self) -> PhaseView | None:
        return next((p for p in self.phases if p.status == "current"), None)

    @property
    def upcoming(self) -> PhaseView | None:
        return next((p for p in self.phases if p.status == "future"), None)


def _months(first: dt.date, last: dt.date) -> Iterable[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def calendar_view(campaign: Campaign, today: dt.date) -> CalendarView:
    phases = tuple(
        PhaseView(n, p.key, p.name, p.start, p.end, p.summary, p.status_on(today))
        for n, p in enumerate(campaign.phases, start=1)
    )
    by_day = {p.start + dt.timedelta(days=i): p for p in phases for i in range((p.end - p.start).days + 1)}
    weeks_of = calendar.Calendar(firstweekday=0).monthdatescalendar
    months = tuple(
        MonthView(
            year,
            month,
            tuple(
                tuple(
                    DayCell(day, by_day.get(day), day == today) if day.month == month else None
                    for day in week
                )
                for week in weeks_of(year, month)
            ),
        )
        for year, month in _months(min(p.start for p in phases), max(p.end for p in phases))
    )
    return CalendarView(campaign.title, campaign.year, today, phases, months)


def campaign_ics(campaign: Campaign, stamp: dt.date) -> bytes:
    """One all-day event per phase, for a phone's calendar app.

    UIDs depend on the year and phase key, not on the dates, so a phone that
    re-imports the file after a date change moves the events instead of
    duplicating them.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", "-//canbao//campaign calendar//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{campaign.year} {campaign.title}")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    dtstamp = dt.datetime.combine(stamp, dt.time(0), tzinfo=dt.UTC)
    for phase in campaign.phases:
        event = icalendar.Event()
        event.add("uid", f"{campaign.year}-{phase.key}@canbao")
        event.add("dtstamp", dtstamp)
        event.add("summary", f"{phase.name}（{campaign.title}）")
        event.add("description", phase.summary)
        event.add("dtstart", phase.start)
        # All-day events end on the day after the last day (RFC 5545).
        event.add("dtend", phase.end + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
