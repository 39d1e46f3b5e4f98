"""A shard's tables held in memory, and the transaction overlay over them.

:class:`ShardState` is what the JSON-file store caches between requests: each
record as its JSON bytes, the highest id per table, and equality indexes that
are built the first time a field is searched and then kept current by every
change, so a lookup by ID number or by household costs the same in a village
of 50 people as in one of 5,000.

:class:`MemoryShard` is a transaction's (or a reader's) view of one state: its
changes sit in an overlay until the store has made them durable, so a
transaction that raises leaves the state exactly as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from . import codec
from .shard import MISSING, BaseShard

META_TABLE = "_canbao"  # first in every base file: the generation that base was written for
RECORD_OVERHEAD = 120  # bytes a cached record costs beyond its JSON, for the cache budget
INDEX_ENTRY_BYTES = 150  # what one value in an equality index costs (key, list, dict slot)

Op = tuple  # ("p", table, id, raw, record) | ("d", table, id) | ("c", table)

# Fields searched in some shard of a table: shards read later index them while their
# records are parsed anyway, instead of parsing every record again on the first search.
_SEARCHED: dict[str, set[str]] = {}


def _index_key(value: Any) -> Any:
    """Hashable stand-in for a JSON value (lists and objects by their JSON text)."""
    if isinstance(value, list | dict):
        return ("json", codec.dumps(value))
    return value


class ShardState:
    """The committed contents of one shard."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[int, bytes]] = {}
        self.max_ids: dict[str, int] = {}
        self.indexes: dict[tuple[str, str], dict[Any, list[int]]] = {}
        self.nbytes = 0
        self.lock = threading.RLock()

    # -- building -----------------------------------------------------------------
    @classmethod
    def from_base(cls, data: Mapping[str, Any]) -> ShardState:
        state = cls()
        for table, docs in data.items():
            if table == META_TABLE or not isinstance(docs, dict):
                continue
            rows = state.tables.setdefault(table, {})
            fields = [(f, state.indexes.setdefault((table, f), {})) for f in _SEARCHED.get(table, ())]
            for key, record in docs.items():
                raw = codec.dumps(record)
                doc_id = int(key)
                rows[doc_id] = raw
                state.nbytes += len(raw) + RECORD_OVERHEAD
                for field, index in fields:
                    value = record.get(field, MISSING)
                    if value is not MISSING:
                        index.setdefault(_index_key(value), []).append(doc_id)
                        state.nbytes += INDEX_ENTRY_BYTES
            state.max_ids[table] = max(rows, default=0)
        return state

    def apply(self, ops: Iterable[Op]) -> None:
        """Apply committed operations in order (replaying a journal, or after a commit)."""
        with self.lock:
            for op in ops:
                if op[0] == "p":
                    self._put(op[1], op[2], op[3], op[4])
                elif op[0] == "d":
                    self._delete(op[1], op[2])
                elif op[0] == "c":
                    self._clear(op[1])
                else:
                    raise ValueError(f"unknown journal operation {op[0]!r}")

    def _put(self, table: str, doc_id: int, raw: bytes, record: Mapping[str, Any] | None) -> None:
        rows = self.tables.setdefault(table, {})
        old = rows.get(doc_id)
        if old is not None:
            self.nbytes -= len(old) + RECORD_OVERHEAD
            self._unindex(table, doc_id, old)
        rows[doc_id] = raw
        self.nbytes += len(raw) + RECORD_OVERHEAD
        self._index(table, doc_id, raw, record)
        if doc_id > self.max_ids.get(table, 0):
            self.max_ids[table] = doc_id

    def _delete(self, table: str, doc_id: int) -> None:
        old = self.tables.get(table, {}).pop(doc_id, None)
        if old is not None:
            self.nbytes -= len(old) + RECORD_OVERHEAD
            self._unindex(table, doc_id, old)

    def _clear(self, table: str) -> None:
        for raw in self.tables.pop(table, {}).values():
            self.nbytes -= len(raw) + RECORD_OVERHEAD
        for key in [k for k in self.indexes if k[0] == table]:
            self.nbytes -= INDEX_ENTRY_BYTES * sum(len(ids) for ids in self.indexes[key].values())
            self.indexes[key] = {}
        # max_ids stays: ids are never reused after a clear, as TinyDB never reuses them

    # -- equality indexes --------------------------------------------------------------
    def _fields_indexed(self, table: str) -> list[str]:
        return [field for (name, field) in self.indexes if name == table]

    def _index(self, table: str, doc_id: int, raw: bytes, record: Mapping[str, Any] | None) -> None:
        fields = self._fields_indexed(table)
        if fields:
            record = record if record is not None else codec.loads(raw)
            for field in fields:
                value = record.get(field, MISSING)
                if value is not MISSING:
                    self.indexes[(table, field)].setdefault(_index_key(value), []).append(doc_id)
                    self.nbytes += INDEX_ENTRY_BYTES

    def _unindex(self, table: str, doc_id: int, raw: bytes) -> None:
        fields = self._fields_indexed(table)
        if fields:
            record = codec.loads(raw)
            for field in fields:
                value = record.get(field, MISSING)
                if value is MISSING:
                    continue
                index = self.indexes[(table, field)]
                key = _index_key(value)
                ids = index.get(key, [])
                if doc_id in ids:
                    ids.remove(doc_id)
                    self.nbytes -= INDEX_ENTRY_BYTES
                if not ids:
                    index.pop(key, None)

    def _build_index(self, table: str, field: str) -> dict[Any, list[int]]:
        _SEARCHED.setdefault(table, set()).add(field)
        index: dict[Any, list[int]] = {}
        for doc_id, raw in self.tables.get(table, {}).items():
            value = codec.loads(raw).get(field, MISSING)
            if value is not MISSING:
                index.setdefault(_index_key(value), []).append(doc_id)
                self.nbytes += INDEX_ENTRY_BYTES
        self.indexes[(table, field)] = index
        return index

    # -- reading --------------------------------------------------------------------
    def get(self, table: str, doc_id: int) -> bytes | None:
        with self.lock:
            return self.tables.get(table, {}).get(doc_id)

    def items(self, table: str) -> list[tuple[int, bytes]]:
        with self.lock:
            return list(self.tables.get(table, {}).items())

    def find(self, table: str, field: str, value: Any) -> list[tuple[int, bytes]]:
        with self.lock:
            index = self.indexes.get((table, field))
            if index is None:
                index = self._build_index(table, field)
            rows = self.tables.get(table, {})
            return [(i, rows[i]) for i in index.get(_index_key(value), ())]

    def find_any(self, table: str, field: str, values: list[Any]) -> list[tuple[int, bytes]]:
        found: dict[int, bytes] = {}
        for value in values:
            found.update(self.find(table, field, value))
        return list(found.items())

    def get_many(self, table: str, doc_ids: list[int]) -> list[tuple[int, bytes]]:
        with self.lock:
            rows = self.tables.get(table, {})
            return [(i, rows[i]) for i in doc_ids if i in rows]

    def table_names(self) -> list[str]:
        with self.lock:
            return [name for name, rows in self.tables.items() if rows]

    def max_id(self, table: str) -> int:
        with self.lock:
            return self.max_ids.get(table, 0)

    def count(self, table: str) -> int:
        with self.lock:
            return len(self.tables.get(table, {}))

    def render_base(self, generation: int) -> bytes:
        """The TinyDB JSON layout, one record per line, its meta table first."""
        with self.lock:
            parts = [b'{\n"%s": {"1": {"generation": %d}}' % (META_TABLE.encode(), generation)]
            for table in sorted(self.tables):
                rows = self.tables[table]
                if not rows:
                    continue
                body = b",\n".join(b'  "%d": %s' % (doc_id, raw) for doc_id, raw in rows.items())
                parts.append(codec.dumps(table) + b": {\n" + body + b"\n}")
            return b",\n".join(parts) + b"\n}\n"


def serialise(ops: Iterable[Op]) -> bytes:
    """One journal payload: a JSON list of operations, records embedded as their bytes."""
    pieces = []
    for op in ops:
        table = codec.dumps(op[1])
        if op[0] == "p":
            pieces.append(b'["p",%s,%d,%s]' % (table, op[2], op[3]))
        elif op[0] == "d":
            pieces.append(b'["d",%s,%d]' % (table, op[2]))
        else:
            pieces.append(b'["c",%s]' % table)
    return b"[" + b",".join(pieces) + b"]"


def parse_ops(payload: bytes) -> list[Op]:
    """The operations of one journal payload, records back as canonical bytes."""
    ops: list[Op] = []
    for item in codec.loads(payload):
        kind = item[0]
        if kind == "p":
            ops.append(("p", item[1], int(item[2]), codec.dumps(item[3]), item[3]))
        elif kind == "d":
            ops.append(("d", item[1], int(item[2])))
        elif kind == "c":
            ops.append(("c", item[1]))
        else:
            raise ValueError(f"unknown journal operation {kind!r}")
    return ops


class MemoryShard(BaseShard):
    """A view of one committed state; writes collect in an overlay until the store commits them.

    The state is a :class:`ShardState` (the file store's cache) or anything with
    the same reading methods (the PostgreSQL store's queries): get, items,
    find, max_id, count and table_names.
    """

    _order = 0
    _order_lock = threading.Lock()

    def __init__(self, name: str, state: ShardState, writable: bool = False,
                 committed_max: Mapping[str, int] | None = None):
        super().__init__(name, writable)
        self.state = state
        self._changes: dict[str, dict[int, bytes | None]] = {}
        self._cleared: set[str] = set()
        self._max: dict[str, int] = {}
        # Equality indexes over the overlay too: a bulk import changes thousands of
        # records in one transaction and looks each ID number up as it goes.
        self._overlay_indexes: dict[tuple[str, str], dict[Any, set[int]]] = {}
        # The committed highest id per table: the state cannot change while a writer holds the
        # lock, so it is asked once; a backend that knows them all (PostgreSQL) gives them here.
        self._committed_max: dict[str, int] = dict(committed_max or {})
        self._all_maxima_known = committed_max is not None
        self.ops: list[Op] = []
        self.first_change: int | None = None

    # -- primitives ----------------------------------------------------------------
    def _raw(self, table: str, doc_id: int) -> bytes | None:
        changed = self._changes.get(table)
        if changed is not None and doc_id in changed:
            return changed[doc_id]
        if table in self._cleared:
            return None
        return self.state.get(table, doc_id)

    def _get(self, table: str, doc_id: int) -> dict[str, Any] | None:
        raw = self._raw(table, doc_id)
        return codec.loads(raw) if raw is not None else None

    def _raw_items(self, table: str) -> list[tuple[int, bytes]]:
        base = [] if table in self._cleared else self.state.items(table)
        changed = self._changes.get(table)
        if not changed:
            return base
        seen = set()
        merged = []
        for doc_id, raw in base:
            seen.add(doc_id)
            raw = changed.get(doc_id, raw)
            if raw is not None:
                merged.append((doc_id, raw))
        merged += [(i, raw) for i, raw in changed.items() if raw is not None and i not in seen]
        return merged

    def _items(self, table: str) -> list[tuple[int, dict[str, Any]]]:
        return [(doc_id, codec.loads(raw)) for doc_id, raw in self._raw_items(table)]

    def _find(self, table: str, equals: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        field, value = next(iter(equals.items()))
        changed = self._changes.get(table, {})
        committed = [] if table in self._cleared else self.state.find(table, field, value)
        candidates = {i: raw for i, raw in committed if i not in changed}
        for doc_id in self._overlay_ids(table, field, value):
            candidates[doc_id] = changed[doc_id]
        found = []
        for doc_id in sorted(candidates):
            record = codec.loads(candidates[doc_id])
            if all(record.get(f, MISSING) == v for f, v in equals.items()):
                found.append((doc_id, record))
        return found

    def _find_any(self, table: str, field: str, values: list[Any]) -> list[tuple[int, dict[str, Any]]]:
        changed = self._changes.get(table, {})
        committed = [] if table in self._cleared else self.state.find_any(table, field, values)
        candidates = {i: raw for i, raw in committed if i not in changed}
        for value in values:
            for doc_id in self._overlay_ids(table, field, value):
                candidates[doc_id] = changed[doc_id]
        wanted = {_index_key(v) for v in values}
        found = []
        for doc_id in sorted(candidates):
            record = codec.loads(candidates[doc_id])
            if _index_key(record.get(field, MISSING)) in wanted:
                found.append((doc_id, record))
        return found

    def _get_many(self, table: str, doc_ids: list[int]) -> list[tuple[int, dict[str, Any]]]:
        changed = self._changes.get(table, {})
        unchanged = [i for i in doc_ids if i not in changed]
        committed = {} if table in self._cleared else dict(self.state.get_many(table, unchanged))
        found = []
        for doc_id in doc_ids:
            raw = changed[doc_id] if doc_id in changed else committed.get(doc_id)
            if raw is not None:
                found.append((doc_id, codec.loads(raw)))
        return found

    def _overlay_ids(self, table: str, field: str, value: Any) -> list[int]:
        changed = self._changes.get(table)
        if not changed:
            return []
        index = self._overlay_indexes.get((table, field))
        if index is None:
            index = self._overlay_indexes[(table, field)] = {}
            for doc_id, raw in changed.items():
                if raw is not None:
                    self._overlay_index_add(index, field, doc_id, codec.loads(raw))
        return list(index.get(_index_key(value), ()))

    @staticmethod
    def _overlay_index_add(index: dict[Any, set[int]], field: str, doc_id: int, record: Mapping) -> None:
        found = record.get(field, MISSING)
        if found is not MISSING:
            index.setdefault(_index_key(found), set()).add(doc_id)

    def _overlay_changed(self, table: str, doc_id: int, record: Mapping | None) -> None:
        """Keep the overlay's indexes of ``table`` right as ``doc_id`` becomes ``record``."""
        indexed = [(field, index) for (name, field), index in self._overlay_indexes.items() if name == table]
        if not indexed:
            return
        old_raw = self._changes.get(table, {}).get(doc_id)
        old = codec.loads(old_raw) if old_raw is not None else {}
        for field, index in indexed:
            previous = old.get(field, MISSING)
            if previous is not MISSING:
                index.get(_index_key(previous), set()).discard(doc_id)
            if record is not None:
                self._overlay_index_add(index, field, doc_id, record)

    def _max_id(self, table: str) -> int:
        # ids are never reused, not even after a table was cleared (as in TinyDB)
        return max(self._committed_max_id(table), self._max.get(table, 0))

    def _committed_max_id(self, table: str) -> int:
        if not self.writable:
            return self.state.max_id(table)
        if table not in self._committed_max:
            self._committed_max[table] = 0 if self._all_maxima_known else self.state.max_id(table)
        return self._committed_max[table]

    def max_ids(self) -> dict[str, int]:
        """Each table's highest id after this transaction (what the PostgreSQL store keeps)."""
        return {table: max(self._committed_max_id(table), top) for table, top in self._max.items()}

    def _remember(self, table: str, doc_id: int) -> None:
        # An id past the committed ones is new: nothing to look up as "before".
        if table in self._tracked and (table, doc_id) not in self._before \
                and doc_id > self._committed_max_id(table) and doc_id not in self._changes.get(table, {}):
            self._before[(table, doc_id)] = None
            return
        super()._remember(table, doc_id)

    def count(self, table: str) -> int:
        if table not in self._changes and table not in self._cleared:
            return self.state.count(table)
        return len(self._raw_items(table))

    def tables(self) -> list[str]:
        names = set(self.state.table_names()) | set(self._changes)
        return sorted(name for name in names if self.count(name))

    def _put(self, table: str, doc_id: int, record: dict[str, Any]) -> None:
        raw = codec.dumps(record)
        self._overlay_changed(table, doc_id, record)
        self._changes.setdefault(table, {})[doc_id] = raw
        self._max[table] = max(self._max.get(table, 0), doc_id)
        self._log(("p", table, doc_id, raw, record))

    def _delete(self, table: str, doc_id: int) -> None:
        self._overlay_changed(table, doc_id, None)
        self._changes.setdefault(table, {})[doc_id] = None
        self._log(("d", table, doc_id))

    def _clear(self, table: str) -> None:
        self._cleared.add(table)
        self._changes[table] = {}
        for key in [k for k in self._overlay_indexes if k[0] == table]:
            del self._overlay_indexes[key]
        self._log(("c", table))

    def _log(self, op: Op) -> None:
        if self.first_change is None:
            with MemoryShard._order_lock:
                MemoryShard._order += 1
                self.first_change = MemoryShard._order
        self.ops.append(op)
