"""Background jobs (print batches) kept in the store, so every server process lists them.

A batch renders in a thread of the process that accepted it; its record says
how far it got.  The page that lists it may be served by another worker
process, or by another machine sharing the database.  A job that stops
reporting (its process died) is shown as failed after a while rather than
as running for ever.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .store import Store

TABLE = "jobs"
SILENT_SECONDS = 300        # a running job not heard from this long died with its process
FAILURE_SHOWN_SECONDS = 3600
DIED_MESSAGE = "排版进程意外中止，请重新生成。"


def start(store: Store, *, village: str, user: str, pages: int) -> int:
    now = time.time()
    with store.transaction(Store.JOBS) as shards:
        return shards[Store.JOBS].insert(TABLE, {
            "village": village, "user": user, "pages": pages, "done_pages": 0,
            "started": now, "heard": now, "done": None, "error": None})


def progress(store: Store, job_id: int, pages: int) -> None:
    with store.transaction(Store.JOBS) as shards:
        job = shards[Store.JOBS].get(TABLE, job_id)
        if job is not None:
            shards[Store.JOBS].update(TABLE, job_id, {"done_pages": job["done_pages"] + pages,
                                                      "heard": time.time()})


def finish(store: Store, job_id: int, error: str | None = None) -> None:
    """A finished batch leaves the list (its file is listed instead); a failed one stays a while."""
    with store.transaction(Store.JOBS) as shards:
        if error is None:
            shards[Store.JOBS].remove_ids(TABLE, [job_id])
        else:
            shards[Store.JOBS].update(TABLE, job_id, {"done": time.time(), "error": error})


def visible(store: Store, villages: Iterable[str]) -> list[dict[str, Any]]:
    """Jobs still rendering, or failed within the last hour, for villages the user covers."""
    now, allowed = time.time(), set(villages)
    shown = []
    for job in store.read(Store.JOBS).all(TABLE):
        if job["village"] not in allowed:
            continue
        if job["done"] is None and now - job["heard"] > SILENT_SECONDS:
            job = {**job, "done": job["heard"], "error": DIED_MESSAGE}
        if job["done"] is None or now - job["done"] < FAILURE_SHOWN_SECONDS:
            shown.append(job)
    return shown


def running(store: Store) -> int:
    now = time.time()
    return sum(1 for job in store.read(Store.JOBS).all(TABLE)
               if job["done"] is None and now - job["heard"] <= SILENT_SECONDS)


def forget_old(store: Store) -> None:
    """Drop failures no longer shown and jobs whose process died long ago."""
    now = time.time()
    with store.transaction(Store.JOBS) as shards:
        old = [job["doc_id"] for job in shards[Store.JOBS].all(TABLE)
               if now - (job["done"] or job["heard"]) > FAILURE_SHOWN_SECONDS]
        shards[Store.JOBS].remove_ids(TABLE, old)
