"""A cheap HTTP/1.1 load generator for the benchmarks: logged-in keep-alive clients on one asyncio loop.

Why not urllib and threads: the benchmark machine has two cores and the server under test runs on
it too, so every cycle the client burns is taken from the server.  Here each client is one
keep-alive connection driven by a coroutine; requests are built as bytes and responses are parsed
only as far as needed (status line, Content-Length / chunked body, Connection, Set-Cookie).

Why it raises instead of counting errors: a throughput or a percentile computed over fewer
requests than asked, or over failed ones, is a lie.  Any unexpected status, timeout or broken
connection aborts the whole run with :class:`LoadError`, which names the cause and how many
requests had completed.  A request in flight is never retried (the server may have processed it);
only a connection the server closed *between* requests (``Connection: close``, or EOF already seen
before sending) is reopened, and counted in ``reconnects``.  If the server's close races with a new
request, that request fails the run rather than being sent twice.

Async API (everything on one event loop; connections belong to the loop that opened them)::

    clients = await login_all(base, [("e001001", password), ...])
    try:
        result = await run_load(clients, make_request, duration_seconds=10)
    finally:
        await close_all(clients)

Sync wrappers, each running its own event loop: :func:`measure_logged_in`, :func:`measure_static`.
One process only: on two cores a second client process would just take CPU from the server, and
``thread_cpu_seconds`` in the result shows whether the client came near a core.

    .venv/bin/python benchmarks/loadgen.py http://127.0.0.1:8000/static/app.css --clients 50 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import socket
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# (method, path, headers or None, body) for one request; headers may be a cached dict.
RequestSpec = tuple[str, str, "Mapping[str, str] | None", bytes]
MakeRequest = Callable[["Client", int], RequestSpec]

_CSRF_INPUT = re.compile(rb'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(rb'value="([^"]*)"')
_BODYLESS = frozenset({204, 304})
_EXCERPT = 200  # bytes of a failing response body quoted in the error


class LoadError(RuntimeError):
    """The run (or a login) cannot give an honest figure; ``completed`` requests had finished."""

    def __init__(self, message: str, completed: int = 0) -> None:
        super().__init__(message)
        self.completed = completed


class Client:
    """One logged-in (or anonymous) user: a keep-alive connection, its cookies and CSRF token."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""
        self.villages: list[Any] = []
        self.username: str | None = None
        self.role: str | None = None
        # Headers for JSON API writes, cached so make_request can return it without churn.
        self.api_headers: dict[str, str] = {"Content-Type": "application/json"}
        self.reconnects = 0  # connections reopened after the server closed one between requests
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._opened = 0
        self._fixed = b""  # Host and Cookie lines, rebuilt only when a cookie changes
        self._rebuild_fixed()

    @classmethod
    def for_url(cls, base_url: str) -> Client:
        """A client for ``http://host:port`` (no TLS: the server under test is local)."""
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"base URL must be http://host:port, got {base_url!r}")
        return cls(parts.hostname, parts.port or 80)

    # -- connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection now, so connecting is not timed as part of the first request."""
        if not self._usable():
            await self._open()

    def _usable(self) -> bool:
        # A connection the server closed while idle shows EOF (or an error) before we send;
        # only then is reopening safe, since no request of ours can be lost.
        reader, writer = self._reader, self._writer
        return not (reader is None or writer is None or reader.at_eof() or reader.exception() is not None
                    or writer.transport.is_closing())

    async def _open(self) -> None:
        self._drop()
        if self._opened:
            self.reconnects += 1
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._opened += 1
        sock = self._writer.get_extra_info("socket")
        if sock is not None:  # small requests must not wait for Nagle's algorithm
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _drop(self) -> None:
        """Abort the connection: after a broken or cancelled exchange its state is unknown."""
        if self._writer is not None:
            self._writer.transport.abort()
        self._reader = self._writer = None

    async def close(self) -> None:
        """Close the connection and wait until the transport is gone (no unclosed sockets)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:  # the peer reset it first; it is closed all the same
                pass

    # -- cookies ------------------------------------------------------------------------------

    def _rebuild_fixed(self) -> None:
        lines = f"Host: {self.host}:{self.port}\r\n"
        if self.cookies:
            lines += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        self._fixed = lines.encode("latin-1")

    def _set_cookie(self, value: bytes) -> None:
        # name=value from every Set-Cookie; Max-Age=0 deletes (Flask's way to drop a session).
        pair, _, attributes = value.decode("latin-1").partition(";")
        name, _, cookie = pair.strip().partition("=")
        if "max-age=0" in attributes.replace(" ", "").lower():
            if self.cookies.pop(name, None) is None:
                return
        elif self.cookies.get(name) == cookie:
            return  # a refreshed session cookie often repeats the value; keep the cached header
        else:
            self.cookies[name] = cookie
        self._rebuild_fixed()

    def set_csrf_token(self, token: str) -> None:
        """Remember the token and put it into the cached API headers."""
        self.csrf_token = token
        self.api_headers = {"Content-Type": "application/json", "X-CSRFToken": token}

    # -- one exchange -------------------------------------------------------------------------

    def build(self, method: str, path: str, headers: Mapping[str, str] | None, body: bytes) -> bytes:
        """The request as one bytes object, so it goes out in a single write."""
        parts = [f"{method} {path} HTTP/1.1\r\n".encode("latin-1"), self._fixed]
        if headers:
            parts.append("".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1"))
        if body or method in ("POST", "PUT", "PATCH"):
            parts.append(b"Content-Length: %d\r\n" % len(body))
        parts.append(b"\r\n")
        parts.append(body)
        return b"".join(parts)

    async def request(self, method: str, path: str, headers: Mapping[str, str] | None = None,
                      body: bytes = b"") -> tuple[int, bytes]:
        """Send one request and read the whole response: (status, body).  Never retried."""
        return await self.exchange(self.build(method, path, headers, body), method == "HEAD")

    async def exchange(self, data: bytes, head: bool = False) -> tuple[int, bytes]:
        """Write prebuilt request bytes, read the response; on any error the connection is dropped."""
        if not self._usable():
            await self._open()
        writer = self._writer
        try:
            writer.write(data)
            await writer.drain()
            return await self._read_response(head)
        except BaseException:  # includes cancellation by a timeout: the stream is now mid-message
            self._drop()
            raise

    async def _read_response(self, head: bool) -> tuple[int, bytes]:
        reader = self._reader
        while True:
            block = await reader.readuntil(b"\r\n\r\n")
            lines = block.split(b"\r\n")
            status_line = lines[0]
            if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
                raise ValueError(f"bad status line {status_line[:80]!r}")
            status = int(status_line[9:12])
            if status >= 200:
                break  # 1xx interim responses carry no body; the real one follows
        length = -1
        chunked = False
        close = status_line.startswith(b"HTTP/1.0")
        for line in lines[1:-2]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"set-cookie":
                self._set_cookie(value.strip())
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                token = value.strip().lower()
                close = token == b"close" or (close and token != b"keep-alive")
        if head or status in _BODYLESS:
            body = b""
        elif chunked:
            body = await self._read_chunked(reader)
        elif length >= 0:
            body = await reader.readexactly(length)
        else:  # no framing: the body ends when the server closes
            body = await reader.read()
            close = True
        if close:  # the server said so; the next request reopens (nothing is in flight now)
            await self.close()
        return status, body

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                break
            chunk = await reader.readexactly(size + 2)
            if chunk[-2:] != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
            chunks.append(chunk[:-2])
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
            pass
        return b"".join(chunks)


# -- logging in ---------------------------------------------------------------------------------

async def connect(base_url: str) -> Client:
    """An anonymous client with its connection open (for static assets)."""
    client = Client.for_url(base_url)
    await client.connect()
    return client


async def login(base_url: str, username: str, password: str, timeout: float = 30.0) -> Client:
    """Log in through the form (with its CSRF token) and read /api/v1/session, as a browser would."""
    client = Client.for_url(base_url)
    try:
        async with asyncio.timeout(timeout):
            await client.connect()
            status, page = await client.request("GET", "/login")
            _expect(status, page, (200,), f"GET /login for {username}")
            field_match = _CSRF_INPUT.search(page)
            value = field_match and _VALUE.search(field_match.group(0))
            if not value:
                raise LoadError(f"GET /login for {username}: no csrf_token field in the page")
            form = urllib.parse.urlencode({"username": username, "password": password,
                                           "csrf_token": value.group(1).decode()}).encode()
            status, page = await client.request(
                "POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"}, form)
            _expect(status, page, (302, 303), f"login of {username}")
            status, payload = await client.request("GET", "/api/v1/session")
            _expect(status, payload, (200,), f"GET /api/v1/session for {username}")
            session = json.loads(payload)
            client.set_csrf_token(session["csrf_token"])
            client.villages = list(session.get("villages") or [])
            client.username, client.role = session.get("username"), session.get("role")
    except BaseException as exc:
        await client.close()
        if isinstance(exc, Exception) and not isinstance(exc, LoadError):
            raise LoadError(f"login of {username} failed: {_describe(exc, timeout)}") from exc
        raise
    return client


async def login_all(base_url: str, credentials: Iterable[tuple[str, str]],
                    timeout: float = 30.0, concurrency: int = 8) -> list[Client]:
    """Log many users in (a few at a time: password hashing is slow); all succeed or none stay open."""
    gate = asyncio.Semaphore(concurrency)

    async def one(username: str, password: str) -> Client:
        async with gate:
            return await login(base_url, username, password, timeout)

    results = await asyncio.gather(*(one(u, p) for u, p in credentials), return_exceptions=True)
    clients = [r for r in results if isinstance(r, Client)]
    failures = [r for r in results if not isinstance(r, Client)]
    if failures:
        await close_all(clients)
        if not isinstance(failures[0], Exception):
            raise failures[0]
        raise LoadError(f"{len(failures)} of {len(results)} logins failed; first: {failures[0]}") \
            from failures[0]
    return clients


async def close_all(clients: Iterable[Client]) -> None:
    """Close every client's connection."""
    await asyncio.gather(*(c.close() for c in clients))


def _expect(status: int, body: bytes, allowed: Collection[int], what: str) -> None:
    if status not in allowed:
        raise LoadError(f"{what}: HTTP {status}, body {_excerpt(body)}")


def _excerpt(body: bytes) -> str:
    return repr(body[:_EXCERPT]) + ("…" if len(body) > _EXCERPT else "")


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no complete response within {timeout:g} s"
    if isinstance(exc, asyncio.IncompleteReadError):
        if not exc.partial:
            return "connection closed by the server before any response byte " \
                   "(the request may have been processed; not retried)"
        return f"connection closed mid-response after {len(exc.partial)} bytes {_excerpt(exc.partial)}"
    return f"{type(exc).__name__}: {exc}"


# -- the timed run ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadResult:
    """Figures over every request of a run, all of which answered the expected status."""

    requests: int
    seconds: float  # wall time of the measured window
    throughput: float  # requests / seconds
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    cpu_seconds: float  # time.process_time() delta: the whole client process
    thread_cpu_seconds: float  # the event loop's thread alone (the part that is really the client)
    clients: int
    reconnects: int
    latencies: list[float] = field(repr=False)  # seconds, in completion order

    @property
    def cpu_share(self) -> float:
        """Fraction of one core the client process used during the window."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures without the raw latencies, for JSON reports."""
        return {"requests": self.requests, "seconds": self.seconds, "throughput": self.throughput,
                "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "p99_ms": self.p99_ms,
                "max_ms": self.max_ms, "statuses": dict(self.statuses), "cpu_seconds": self.cpu_seconds,
                "thread_cpu_seconds": self.thread_cpu_seconds, "cpu_share": self.cpu_share,
                "clients": self.clients, "reconnects": self.reconnects}


class _Run:
    """State shared by the workers of one run (one event loop, so no locks)."""

    def __init__(self, clients: int, total: int | None, deadline: float | None) -> None:
        self.total, self.deadline = total, deadline
        self.issued = 0
        self.completed = 0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.failures: list[Exception] = []
        # What each client has in flight, for the watchdog: send time (0.0 when idle), request, number.
        self.sent_at = [0.0] * clients
        self.current: list[RequestSpec | None] = [None] * clients
        self.number = [0] * clients

    def claim(self) -> bool:
        """May one more request start?  Counted before sending, so a total is exact."""
        if self.total is not None:
            if self.issued >= self.total:
                return False
        elif time.perf_counter() >= self.deadline:
            return False
        self.issued += 1
        return True


async def run_load(clients: list[Client], make_request: MakeRequest, duration_seconds: float | None = None,
                   total_requests: int | None = None, expect_status: int | Collection[int] = 201,
                   timeout: float = 30.0, rate: float | None = None) -> LoadResult:
    """Drive every client until the time or the count is used up; raise on any failure.

    Give exactly one of ``duration_seconds`` (no request starts after it; those in flight finish)
    or ``total_requests`` (exactly that many, shared by the clients).  ``make_request(client, n)``
    gives that client's n-th request.  ``timeout`` bounds each request from send to last byte; it is
    enforced by a watchdog that looks every ``min(timeout / 4, 0.5)`` s, so it fires a little late.

    Without ``rate`` the clients send back to back (a closed loop: the server's saturation, where a
    latency is mostly the wait behind the other clients).  With ``rate`` (requests per second, all
    clients together) each client sends on a fixed schedule, staggered, and a latency counts from
    when its request was due, so a server that falls behind shows it (no coordinated omission).
    """
    if (duration_seconds is None) == (total_requests is None):
        raise ValueError("give exactly one of duration_seconds and total_requests")
    if not clients:
        raise ValueError("no clients")
    expected = frozenset((expect_status,) if isinstance(expect_status, int) else expect_status)
    await _connect_all(clients, timeout)  # connecting is not part of the measured window
    reconnects_before = sum(c.reconnects for c in clients)
    cpu0, thread0, started = time.process_time(), time.thread_time(), time.perf_counter()
    run = _Run(len(clients), total_requests, None if duration_seconds is None else started + duration_seconds)
    interval = len(clients) / rate if rate else None
    tasks = [asyncio.create_task(_worker(run, c, i, make_request, expected, timeout,
                                         _schedule(started, interval, i, len(clients))))
             for i, c in enumerate(clients)]
    watchdog = asyncio.create_task(_watchdog(run, tasks, timeout))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:  # on a failure (or our own cancellation) stop the others; their connections are dropped
        for task in (*tasks, watchdog):
            task.cancel()
        await asyncio.gather(*tasks, watchdog, return_exceptions=True)
    seconds = time.perf_counter() - started
    cpu, thread_cpu = time.process_time() - cpu0, time.thread_time() - thread0
    _raise_first_failure(tasks, run)
    return _result(run, seconds, cpu, thread_cpu, len(clients),
                   sum(c.reconnects for c in clients) - reconnects_before)


async def _connect_all(clients: list[Client], timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(c.connect() for c in clients))
    except OSError as exc:  # includes TimeoutError
        await close_all(clients)
        raise LoadError(f"could not connect all {len(clients)} clients: {_describe(exc, timeout)}") from exc


async def _watchdog(run: _Run, tasks: list[asyncio.Task[None]], timeout: float) -> None:
    # One timer for the whole run instead of one per request: a per-request asyncio.timeout costs
    # about a tenth of the client's CPU.  A hung request fails the run, so all workers are stopped.
    interval = min(timeout / 4, 0.5)
    sent_at = run.sent_at
    while True:
        await asyncio.sleep(interval)
        limit = time.perf_counter() - timeout
        for index, sent in enumerate(sent_at):
            if sent and sent < limit:
                method, path = run.current[index][:2]
                run.failures.append(LoadError(
                    f"{method} {path} (client {index}, its request {run.number[index]}): no complete "
                    f"response within {timeout:g} s; {run.completed} requests had completed", run.completed))
                for task in tasks:
                    task.cancel()
                return


def _schedule(started: float, interval: float | None, index: int,
              clients: int) -> Callable[[int], float] | None:
    """When a paced client's n-th request is due (None: send as soon as the last one ends)."""
    if interval is None:
        return None
    first = started + interval * index / clients
    return lambda n: first + n * interval


async def _worker(run: _Run, client: Client, index: int, make_request: MakeRequest,
                  expected: frozenset[int], timeout: float, due: Callable[[int], float] | None) -> None:
    try:
        await _requests(run, client, index, make_request, expected, timeout, due)
    except Exception as exc:
        run.failures.append(exc)  # in the order they happened, so the first cause is reported
        raise


async def _requests(run: _Run, client: Client, index: int, make_request: MakeRequest,
                    expected: frozenset[int], timeout: float, due: Callable[[int], float] | None) -> None:
    # The hot loop: locals bound once, nothing formatted unless something fails.
    latencies, statuses, clock, exchange = run.latencies, run.statuses, time.perf_counter, client.exchange
    sent_at, current, number = run.sent_at, run.current, run.number
    n = 0
    while True:
        if due is not None and due(n) > clock():
            await asyncio.sleep(due(n) - clock())
        if not run.claim():
            break
        spec = make_request(client, n)
        method, path, headers, body = spec
        data = client.build(method, path, headers, body)
        current[index], number[index] = spec, n
        sent_at[index] = clock()
        started = due(n) if due is not None else sent_at[index]
        try:
            status, payload = await exchange(data, method == "HEAD")
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as exc:
            # IncompleteReadError is an EOFError.
            raise LoadError(f"{method} {path} (client {index}, its request {n}): {_describe(exc, timeout)}; "
                            f"{run.completed} requests had completed", run.completed) from exc
        elapsed = clock() - started
        sent_at[index] = 0.0
        if status not in expected:
            raise LoadError(f"{method} {path} (client {index}, its request {n}): HTTP {status} "
                            f"(expected {'/'.join(map(str, sorted(expected)))}), body {_excerpt(payload)}; "
                            f"{run.completed} requests had completed", run.completed)
        latencies.append(elapsed)
        statuses[status] = statuses.get(status, 0) + 1
        run.completed += 1
        n += 1


def _raise_first_failure(tasks: list[asyncio.Task[None]], run: _Run) -> None:
    if run.failures:
        first = run.failures[0]
        if isinstance(first, LoadError):
            raise first
        raise LoadError(f"run failed after {run.completed} completed requests: "
                        f"{type(first).__name__}: {first}", run.completed) from first
    if any(t.cancelled() for t in tasks):  # someone else cancelled a worker: its requests are missing
        raise LoadError(f"a client was cancelled; {run.completed} requests had completed", run.completed)
    # Belt and braces: every claimed request must have completed, and a total must be met.
    if run.completed != run.issued or (run.total is not None and run.completed != run.total):
        raise LoadError(f"{run.completed} requests completed but {run.issued} were sent "
                        f"(asked for {run.total})", run.completed)
    if run.completed == 0:
        raise LoadError("no request completed within the duration")


def _result(run: _Run, seconds: float, cpu: float, thread_cpu: float, clients: int,
            reconnects: int) -> LoadResult:
    ordered = sorted(run.latencies)
    return LoadResult(
        requests=run.completed, seconds=seconds, throughput=run.completed / seconds,
        p50_ms=percentile(ordered, 50) * 1000, p95_ms=percentile(ordered, 95) * 1000,
        p99_ms=percentile(ordered, 99) * 1000, max_ms=ordered[-1] * 1000,
        statuses=dict(run.statuses), cpu_seconds=cpu, thread_cpu_seconds=thread_cpu,
        clients=clients, reconnects=reconnects, latencies=run.latencies)


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list: a latency some request really had."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- static asset rate --------------------------------------------------------------------------

async def run_static(base_url: str, path: str = "/static/app.css", clients: int = 8,
                     duration_seconds: float | None = 5.0, total_requests: int | None = None,
                     expect_status: int = 200, timeout: float = 30.0) -> LoadResult:
    """The same server's rate on one static URL with anonymous keep-alive clients (the ratio's base)."""
    connections: list[Client] = []
    try:
        for _ in range(clients):
            connections.append(await connect(base_url))
        spec: RequestSpec = ("GET", path, None, b"")
        return await run_load(connections, lambda client, n: spec, duration_seconds, total_requests,
                              expect_status, timeout)
    finally:
        await close_all(connections)


# -- sync wrappers ------------------------------------------------------------------------------

def measure_logged_in(base_url: str, credentials: Iterable[tuple[str, str]], make_request: MakeRequest,
                      duration_seconds: float | None = None, total_requests: int | None = None,
                      expect_status: int | Collection[int] = 201, timeout: float = 30.0,
                      rate: float | None = None) -> LoadResult:
    """Log the users in, run the load, close: one call on a fresh event loop (logins are not timed)."""

    async def main() -> LoadResult:
        clients = await login_all(base_url, credentials, timeout)
        try:
            return await run_load(clients, make_request, duration_seconds, total_requests,
                                  expect_status, timeout, rate)
        finally:
            await close_all(clients)

    return asyncio.run(main())


def measure_static(base_url: str, path: str = "/static/app.css", clients: int = 8,
                   duration_seconds: float | None = 5.0, total_requests: int | None = None,
                   expect_status: int = 200, timeout: float = 30.0) -> LoadResult:
    """:func:`run_static` on a fresh event loop."""
    return asyncio.run(run_static(base_url, path, clients, duration_seconds, total_requests,
                                  expect_status, timeout))


def main() -> None:
    """Quick check of a server's rate on one URL."""
    parser = argparse.ArgumentParser(description="GET one URL with keep-alive clients and report the rate")
    parser.add_argument("url", help="http://host:port/path")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--expect", type=int, default=200)
    args = parser.parse_args()
    parts = urllib.parse.urlsplit(args.url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    result = measure_static(f"{parts.scheme}://{parts.netloc}", path or "/", args.clients,
                            args.seconds, expect_status=args.expect)
    print(json.dumps(result.as_dict(), indent=2))


if __name__ == "__main__":
    main()
