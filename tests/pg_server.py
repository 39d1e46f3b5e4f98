"""A private PostgreSQL server for tests and benchmarks: a temporary cluster on a Unix socket.

Debian's ``postgresql`` package supplies the binaries (the README's test
command installs it).  ``initdb`` refuses to run as root, so as root the
cluster belongs to the ``postgres`` system user; it listens on no TCP port,
only on a socket in its own folder, so it never meets another server.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

# Tests run with fsync off (they kill processes, never the machine); benchmarks keep it on.
FAST_TEST_OPTIONS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")


class Unavailable(RuntimeError):
    """No PostgreSQL server could be started here; the message says why."""


def binaries() -> Path:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise Unavailable("找不到 PostgreSQL（initdb）：请安装 Debian 的 postgresql 软件包")


class PgServer:
    def __init__(self, options: str = FAST_TEST_OPTIONS):
        self.bin = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="canbao-pg-"))
        self.data = self.root / "data"
        self.options = options
        self._owner = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._owner:
            command = ["runuser", "-u", self._owner, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise Unavailable(f"{' '.join(args[:2])} 失败：{result.stderr.strip()} {tail}")
        return result

    def start(self) -> PgServer:
        if self._owner:
            try:
                owner = pwd.getpwnam(self._owner)
            except KeyError:
                raise Unavailable("以 root 运行需要 postgres 系统用户（postgresql 软件包会创建它）") from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-instructions")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", f"-k {self.root} -c listen_addresses='' -c max_connections=200 {self.options}",
                  "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg
        name = f"canbao_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
