"""An ID number registered already: what the caller may learn, on record, and rate-limited.

Anyone with a login can type any number, so the duplicate check must not become a
way to find where a stranger lives (PIPL).  Inside the caller's own area the answer
opens the existing record, as ever.  Outside it the holding village is named only
when the submitted name is also the registered person's (the same person met
twice, the usual case); otherwise the answer says only that the number is
registered elsewhere and that the township office can check it.

Every hit is audited in the system shard, by the person's reference and the
masked number (never the number itself), and hits outside the caller's area are
counted per user in the throttle shards, like failed logins: past the limit the
answer is a 429 that names nothing, so the check cannot be used to sweep a district.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app

from .grid import Grid
from .registry import Duplicate, Scope, write_audit
from .store import Store

MAX_HITS = 20          # hits outside the caller's area per user and window (DUPLICATE_MAX_HITS)
WINDOW_SECONDS = 3600  # DUPLICATE_WINDOW_SECONDS
TABLE = "duplicate_hits"


@dataclass(frozen=True)
class Answer:
    """What one duplicate hit may tell the caller."""

    throttled: bool        # too many hits outside the area: say nothing but "try later"
    in_scope: bool         # the record is in the caller's area: open it
    place: str             # the holding village's name, or "" when it may not be named
    retry_after: int = 0   # seconds until the oldest counted hit leaves the window


def settle(store: Store, scope: Scope, grid: Grid, dup: Duplicate,
           now: float | None = None) -> Answer:
    """Audit the hit, count it, and decide what the answer may reveal."""
    limit = int(current_app.config.get("DUPLICATE_MAX_HITS", MAX_HITS))
    window = int(current_app.config.get("DUPLICATE_WINDOW_SECONDS", WINDOW_SECONDS))
    now = time.time() if now is None else now
    key = f"duplicate:{scope.username}"
    counted = not dup.in_scope  # one's own area holds nothing one may not see already
    names = [Store.SYSTEM, *([Store.throttle(key)] if counted else [])]
    throttled, retry_after = False, 0
    with store.transaction(*names) as shards:
        if counted:
            shard = shards[Store.throttle(key)]
            shard.remove_ids(TABLE, [h["doc_id"] for h in shard.all(TABLE) if now - h["at"] >= window])
            recent = sorted(h["at"] for h in shard.find(TABLE, key=key))
            throttled = len(recent) >= limit
            if throttled:  # refused hits are not counted: the window ends an hour after the last answer
                retry_after = max(1, int(recent[-limit] + window - now))
            else:
                shard.insert(TABLE, {"key": key, "at": now})
        write_audit(shards[Store.SYSTEM], scope, "duplicate_id_number", dup.ref,
                    id_number=dup.masked_id, in_area=dup.in_scope, name_matched=dup.name_matches,
                    refused=throttled)
    reveal = dup.in_scope or (dup.name_matches and not throttled)
    place = ("".join(grid.path_names(dup.village_code)[1:]) or dup.village_code) if reveal else ""
    return Answer(throttled=throttled, in_scope=dup.in_scope, place=place, retry_after=retry_after)
