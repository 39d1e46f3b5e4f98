"""One shard on disk: a base file in TinyDB's JSON layout, and an append-only journal.

``NAME.json`` holds every record as of one *generation*, one record per line,
readable UTF-8, written once (temporary file, fsync, rename) and never
changed.  ``NAME.jsonl`` starts with a header naming that generation and the
base's length and CRC-32, then holds one line per committed transaction:
``<crc32> [operations]``.  A write appends one line and fsyncs it, so it costs
the size of the change, not of the village.  When the journal outgrows its
base, the writer folds it into a new base (*compaction*): the new base is
renamed in first, then a fresh journal, so a reader sees one of:

* base generation = journal generation: base, then the journal's lines;
* base one newer than journal: compaction was interrupted (or is under way)
  and the base alone is complete (journal operations are absolute puts and
  deletes, so a base already holding them is the same state);
* journal newer than base: the reader raced a compaction and reads again.

A line is acknowledged only after its fsync; a crash can leave just a torn
last line, which readers skip and the next writer cuts off (keeping the cut
bytes under ``recovered/``).  A bad line with good lines after it is damage,
not a crash: :class:`CorruptShard`, and the shard is never written again
until a person has looked at it.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from ..atomicfile import write_atomically
from . import codec
from .errors import CorruptShard
from .memory import Op, ShardState, parse_ops

JOURNAL_FORMAT = 1
COMPACT_MIN_BYTES = 256 * 1024  # below this a journal is never folded into its base
_BASE_GENERATION = re.compile(rb'^\{\s*"_canbao":\s*\{"1":\s*\{"generation":\s*(\d+)\}\}')
_LOAD_ATTEMPTS = 50


@dataclass(frozen=True)
class Files:
    base: Path
    journal: Path

    @classmethod
    def of(cls, root: Path, name: str) -> Files:
        return cls(root / f"{name}.json", root / f"{name}.jsonl")


@dataclass
class Loaded:
    """A shard's state as read from disk, and how far into its journal that state goes."""

    state: ShardState
    generation: int
    base_size: int
    base_crc: int
    # The header line of the journal read: it names the generation, so a journal
    # replaced by a compaction is told apart even when its inode number is reused.
    header: bytes | None  # None: no usable journal yet
    offset: int  # bytes of that journal applied (the end of its last good line)
    stale_header: bytes | None = None  # a journal older than the base, to be replaced
    lock: threading.Lock = field(default_factory=threading.Lock)
    counted: int = 0  # the bytes the store's cache budget last counted for this state
    # The journal kept open between reads: a read then costs one stat of its path, and while
    # the descriptor is open its inode cannot be reused, so a replaced journal is noticed.
    fd: int | None = None
    inode: tuple[int, int] | None = None
    closer: weakref.finalize | None = None

    def forget_descriptor(self) -> None:
        if self.closer is not None:
            self.closer()
        self.fd, self.inode, self.closer = None, None, None

    @property
    def journal_bytes(self) -> int:
        return self.offset if self.header else 0


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _parse_base(path: Path, raw: bytes) -> tuple[dict, int]:
    if not raw.strip():
        raise CorruptShard(path, "空文件")
    try:
        data = codec.loads(raw)
    except codec.JSONDecodeError as exc:
        raise CorruptShard(path, str(exc)) from None
    if not isinstance(data, dict):
        raise CorruptShard(path, "顶层不是对象")
    meta = data.get("_canbao", {}).get("1", {}) if isinstance(data.get("_canbao"), dict) else {}
    return data, int(meta.get("generation", 0))


def header_line(generation: int, base: bytes | None) -> bytes:
    return codec.frame(codec.dumps({
        "canbao_journal": JOURNAL_FORMAT, "generation": generation,
        "base_bytes": len(base) if base is not None else 0,
        "base_crc": codec.crc(base) if base is not None else 0,
    }))


def _parse_header(path: Path, data: bytes) -> tuple[dict, int]:
    end = data.find(b"\n")
    if end < 0:
        raise CorruptShard(path, "日志缺少文件头")
    try:
        header = codec.loads(codec.unframe(data[:end]))
    except (codec.BadFrame, codec.JSONDecodeError) as exc:
        raise CorruptShard(path, f"日志文件头损坏：{exc}") from None
    if not isinstance(header, dict) or header.get("canbao_journal") != JOURNAL_FORMAT:
        raise CorruptShard(path, "不是本系统的日志文件")
    return header, end + 1


def read_lines(path: Path, data: bytes, start: int) -> tuple[list[list[Op]], int, bool]:
    """Transactions in ``data`` (which begins at file offset ``start``).

    Returns them, the file offset just after the last good line, and whether
    a torn remnant follows it (an incomplete or unreadable last line).
    """
    transactions: list[list[Op]] = []
    position = 0
    while True:
        end = data.find(b"\n", position)
        if end < 0:
            return transactions, start + position, position < len(data)
        try:
            transactions.append(parse_ops(codec.unframe(data[position:end])))
        except (codec.BadFrame, ValueError, TypeError, IndexError, KeyError) as exc:
            if data.find(b"\n", end + 1) >= 0:  # good lines after a bad one: damage, not a crash
                raise CorruptShard(path, f"第 {start + position} 字节处的日志行损坏：{exc}") from None
            return transactions, start + position, True
        position = end + 1


def load(files: Files) -> Loaded:
    """Read a shard whole, without a lock (every file it reads is replaced atomically)."""
    for _attempt in range(_LOAD_ATTEMPTS):
        base_raw = _read_or_none(files.base)
        try:
            handle = open(files.journal, "rb")
        except FileNotFoundError:
            handle = None
        data = None
        if handle is not None:
            with handle:
                data = handle.read()
        base_data, base_generation = _parse_base(files.base, base_raw) if base_raw is not None else ({}, 0)
        base_size = len(base_raw) if base_raw is not None else 0
        base_crc = codec.crc(base_raw) if base_raw is not None else 0
        if data is None:
            # A base with no journal yet (a store written by canbao 1), or nothing at all.
            return Loaded(ShardState.from_base(base_data), base_generation, base_size, base_crc, None, 0)
        header, first_line = _parse_header(files.journal, data)
        header_bytes = data[:first_line]
        journal_generation = header.get("generation", -1)
        if base_generation == journal_generation:
            if (header.get("base_bytes"), header.get("base_crc")) != (base_size, base_crc):
                raise CorruptShard(files.base, "与日志记录的长度或校验码不符")
            state = ShardState.from_base(base_data)
            transactions, offset, _torn = read_lines(files.journal, data[first_line:], first_line)
            for ops in transactions:
                state.apply(ops)
            return Loaded(state, base_generation, base_size, base_crc, header_bytes, offset)
        if base_generation == journal_generation + 1:
            return Loaded(ShardState.from_base(base_data), base_generation, base_size, base_crc,
                          None, 0, stale_header=header_bytes)
        if journal_generation == base_generation + 1:
            time.sleep(0.001)  # read the base before a compaction, the journal after: again
            continue
        raise CorruptShard(files.journal, f"日志第 {journal_generation} 代与底本第 {base_generation} 代不符")
    raise CorruptShard(files.journal, "反复读到正在整理中的文件")


def catch_up(loaded: Loaded, files: Files, locked: bool, recovered: Path) -> bool:
    """Apply what other writers appended since ``loaded`` was read.  False: read it whole again.

    ``locked`` (the caller holds the shard's lock, so no append is under way
    anywhere): a torn remnant after the last good line is a crash's and is cut
    off, so the next append starts on a clean line.
    """
    if loaded.header is None:
        return _still_without_journal(loaded, files)
    try:
        status = os.stat(files.journal)
    except FileNotFoundError:
        return False
    if loaded.fd is None and not _keep_open(loaded, files):
        return False
    if (status.st_dev, status.st_ino) != loaded.inode or status.st_size < loaded.offset:
        return False  # compacted (a new file), or cut back by a repair: start again
    if status.st_size == loaded.offset:
        return True
    data = os.pread(loaded.fd, status.st_size - loaded.offset, loaded.offset)
    transactions, offset, torn = read_lines(files.journal, data, loaded.offset)
    for ops in transactions:
        loaded.state.apply(ops)
    loaded.offset = offset
    if torn and locked:
        cut_torn_tail(files, offset, recovered)
    return True


def _keep_open(loaded: Loaded, files: Files) -> bool:
    """Open the journal ``loaded`` was read from and keep it; False if it is another one now."""
    try:
        fd = os.open(files.journal, os.O_RDONLY)
    except FileNotFoundError:
        return False
    if os.pread(fd, len(loaded.header), 0) != loaded.header:
        os.close(fd)
        return False
    status = os.fstat(fd)
    loaded.fd, loaded.inode = fd, (status.st_dev, status.st_ino)
    loaded.closer = weakref.finalize(loaded, os.close, fd)
    return True


def _still_without_journal(loaded: Loaded, files: Files) -> bool:
    """No usable journal was read: true while there is still none (or still the stale one)."""
    try:
        fd = os.open(files.journal, os.O_RDONLY)
    except FileNotFoundError:
        return loaded.stale_header is None
    try:
        known = loaded.stale_header
        return known is not None and os.pread(fd, len(known), 0) == known
    finally:
        os.close(fd)


def cut_torn_tail(files: Files, offset: int, recovered: Path) -> None:
    """Cut an unacknowledged remnant off the journal; its bytes are kept for a person to see."""
    with open(files.journal, "r+b") as handle:
        handle.seek(offset)
        remnant = handle.read()
        if not remnant:
            return
        recovered.mkdir(parents=True, exist_ok=True)
        keep = recovered / f"{files.journal.name}.{time.strftime('%Y%m%d-%H%M%S')}.{os.getpid()}.torn"
        keep.write_bytes(remnant)
        handle.truncate(offset)
        handle.flush()
        os.fsync(handle.fileno())


def append(loaded: Loaded, files: Files, payload: bytes) -> None:
    """Append one transaction's line and fsync it (the caller holds the shard's lock)."""
    line = codec.frame(payload)
    if loaded.header is None:
        _start_journal(loaded, files, line)
        return
    fd = os.open(files.journal, os.O_WRONLY | os.O_APPEND)
    try:
        written = 0
        while written < len(line):
            written += os.write(fd, line[written:])
        os.fsync(fd)
    finally:
        os.close(fd)
    loaded.offset += len(line)


def _start_journal(loaded: Loaded, files: Files, first_line: bytes) -> None:
    """A first journal for a new shard, or a fresh one replacing a stale one, with its first line:
    one atomic write, so a new village costs one file creation, not two."""
    base = _read_or_none(files.base) if loaded.base_size else None
    header = header_line(loaded.generation, base)
    write_atomically(files.journal, header + first_line)
    loaded.forget_descriptor()
    loaded.header, loaded.stale_header = header, None
    loaded.offset = len(header) + len(first_line)


def should_compact(loaded: Loaded) -> bool:
    return loaded.journal_bytes > max(COMPACT_MIN_BYTES, loaded.base_size)


def compact(loaded: Loaded, files: Files) -> None:
    """Fold the journal into a new base (the caller holds the shard's lock)."""
    generation = loaded.generation + 1
    base = loaded.state.render_base(generation)
    write_atomically(files.base, base)
    header = header_line(generation, base)
    write_atomically(files.journal, header)
    loaded.forget_descriptor()
    loaded.generation, loaded.base_size, loaded.base_crc = generation, len(base), codec.crc(base)
    loaded.header, loaded.offset, loaded.stale_header = header, len(header), None


def inspect(files: Files) -> str | None:
    """Start-up's quick look (no parsing): what must be repaired, or raise CorruptShard.

    Checks that the base is the one the journal names (its length) and whether
    the journal ends mid-line.  Returns "torn" when a crash left a remnant to
    cut, "stale" when a compaction was interrupted, else None.
    """
    try:
        with open(files.journal, "rb") as handle:
            first = handle.readline()
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - 1))
            last = handle.read(1)
    except FileNotFoundError:
        return None
    header, _ = _parse_header(files.journal, first)
    try:
        base_size = files.base.stat().st_size
        with open(files.base, "rb") as handle:
            found = _BASE_GENERATION.match(handle.read(80))
        base_generation = int(found.group(1)) if found else 0
    except FileNotFoundError:
        base_size, base_generation = 0, 0
    if base_generation == header["generation"] + 1:
        return "stale"
    if base_generation != header["generation"] or base_size != header["base_bytes"]:
        raise CorruptShard(files.base, "与日志记录的长度或代数不符")
    return "torn" if last != b"\n" else None
