"""The embedded store: shards as files in one data folder, safe for many processes at once.

Each shard is a base file and an append-only journal (see :mod:`.journal`).
On top of that this module adds what TinyDB alone lacks:

* **Locks.**  A ``filelock`` per shard, taken in sorted order, inside a shared
  hold on one store-wide gate that a backup takes exclusively, so a snapshot
  sees every transaction whole.
* **A cache that is never stale.**  Each process keeps the shards it used in
  memory (within a budget) and, before every read, checks the journal's size:
  what other processes appended since is read and applied, nothing more.  A
  compaction elsewhere is noticed by the journal's new inode.
* **Atomic, durable writes.**  A transaction's changes to a shard are one
  journal line, fsynced before the transaction returns.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import resource
import shutil
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..atomicfile import private_folder, remove_stale, write_atomically
from . import codec, journal
from .base import Store, check_name
from .errors import StoreBusy, StoreFormatError
from .memory import MemoryShard, ShardState, serialise

LOCK_TIMEOUT_SECONDS = 30
FORMAT_FILE = "store-format"
FORMAT = "2"
SKIPPED_FOLDERS = {"locks", "backups", "recovered"}
_held = threading.local()  # the data folders whose store-wide gate this thread holds


class LocalStore(Store):
    def __init__(self, root: str | Path, cache_megabytes: int = 512):
        super().__init__()
        self.root = Path(root)
        self.budget = cache_megabytes * 1024 * 1024
        self._cache: OrderedDict[str, journal.Loaded] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cached_bytes = 0
        self._files: dict[str, journal.Files] = {}
        self._thread_locks: dict[str, threading.Lock] = {}
        self._thread_locks_guard = threading.Lock()
        self._gate_handles = threading.local()
        self._open_descriptors: list[int] = []
        self._lock_files: dict[str, int] = {}
        weakref.finalize(self, _close_all, self._open_descriptors)
        _allow_open_files()
        private_folder(self.root)  # 0700 whatever the umask: only the server's account gets in
        (self.root / "locks").mkdir(parents=True, exist_ok=True)
        self._check_format()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    @property
    def location(self) -> str:
        return str(self.root)

    # -- format -------------------------------------------------------------------
    def _check_format(self) -> None:
        marker = self.root / FORMAT_FILE
        if marker.exists():
            found = marker.read_text().strip()
            if found != FORMAT:
                raise StoreFormatError(f"数据目录 {self.root} 的格式为 {found}，本程序只认 {FORMAT}。")
            return
        if (self.root / "grid.json").exists() or (self.root / "villages").is_dir():
            raise StoreFormatError(
                f"数据目录 {self.root} 是旧版格式：请先运行 canbao migrate（会先备份）。")
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomically(marker, FORMAT.encode() + b"\n")

    def files(self, name: str) -> journal.Files:
        found = self._files.get(name)
        if found is None:
            found = self._files[name] = journal.Files.of(self.root, check_name(name))
        return found

    # -- reading ----------------------------------------------------------------------
    def read(self, name: str, *, cache: bool = True) -> MemoryShard:
        loaded = self._current(name, locked=False, cache=cache)
        return MemoryShard(name, loaded.state, writable=False)

    def _current(self, name: str, *, locked: bool, cache: bool = True) -> journal.Loaded:
        """The shard as it is on disk now: the cached copy brought up to date, or read whole."""
        files = self.files(name)
        with self._cache_lock:
            loaded = self._cache.get(name)
            if loaded is not None:
                self._cache.move_to_end(name)
        if loaded is not None:
            with loaded.lock:
                current = journal.catch_up(loaded, files, locked, self.root / "recovered")
            if current:
                self._account(name, loaded)
                return loaded
        loaded = journal.load(files)
        if locked:
            with loaded.lock:  # cut a crash's torn remnant before anyone appends after it
                journal.catch_up(loaded, files, True, self.root / "recovered")
        if cache:
            self._account(name, loaded)
        return loaded

    def _account(self, name: str, loaded: journal.Loaded) -> None:
        """Keep ``loaded`` cached and the cache within its budget (least recently used goes first)."""
        with self._cache_lock:
            previous = self._cache.get(name)
            if previous is not loaded:
                if previous is not None:
                    self._cached_bytes -= previous.counted
                self._cache[name] = loaded
                loaded.counted = 0
            self._cached_bytes += loaded.state.nbytes - loaded.counted
            loaded.counted = loaded.state.nbytes
            self._cache.move_to_end(name)
            while self._cached_bytes > self.budget and len(self._cache) > 1:
                _name, evicted = self._cache.popitem(last=False)
                self._cached_bytes -= evicted.counted

    def version(self, name: str) -> Hashable:
        files = self.files(name)
        for path in (files.journal, files.base):
            try:
                status = path.stat()
                return path.suffix, status.st_ino, status.st_size, status.st_mtime_ns
            except FileNotFoundError:
                continue
        return None

    def names(self, prefix: str = "") -> list[str]:
        folder = self.root / prefix.rstrip("/") if prefix else self.root
        if not folder.is_dir():
            return []
        found = set()
        for path in folder.rglob("*.json*"):
            relative = path.relative_to(self.root)
            if path.name.startswith(".") or SKIPPED_FOLDERS & set(relative.parts) \
                    or path.suffix not in (".json", ".jsonl"):
                continue
            found.add(str(relative.with_suffix("")))
        return sorted(n for n in found if n.startswith(prefix))

    def raw(self, name: str) -> bytes:
        """The shard's two files as they are on disk (a test's "not even a byte appended")."""
        files = self.files(name)
        return b"".join((path.read_bytes() if path.exists() else b"-") + b"\0"
                        for path in (files.base, files.journal))

    # -- writing ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *names: str) -> Iterator[dict[str, MemoryShard]]:
        unique = sorted({check_name(n) for n in names})
        with contextlib.ExitStack() as stack:
            inside = _held.__dict__.setdefault("roots", set())
            if self.root not in inside:  # else a nested transaction: its outer one holds the gate
                stack.enter_context(self._gate(fcntl.LOCK_SH))
                inside.add(self.root)
                stack.callback(inside.discard, self.root)
            for name in unique:
                stack.enter_context(self._lock(name))
            loaded = {name: self._current(name, locked=True) for name in unique}
            shards = {name: MemoryShard(name, loaded[name].state, writable=True) for name in unique}
            yield shards
            changed = sorted((s for s in shards.values() if s.ops), key=lambda s: s.first_change)
            for shard in changed:
                self._commit(shard, loaded[shard.name])
            self._forget_derived({s.name for s in changed})

    def _commit(self, shard: MemoryShard, loaded: journal.Loaded) -> None:
        files = self.files(shard.name)
        with loaded.lock:  # readers in this process wait for the line and its application together
            journal.append(loaded, files, serialise(shard.ops))
            loaded.state.apply(shard.ops)
            if journal.should_compact(loaded):
                journal.compact(loaded, files)
        with self._cache_lock:
            cached = self._cache.get(shard.name) is loaded
        if cached:
            self._account(shard.name, loaded)

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        """Hold one shard: a thread lock within this process, an flock between processes.

        The lock file stays open: under the thread lock only one thread of this
        process uses its descriptor, and the flock on it excludes other processes.
        """
        with self._thread_locks_guard:
            in_process = self._thread_locks.setdefault(name, threading.Lock())
        if not in_process.acquire(timeout=LOCK_TIMEOUT_SECONDS):
            raise StoreBusy(f"数据正忙（{name}），请稍后再试。")
        try:
            fd = self._lock_files.get(name)
            if fd is None:
                path = os.path.join(self.root, "locks", name.replace("/", "__") + ".lock")
                fd = self._lock_files[name] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                self._open_descriptors.append(fd)
            _flock(fd, fcntl.LOCK_EX, name)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            in_process.release()

    @contextlib.contextmanager
    def _gate(self, mode: int) -> Iterator[None]:
        """Hold the store-wide gate: shared (LOCK_SH) by transactions, exclusive for a backup.

        flock gives a waiting exclusive holder no priority, so the gate is
        reached through a turnstile that a backup closes while it waits: under
        steady writes it still gets its turn once the transactions already
        inside finish.  Each thread keeps its own two descriptors open (a lock
        belongs to its descriptor, so threads still exclude each other).
        """
        turnstile, gate = self._gate_descriptors()
        _flock(turnstile, mode, "_turnstile")
        try:
            _flock(gate, mode, "_gate")
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)

    def _gate_descriptors(self) -> tuple[int, int]:
        handles = getattr(self._gate_handles, "fds", None)
        if handles is None:
            handles = tuple(os.open(self.root / "locks" / name, os.O_RDWR | os.O_CREAT, 0o600)
                            for name in ("_turnstile.lock", "_gate.lock"))
            self._gate_handles.fds = handles
            self._open_descriptors.extend(handles)
        return handles

    def close(self) -> None:
        _close_all(self._open_descriptors)
        self._gate_handles = threading.local()
        self._lock_files = {}
        with self._cache_lock:
            for loaded in self._cache.values():
                loaded.forget_descriptor()
            self._cache.clear()
            self._cached_bytes = 0

    def load_records(self, records: Iterable[tuple[str, str, int, dict[str, Any]]]) -> int:
        """Write each shard's records as a new base file (records must come shard by shard)."""
        count = 0
        for name, rows in itertools.groupby(records, key=lambda row: row[0]):
            files = self.files(name)
            if files.base.exists() or files.journal.exists():
                raise FileExistsError(f"{name} 已有数据：只能恢复到空的数据目录")
            state = ShardState()
            state.apply(("p", table, int(doc_id), codec.dumps(record), record)
                        for _n, table, doc_id, record in rows)
            count += sum(state.count(table) for table in state.tables)
            base = state.render_base(1)
            write_atomically(files.base, base)
            write_atomically(files.journal, journal.header_line(1, base))
        return count

    # -- start-up, check and backup ----------------------------------------------------------
    def check(self) -> int:
        names = self.names()
        for name in names:
            journal.load(self.files(name))
        return len(names)

    def recover(self) -> list[str]:
        """Cut torn journal tails and replace journals a compaction left stale; stop on damage.

        Reads only each journal's first line and last byte and each base's first
        line: start-up costs a stat or two per shard, however large the city.
        """
        repairs = []
        self._remove_stale_temporaries()
        for name in self.names():
            files = self.files(name)
            if journal.inspect(files) is None:
                continue
            with self._gate(fcntl.LOCK_SH), self._lock(name):
                if journal.inspect(files) is not None:
                    loaded = journal.load(files)
                    with loaded.lock:
                        journal.catch_up(loaded, files, True, self.root / "recovered")
                        if loaded.header is None:  # stale after an interrupted compaction
                            journal.compact(loaded, files)
                    repairs.append(name)
        return repairs

    def _remove_stale_temporaries(self, older_than: float = 60.0) -> None:
        # A crash between writing a temporary file and renaming it leaves it behind;
        # young ones may belong to a writer still running in another process.
        now = time.time()
        for path in self.root.rglob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime > older_than:
                    path.unlink()
        self._remove_partial_backups()

    def _remove_partial_backups(self) -> None:
        """A backup interrupted by a crash leaves ``backups/canbao-….partial`` (a copy of
        everything).  A backup at work holds the gate exclusively for as long as it copies, so
        when the gate can be had here at once, no partial folder has a writer."""
        partial = list((self.root / "backups").glob("canbao-*.partial"))
        if not partial:
            return
        gate = self._gate_descriptors()[1]
        try:
            fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a backup or a transaction is under way: next start
        try:
            remove_stale(self.root / "backups", ["canbao-*.partial"], older_than=0)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)

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
            names = self.names()
            tmp = snapshot.with_name(snapshot.name + ".partial")
            tmp.mkdir(parents=True)
            shutil.copy2(self.root / FORMAT_FILE, tmp / FORMAT_FILE)
            for name in names:
                files = self.files(name)
                for path in (files.base, files.journal):
                    if path.exists():
                        copy = tmp / path.relative_to(self.root)
                        copy.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, copy)
            os.replace(tmp, snapshot)
        return snapshot


def _allow_open_files() -> None:
    """Each cached shard keeps its journal open, and each shard this process locks its lock
    file: raise the soft limit of open files to the hard one (often 1,024 of 1,048,576)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, 1 << 20), hard))


def _close_all(descriptors: list[int]) -> None:
    while descriptors:
        with contextlib.suppress(OSError):
            os.close(descriptors.pop())


def _flock(fd: int, mode: int, what: str) -> None:
    """flock with a deadline: a StoreBusy, in Chinese, rather than a wait without end."""
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    pause = 0.0005
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise StoreBusy(f"数据正忙（{what}），请稍后再试。") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.005)
