"""What every store offers, whichever backend keeps the data.

A store is a set of named *shards*; each shard holds tables of records and is
the unit of locking.  Names are paths such as ``villages/370403001001`` or
``index/idnum/a7``; the names are chosen here, in one place, so that no write
touches more than the village it concerns plus a few small shards.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from . import codec
from .shard import BaseShard

T = TypeVar("T")
INDEX_BUCKETS = 256  # per kind of key: a bucket holds about 2,400 ID numbers of a 600,000-person city
SESSION_BUCKETS = 64
_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")


def bucket_of(key: str, buckets: int = INDEX_BUCKETS) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return f"{int.from_bytes(digest[:4], 'big') % buckets:02x}"


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad shard name {name!r}")
    return name


class Store(ABC):
    """Names shards; hands out locked transactions and lock-free reads."""

    # -- shard names -------------------------------------------------------------
    GRID = "grid"
    USERS = "users"
    SYSTEM = "system"
    JOBS = "jobs"

    @staticmethod
    def village(code: str) -> str:
        if not code.isalnum():
            raise ValueError(f"bad village code {code!r}")
        return f"villages/{code.lower()}"

    @staticmethod
    def index(kind: str, key: str) -> str:
        return f"index/{kind}/{bucket_of(key)}"

    @staticmethod
    def summary(village_code: str) -> str:
        """Coverage rows are kept per 9-digit code prefix: one shard per township in practice."""
        return f"summary/{village_code[:9].lower()}"

    @staticmethod
    def disputes(village_code: str) -> str:
        """A township's dispute ledger: items are few, and a township's staff list them together."""
        return f"disputes/{village_code[:9].lower()}"

    @staticmethod
    def sessions(token_hash: str) -> str:
        return f"sessions/{bucket_of(token_hash, SESSION_BUCKETS)}"

    @staticmethod
    def throttle(key: str) -> str:
        return f"throttle/{bucket_of(key, SESSION_BUCKETS)}"

    def __init__(self) -> None:
        self._derived: dict[tuple[str, str], tuple[Hashable, Any]] = {}
        self._derived_lock = threading.Lock()

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data is, as ``open_location`` takes it (a folder, or a database URL)."""

    # -- reading and writing --------------------------------------------------------
    @abstractmethod
    def read(self, name: str, *, cache: bool = True) -> BaseShard:
        """A lock-free, read-only view of one shard (``cache=False``: do not keep it in memory)."""

    @abstractmethod
    @contextlib.contextmanager
    def transaction(self, *names: str) -> Iterator[dict[str, BaseShard]]:
        """Lock the named shards (in sorted order, so never deadlocking) and open them.

        Changes are made durable when the block ends without error, shard by
        shard in the order each was first changed (callers rely on it: index
        entries before the village record); an exception writes nothing.
        """

    @abstractmethod
    def version(self, name: str) -> Hashable:
        """Changes whenever the shard does (cheap: no parsing)."""

    def versions(self, names: Iterable[str]) -> dict[str, Hashable]:
        return {name: self.version(name) for name in names}

    @abstractmethod
    def names(self, prefix: str = "") -> list[str]:
        """Shards that exist, optionally only those under ``prefix`` (e.g. ``villages/``)."""

    def village_codes(self) -> list[str]:
        return [name.split("/", 1)[1] for name in self.names("villages/")]

    def fingerprint(self, name: str) -> bytes:
        """The shard's records in a canonical form, the same whichever backend keeps them
        (tests prove with it that a refused request changed nothing)."""
        shard = self.read(name, cache=False)
        return b"\n".join(codec.dumps([table, record.pop("doc_id"), record])
                          for table in shard.tables() for record in shard.all(table))

    def fingerprints(self) -> dict[str, bytes]:
        return {name: self.fingerprint(name) for name in self.names()}

    def digest(self) -> str:
        """One hash of every shard's stored state (a test's "nothing changed"), the login
        sessions left out: any request may stamp its session's "last seen" (once a minute), so a
        refused request that came a minute after the last one would seem to have written."""
        hashed = hashlib.sha256()
        for name, state in sorted(self.fingerprints().items()):
            if not name.startswith("sessions/"):
                hashed.update(name.encode() + b"\0" + state)
        return hashed.hexdigest()

    def records(self) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
        """Every record as ``(shard, table, id, record)``, shard by shard (a restore's source)."""
        for name in self.names():
            shard = self.read(name, cache=False)
            for table in shard.tables():
                for record in shard.all(table):
                    yield name, table, record.pop("doc_id"), record

    @abstractmethod
    def load_records(self, records: Iterable[tuple[str, str, int, dict[str, Any]]]) -> int:
        """Write records into shards that do not exist yet (a restore), in bulk. Returns the count."""

    # -- maintenance ------------------------------------------------------------
    @abstractmethod
    def check(self) -> int:
        """Read every shard whole; raise CorruptShard for the first that fails. Returns the count."""

    @abstractmethod
    def recover(self) -> list[str]:
        """Start-up's quick look: repair what a crash can leave, stop on damage. Returns repairs."""

    @abstractmethod
    def backup(self, destination: str | Path | None = None) -> Path:
        """A consistent snapshot in the JSON-file layout (readable by either backend's restore)."""

    def close(self) -> None:  # noqa: B027 - a hook: the file store holds nothing to release
        """Release connections and descriptors."""

    # -- values derived from a whole shard ---------------------------------------------
    def derived(self, name: str, kind: str, compute: Callable[[], T]) -> T:
        """``compute()``, a value read from shard ``name``, reused until that shard changes.

        The value is shared between requests and threads: callers must not change it.
        The version is read before computing, so a write racing the computation
        leaves a stale version, never a stale value.
        """
        version = self.version(name)
        with self._derived_lock:
            cached = self._derived.get((name, kind))
        if cached is not None and cached[0] == version:
            return cached[1]
        value = compute()
        with self._derived_lock:
            self._derived[(name, kind)] = (version, value)
        return value

    def _forget_derived(self, names: set[str]) -> None:
        with self._derived_lock:
            for key in [k for k in self._derived if k[0] in names]:
                del self._derived[key]
