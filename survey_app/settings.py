"""The one table of settings: name, default, and why it exists.

Every setting can be overridden by the app factory's ``test_config`` or by an
environment variable ``CANBAO_<NAME>`` (strings only; numbers are converted).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Setting(NamedTuple):
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATA", None, "Data directory; defaults to the instance folder. Env: CANBAO_DATA."),
    Setting("DATABASE_URL", "", "PostgreSQL URL (postgresql://…): several servers share one database "
            "instead of the data folder's files."),
    Setting("STORE_CACHE_MB", 512, "Memory each server process may keep of recently used shards."),
    Setting("SECRET_KEY", "", "Signs sessions; empty: generated once into the instance folder."),
    Setting("FORMS_DIR", str(PROJECT_ROOT / "forms"), "Folder of form definitions (TOML)."),
    Setting(
        "CAMPAIGN_FILE",
        str(PROJECT_ROOT / "content" / "data" / "campaign.toml"),
        "The one campaign calendar, shared by portal, .ics and notices.",
    ),
    Setting("EXPORTS_DIR", str(PROJECT_ROOT / "exports"), "Where generated files land."),
    Setting("PORTAL_OUTPUT", str(PROJECT_ROOT / "portal" / "output"), "Built portal folder."),
    Setting("HTTPS", 0, "1 when served over HTTPS: session cookies are then marked Secure."),
    Setting("HSTS_SECONDS", 31536000, "With HTTPS on: how long browsers must use HTTPS only for this "
            "server (Strict-Transport-Security); 0: no such header."),
    Setting("TRUSTED_PROXIES", 0, "Reverse proxies in front (TLS): their X-Forwarded-* headers are "
            "believed only when this says how many there are."),
    Setting("LOGIN_MAX_FAILURES", 5, "Failed logins allowed per user or address in the window."),
    Setting("LOGIN_WINDOW_SECONDS", 900, "Window for counting failed logins."),
    Setting("LOGIN_DELAY_SECONDS", 2, "First wait once LOGIN_MAX_FAILURES are used up; it doubles with "
            "each further failure (growing delays, never a lock-out: see users.py)."),
    Setting("LOGIN_DELAY_MAX_SECONDS", 900, "Longest wait one (account, address) pair, or one address, "
            "is given."),
    Setting("LOGIN_ACCOUNT_DELAY_MAX_SECONDS", 60, "Longest wait failures from other addresses can impose "
            "on an account: slows guessing spread over many addresses (about 60 an hour; ASVS 2.2.1 "
            "allows 100) while the owner at their usual place waits a minute at most."),
    Setting("LOGIN_ADDRESS_MAX_FAILURES", 100, "Failures one address may have, over all accounts, before it "
            "is delayed: a township office's whole staff shares one NAT address."),
    Setting("SESSION_HOURS", 12, "How long a login lasts: one working day in the field."),
    Setting("SESSION_IDLE_MINUTES", 120, "A login ends after this long without a request (0: never). "
            "Enumerators work offline between households for long stretches, and forms wait safely in "
            "the phone's outbox, so two hours; longer than ASVS's 30 minutes, on a personal phone."),
    Setting("SESSION_IDLE_MINUTES_STAFF", 30, "The same for office staff (township, district, city), who "
            "export personal data from shared office computers: ASVS 3.3.2's 30 minutes."),
    Setting("DUPLICATE_MAX_HITS", 20, "ID numbers found registered outside a user's area, per window, before "
            "further checks wait: typing numbers to learn where people live is slowed and audited."),
    Setting("DUPLICATE_WINDOW_SECONDS", 3600, "The window for DUPLICATE_MAX_HITS."),
    Setting("TIME_ZONE", "Asia/Shanghai", "The campaign's time zone: every date shown, printed, stored or "
            "compared (record times, document dates, the portal's today) is taken in it."),
    Setting("PUBLIC_URL", "http://127.0.0.1:5000", "Base URL printed in QR codes and notices."),
    Setting("WORKERS", 0, "Server worker processes; 0: one per CPU core."),
    Setting("ACCESS_LOG", "", "Where canbao serve logs each request (a file, or - for the screen); "
            "empty: none.  Paths and sizes only: no answers, no ID numbers."),
    Setting("THREADS", 8, "Threads per worker process (requests served at once by each)."),
    Setting("MAX_CONNECTIONS", 1000, "Open connections a worker holds, idle keep-alive ones included."),
    Setting("KEEPALIVE_SECONDS", 75, "How long an idle phone's connection waits open for its next request."),
)


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}


def from_environment() -> dict[str, Any]:
    """Read CANBAO_<NAME> variables, converting to the default's type."""
    found: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = os.environ.get(f"CANBAO_{setting.name}")
        if raw is None:
            continue
        found[setting.name] = type(setting.default)(raw) if isinstance(setting.default, int) else raw
    return found
