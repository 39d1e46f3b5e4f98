"""``canbao serve``: gunicorn with several worker processes, each with a pool of threads.

One Python process uses one core; the store is safe for many processes at
once, so the server runs one worker per core (the WORKERS setting) and
gunicorn supervises them (a worker that dies is replaced).  The threaded
worker keeps idle keep-alive connections off its threads, so hundreds of
phones can hold a connection open while a handful of threads serve the ones
that are sending (MAX_CONNECTIONS per worker, KEEPALIVE_SECONDS idle time).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from typing import Any
from urllib.parse import urlsplit

from gunicorn.app.base import BaseApplication


class PortBusy(RuntimeError):
    pass


def check_port(host: str, port: int) -> None:
    """Say in Chinese, before anything starts, that the port is taken and which option helps."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortBusy(f"端口 {port} 已被其他程序占用：请用 --port 选择另一个端口，"
                               f"例如 --port {port + 1}。") from None
            raise PortBusy(f"无法在 {host}:{port} 上提供服务：{exc.strerror}") from None


def is_loopback(host: str) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1: addresses only the server's own machine can open."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_url_warning(public_url: str) -> str | None:
    """Why a loopback PUBLIC_URL is wrong, in Chinese; None when it is not loopback.

    The URL is printed in every QR code and notice link: a phone that scans a
    code made with 127.0.0.1 tries to open itself and finds nothing.
    """
    if not is_loopback(urlsplit(public_url).hostname or ""):
        return None
    return (f"警告：对外网址 PUBLIC_URL 是本机地址 {public_url}，打印的二维码和公告链接都指向它，"
            "手机扫码后打不开。请在启动前设置 CANBAO_PUBLIC_URL 为手机能访问的网址，"
            "例如 CANBAO_PUBLIC_URL=https://canbao.example.gov.cn 或 http://192.168.1.10:5000。")


def options(config: dict[str, Any], host: str, port: int, workers: int | None,
            threads: int | None) -> dict[str, Any]:
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or config["WORKERS"] or os.cpu_count() or 1,
        "worker_class": "gthread",
        "threads": threads or config["THREADS"],
        "worker_connections": config["MAX_CONNECTIONS"],
        "keepalive": config["KEEPALIVE_SECONDS"],
        "timeout": 120,
        "graceful_timeout": 30,
        "forwarded_allow_ips": "",  # forwarded headers are not trusted unless a setting says so
        "proc_name": "canbao",
        "accesslog": config["ACCESS_LOG"] or None,
        # No query string: it may hold a name.  Content-Length as well as bytes written, because
        # gunicorn counts nothing it hands to sendfile (static files).
        "access_log_format": '%(h)s %(m)s %(U)s %(s)s %(B)s %({content-length}o)s %(M)sms',
        "errorlog": "-",
        "loglevel": "warning",
    }


class _Gunicorn(BaseApplication):
    """gunicorn driven from Python: each worker builds its own app (and its own store cache)."""

    def __init__(self, settings: dict[str, Any], environment: dict[str, str]):
        self.settings = settings
        self.environment = environment
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self):
        os.environ.update(self.environment)
        from . import create_app
        return create_app()


def serve(config: dict[str, Any], host: str, port: int, workers: int | None = None,
          threads: int | None = None) -> None:
    settings = options(config, host, port, workers, threads)
    # The workers build the app from the environment, so settings given to this
    # process in other ways (the data folder the demo chose) are passed on.
    environment = {"CANBAO_DATA": str(config["DATA"])} if config.get("DATA") else {}
    _Gunicorn(settings, environment).run()
