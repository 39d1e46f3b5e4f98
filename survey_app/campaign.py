"""The campaign calendar: one TOML file read by the portal, the .ics and the notices."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .collection.rates import Rates, RatesError, parse_rates
from .disputes.rules import DisputeRules, DisputeSettingsError, parse_rules
from .workdays import CalendarError as WorkdaysError
from .workdays import WorkCalendar, parse_calendar


@dataclass(frozen=True)
class Phase:
    key: str
    name: str
    start: dt.date
    end: dt.date
    summary: str

    def status_on(self, day: dt.date) -> str:
        """"past", "current" or "future" as seen on ``day``."""
        if day < self.start:
            return "future"
        return "past" if day > self.end else "current"


@dataclass(frozen=True)
class Payment:
    """How people pay in this place: the portal names these, never a hard-coded app.

    ``app`` is the province's government-services app (爱山东 in Shandong, 皖事通 in
    Anhui); ``banks`` the banks whose counters and apps take the contribution;
    ``channels`` the ways of paying the guide lists, in the order shown.
    """

    province: str = ""
    app: str = ""
    banks: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Campaign:
    title: str
    year: int
    phases: tuple[Phase, ...]
    payment: Payment = Payment()
    collection: Rates = Rates()
    workdays: WorkCalendar = WorkCalendar()  # for time limits counted in working days
    disputes: DisputeRules = DisputeRules()

    def phase(self, key: str) -> Phase:
        return next(p for p in self.phases if p.key == key)


class CampaignError(ValueError):
    """The calendar file is missing a field or has dates out of order."""


def load_campaign(path: str | Path) -> Campaign:
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    try:
        phases = tuple(
            Phase(p["key"], p["name"], p["start"], p["end"], p.get("summary", ""))
            for p in raw["phases"]
        )
        pay = raw.get("payment", {})
        payment = Payment(
            str(pay.get("province", "")),
            str(pay.get("app", "")),
            tuple(str(b) for b in pay.get("banks", ())),
            tuple(str(c) for c in pay.get("channels", ())),
        )
        collection = parse_rates(raw.get("collection"), str(path))
        workdays = parse_calendar(raw.get("calendar"), str(path))
        disputes = parse_rules(raw.get("disputes"), str(path))
        campaign = Campaign(raw["title"], int(raw["year"]), phases, payment, collection, workdays,
                            disputes)
    except (RatesError, WorkdaysError, DisputeSettingsError) as exc:
        raise CampaignError(str(exc)) from exc
    except (KeyError, TypeError) as exc:
        raise CampaignError(f"{path}: 日历缺少字段 {exc}") from exc
    for phase in phases:
        if not isinstance(phase.start, dt.date) or phase.end < phase.start:
            raise CampaignError(f"{path}: 阶段“{phase.name}”的起止日期有误")
    return campaign
