"""Background jobs kept in the store, so every server process lists them: print batches
(``kind="print"``) and roster uploads (``kind="roster"``).

A job runs in a thread of the process that accepted it; its record says how
far it got.  The page that lists it may be served by another worker
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
DIED_MESSAGES = {  # by kind
    "print": DIED_MESSAGE,
    # a roster is written in one transaction: all of it or none (loading it again changes nothing)
    "roster": "导入进程意外中止。请打开本村名单核对后重新上传：同一文件再次导入不会重复。",
    # a tax office's file is written one village per transaction; its rows, imported again, are
    # "unchanged" where written and new where not
    "taxfile": "导入进程意外中止。请重新导入同一文件：已写入的行会显示为“无变化”，不会重复记账。",
}


def start(store: Store, *, village: str, user: str, pages: int = 0, kind: str = "print",
          **fields: Any) -> int:
    """A new job's record; ``fields`` are a kind's own (a roster's file name, its stage)."""
    now = time.time()
    with store.transaction(Store.JOBS) as shards:
        _forget_old(shards[Store.JOBS], now)
        return shards[Store.JOBS].insert(TABLE, {
            "kind": kind, "village": village, "user": user, "pages": pages, "done_pages": 0,
            "started": now, "heard": now, "done": None, "error": None, **fields})


def progress(store: Store, job_id: int, pages: int) -> None:
    with store.transaction(Store.JOBS) as shards:
        job = shards[Store.JOBS].get(TABLE, job_id)
        if job is not None:
            shards[Store.JOBS].update(TABLE, job_id, {"done_pages": job["done_pages"] + pages,
                                                      "heard": time.time()})


def update(store: Store, job_id: int, **fields: Any) -> None:
    """Say how far a job got, and that its process is alive."""
    with store.transaction(Store.JOBS) as shards:
        if shards[Store.JOBS].get(TABLE, job_id) is not None:
            shards[Store.JOBS].update(TABLE, job_id, {**fields, "heard": time.time()})


def finish(store: Store, job_id: int, error: str | None = None, **outcome: Any) -> None:
    """A finished batch leaves the list (its file is listed instead); a failed one stays a while,
    as does every finished roster upload, whose page shows its ``outcome``."""
    with store.transaction(Store.JOBS) as shards:
        job = shards[Store.JOBS].get(TABLE, job_id)
        if job is None:
            return
        if error is None and _kind(job) == "print":
            shards[Store.JOBS].remove_ids(TABLE, [job_id])
        else:
            now = time.time()
            shards[Store.JOBS].update(TABLE, job_id, {"done": now, "heard": now, "error": error, **outcome})


def get(store: Store, job_id: int) -> dict[str, Any] | None:
    """One job as its page shows it (from any process), or None once forgotten."""
    job = store.read(Store.JOBS).get(TABLE, job_id)
    return None if job is None else _as_seen(job, time.time())


def visible(store: Store, villages: Iterable[str], kind: str = "print") -> list[dict[str, Any]]:
    """Jobs still running, or failed within the last hour, for villages the user covers."""
    now, allowed = time.time(), set(villages)
    shown = []
    for job in store.read(Store.JOBS).all(TABLE):
        if job["village"] not in allowed or _kind(job) != kind:
            continue
        job = _as_seen(job, now)
        if job["done"] is None or now - job["done"] < FAILURE_SHOWN_SECONDS:
            shown.append(job)
    return shown


def running(store: Store, kind: str | None = None, user: str | None = None) -> int:
    """Jobs still running (of one kind, of one user)."""
    now = time.time()
    return sum(1 for job in store.read(Store.JOBS).all(TABLE)
               if job["done"] is None and now - job["heard"] <= SILENT_SECONDS
               and kind in (None, _kind(job)) and user in (None, job["user"]))


def forget_old(store: Store) -> None:
    """Drop failures no longer shown and jobs whose process died long ago."""
    with store.transaction(Store.JOBS) as shards:
        _forget_old(shards[Store.JOBS], time.time())


def _forget_old(shard: Any, now: float) -> None:
    old = [job["doc_id"] for job in shard.all(TABLE)
           if now - (job["done"] or job["heard"]) > FAILURE_SHOWN_SECONDS]
    if old:
        shard.remove_ids(TABLE, old)


def _kind(job: dict[str, Any]) -> str:
    return job.get("kind", "print")  # records from before roster jobs have none


def _as_seen(job: dict[str, Any], now: float) -> dict[str, Any]:
    """A running job not heard from for SILENT_SECONDS died with its process: shown as failed."""
    if job["done"] is None and now - job["heard"] > SILENT_SECONDS:
        return {**job, "done": job["heard"], "error": DIED_MESSAGES[_kind(job)]}
    return job
