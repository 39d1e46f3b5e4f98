"""Writing a whole file so that a reader or a crash sees the old one or the new one, never half."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

STALE_SECONDS = 3600  # a temporary file this old belongs to no writer still running


def write_atomically(path: Path, payload: bytes, mode: int = 0o600) -> None:
    """Temporary file, fsync, rename over the old one, fsync of the folder.

    The file gets ``mode`` whatever the umask (private by default: most of what canbao
    writes holds personal data); the temporary file is ``.<name>.<random>.tmp``, which
    :func:`remove_stale` clears after a crash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_folder(path: Path) -> Path:
    """``path`` made (with its missing parents) and set to 0700 if this user owns it: only the
    server's own account may list or open what is inside, whatever the umask."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a folder someone else owns keeps its mode
        status = path.stat()
        if status.st_uid == os.geteuid() and status.st_mode & 0o777 != 0o700:
            path.chmod(0o700)
    return path


def remove_stale(folder: Path, patterns: Iterable[str], older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove what a crash left (files or folders matching ``patterns`` under ``folder``) once
    nothing in it has changed for ``older_than`` seconds: a writer still at work in another
    process keeps touching its file or folder, so it is left alone."""
    removed = []
    deadline = time.time() - older_than
    for pattern in patterns:
        for path in folder.glob(pattern):
            try:
                if _newest_change(path) > deadline:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except FileNotFoundError:
                continue  # its writer finished (renamed or removed it) meanwhile
            removed.append(path)
    return removed


def _newest_change(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for inner in path.rglob("*"):
            with contextlib.suppress(FileNotFoundError):
                newest = max(newest, inner.lstat().st_mtime)
    return newest
