"""The one interface every caller uses for a shard: named tables of plain-dict records.

A record is a JSON object with an integer id (TinyDB's ``doc_id``); every read
returns fresh dicts carrying that id as ``"doc_id"``, and ``"doc_id"`` is never
stored.  Each backend implements eight primitives; everything callers use is
built on them here, so the JSON-file and PostgreSQL stores behave alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MISSING = object()


class ReadOnlyShard(RuntimeError):
    """A write through a read view: writes need ``store.transaction()``."""


def plain(doc_id: int, record: dict[str, Any]) -> dict[str, Any]:
    record["doc_id"] = doc_id
    return record


def clean(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "doc_id"}


def matches(record: Mapping[str, Any], equals: Mapping[str, Any]) -> bool:
    """TinyDB's ``Query().field == value``: a missing field never matches."""
    return all(record.get(field, MISSING) == value for field, value in equals.items())


class BaseShard(ABC):
    """One shard opened for a read or for the length of a transaction."""

    def __init__(self, name: str, writable: bool):
        self.name = name
        self.writable = writable
        self._tracked: set[str] = set()
        self._before: dict[tuple[str, int], dict[str, Any] | None] = {}

    # -- primitives a backend provides ------------------------------------------
    @abstractmethod
    def _get(self, table: str, doc_id: int) -> dict[str, Any] | None: ...

    @abstractmethod
    def _items(self, table: str) -> list[tuple[int, dict[str, Any]]]: ...

    @abstractmethod
    def _find(self, table: str, equals: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """Records equal to ``equals`` on every field (the backend may use an index)."""

    @abstractmethod
    def _max_id(self, table: str) -> int: ...

    @abstractmethod
    def count(self, table: str) -> int: ...

    @abstractmethod
    def tables(self) -> list[str]:
        """Names of the tables that hold at least one record."""

    @abstractmethod
    def _put(self, table: str, doc_id: int, record: dict[str, Any]) -> None: ...

    @abstractmethod
    def _delete(self, table: str, doc_id: int) -> None: ...

    @abstractmethod
    def _clear(self, table: str) -> None: ...

    # -- reading ------------------------------------------------------------------
    def all(self, table: str) -> list[dict[str, Any]]:
        return [plain(i, r) for i, r in self._items(table)]

    def get(self, table: str, doc_id: int) -> dict[str, Any] | None:
        record = self._get(table, int(doc_id))
        return plain(int(doc_id), record) if record is not None else None

    def find(self, table: str, **equals: Any) -> list[dict[str, Any]]:
        if not equals:
            return self.all(table)
        return [plain(i, r) for i, r in self._find(table, equals)]

    def find_one(self, table: str, **equals: Any) -> dict[str, Any] | None:
        found = self.find(table, **equals)
        return found[0] if found else None

    def find_any(self, table: str, field: str, values: Iterable[Any]) -> list[dict[str, Any]]:
        """Records whose ``field`` equals one of ``values``: one look-up for many (bulk paths)."""
        return [plain(i, r) for i, r in self._find_any(table, field, list(dict.fromkeys(values)))]

    def _find_any(self, table: str, field: str, values: list[Any]) -> list[tuple[int, dict[str, Any]]]:
        found: dict[int, dict[str, Any]] = {}
        for value in values:
            found.update(self._find(table, {field: value}))
        return sorted(found.items())

    def get_many(self, table: str, doc_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The records with these ids that exist, by id (one look-up on backends that can)."""
        return {i: plain(i, r) for i, r in self._get_many(table, sorted({int(d) for d in doc_ids}))}

    def _get_many(self, table: str, doc_ids: list[int]) -> list[tuple[int, dict[str, Any]]]:
        return [(i, r) for i in doc_ids if (r := self._get(table, i)) is not None]

    def search(self, table: str, predicate: Callable[[Mapping[str, Any]], bool]) -> list[dict[str, Any]]:
        """Records for which ``predicate`` holds: a TinyDB ``Query`` or any callable on a dict."""
        return [plain(i, r) for i, r in self._items(table) if predicate(r)]

    def next_id(self, table: str) -> int:
        return self._max_id(table) + 1

    # -- writing ------------------------------------------------------------------
    def insert(self, table: str, record: Mapping[str, Any], doc_id: int | None = None) -> int:
        doc_id = self.next_id(table) if doc_id is None else int(doc_id)
        self._write(table, doc_id, clean(record))
        return doc_id

    def insert_many(self, table: str, records: Iterable[Mapping[str, Any]]) -> list[int]:
        return [self.insert(table, record) for record in records]

    def insert_documents(self, table: str, records: Mapping[int, Mapping[str, Any]]) -> None:
        """Insert records under chosen ids."""
        for doc_id, record in records.items():
            self._write(table, int(doc_id), clean(record))

    def update(self, table: str, doc_id: int, fields: Mapping[str, Any]) -> None:
        current = self._get(table, int(doc_id))
        if current is not None:
            self._write(table, int(doc_id), {**current, **clean(fields)})

    def replace(self, table: str, doc_id: int, record: Mapping[str, Any]) -> None:
        self._write(table, int(doc_id), clean(record))

    def upsert(self, table: str, record: Mapping[str, Any], **key: Any) -> None:
        """Merge ``record`` into every record matching ``key``, or insert it if none does."""
        found = self._find(table, key)
        if not found:
            self.insert(table, record)
        for doc_id, current in found:
            self._write(table, doc_id, {**current, **clean(record)})

    def upsert_by_key(self, table: str, records: Iterable[Mapping[str, Any]], key: str = "key") -> None:
        """Replace-or-insert many records identified by their ``key`` field."""
        for record in records:
            found = self._find(table, {key: record[key]})
            if found:
                for doc_id, _current in found:
                    self._write(table, doc_id, clean(record))
            else:
                self.insert(table, record)

    def remove(self, table: str, **equals: Any) -> None:
        for doc_id, _record in self._find(table, equals):
            self.remove_ids(table, [doc_id])

    def remove_ids(self, table: str, doc_ids: Iterable[int]) -> None:
        self._require_writable()
        for doc_id in doc_ids:
            self._remember(table, int(doc_id))
            self._delete(table, int(doc_id))

    def replace_all(self, table: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Swap a whole table's contents in one write (no empty moment on disk)."""
        self._require_writable()
        for doc_id, _record in self._items(table):
            self._remember(table, doc_id)
        self._clear(table)
        for doc_id, record in enumerate(records, start=1):
            self._write(table, doc_id, clean(record))

    def _write(self, table: str, doc_id: int, record: dict[str, Any]) -> None:
        self._require_writable()
        self._remember(table, doc_id)
        self._put(table, doc_id, record)

    def _require_writable(self) -> None:
        if not self.writable:
            raise ReadOnlyShard(f"{self.name}: 只读视图不能写入，写入须在 store.transaction() 中进行")

    # -- what a transaction changed --------------------------------------------------
    def track(self, *tables: str) -> None:
        """Remember the state before each change to these tables (see :meth:`changes`)."""
        self._tracked.update(tables)

    def _remember(self, table: str, doc_id: int) -> None:
        if table in self._tracked and (table, doc_id) not in self._before:
            self._before[(table, doc_id)] = self._get(table, doc_id)

    def changes(self, table: str) -> list[tuple[int, dict[str, Any] | None, dict[str, Any] | None]]:
        """(id, before, after) of every record of a tracked table changed so far."""
        return [(doc_id, before, self._get(table, doc_id))
                for (name, doc_id), before in self._before.items() if name == table]
