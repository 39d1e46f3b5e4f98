"""Build the public policy portal (a static Pelican site) from the app's data.

The app owns the data -- the grid and its contacts, the campaign calendar, the
published notices -- and Pelican owns the pages.  This module turns the data
into public, render-ready views (portal_directory, portal_calendar,
portal_notices, portal_disputes) and runs Pelican with them.  Private fields
(a grid member's mobile number) are dropped in portal_directory, before
anything reaches a template, so no theme change can leak them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pelican import Pelican
from pelican.settings import read_settings

from survey_app.campaign import Campaign, load_campaign
from survey_app.settings import PROJECT_ROOT

from . import clock, formdef
from .portal_calendar import calendar_view, campaign_ics
from .portal_directory import public_directory
from .portal_disputes import dispute_guide
from .portal_errors import PortalError
from .portal_notices import notice_views

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
