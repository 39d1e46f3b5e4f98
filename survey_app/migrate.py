"""Bring a data folder written by canbao 1 (one rewritten JSON file per shard, 64 index
buckets, sessions inside users.json) into the current store, keeping a copy of the old one.

Records are carried over as they are; the index buckets are re-sorted into the
current number of buckets; sessions and login failures are dropped (everyone
logs in again); coverage rows are computed from the records.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import coverage
from .store import LocalStore, Store

DROPPED_TABLES = {"users": {"sessions", "failures"}}


def _old_records(old: Path) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    for path in sorted(old.rglob("*.json")):
        relative = path.relative_to(old)
        if relative.parts[0] in ("locks", "backups") or path.name.startswith("."):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        name = str(relative.with_suffix(""))
        for table, docs in sorted(data.items()):
            if table in DROPPED_TABLES.get(name, ()) or not isinstance(docs, dict):
                continue
            for doc_id, record in docs.items():
                yield _new_name(name, record), table, int(doc_id), record


def _new_name(old_name: str, record: dict[str, Any]) -> str:
    if old_name.startswith("index/"):
        kind = old_name.split("/")[1]
        return Store.index(kind, str(record["key"]))  # the bucket count changed
    return old_name


def _grouped(old: Path) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    """Records shard by shard, ids renumbered inside re-bucketed index shards."""
    shards: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, table, doc_id, record in _old_records(old):
        shards.setdefault(name, []).append((table, doc_id, record))
    for name in sorted(shards):
        rows = shards[name]
        if name.startswith("index/"):
            rows = [(table, n, record) for n, (table, _old, record) in enumerate(rows, start=1)]
        for table, doc_id, record in rows:
            yield name, table, doc_id, record


def migrate(old: Path) -> tuple[Path, int]:
    """Convert ``old`` in place; returns where the untouched copy was kept and the record count."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = old.with_name(f"{old.name}.canbao1-{stamp}")
    fresh = old.with_name(f".{old.name}.migrating-{stamp}")
    store = LocalStore(fresh)
    count = store.load_records(_grouped(old))
    coverage.rebuild(store, store.village_codes())
    store.close()
    shutil.copytree(old, kept)
    shutil.rmtree(old)
    fresh.rename(old)
    return kept, count
