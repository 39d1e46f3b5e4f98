"""Submissions per second and latency through the real server (waitress) with concurrent clients.

Each client is an enumerator of its own village logged in over HTTP; clients
share townships, so index files are contended as in the field.  Prints the
figures; asserts nothing (targets belong in the issue note, not a unit test).

    .venv/bin/python benchmarks/bench_submissions.py --clients 8 --per-client 50
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import answers  # noqa: E402
from live_server import running_server  # noqa: E402

from survey_app import demo, grid  # noqa: E402
from survey_app.store import Store  # noqa: E402


class Client:
    def __init__(self, base: str, username: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.opener.open(f"{base}/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"username": username, "password": demo.DEMO_PASSWORD,
                                       "csrf_token": token}).encode()
        self.opener.open(f"{base}/login", data=data).read()
        session = json.loads(self.opener.open(f"{base}/api/v1/session").read())
        self.csrf, self.village = session["csrf_token"], session["villages"][0]

    def submit(self, household: str) -> tuple[float, int]:
        body = json.dumps({"uuid": str(uuid.uuid4()), "household": household,
                           **answers()}).encode()
        request = urllib.request.Request(f"{self.base}/api/v1/submissions", data=body, headers={
            "Content-Type": "application/json", "X-CSRFToken": self.csrf})
        started = time.perf_counter()
        with self.opener.open(request) as response:
            response.read()
            return time.perf_counter() - started, response.status


def run(clients: int, per_client: int, households: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        demo.load(Store(data), households_per_village=households)
        villages = [v["code"] for v in grid.load(Store(data)).villages][:clients]
        persons = sum(len(Store(data).read(Store.village(v)).all("persons")) for v in villages)
        with running_server(data, threads=8) as base:
            logins = [Client(base, f"e{code[-6:]}") for code in villages]
            latencies: list[float] = []
            statuses: list[int] = []
            lock = threading.Lock()

            def work(client: Client) -> None:
                for n in range(per_client):
                    elapsed, status = client.submit(f"{client.village}.{n % households + 1}")
                    with lock:
                        latencies.append(elapsed)
                        statuses.append(status)

            threads = [threading.Thread(target=work, args=(c,)) for c in logins]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
    latencies.sort()
    print(f"clients={clients} per_client={per_client} roster persons in those villages={persons}")
    print(f"submissions={len(latencies)} all_201={all(s == 201 for s in statuses)} wall={wall:.2f}s")
    print(f"throughput={len(latencies) / wall:.1f} submissions/s")
    print(f"latency p50={statistics.median(latencies) * 1000:.0f} ms "
          f"p95={latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms "
          f"max={latencies[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=50)
    parser.add_argument("--households", type=int, default=24, help="roster households per village")
    args = parser.parse_args()
    run(args.clients, args.per_client, args.households)
