"""The benchmark load generator against a real local HTTP/1.1 server that mimics canbao's login and API.

The point of these tests is the failure rule: a run that met an error status, a broken connection or a
hung request must raise, never return a figure over fewer or failed requests.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import loadgen  # noqa: E402
from loadgen import Client, LoadError  # noqa: E402

PASSWORD = "secret"
CSS = b"body { color: #222; }\n" * 40


class FakeApp(http.server.ThreadingHTTPServer):
    """Login form with CSRF, session cookies, and a submissions API whose n-th answer can misbehave."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.sessions: dict[str, dict] = {}  # cookie value -> {"csrf": ..., "user": ...}
        self.submissions = 0  # POSTs to /api/v1/submissions received
        self.accepted = 0  # of which answered 201
        self.misbehave: dict[int, str] = {}  # submission number (1-based) -> what to do instead
        self.close_every = 0  # answer "Connection: close" after every n-th submission
        self.release = threading.Event()  # lets a "hang" handler finish at teardown
        self.errors: list[BaseException | None] = []  # unexpected exceptions in handlers

    def handle_error(self, request: object, client_address: object) -> None:
        # The client aborts its connections when a run fails, so the server may meet a reset;
        # anything else is a bug in this fake, which the fixture turns into a test failure.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            self.errors.append(error)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def new_session(self, user: str | None) -> str:
        key = secrets.token_hex(8)
        with self.lock:
            self.sessions[key] = {"csrf": secrets.token_hex(8), "user": user}
        return key


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive when the answer has a Content-Length
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: FakeApp

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def _session(self) -> tuple[str | None, dict | None]:
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "session" and value in self.server.sessions:
                return value, self.server.sessions[value]
        return None, None

    def _answer(self, status: int, body: bytes = b"", content_type: str = "text/html",
                headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        key, session = self._session()
        if self.path == "/login":
            if session is None:
                key = self.server.new_session(None)
                session = self.server.sessions[key]
            page = (f'<form method="post"><input type="hidden" name="csrf_token" value="{session["csrf"]}">'
                    '<input name="username"></form>').encode()
            self._answer(200, page, headers={"Set-Cookie": f"session={key}; HttpOnly; Path=/"})
        elif self.path == "/api/v1/session" and session and session["user"]:
            body = {"csrf_token": session["csrf"], "villages": ["370403001001"],
                    "username": session["user"], "role": "enumerator"}
            self._answer(200, json.dumps(body).encode(), "application/json")
        elif self.path == "/static/app.css":
            self._answer(200, CSS, "text/css")
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n")
        else:
            self._answer(404, b"not found")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key, session = self._session()
        if self.path == "/login":
            form = urllib.parse.parse_qs(body.decode())
            if session is None or form.get("csrf_token") != [session["csrf"]]:
                self._answer(400, b"CSRF token missing or wrong")
            elif form.get("password") != [PASSWORD]:
                self._answer(401, b"wrong password")
            else:  # a fresh session on login, as Flask-Login does
                key = self.server.new_session(form["username"][0])
                self._answer(302, headers={"Location": "/", "Set-Cookie": f"session={key}; Path=/"})
        elif self.path == "/api/v1/submissions":
            self._submission(session, body)
        else:
            self._answer(404, b"not found")

    def _submission(self, session: dict | None, body: bytes) -> None:
        if not session or not session["user"] or self.headers.get("X-CSRFToken") != session["csrf"]:
            self._answer(403, b'{"error": "csrf"}', "application/json")
            return
        if self.headers.get("Content-Type") != "application/json":
            self._answer(415, b"json only")
            return
        json.loads(body)
        with self.server.lock:
            self.server.submissions += 1
            number = self.server.submissions
        action = self.server.misbehave.get(number)
        if action in ("500", "409"):
            self._answer(int(action), b'{"error": "boom %d"}' % number, "application/json")
        elif action == "cut":  # promise 100 bytes, send 10, close
            self.wfile.write(b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n0123456789")
            self.close_connection = True
        elif action == "drop":  # close without a byte of answer
            self.close_connection = True
        elif action == "hang":
            self.server.release.wait(10)
            self.close_connection = True
        else:
            with self.server.lock:
                self.server.accepted += 1
            close = self.server.close_every and number % self.server.close_every == 0
            self._answer(201, b'{"uuid": "x"}', "application/json",
                         {"Connection": "close"} if close else None)
            if close:
                self.close_connection = True


@pytest.fixture
def app() -> Iterator[FakeApp]:
    server = FakeApp()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
    assert not server.errors


def submission(client: Client, n: int) -> loadgen.RequestSpec:
    body = json.dumps({"village": client.villages[0], "household": f"{client.username}.{n}"}).encode()
    return "POST", "/api/v1/submissions", client.api_headers, body


async def _run(app: FakeApp, users: int, **kwargs) -> loadgen.LoadResult:
    clients = await loadgen.login_all(app.base, [(f"e{i:06d}", PASSWORD) for i in range(users)])
    try:
        return await loadgen.run_load(clients, submission, **kwargs)
    finally:
        await loadgen.close_all(clients)


def test_login_reads_session(app: FakeApp) -> None:
    async def main() -> Client:
        client = await loadgen.login(app.base, "e001001", PASSWORD)
        await client.close()
        return client

    client = asyncio.run(main())
    assert client.username == "e001001" and client.role == "enumerator"
    assert client.villages == ["370403001001"]
    assert client.api_headers["X-CSRFToken"] == client.csrf_token != ""
    # The cookie after login is the new session, not the anonymous one from GET /login.
    assert app.sessions[client.cookies["session"]]["user"] == "e001001"


def test_wrong_password_raises(app: FakeApp) -> None:
    with pytest.raises(LoadError, match="login of e001001: HTTP 401.*wrong password"):
        asyncio.run(loadgen.login(app.base, "e001001", "nope"))


def test_exact_total(app: FakeApp) -> None:
    result = asyncio.run(_run(app, 3, total_requests=45))
    assert result.requests == len(result.latencies) == 45
    assert result.statuses == {201: 45}
    assert app.submissions == app.accepted == 45  # the server saw exactly as many, all accepted
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms
    assert result.max_ms == max(result.latencies) * 1000
    assert result.throughput == pytest.approx(45 / result.seconds)
    assert result.clients == 3 and result.reconnects == 0
    assert result.cpu_seconds >= result.thread_cpu_seconds >= 0
    assert set(result.as_dict()) >= {"requests", "throughput", "p99_ms", "statuses", "cpu_seconds"}


def test_duration_stops_in_time(app: FakeApp) -> None:
    result = asyncio.run(_run(app, 4, duration_seconds=0.3))
    assert 0.3 <= result.seconds < 0.8
    assert result.requests == app.accepted == app.submissions > 4
    assert result.statuses == {201: result.requests}


def test_paced_clients_send_at_the_rate_asked(app: FakeApp) -> None:
    """At 40 requests/s over 5 clients, one second gives about 40 requests, not the server's limit."""
    result = asyncio.run(_run(app, 5, duration_seconds=1.0, rate=40))
    assert 36 <= result.requests <= 45
    assert result.requests == app.accepted
    assert result.p50_ms < 200  # the fake answers at once: only the time since each was due counts


@pytest.mark.parametrize("status", ["500", "409"])
def test_error_status_on_seventh_request_raises(app: FakeApp, status: str) -> None:
    app.misbehave[7] = status
    with pytest.raises(LoadError, match=f"HTTP {status} .*boom 7.*6 requests had completed") as caught:
        asyncio.run(_run(app, 1, total_requests=20))
    assert caught.value.completed == 6


def test_error_status_with_many_clients_raises(app: FakeApp) -> None:
    app.misbehave[7] = "500"
    with pytest.raises(LoadError, match="HTTP 500") as caught:
        asyncio.run(_run(app, 5, duration_seconds=5))
    # The 7th request the server saw failed; up to four others may still have been in flight.
    assert 7 - 5 <= caught.value.completed < app.submissions


def test_connection_cut_mid_response_raises(app: FakeApp) -> None:
    app.misbehave[4] = "cut"
    with pytest.raises(LoadError, match="closed mid-response after 10 bytes.*3 requests had completed"):
        asyncio.run(_run(app, 1, total_requests=10))


def test_connection_closed_before_answer_raises_without_retry(app: FakeApp) -> None:
    app.misbehave[4] = "drop"
    with pytest.raises(LoadError, match="before any response byte.*not retried"):
        asyncio.run(_run(app, 1, total_requests=10))
    assert app.submissions == 4  # the dropped request was not sent again


def test_hung_request_times_out(app: FakeApp) -> None:
    app.misbehave[3] = "hang"
    started = time.perf_counter()
    with pytest.raises(LoadError, match="no complete response within 0.2 s"):
        asyncio.run(_run(app, 2, total_requests=10, timeout=0.2))
    assert time.perf_counter() - started < 2


def test_server_closing_between_requests_reconnects(app: FakeApp) -> None:
    app.close_every = 5
    result = asyncio.run(_run(app, 2, total_requests=30))
    assert result.requests == app.accepted == 30
    assert result.reconnects == 5  # after submissions 5, 10, 15, 20, 25 (30 was the last)


def test_chunked_body(app: FakeApp) -> None:
    async def main() -> list[tuple[int, bytes]]:
        client = await loadgen.connect(app.base)
        try:  # the second answer shows the stream is still in step after the chunked one
            return [await client.request("GET", "/chunked"), await client.request("GET", "/static/app.css")]
        finally:
            await client.close()

    assert asyncio.run(main()) == [(200, b"hello, world"), (200, CSS)]


def test_static_rate(app: FakeApp) -> None:
    result = loadgen.measure_static(app.base, "/static/app.css", clients=4, duration_seconds=0.2)
    assert result.requests > 4 and result.statuses == {200: result.requests}
    assert result.clients == 4
    with pytest.raises(LoadError, match="HTTP 404"):
        loadgen.measure_static(app.base, "/static/missing.css", clients=2, duration_seconds=0.2)


def test_sync_wrapper_and_arguments(app: FakeApp) -> None:
    result = loadgen.measure_logged_in(app.base, [("a", PASSWORD), ("b", PASSWORD)], submission,
                                       total_requests=7)
    assert result.requests == app.accepted == 7
    with pytest.raises(ValueError, match="exactly one"):
        asyncio.run(loadgen.run_load([Client("127.0.0.1", 1)], submission))
    with pytest.raises(ValueError, match="http://host:port"):
        Client.for_url("https://example.org")
