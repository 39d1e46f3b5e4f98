"""The only module that knows TinyDB.

TinyDB alone rewrites its whole file on every write, is unsafe across processes
and writes in place.  This module adds what it lacks, behind a small interface
that speaks plain dicts:

* **Shards.**  One JSON file per village (its households, persons and audit
  trail), plus small hash-bucketed index files for lookups that cross villages
  (ID number, submission uuid, printed-form token), plus small files for the
  grid, the users and the system audit.  No write rewrites more than one
  village's worth of data.
* **Locks.**  Every read-modify-write holds a ``filelock`` per shard, taken in
  sorted order so two transactions never deadlock, inside a shared hold on
  one store-wide gate that a backup takes exclusively: a snapshot then sees
  every transaction whole, including shards it creates (a new index bucket).
* **Atomic, durable writes.**  A temporary file is written, fsynced and
  ``os.replace``-d over the old one, then the directory is fsynced.  Readers
  never see half a file, so reads need no lock.
* **No stale reads.**  TinyDB handles live for one operation only.  The one
  thing kept between requests is a value derived from a whole shard (a
  village's coverage row, the parsed grid), and it is recomputed whenever the
  file's identity (inode, mtime, size) changes, which every write does.
* **Corruption stops us.**  A shard that does not parse raises
  :class:`CorruptShard` naming the file; it is never overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock
from tinydb import Query, TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

INDEX_BUCKETS = 64
LOCK_TIMEOUT_SECONDS = 30
T = TypeVar("T")
_held = threading.local()  # the data folders whose store-wide gate this thread holds


class CorruptShard(RuntimeError):
    """A data file does not parse.  The server must not start over it."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"数据文件已损坏，已停止以免覆盖: {path} ({reason})")
        self.path = path


class AtomicJSONStorage(Storage):
    """TinyDB storage over one file: read once, written once, atomically, at flush.

    TinyDB reads and rewrites the whole file on every operation; holding the
    parsed data for the life of one transaction means a submission parses a
    village once and writes it once, and a failed transaction writes nothing.
    """

    _order = itertools.count()

    def __init__(self, path: str | Path, writable: bool = True):
        self.path = Path(path)
        self.writable = writable
        self._data: dict[str, Any] | None = None
        self._loaded = False
        self.dirty_since: int | None = None

    def read(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._data = load_json(self.path)
            self._loaded = True
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        if not self.writable:
            raise RuntimeError(f"read-only view of {self.path}: writes need store.transaction()")
        self._data, self._loaded = data, True
        if self.dirty_since is None:
            self.dirty_since = next(self._order)

    def flush(self) -> None:
        if self.dirty_since is not None and self._data is not None:
            atomic_write_json(self.path, self._data)
            self.dirty_since = None

    def close(self) -> None:
        pass


def load_json(path: Path) -> dict[str, Any] | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if not raw.strip():
        raise CorruptShard(path, "空文件")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptShard(path, str(exc)) from exc
    if not isinstance(data, dict):
        raise CorruptShard(path, "顶层不是对象")
    return data


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def render_json(data: dict[str, Any]) -> str:
    """Readable UTF-8 JSON, one record per line, through the C encoder.

    ``json.dumps(indent=...)`` falls back to the pure-Python encoder, several
    times slower on a 1,000-person village file.
    """
    dump = _ENCODER.encode  # one encoder: json.dumps(**options) builds a new one per call
    parts = []
    for table, docs in sorted(data.items()):
        if isinstance(docs, dict) and docs:
            rows = ",\n".join(f"  {dump(key)}: {dump(doc)}" for key, doc in docs.items())
            parts.append(f"{dump(table)}: {{\n{rows}\n}}")
        else:
            parts.append(f"{dump(table)}: {dump(docs)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = render_json(data).encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bucket_of(key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return f"{digest[0] % INDEX_BUCKETS:02d}"


class Shard:
    """One JSON file opened for the length of a transaction."""

    def __init__(self, path: Path, writable: bool = False):
        self.path = path
        self.storage = AtomicJSONStorage(path, writable)
        self._db = self._open()

    def _open(self) -> TinyDB:
        return TinyDB(storage=lambda: self.storage)

    def all(self, table: str) -> list[dict[str, Any]]:
        return [_plain(doc) for doc in self._db.table(table).all()]

    def get(self, table: str, doc_id: int) -> dict[str, Any] | None:
        doc = self._db.table(table).get(doc_id=doc_id)
        return _plain(doc) if doc is not None else None

    def find(self, table: str, **equals: Any) -> list[dict[str, Any]]:
        query = _equals_query(equals)
        return [_plain(doc) for doc in self._db.table(table).search(query)]

    def find_one(self, table: str, **equals: Any) -> dict[str, Any] | None:
        found = self.find(table, **equals)
        return found[0] if found else None

    def next_id(self, table: str) -> int:
        ids = [doc.doc_id for doc in self._db.table(table).all()]
        return max(ids, default=0) + 1

    def insert(self, table: str, record: dict[str, Any], doc_id: int | None = None) -> int:
        clean = {k: v for k, v in record.items() if k != "doc_id"}
        tbl = self._db.table(table)
        if doc_id is None:
            return tbl.insert(clean)
        return tbl.insert(Document(clean, doc_id=doc_id))

    def insert_documents(self, table: str, records: dict[int, dict[str, Any]]) -> None:
        """Insert records under chosen ids in one file write."""
        self._db.table(table).insert_multiple(
            Document({k: v for k, v in r.items() if k != "doc_id"}, doc_id=i)
            for i, r in records.items()
        )

    def upsert_by_key(self, table: str, records: list[dict[str, Any]], key: str = "key") -> None:
        """Upsert many keyed records in one file write (index shards use this)."""
        merged = {r[key]: r for r in self.all(table)}
        merged.update({r[key]: r for r in records})
        self.replace_all(table, list(merged.values()))

    def insert_many(self, table: str, records: list[dict[str, Any]]) -> list[int]:
        return self._db.table(table).insert_multiple(
            [{k: v for k, v in r.items() if k != "doc_id"} for r in records]
        )

    def replace_all(self, table: str, records: list[dict[str, Any]]) -> None:
        """Swap a whole table's contents in one atomic write (no empty moment on disk)."""
        data = self.storage.read() or {}
        data[table] = {
            str(i): {k: v for k, v in r.items() if k != "doc_id"}
            for i, r in enumerate(records, start=1)
        }
        self.storage.write(data)
        self._db = self._open()  # TinyDB caches table state; start from the new data

    def update(self, table: str, doc_id: int, fields: dict[str, Any]) -> None:
        clean = {k: v for k, v in fields.items() if k != "doc_id"}
        self._db.table(table).update(clean, doc_ids=[doc_id])

    def replace(self, table: str, doc_id: int, record: dict[str, Any]) -> None:
        clean = {k: v for k, v in record.items() if k != "doc_id"}
        tbl = self._db.table(table)
        tbl.remove(doc_ids=[doc_id])
        tbl.insert(Document(clean, doc_id=doc_id))

    def upsert(self, table: str, record: dict[str, Any], **key: Any) -> None:
        self._db.table(table).upsert(record, _equals_query(key))

    def remove(self, table: str, **equals: Any) -> None:
        self._db.table(table).remove(_equals_query(equals))


def _equals_query(equals: dict[str, Any]):
    doc = Query()
    conditions = [doc[field] == value for field, value in equals.items()]
    query = conditions[0]
    for condition in conditions[1:]:
        query = query & condition
    return query


def _plain(doc: Document) -> dict[str, Any]:
    # "doc_id" is reserved for TinyDB's own id; records never store a field of that name.
    record = dict(doc)
    record["doc_id"] = doc.doc_id
    return record


class Store:
    """The data directory.  Names shards; hands out locked transactions and lock-free reads."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._derived: dict[tuple[str, str], tuple[tuple[int, int, int] | None, Any]] = {}
        self._derived_lock = threading.Lock()

    # -- shard names -------------------------------------------------------
    @staticmethod
    def village(code: str) -> str:
        if not code.isalnum():
            raise ValueError(f"bad village code {code!r}")
        return f"villages/{code}.json"

    @staticmethod
    def index(kind: str, key: str) -> str:
        return f"index/{kind}/{bucket_of(key)}.json"

    GRID = "grid.json"
    USERS = "users.json"
    SYSTEM = "system.json"

    # -- access --------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> Shard:
        """A fresh, unlocked, read-only view of one shard: consistent because writes are atomic."""
        return Shard(self.path(name))

    @contextlib.contextmanager
    def transaction(self, *names: str) -> Iterator[dict[str, Shard]]:
        """Lock the named shards (sorted, so never deadlocking) and open them fresh.

        Changes are written when the block ends without error, each file once,
        in the order they were first changed (callers rely on that order for
        crash safety: index entries before the village record).  An exception
        inside the block writes nothing.
        """
        unique = sorted(set(names))
        locks = [self._lock(name) for name in unique]
        with contextlib.ExitStack() as stack:
            inside = _held.__dict__.setdefault("roots", set())
            if self.root not in inside:  # else a nested transaction: its outer one holds the gate
                stack.enter_context(self._gate(fcntl.LOCK_SH))
                inside.add(self.root)
                stack.callback(inside.discard, self.root)
            for lock in locks:
                stack.enter_context(lock)
            shards = {name: Shard(self.path(name), writable=True) for name in unique}
            yield shards
            changed = [s for s in shards.values() if s.storage.dirty_since is not None]
            for shard in sorted(changed, key=lambda s: s.storage.dirty_since):
                shard.storage.flush()
            self._forget_derived({name for name, s in shards.items() if s in changed})

    def derived(self, name: str, kind: str, compute: Callable[[], T]) -> T:
        """``compute()``, a value read from shard ``name``, cached until that file changes.

        The value is shared between requests and threads: callers must not change it.

        A dashboard over a few hundred villages would otherwise parse every
        village file on every request.  Every write replaces the file, so its
        (inode, mtime, size) changes; writes by this process also drop the entry
        at once.  The stat comes before the read, so a write racing the
        computation leaves a stale signature, never a stale value.
        """
        signature = self._signature(name)
        with self._derived_lock:
            cached = self._derived.get((name, kind))
        if cached is not None and cached[0] == signature:
            return cached[1]
        value = compute()
        with self._derived_lock:
            self._derived[(name, kind)] = (signature, value)
        return value

    def _signature(self, name: str) -> tuple[int, int, int] | None:
        try:
            status = self.path(name).stat()
        except FileNotFoundError:
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def _forget_derived(self, names: set[str]) -> None:
        with self._derived_lock:
            for key in [k for k in self._derived if k[0] in names]:
                del self._derived[key]

    def _lock(self, name: str) -> FileLock:
        lock_path = self.root / "locks" / (name.replace("/", "__") + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(lock_path, timeout=LOCK_TIMEOUT_SECONDS)

    @contextlib.contextmanager
    def _gate(self, mode: int) -> Iterator[None]:
        """Hold the store-wide gate: shared (LOCK_SH) by transactions, exclusive for a backup.

        flock, not filelock, because filelock has no shared mode.  flock gives a
        waiting exclusive holder no priority, so the gate is reached through a
        turnstile that a backup closes while it waits: under steady writes it
        still gets its turn once the transactions already inside finish.
        """
        with contextlib.ExitStack() as held:
            with self._flock("_turnstile.lock", mode):
                held.enter_context(self._flock("_gate.lock", mode))
            yield

    @contextlib.contextmanager
    def _flock(self, name: str, mode: int) -> Iterator[None]:
        path = self.root / "locks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
            while True:
                try:
                    fcntl.flock(handle, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"数据目录正忙（{path}），请稍后再试。") from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def village_codes_on_disk(self) -> list[str]:
        folder = self.root / "villages"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    # -- start-up and backup ------------------------------------------------
    def data_files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.rglob("*.json")
            if not {"locks", "backups"} & set(p.relative_to(self.root).parts)
            and not p.name.startswith(".")
        )

    def check(self) -> int:
        """Parse every shard; raise CorruptShard for the first that fails. Returns the count."""
        files = self.data_files()
        for path in files:
            load_json(path)
        return len(files)

    def backup(self, destination: str | Path | None = None) -> Path:
        """A consistent snapshot: the gate held exclusively, so no transaction is half-seen."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = Path(destination) if destination else self.root / "backups"
        snapshot = target / f"canbao-{stamp}"
        suffix = 1
        while snapshot.exists():
            suffix += 1
            snapshot = target / f"canbao-{stamp}-{suffix}"
        with self._gate(fcntl.LOCK_EX):
            names = [str(p.relative_to(self.root)) for p in self.data_files()]
            tmp = snapshot.with_name(snapshot.name + ".partial")
            tmp.mkdir(parents=True)
            for name in names:
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.root / name, tmp / name)
            os.replace(tmp, snapshot)
        return snapshot
