"""Start the real production server (``canbao serve``, gunicorn) on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(data_dir: Path | str, threads: int = 8, workers: int = 2,
                   environment: dict[str, str] | None = None) -> Iterator[str]:
    """``data_dir`` is a data folder, or a PostgreSQL URL for the database store."""
    with server_process(data_dir, threads, workers, environment) as (base, _process):
        yield base


@contextlib.contextmanager
def server_process(data_dir: Path | str, threads: int = 8, workers: int = 2,
                   environment: dict[str, str] | None = None,
                   port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """The server's URL and its process (the gunicorn master; workers are its children)."""
    port = port or free_port()
    location = str(data_dir)
    store_setting = {"CANBAO_DATABASE_URL": location} if location.startswith("postgres") \
        else {"CANBAO_DATA": location}
    env = {**os.environ, **store_setting, "CANBAO_SECRET_KEY": "live-test", **(environment or {})}
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would stall the server
    process = subprocess.Popen(
        [sys.executable, "-m", "survey_app.cli", "serve", "--port", str(port),
         "--threads", str(threads), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_up(base: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read()}")
        try:
            urllib.request.urlopen(base + "/login", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start within 30 s")
