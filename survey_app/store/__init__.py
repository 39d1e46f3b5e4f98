"""The one place that knows how canbao keeps its data (and the only code that imports TinyDB).

Callers name shards (``Store.village(code)``, ``Store.index("idnum", number)``
…), read them without locks, and change them inside ``store.transaction()``.
Two backends keep the same promises behind the same interface:

* :class:`LocalStore` (the default): JSON files in one data folder, TinyDB's
  layout plus an append-only journal per shard, for one machine;
* :class:`PostgresStore` (``CANBAO_DATABASE_URL``): one table of JSONB
  records, for several ``canbao serve`` machines sharing one database.
"""

from __future__ import annotations

from pathlib import Path

from . import journal
from .base import INDEX_BUCKETS, Store, bucket_of
from .errors import CorruptShard, StoreBusy, StoreFormatError
from .local import LocalStore
from .shard import BaseShard as Shard
from .shard import ReadOnlyShard

__all__ = ["INDEX_BUCKETS", "journal", "CorruptShard", "LocalStore", "ReadOnlyShard", "Shard", "Store",
           "StoreBusy", "StoreFormatError", "bucket_of", "open_location", "open_store"]


def open_store(data: str | Path, database_url: str = "", cache_megabytes: int = 512) -> Store:
    """The PostgreSQL store when a database URL is set, else the data folder's files."""
    if database_url:
        from .postgres import PostgresStore  # psycopg only where it is used
        return PostgresStore(database_url)
    return LocalStore(data, cache_megabytes=cache_megabytes)


def open_location(location: str) -> Store:
    """A store from one string: a PostgreSQL URL, or a data folder (what ``Store.location`` gives)."""
    if location.startswith(("postgresql://", "postgres://")):
        return open_store("", location)
    return open_store(location)
