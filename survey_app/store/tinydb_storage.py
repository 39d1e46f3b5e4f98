"""TinyDB's own ``Storage`` interface over any shard of any canbao store.

``TinyDB(storage=ShardStorage, store=store, name="system")`` opens a shard
with TinyDB's whole query and table API (for a console session, a one-off
repair script or a test); every ``write`` becomes one store transaction that
records only the records that differ, so it keeps the store's locks,
durability and journal.  The application itself uses the store's shard API,
which writes a change without reading the table back first.
"""

from __future__ import annotations

from typing import Any

from tinydb.storages import Storage

from .base import Store


class ShardStorage(Storage):
    def __init__(self, store: Store, name: str):
        self.store = store
        self.name = name

    def read(self) -> dict[str, dict[str, Any]] | None:
        shard = self.store.read(self.name, cache=False)
        tables = {}
        for table in shard.tables():
            tables[table] = {str(r.pop("doc_id")): r for r in shard.all(table)}
        return tables or None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        with self.store.transaction(self.name) as shards:
            shard = shards[self.name]
            for table in set(shard.tables()) - set(data):
                shard.replace_all(table, [])
            for table, docs in data.items():
                wanted = {int(doc_id): dict(doc) for doc_id, doc in docs.items()}
                current = {r.pop("doc_id"): r for r in shard.all(table)}
                shard.remove_ids(table, [i for i in current if i not in wanted])
                for doc_id, doc in wanted.items():
                    if current.get(doc_id) != doc:
                        shard.replace(table, doc_id, doc)

