"""What the store can refuse with; every message is for a person, in Chinese."""

from __future__ import annotations

from pathlib import Path


class CorruptShard(RuntimeError):
    """A data file does not parse or does not match its checksum: it is never written over."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"数据文件已损坏，已停止以免覆盖: {path} ({reason})")
        self.path = path
        self.reason = reason


class StoreBusy(TimeoutError):
    """A lock could not be had in time: the caller may try again."""


class StoreFormatError(RuntimeError):
    """The data folder was written by an older canbao and must be migrated first."""
