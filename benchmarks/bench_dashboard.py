"""How long the district coverage dashboard (/s/) takes through the real server.

The dashboard needs a coverage row per village.  Rows are derived from whole
village files and reused until a file changes, so the first view after start
parses every village (forced here by touching every file), later views parse
none, and a view after a submission parses one.  Prints the figures; asserts
nothing.

    .venv/bin/python benchmarks/bench_dashboard.py --households 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_submissions import Client  # noqa: E402
from live_server import running_server  # noqa: E402

from survey_app import demo, grid  # noqa: E402
from survey_app.store import Store  # noqa: E402


def timed_get(client: Client, path: str, expect: str = "入户登记进度") -> float:
    started = time.perf_counter()
    with client.opener.open(client.base + path) as response:
        page = response.read().decode()
    elapsed = time.perf_counter() - started
    if expect not in page:
        raise SystemExit(f"{path} did not show the dashboard: {page[:200]!r}")
    return elapsed


def run(households: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        demo.load(Store(data), households_per_village=households)
        store = Store(data)
        villages = [v["code"] for v in grid.load(store).villages]
        persons = sum(len(store.read(Store.village(v)).all("persons")) for v in villages)
        megabytes = sum(store.path(Store.village(v)).stat().st_size for v in villages) / 2**20
        with running_server(data, threads=4) as base:
            admin = Client(base, "admin")  # logging in lands on /s/ once already
            for village in villages:  # as if every village had changed since: all parsed again
                os.utime(store.path(Store.village(village)))
            cold = timed_get(admin, "/s/")
            warm = [timed_get(admin, "/s/") for _ in range(repeat)]
            enumerator = Client(base, f"e{villages[0][-6:]}")
            after_write = []
            for n in range(repeat):
                enumerator.submit(f"{villages[0]}.{n % households + 1}")
                after_write.append(timed_get(admin, "/s/"))
    print(f"villages={len(villages)} persons={persons} village files={megabytes:.1f} MB")
    print(f"first view (parses every village) = {cold * 1000:.0f} ms "
          f"= {cold * 1000 / len(villages):.1f} ms per village")
    print(f"later views p50 = {statistics.median(warm) * 1000:.0f} ms "
          f"max = {max(warm) * 1000:.0f} ms")
    print(f"view after one submission p50 = {statistics.median(after_write) * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=300, help="roster households per village")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    run(args.households, args.repeat)
