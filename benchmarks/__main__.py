"""One benchmark of the whole product at seed 002's scale, on the file store and on PostgreSQL.

    .venv/bin/python -m benchmarks                 # 606,974 people, both backends (about 25 min)
    .venv/bin/python -m benchmarks --backend files # one backend
    .venv/bin/python -m benchmarks --quick         # a small city in under a minute (run by the tests)

Everything goes through the product's own interfaces: ``canbao grid import``,
``canbao roster import``, accounts through ``users.add_user``, submissions and
pages through ``canbao serve`` over HTTP, ``canbao backup``.  Prints a table
and writes it as JSON (``--json``).  Any failed request, a wrong status or a
count that does not match what was loaded stops the run with an error: no
figure is ever given for less than what was asked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import loadgen  # noqa: E402
import proctree  # noqa: E402
import seed002  # noqa: E402
from helpers import answers  # noqa: E402
from live_server import server_process  # noqa: E402

from survey_app import coverage, grid, users  # noqa: E402
from survey_app.store import open_location  # noqa: E402

PASSWORD = "bench-password-2016"
TARGET_RATE = 200  # submissions a second the 50 clients must sustain together, with p95 within 150 ms
TARGETS = {  # name: (limit, "max" when the figure must stay at or below it, "min" at or above)
    "roster_import_s": (120, "max"),
    "submissions_per_s": (TARGET_RATE, "min"),
    "submission_p95_ms": (150, "max"),
    "cost_ratio_full_to_small": (1.5, "max"),
    "dashboard_city_ms": (200, "max"),
    "dashboard_district_ms": (200, "max"),
    "dashboard_township_ms": (200, "max"),
    "dashboard_village_ms": (200, "max"),
    "export_district_csv_s": (60, "max"),
    "export_district_xlsx_peak_mb": (300, "max"),
}


class BenchmarkError(RuntimeError):
    """The run could not measure what it was asked to: the message says what went wrong."""


@dataclass
class Plan:
    quick: bool
    clients: int
    seconds: float
    small_seconds: float
    static_seconds: float
    scale: float
    counties: int
    target_rate: float = TARGET_RATE


@dataclass
class Report:
    backend: str
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, **figures: Any) -> None:
        self.figures.update(figures)
        for name, value in figures.items():
            print(f"  {name:<34} {value}", flush=True)


# -- the city -----------------------------------------------------------------------------------
def build_city(plan: Plan, folder: Path) -> list[seed002.County]:
    counties = seed002.plan(plan.scale, plan.counties)
    started = time.monotonic()
    seed002.write_files(folder, counties)
    villages = sum(len(c.villages) for c in counties)
    print(f"dataset: {sum(c.persons for c in counties):,} people, {villages:,} villages, "
          f"written in {time.monotonic() - started:.1f} s")
    return counties


def canbao(environment: dict[str, str], *args: str, timeout: float = 3600) -> str:
    result = subprocess.run([sys.executable, "-m", "survey_app.cli", *args], capture_output=True,
                            text=True, env={**os.environ, **environment}, timeout=timeout, cwd=ROOT)
    if result.returncode != 0:
        raise BenchmarkError(f"canbao {' '.join(args[:2])} failed ({result.returncode}): "
                             f"{result.stderr.strip()[-2000:]}")
    return result.stdout


@dataclass
class Accounts:
    enumerators: list[tuple[str, str]]       # (username, village)
    city: str
    district: str
    township: str
    village: str                              # the township's village whose page is timed


def create_accounts(location: str, counties: list[seed002.County], clients: int) -> Accounts:
    """Enumerators of villages spread over the whole city, and one administrator per level."""
    store = open_location(location)
    loaded = grid.load(store)
    villages = [v for c in counties for v in c.villages]
    step = max(1, len(villages) // clients)
    chosen = villages[::step][:clients]
    if len(chosen) < clients:
        raise BenchmarkError(f"only {len(villages)} villages for {clients} clients")
    enumerators = []
    for village in chosen:
        name = f"e{village.code}"
        users.add_user(store, loaded, username=name, password=PASSWORD, role="enumerator",
                       area=[village.code])
        enumerators.append((name, village.code))
    biggest = counties[0]
    township = biggest.townships[0]
    plan = [("city", "city_admin", seed002.CITY[0]), ("district", "district_admin", biggest.code),
            ("township", "township_staff", township.code)]
    for username, role, area in plan:
        users.add_user(store, loaded, username=username, password=PASSWORD, role=role, area=[area])
    store.close()
    return Accounts(enumerators, "city", "district", "township", township.villages[0].code)


# -- submissions ----------------------------------------------------------------------------------
class Submissions:
    """Request bodies for new people: valid ID numbers that neither the roster nor an earlier
    phase used (``ids`` is shared between phases), in households of the client's village."""

    def __init__(self, households: dict[str, int], ids: dict[str, seed002.IdNumbers], seed: int = 7):
        self.households = households
        self.rng = random.Random(seed)
        self.ids = ids

    def body(self, village: str) -> bytes:
        county = village[:6]
        source = self.ids.setdefault(county, seed002.IdNumbers(county, self.rng, first_sequence=250))
        born = dt.date(1950, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 60 * 365))
        male = self.rng.random() < 0.5
        number = source.next(born, male)
        household = f"{village}.{self.rng.randint(1, self.households[village])}"
        payload = {"uuid": str(_uuid4(self.rng)), "household": household,
                   **answers(id_number=number, sex="male" if male else "female",
                             hukou_address="测试地址1组1号", residence="测试地址1组1号")}
        return json.dumps(payload, ensure_ascii=False).encode()

    def make_request(self, client: loadgen.Client, _n: int) -> loadgen.RequestSpec:
        return "POST", "/api/v1/submissions", client.api_headers, self.body(client.villages[0])


def _uuid4(rng: random.Random):
    import uuid
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def measure_submissions(base: str, pid: int, accounts: Accounts, submissions: Submissions,
                        seconds: float, rate: float | None = None) -> dict[str, Any]:
    """All clients at once, back to back (``rate`` None: the server's saturation), or together
    at ``rate`` submissions a second, each latency counted from when the request was due."""
    credentials = [(name, PASSWORD) for name, _village in accounts.enumerators]
    cpu_before = proctree.cpu_seconds(pid)
    result = loadgen.measure_logged_in(base, credentials, submissions.make_request,
                                       duration_seconds=seconds, expect_status=201, timeout=60, rate=rate)
    cpu = proctree.cpu_seconds(pid) - cpu_before
    return {"requests": result.requests, "throughput": round(result.throughput, 1),
            "p50_ms": round(result.p50_ms, 1), "p95_ms": round(result.p95_ms, 1),
            "p99_ms": round(result.p99_ms, 1), "max_ms": round(result.max_ms, 1),
            "server_cpu_ms_per_submission": round(cpu * 1000 / result.requests, 2),
            "client_cpu_share": round(result.cpu_share, 2)}


def create_households(base: str, accounts: Accounts) -> dict[str, int]:
    """One household per benchmark village, through the API, for the small-store phase."""
    async def run() -> dict[str, int]:
        found = {}
        clients = await loadgen.login_all(base, [(n, PASSWORD) for n, _v in accounts.enumerators])
        try:
            def make(client: loadgen.Client, n: int) -> loadgen.RequestSpec:
                body = json.dumps({"uuid": str(_uuid4(random.Random(client.villages[0]))),
                                   "head_name": "张家户", "address": "测试地址1组1号",
                                   "members_count": 3}, ensure_ascii=False).encode()
                return "POST", f"/api/v1/villages/{client.villages[0]}/households", client.api_headers, body
            await loadgen.run_load(clients, make, total_requests=len(clients), expect_status=(200, 201))
            for client in clients:
                found[client.villages[0]] = 1
        finally:
            await loadgen.close_all(clients)
        return found
    import asyncio
    return asyncio.run(run())


# -- pages and files -----------------------------------------------------------------------------
def timed_pages(base: str, username: str, path: str, repeat: int, expect: bytes) -> dict[str, float]:
    """The first view of a page, then the median and worst of ``repeat`` more, for one user."""
    import asyncio

    async def run() -> dict[str, float]:
        client = await loadgen.login(base, username, PASSWORD)
        try:
            first = await loadgen.run_load([client], lambda c, n: ("GET", path, None, b""),
                                           total_requests=1, expect_status=200, timeout=120)
            later = await loadgen.run_load([client], lambda c, n: ("GET", path, None, b""),
                                           total_requests=repeat, expect_status=200, timeout=120)
            _status, page = await client.request("GET", path)
        finally:
            await loadgen.close_all([client])
        if expect not in page:
            raise BenchmarkError(f"{path} as {username} did not show {expect.decode()!r}")
        return {"first_ms": round(first.max_ms, 1), "p50_ms": round(later.p50_ms, 1),
                "max_ms": round(later.max_ms, 1)}
    return asyncio.run(run())


def timed_export(base: str, pid: int, username: str, path: str, rows: int) -> dict[str, float]:
    """Download one export whole; the row count must equal the people of the area."""
    import asyncio

    async def run() -> tuple[float, int, bytes]:
        client = await loadgen.login(base, username, PASSWORD)
        try:
            started = time.perf_counter()
            status, body = await asyncio.wait_for(client.request("GET", path), 1800)
            return time.perf_counter() - started, status, body
        finally:
            await loadgen.close_all([client])

    seconds, status, body = asyncio.run(run())
    if status != 200:
        raise BenchmarkError(f"{path}: HTTP {status}: {body[:200]!r}")
    found = (body.count(b"\r\n") if path.endswith(".csv") else _xlsx_rows(body)) - 1  # less the header
    if found != rows:
        raise BenchmarkError(f"{path} held {found} rows, the area has {rows} people")
    return {"seconds": round(seconds, 1), "rows": found, "megabytes": round(len(body) / 2**20, 1),
            "server_peak_mb": proctree.memory(pid).peak_mb}


def _xlsx_rows(content: bytes) -> int:
    import io
    import re
    import zipfile
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml")
    return len(re.findall(rb"<row[ >]", sheet))


# -- one backend ------------------------------------------------------------------------------------
def run_backend(backend: str, plan: Plan, counties: list[seed002.County], dataset: Path,
                work: Path) -> Report:
    report = Report(backend)
    print(f"\n== {backend} ==", flush=True)
    database = None
    if backend == "postgres":
        from pg_server import PgServer
        database = PgServer(options="").start()  # durable: fsync on, as in production
        location = database.new_database()
        environment = {"CANBAO_DATABASE_URL": location}
    else:
        location = str(work / f"data-{backend}")
        environment = {"CANBAO_DATA": location}
    try:
        _run_phases(report, plan, counties, dataset, work, location, environment)
    finally:
        if database:
            database.stop()
    return report


def disk_fsync_ms(folder: Path, appends: int = 200) -> float:
    """What an appended line's fsync costs on this disk now: the file store pays it four times a
    submission, so a slow or busy disk shows in every figure after it."""
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        started = time.perf_counter()
        for _ in range(appends):
            os.write(fd, b"x" * 600 + b"\n")
            os.fsync(fd)
        return round((time.perf_counter() - started) * 1000 / appends, 3)
    finally:
        os.close(fd)
        path.unlink()


def _run_phases(report: Report, plan: Plan, counties: list[seed002.County], dataset: Path, work: Path,
                location: str, environment: dict[str, str]) -> None:
    report.add(disk_fsync_ms=disk_fsync_ms(work))
    canbao(environment, "grid", "import", str(dataset / "city.yaml"))
    accounts = create_accounts(location, counties, plan.clients)
    # A small store: the grid, the accounts and one household per benchmark village.
    ids: dict[str, seed002.IdNumbers] = {}
    with server_process(location, environment=environment) as (base, server):
        households = create_households(base, accounts)
        small = measure_submissions(base, server.pid, accounts, Submissions(households, ids),
                                    plan.small_seconds)
    report.add(small_store=small)
    started = time.monotonic()
    canbao(environment, "roster", "import", *map(str, seed002.roster_files(dataset)))
    report.add(roster_import_s=round(time.monotonic() - started, 1),
               roster_persons=sum(c.persons for c in counties))
    sizes = {v.code: v.households for c in counties for v in c.villages}
    with server_process(location, environment=environment) as (base, server):
        static = loadgen.measure_static(base, "/static/app.css", clients=plan.clients,
                                        duration_seconds=plan.static_seconds)
        full = measure_submissions(base, server.pid, accounts, Submissions(sizes, ids, seed=11),
                                   plan.seconds)
        paced = measure_submissions(base, server.pid, accounts, Submissions(sizes, ids, seed=13),
                                    plan.seconds, rate=plan.target_rate)
        memory = proctree.memory(server.pid)
        report.add(static_per_s=round(static.throughput, 1), full_store=full, at_target_rate=paced,
                   submissions_per_s=full["throughput"], submission_p95_ms=paced["p95_ms"],
                   saturated_p95_ms=full["p95_ms"],
                   submissions_to_static=round(full["throughput"] / static.throughput, 3),
                   cost_ratio_full_to_small=round(full["server_cpu_ms_per_submission"]
                                                  / small["server_cpu_ms_per_submission"], 2),
                   server_rss_mb=memory.rss_mb, server_largest_process_mb=memory.largest_mb)
        _dashboards(report, base, accounts)
    _exports(report, location, environment, counties)
    snapshot = work / f"backup-{report.backend}"
    started = time.monotonic()
    canbao(environment, "backup", "--to", str(snapshot))
    size = sum(p.stat().st_size for p in snapshot.rglob("*") if p.is_file()) / 2**20
    report.add(backup_s=round(time.monotonic() - started, 1), backup_mb=round(size, 1))


def _dashboards(report: Report, base: str, accounts: Accounts) -> None:
    expect = "入户登记进度".encode()
    views = {"city": (accounts.city, "/s/"), "district": (accounts.district, "/s/"),
             "township": (accounts.township, "/s/")}
    for level, (username, path) in views.items():
        timing = timed_pages(base, username, path, 20, expect)
        report.add(**{f"dashboard_{level}": timing, f"dashboard_{level}_ms": timing["p50_ms"]})
    village = timed_pages(base, accounts.township, f"/s/v/{accounts.village}", 20, "已登记".encode())
    report.add(dashboard_village=village, dashboard_village_ms=village["p50_ms"])


def _exports(report: Report, location: str, environment: dict[str, str],
             counties: list[seed002.County]) -> None:
    """The district's export on a fresh one-worker server, so its peak memory is the export's."""
    store = open_location(location)
    district = counties[0].code
    people = coverage.unit_row(store, grid.load(store), district)["persons_expected"]
    store.close()
    for kind in ("csv", "xlsx"):
        with server_process(location, workers=1, environment=environment) as (base, server):
            figures = timed_export(base, server.pid, "district", f"/s/export.{kind}", people)
        report.add(**{f"export_district_{kind}": figures, f"export_district_{kind}_s": figures["seconds"],
                      f"export_district_{kind}_peak_mb": figures["server_peak_mb"]})


# -- the table ---------------------------------------------------------------------------------------
def verdicts(figures: dict[str, Any]) -> dict[str, str]:
    found = {}
    for name, (limit, kind) in TARGETS.items():
        value = figures.get(name)
        if value is None:
            continue
        ok = value <= limit if kind == "max" else value >= limit
        found[name] = f"{'ok' if ok else 'MISSED'} ({'≤' if kind == 'max' else '≥'} {limit})"
    return found


def print_table(reports: list[Report]) -> None:
    names = [*TARGETS, "saturated_p95_ms", "static_per_s", "submissions_to_static", "disk_fsync_ms",
             "server_rss_mb", "server_largest_process_mb", "backup_s", "backup_mb"]
    print("\n" + f"{'figure':<34}" + "".join(f"{r.backend:>24}" for r in reports) + "   target")
    for name in names:
        cells = "".join(f"{str(r.figures.get(name, '—')):>24}" for r in reports)
        limit, kind = TARGETS.get(name, (None, ""))
        bound = '' if limit is None else ('≤ ' if kind == 'max' else '≥ ') + str(limit)
        print(f"{name:<34}{cells}   {bound}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small city in under a minute (CI)")
    parser.add_argument("--backend", choices=("files", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="length of the full-store load")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "seed002.json")
    parser.add_argument("--work", type=Path, default=None,
                        help="where the temporary data folder goes (default: the system's)")
    args = parser.parse_args(argv)
    plan = Plan(quick=True, clients=args.clients or 8, seconds=args.seconds or 2, small_seconds=1.5,
                static_seconds=1, scale=0.02, counties=3, target_rate=40) if args.quick else \
        Plan(quick=False, clients=args.clients or 50, seconds=args.seconds or 60, small_seconds=20,
             static_seconds=10, scale=1.0, counties=12)
    backends = ["files", "postgres"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="canbao-bench-", dir=args.work) as tmp:
        work = Path(tmp)
        counties = build_city(plan, work / "dataset")
        reports = [run_backend(b, plan, counties, work / "dataset", work) for b in backends]
    print_table(reports)
    result = {"when": dt.datetime.now().isoformat(timespec="seconds"), "quick": plan.quick,
              "plan": plan.__dict__, "targets": TARGETS,
              "backends": {r.backend: {"figures": r.figures, "verdicts": verdicts(r.figures)}
                           for r in reports}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
