"""JSON on disk and in memory: orjson, UTF-8 as it is (never ``\\u`` escapes).

Records are kept in memory as their JSON bytes: four to five times smaller
than the parsed dicts, and every read hands out a fresh copy, so no caller can
change a cached record by accident.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

Fragment = orjson.Fragment
JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON with sorted keys, so equal records are equal bytes.

    orjson hands back bytes inside a buffer of at least 4 KiB; a cached record
    of 100 bytes kept that buffer alive (2.4 GB for a city's ID index), so the
    result is copied to its own size.
    """
    return memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).tobytes()


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)


def frame(payload: bytes) -> bytes:
    """One journal line: its CRC-32 in hex, a space, the payload, a newline."""
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


class BadFrame(ValueError):
    """A journal line whose checksum or shape is wrong."""


def unframe(line: bytes) -> bytes:
    """The payload of one journal line (without its newline), checked against its CRC."""
    if len(line) < 10 or line[8:9] != b" ":
        raise BadFrame("行格式错误")
    payload = line[9:]
    try:
        expected = int(line[:8], 16)
    except ValueError:
        raise BadFrame("校验码格式错误") from None
    if zlib.crc32(payload) != expected:
        raise BadFrame("校验码不符")
    return payload


def crc(data: bytes) -> int:
    return zlib.crc32(data)
