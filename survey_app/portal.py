"""Build the public policy portal (a static Pelican site) from the app's data.

The app owns the data -- the grid and its contacts, the campaign calendar, the
published notices -- and Pelican owns the pages.  This module turns the data
into public, render-ready views and runs Pelican with them.  Private fields
(a grid member's mobile number) are dropped here, before anything reaches a
template, so no theme change can leak them.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import hashlib
import io
import logging
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import icalendar
from pelican import Pelican
from pelican.settings import read_settings

from survey_app.campaign import Campaign, load_campaign
from survey_app.settings import PROJECT_ROOT

from . import clock, formdef
from .grid import MOBILE_INSIDE
from .portal_disputes import dispute_guide

log = logging.getLogger(__name__)

PORTAL_DIR = PROJECT_ROOT / "portal"
PELICANCONF = PORTAL_DIR / "pelicanconf.py"
PUBLISHCONF = PORTAL_DIR / "publishconf.py"
# Left in every build so a rebuild only ever replaces a folder we made.
OUTPUT_MARKER = ".canbao-portal"
ICS_NAME = "campaign.ics"
# Words people type and the words the guides use, swapped in by the search page.
SEARCH_SYNONYMS = PROJECT_ROOT / "content" / "data" / "search_synonyms.toml"
# The dispute intake form names the channels and categories the dispute guide lists.
FORMS_DIR = PROJECT_ROOT / "forms"

LEVELS = ("district", "township", "village")
NOTICE_KINDS = {"collection": "缴费通知", "roster": "缴费名单公示"}
MOBILE = re.compile(r"1[3-9]\d{9}")


class PortalError(ValueError):
    """The data handed to the portal is inconsistent, or the build failed."""


# --- the contact directory -------------------------------------------------


@dataclass(frozen=True)
class PublicContact:
    role: str
    name: str
    office_phone: str
    # Set when office_phone is borrowed from a unit higher up (the township).
    office_phone_of: str = ""


@dataclass(frozen=True)
class PublicUnit:
    code: str
    level: str
    name: str
    contacts: tuple[PublicContact, ...]
    children: tuple[PublicUnit, ...] = ()
    window: str = ""  # a township's service window (受理窗口), plain text

    @property
    def office_phone(self) -> str:
        """The unit's own public line: its first contact with an office phone."""
        return _first_phone(self.contacts)

    @property
    def page(self) -> str:
        """Output path of the unit's directory page (townships only)."""
        return f"contacts/{self.code}.html"

    @property
    def villages(self) -> tuple[PublicUnit, ...]:
        return self.children


@dataclass(frozen=True)
class Directory:
    districts: tuple[PublicUnit, ...]

    @property
    def townships(self) -> tuple[PublicUnit, ...]:
        return tuple(t for d in self.districts for t in d.children)


def _office_phone(raw: Mapping[str, Any], where: str) -> str:
    phone = str(raw.get("office_phone") or "").strip()
    if MOBILE.search(phone.replace("-", "").replace(" ", "")):
        # A mobile typed into the office field is still someone's private number.
        log.warning("%s %s 的办公电话像是手机号，门户不公开", where, raw.get("name"))
        return ""
    return phone


def _window(unit: Mapping[str, Any]) -> str:
    """The township's window as the grid holds it; grid.py refuses a mobile in it, this is the
    last line should an older or hand-edited grid.json carry one."""
    window = str(unit.get("window") or "").strip() if unit["level"] == "township" else ""
    if MOBILE_INSIDE.search(re.sub(r"[\s-]", "", window)):
        log.warning("%s 的受理窗口里像是有手机号，门户不公开", unit["name"])
        return ""
    return window


def _first_phone(contacts: Iterable[PublicContact]) -> str:
    return next((c.office_phone for c in contacts if c.office_phone), "")


def _public_contacts(
    unit: Mapping[str, Any], fallback: str = "", fallback_of: str = ""
) -> tuple[PublicContact, ...]:
    """Keep only role, name and office phone: the fields meant for the public."""
    where = unit["name"]
    contacts = tuple(
        PublicContact(str(c["role"]), str(c["name"]).strip(), _office_phone(c, where))
        for c in unit.get("contacts", ())
    )
    if not fallback:
        return contacts
    return tuple(
        c if c.office_phone else PublicContact(c.role, c.name, fallback, fallback_of) for c in contacts
    )


def public_directory(grid_units: Sequence[Mapping[str, Any]]) -> Directory:
    """Arrange the grid as district -> township -> village with public fields only.

    A city above the districts is left out: residents look for their county's
    and township's offices, and each district then heads its own part.
    """
    cities = {str(u["code"]) for u in grid_units if u.get("level") == "city"}
    grid_units = [{**u, "parent": None} if u.get("parent") and str(u["parent"]) in cities else u
                  for u in grid_units if u.get("level") != "city"]
    by_code = {str(u["code"]): u for u in grid_units}
    children: dict[str, list[Mapping[str, Any]]] = {code: [] for code in by_code}
    roots = []
    for unit in grid_units:
        if unit.get("level") not in LEVELS:
            raise PortalError(f"网格 {unit.get('code')} 的层级不对：{unit.get('level')!r}")
        parent = unit.get("parent")
        if parent is None:
            roots.append(unit)
        elif str(parent) in children:
            children[str(parent)].append(unit)
        else:
            raise PortalError(f"网格 {unit['code']} 的上级 {parent} 不存在")

    def build(unit: Mapping[str, Any], depth: int, fallback: str, fallback_of: str) -> PublicUnit:
        expected = LEVELS[depth] if depth < len(LEVELS) else "（无）"
        if unit["level"] != expected:
            raise PortalError(f"网格 {unit['code']} 应是 {expected} 级，实际是 {unit['level']}")
        contacts = _public_contacts(unit, fallback, fallback_of)
        # A village without an office line is reached through its township's.
        own = _first_phone(contacts) if unit["level"] == "township" else ""
        kids = tuple(
            build(k, depth + 1, own, unit["name"] if own else "")
            for k in sorted(children[str(unit["code"])], key=lambda u: str(u["code"]))
        )
        return PublicUnit(str(unit["code"]), unit["level"], unit["name"], contacts, kids, _window(unit))

    directory = Directory(tuple(build(r, 0, "", "") for r in sorted(roots, key=lambda u: str(u["code"]))))
    placed = len(directory.districts) + sum(1 + len(t.villages) for t in directory.townships)
    if placed != len(grid_units):
        raise PortalError("网格编码有重复，或有网格没有挂到区县下面")
    return directory


# --- the campaign calendar -------------------------------------------------


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


# --- notices ---------------------------------------------------------------


@dataclass(frozen=True)
class NoticeView:
    slug: str
    title: str
    kind: str
    kind_label: str
    village_name: str
    township_name: str
    published: dt.date
    pdf: Path

    @property
    def page(self) -> str:
        return f"notices/{self.slug}.html"

    @property
    def pdf_url(self) -> str:
        return f"notices/{self.slug}.pdf"


def _notice_slug(notice: Mapping[str, Any]) -> str:
    # Stable across rebuilds (same notice, same address) and ASCII only.
    key = "|".join(str(notice[k]) for k in ("kind", "township_name", "village_name", "published", "title"))
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"{notice['published']:%Y%m%d}-{notice['kind']}-{digest}"


def notice_views(notices: Iterable[Mapping[str, Any]]) -> tuple[NoticeView, ...]:
    views = []
    for notice in notices:
        if notice["kind"] not in NOTICE_KINDS:
            raise PortalError(f"未知的公告类型：{notice['kind']!r}")
        pdf = Path(notice["pdf"])
        if not pdf.is_file():
            raise PortalError(f"公告“{notice['title']}”的 PDF 不存在：{pdf}")
        views.append(
            NoticeView(
                _notice_slug(notice),
                notice["title"],
                notice["kind"],
                NOTICE_KINDS[notice["kind"]],
                notice["village_name"],
                notice["township_name"],
                notice["published"],
                pdf,
            )
        )
    if len({v.slug for v in views}) != len(views):
        raise PortalError("有两份公告的标题、村、类型和日期完全相同")
    return tuple(sorted(views, key=lambda v: (v.published, v.slug), reverse=True))


# --- the build ---------------------------------------------------------------


class _ErrorCounter(logging.Handler):
    """Pelican logs a page it cannot read and carries on; we want to fail."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run_pelican(settings_file: Path, override: dict[str, Any]) -> None:
    counter = _ErrorCounter()
    pelican_log = logging.getLogger("pelican")
    pelican_log.addHandler(counter)
    summary = io.StringIO()
    try:
        # Pelican prints its "Done: ..." line; a library call should stay quiet.
        with contextlib.redirect_stdout(summary):
            Pelican(read_settings(str(settings_file), override=override)).run()
    finally:
        pelican_log.removeHandler(counter)
    log.info("%s", " ".join(summary.getvalue().split()))
    if counter.messages:
        raise PortalError("门户生成出错：" + "；".join(counter.messages))


def built_on(folder: str | Path) -> dt.date | None:
    """The "today" a portal folder was built for; None if we did not build it."""
    try:
        marker = (Path(folder) / OUTPUT_MARKER).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    found = re.search(r"^built_on = (\d{4}-\d{2}-\d{2})$", marker, re.M)
    return dt.date.fromisoformat(found.group(1)) if found else dt.date.min  # an older build


def _is_ours(folder: Path) -> bool:
    return (folder / OUTPUT_MARKER).is_file() or not any(folder.iterdir())


def _swap_in(staging: Path, output: Path) -> None:
    """Replace output by staging, so a reader never sees a half-built site."""
    if not output.exists():
        staging.rename(output)
        return
    if not output.is_dir() or not _is_ours(output):
        raise PortalError(f"{output} 不是门户的输出目录，不覆盖它")
    retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.old-", dir=output.parent))
    output.rename(retired / output.name)
    staging.rename(output)
    shutil.rmtree(retired)


# --- payment channels and search synonyms -----------------------------------


def payment_view(campaign: Campaign) -> dict[str, str]:
    """The payment settings as the words the guides put in their place.

    Guides write ``%payment.app%`` and the like; the portal plugin fills them in,
    so a guide never names one province's app for another province's district.
    """
    pay = campaign.payment
    app = pay.app or "政务服务"
    return {
        "province": pay.province or "您所在省",
        "app": app,
        "banks": "、".join(pay.banks) or "当地合作银行",
        # A channel written as 政务App is the province's own app, by name.
        "channels": "、".join(f"{app}App" if c == "政务App" and pay.app else c
                             for c in pay.channels) or "微信、支付宝、政务App、银行、村里代收、办税大厅",
    }


def search_synonyms(path: str | Path) -> list[list[str]]:
    """Groups of interchangeable words from the synonyms TOML (none if it is absent)."""
    path = Path(path)
    if not path.is_file():
        return []
    with path.open("rb") as handle:
        groups = tomllib.load(handle).get("groups", [])
    if not all(isinstance(g, list) and all(isinstance(w, str) and w for w in g) for g in groups):
        raise PortalError(f"{path}: groups 应是词组的列表")
    return [[w.lower() for w in g] for g in groups if len(g) > 1]


def build_portal(
    output_dir: str | Path,
    *,
    grid_units: Sequence[Mapping[str, Any]],
    campaign_file: str | Path,
    notices: Iterable[Mapping[str, Any]] = (),
    today: dt.date | None = None,
    settings_override: Mapping[str, Any] | None = None,
    settings_file: str | Path = PELICANCONF,
    synonyms_file: str | Path = SEARCH_SYNONYMS,
    forms_dir: str | Path = FORMS_DIR,
) -> Path:
    """Build the portal into output_dir and return its resolved path.

    ``today`` decides the phase shown on the home page and the day marked on
    the calendar, so rebuild daily during the campaign.  ``settings_file`` may
    be PUBLISHCONF for production.  An existing output_dir is replaced only if
    an earlier build made it (or it is empty).
    """
    today = today or clock.today()
    campaign = load_campaign(campaign_file)
    directory = public_directory(grid_units)
    data = {
        "today": today,
        "calendar": calendar_view(campaign, today),
        "directory": directory,
        "disputes": dispute_guide(campaign, formdef.load(str(forms_dir), "dispute"), directory),
        "notices": notice_views(notices),
        "ics": campaign_ics(campaign, today),
        "ics_name": ICS_NAME,
        "payment": payment_view(campaign),
        "search_synonyms": search_synonyms(synonyms_file),
    }
    output = Path(output_dir).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.building-", dir=output.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the site from the web server
    try:
        override = {**(settings_override or {}), "CANBAO": data, "OUTPUT_PATH": str(staging)}
        _run_pelican(Path(settings_file), override)
        (staging / OUTPUT_MARKER).write_text(f"built by survey_app.portal\nbuilt_on = {today}\n",
                                             encoding="utf-8")
        _swap_in(staging, output)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return output
