"""Reads of personal data, on record (PIPL): who opened which person, household list or file.

Writes already leave an entry in their village's own shard (``registry.write_audit``) and
exports one in the system shard.  A *read* is far more frequent than either, so it goes to a
shard of its own, one per village (or printed area) and calendar month::

    audit/202611/370403001001    table "audit": {at, user, action, ref[, file]}

Why not the village's shard, where writes audit?  Every page view would then take the
village's write lock (reads queued behind registrations), change the village's version
(every server process re-reads what changed, values derived from the village are computed
again) and make the file every page parses grow with its audit rows.  Why not the system
shard, where exports audit?  One lock for the whole city, and a file that grows without end
and is held in memory whole.  A shard per village and month is locked only by reads of that
village, is never read on a page's path, stays small (a month of one village's reads), and
keeping audit logs for N months is deleting old month folders.

An entry names records by reference (``village.id``), an area by its code and a file by its
path: never an ID number, a phone number or a name.  A read that cannot be recorded (a full
disk) is refused, not served unrecorded.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from . import clock
from .registry import Scope, write_audit
from .store import Store

TABLE = "audit"
_FILE = re.compile(r"^(?P<kind>[a-z]+)-(?P<area>\d{9,12})-\d{6}-[a-z0-9]{4}\.pdf$")


def shard_name(area: str, when: dt.datetime | None = None) -> str:
    """``audit/<yyyymm>/<code>``: the month's read log of one village (or printed area)."""
    code = str(area).lower()
    if not code.isalnum() or not code.isascii():
        raise ValueError(f"bad area code {area!r}")
    month = (when or clock.now()).strftime("%Y%m")
    return f"audit/{month}/{code}"


def record_read(store: Store, scope: Scope, action: str, ref: Any, **details: Any) -> None:
    """One entry for one read of ``ref`` (a person or household ``village.id``, or an area code).

    ``ref`` may be None or empty (nothing personal was read): then nothing is written.
    """
    if not ref:
        return
    ref = str(ref)
    name = shard_name(ref.split(".", 1)[0])
    with store.transaction(name) as shards:
        write_audit(shards[name], scope, action, ref, **details)


def record_reads(store: Store, scope: Scope, action: str, refs: list[str]) -> None:
    """One entry per ref (a phone's bundle of several villages): one transaction each, so no
    read takes more than one village's lock."""
    for ref in refs:
        record_read(store, scope, action, ref)


def record_download(store: Store, scope: Scope, relative: str) -> None:
    """A printed file leaving the server: ``download_<kind>`` of the area its name carries."""
    found = _FILE.match(relative.rsplit("/", 1)[-1])
    if found is None:
        raise ValueError(f"not a printed file: {relative!r}")
    record_read(store, scope, f"download_{found['kind']}", found["area"], file=relative)


def entries(store: Store, area: str, when: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The month's read entries of one area, oldest first (for an auditor, and for tests)."""
    return store.read(shard_name(area, when), cache=False).all(TABLE)
