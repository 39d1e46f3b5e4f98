"""The PostgreSQL store: the same shards, tables and records, in one table of JSONB documents.

For a city or province that outgrows one machine: several ``canbao serve``
machines share one database (``CANBAO_DATABASE_URL``), and sessions, the
login throttle and coverage rows live in it like everything else.

* ``canbao_records(shard, tbl, id, doc)``: one row per record; the primary
  key starts with the shard, which is also the natural distribution column
  of a distributed PostgreSQL (Citus): a transaction's shards are few and
  named, so it stays on few nodes.
* ``canbao_shards(name, version, max_ids)``: one row per shard.  A
  transaction locks its shards' rows in sorted order, so two transactions
  never deadlock, and bumps the version of each shard it changed; cached
  values derived from a shard are reused until its version moves.  The row
  also keeps each table's highest id, read with the lock, so inserting needs
  no ``max(id)`` query.

A PostgreSQL transaction is atomic across shards, so the crash cases the
file store has to order its writes for cannot arise here.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from .base import Store, check_name
from .errors import CorruptShard, StoreBusy
from .memory import MemoryShard

SCHEMA = """
CREATE TABLE IF NOT EXISTS canbao_shards (
    name text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL DEFAULT 0,
    max_ids jsonb NOT NULL DEFAULT '{}'  -- each table's highest id: a new record's id without a query
);
CREATE TABLE IF NOT EXISTS canbao_records (
    shard text COLLATE "C" NOT NULL,
    tbl text COLLATE "C" NOT NULL,
    id bigint NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (shard, tbl, id)
);
CREATE INDEX IF NOT EXISTS canbao_records_doc ON canbao_records USING gin (doc jsonb_path_ops);
"""
LOCK_TIMEOUT = "30s"


def _configure(connection: psycopg.Connection) -> None:
    # A lock not had within this time gives StoreBusy ("try again"), never a wait without end.
    connection.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")


class PgState:
    """A shard's committed records, read from the database (what MemoryShard reads through).

    ``connect`` gives a connection for one query: the transaction's own, or one
    borrowed from the pool for a lock-free read.  Documents come back as JSON
    text, kept as bytes like the file store's cache.
    """

    def __init__(self, name: str, connect: Callable[[], contextlib.AbstractContextManager]):
        self.name = name
        self.connect = connect

    def _rows(self, sql: str, params: tuple) -> list[tuple]:
        with self.connect() as connection:
            return connection.execute(sql, params).fetchall()

    def get(self, table: str, doc_id: int) -> bytes | None:
        rows = self._rows("SELECT doc::text FROM canbao_records WHERE shard = %s AND tbl = %s AND id = %s",
                          (self.name, table, doc_id))
        return rows[0][0].encode() if rows else None

    def items(self, table: str) -> list[tuple[int, bytes]]:
        rows = self._rows("SELECT id, doc::text FROM canbao_records WHERE shard = %s AND tbl = %s "
                          "ORDER BY id", (self.name, table))
        return [(doc_id, doc.encode()) for doc_id, doc in rows]

    def find(self, table: str, field: str, value: Any) -> list[tuple[int, bytes]]:
        # @> is containment (a list value also matches a longer list): MemoryShard checks equality
        rows = self._rows("SELECT id, doc::text FROM canbao_records WHERE shard = %s AND tbl = %s "
                          "AND doc @> %s ORDER BY id", (self.name, table, Jsonb({field: value})))
        return [(doc_id, doc.encode()) for doc_id, doc in rows]

    def find_any(self, table: str, field: str, values: list[Any]) -> list[tuple[int, bytes]]:
        if not values:
            return []
        rows = self._rows("SELECT id, doc::text FROM canbao_records WHERE shard = %s AND tbl = %s "
                          "AND doc -> %s = ANY(%s::jsonb[]) ORDER BY id",
                          (self.name, table, field, [Jsonb(v) for v in values]))
        return [(doc_id, doc.encode()) for doc_id, doc in rows]

    def get_many(self, table: str, doc_ids: list[int]) -> list[tuple[int, bytes]]:
        if not doc_ids:
            return []
        rows = self._rows("SELECT id, doc::text FROM canbao_records WHERE shard = %s AND tbl = %s "
                          "AND id = ANY(%s) ORDER BY id", (self.name, table, doc_ids))
        return [(doc_id, doc.encode()) for doc_id, doc in rows]

    def max_id(self, table: str) -> int:
        rows = self._rows("SELECT coalesce(max(id), 0) FROM canbao_records WHERE shard = %s AND tbl = %s",
                          (self.name, table))
        return int(rows[0][0])

    def count(self, table: str) -> int:
        rows = self._rows("SELECT count(*) FROM canbao_records WHERE shard = %s AND tbl = %s",
                          (self.name, table))
        return int(rows[0][0])

    def table_names(self) -> list[str]:
        return [row[0] for row in self._rows(
            "SELECT DISTINCT tbl FROM canbao_records WHERE shard = %s ORDER BY tbl", (self.name,))]


def flush(connection: psycopg.Connection, shard: MemoryShard) -> None:
    """Write a transaction's operations on one shard, in order, as few batched statements."""
    with connection.cursor() as cursor:
        for kind, group in itertools.groupby(shard.ops, key=lambda op: op[0]):
            rows = list(group)
            if kind == "p":
                cursor.executemany(
                    "INSERT INTO canbao_records (shard, tbl, id, doc) VALUES (%s, %s, %s, %s::jsonb) "
                    "ON CONFLICT (shard, tbl, id) DO UPDATE SET doc = EXCLUDED.doc",
                    [(shard.name, op[1], op[2], op[3].decode()) for op in rows])
            elif kind == "d":
                cursor.executemany("DELETE FROM canbao_records WHERE shard = %s AND tbl = %s AND id = %s",
                                   [(shard.name, op[1], op[2]) for op in rows])
            else:
                for op in rows:
                    cursor.execute("DELETE FROM canbao_records WHERE shard = %s AND tbl = %s",
                                   (shard.name, op[1]))


class PostgresStore(Store):
    def __init__(self, url: str, pool_size: int = 16):
        super().__init__()
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True,
                                   kwargs={"autocommit": True}, name="canbao", configure=_configure)
        with self.pool.connection() as connection:
            connection.execute(SCHEMA)

    def __repr__(self) -> str:
        return "PostgresStore(…)"  # the URL may hold a password

    @property
    def location(self) -> str:
        return self.url

    def close(self) -> None:
        self.pool.close()

    # -- reading ---------------------------------------------------------------
    def read(self, name: str, *, cache: bool = True) -> MemoryShard:
        return MemoryShard(name, PgState(check_name(name), self.pool.connection), writable=False)

    def version(self, name: str) -> Hashable:
        with self.pool.connection() as connection:
            row = connection.execute("SELECT version FROM canbao_shards WHERE name = %s",
                                     (name,)).fetchone()
        return row[0] if row else 0

    def versions(self, names: Iterable[str]) -> dict[str, Hashable]:
        names = list(names)
        with self.pool.connection() as connection:
            rows = connection.execute("SELECT name, version FROM canbao_shards WHERE name = ANY(%s)",
                                      (names,)).fetchall()
        found = dict(rows)
        return {name: found.get(name, 0) for name in names}

    def names(self, prefix: str = "") -> list[str]:
        with self.pool.connection() as connection:
            rows = connection.execute(
                "SELECT name FROM canbao_shards WHERE version > 0 AND name LIKE %s ORDER BY name",
                (prefix.replace("%", r"\%").replace("_", r"\_") + "%",)).fetchall()
        return [row[0] for row in rows]

    # -- writing ------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *names: str) -> Iterator[dict[str, MemoryShard]]:
        unique = sorted({check_name(n) for n in names})
        changed: list[str] = []
        with self.pool.connection() as connection:
            try:
                with connection.transaction():
                    # One statement locks every shard's row, in the sorted order of the array,
                    # so two transactions never wait on each other in a circle.
                    locked = connection.execute(
                        "INSERT INTO canbao_shards (name) SELECT unnest(%s::text[]) ON CONFLICT (name) "
                        "DO UPDATE SET version = canbao_shards.version RETURNING name, max_ids",
                        (unique,)).fetchall()
                    own = contextlib.nullcontext(connection)
                    shards = {name: MemoryShard(name, PgState(name, lambda: own), writable=True,
                                                committed_max=max_ids) for name, max_ids in locked}
                    yield shards
                    changed = [name for name, shard in shards.items() if shard.ops]
                    if changed:
                        with connection.pipeline():  # every write in one round trip
                            for name in changed:
                                flush(connection, shards[name])
                            connection.cursor().executemany(
                                "UPDATE canbao_shards SET version = version + 1, max_ids = max_ids || %s "
                                "WHERE name = %s", [(Jsonb(shards[n].max_ids()), n) for n in changed])
            except psycopg.errors.LockNotAvailable:
                raise StoreBusy("数据正忙，请稍后再试。") from None
        self._forget_derived(set(changed))

    # -- maintenance ----------------------------------------------------------------
    def check(self) -> int:
        with self.pool.connection() as connection:
            bad = connection.execute("SELECT shard, tbl, id FROM canbao_records "
                                     "WHERE jsonb_typeof(doc) <> 'object' LIMIT 1").fetchone()
        if bad:
            raise CorruptShard(bad[0], f"表 {bad[1]} 第 {bad[2]} 条记录不是 JSON 对象")
        return len(self.names())

    def recover(self) -> list[str]:
        return []  # a PostgreSQL transaction is whole or absent: nothing to repair

    def backup(self, destination: str | Path | None = None) -> Path:
        """One consistent snapshot (REPEATABLE READ) written as a data folder of the file store."""
        from .local import LocalStore
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = Path(destination) if destination else Path("backups")
        snapshot = target / f"canbao-{stamp}"
        suffix = 1
        while snapshot.exists():
            suffix += 1
            snapshot = target / f"canbao-{stamp}-{suffix}"
        tmp = snapshot.with_name(snapshot.name + ".partial")
        copy = LocalStore(tmp)
        with self.pool.connection() as connection:
            with connection.transaction():
                connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                with connection.cursor(name="canbao_backup") as cursor:
                    cursor.itersize = 5000
                    cursor.execute("SELECT shard, tbl, id, doc FROM canbao_records ORDER BY shard, tbl, id")
                    copy.load_records((shard, tbl, doc_id, doc) for shard, tbl, doc_id, doc in cursor)
        copy.close()
        tmp.rename(snapshot)
        return snapshot

    def load_records(self, records: Iterable[tuple[str, str, int, dict]]) -> int:
        """Bulk-load ``(shard, table, id, record)`` rows (a restore): COPY, then the versions."""
        count = 0
        with self.pool.connection() as connection:
            with connection.transaction():
                with connection.cursor().copy(
                        "COPY canbao_records (shard, tbl, id, doc) FROM STDIN") as copy:
                    for shard, table, doc_id, record in records:
                        copy.write_row((shard, table, doc_id, Jsonb(record)))
                        count += 1
                connection.execute(
                    "INSERT INTO canbao_shards (name, version, max_ids) "
                    "SELECT shard, 1, jsonb_object_agg(tbl, top) FROM "
                    "(SELECT shard, tbl, max(id) AS top FROM canbao_records GROUP BY shard, tbl) AS t "
                    "GROUP BY shard ON CONFLICT (name) DO UPDATE SET version = canbao_shards.version + 1, "
                    "max_ids = canbao_shards.max_ids || EXCLUDED.max_ids")
        return count
