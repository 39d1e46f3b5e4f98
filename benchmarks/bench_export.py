"""Streamed exports through the real server: time to first byte, total time, workers' peak memory.

Builds a district of N villages of M persons (roster records carrying a full
set of answers, so rows are as wide as real ones), starts ``canbao serve``
and downloads the district's 个人基础信息汇总表 as CSV and as XLSX.  One
village is exported first: the workers' peak resident memory (VmHWM of the
gunicorn master's children) after it and after the whole district should be
about the same, however large N × M.  Fails loudly on any status but 200, on
a file that is not the export, or on a row count other than what was loaded;
otherwise prints the figures and asserts nothing about them.

    .venv/bin/python benchmarks/bench_export.py --villages 50 --persons 300
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.cookiejar
import os
import re
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from live_server import running_server  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from survey_app import grid, roster_load, users  # noqa: E402
from survey_app.store import LocalStore  # noqa: E402

DISTRICT = "370403"
VILLAGES_PER_TOWNSHIP = 20
PASSWORD = "river-lantern-export-47"  # passes the password policy (no user name in it)
PERSONS_PER_HOUSE = 3
CHUNK = 256 * 1024


class BenchFailure(RuntimeError):
    """The export answered wrongly: the figures would mean nothing."""


# -- data ---------------------------------------------------------------------------------
def id_number(serial: int) -> str:
    """A valid, distinct ID number for each serial (1,000 a day from 1950, both sexes)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=serial // 1000)
    body = f"{DISTRICT}{born:%Y%m%d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def build(data: Path, villages: int, persons: int) -> list[str]:
    store = LocalStore(data)
    units = [{"code": DISTRICT, "level": "district", "name": "测试区", "parent": None, "contacts": []}]
    codes = []
    for n in range(villages):
        township = f"{DISTRICT}{n // VILLAGES_PER_TOWNSHIP + 1:03d}"
        if n % VILLAGES_PER_TOWNSHIP == 0:
            units.append({"code": township, "level": "township", "name": f"第{township[-3:]}镇",
                          "parent": DISTRICT, "contacts": []})
        code = f"{township}{n % VILLAGES_PER_TOWNSHIP + 1:03d}"
        codes.append(code)
        units.append({"code": code, "level": "village", "name": f"第{n + 1}村", "parent": township,
                      "contacts": []})
    grid.save(store, grid.validate_units(units))
    loaded = grid.load(store)
    users.add_user(store, loaded, username="bench", password=PASSWORD, role="district_admin",
                   area=[DISTRICT])
    serial = 0
    rosters = {}
    for code in codes:
        houses = []
        for house in range((persons + PERSONS_PER_HOUSE - 1) // PERSONS_PER_HOUSE):
            size = min(PERSONS_PER_HOUSE, persons - house * PERSONS_PER_HOUSE)
            members = []
            for member in range(size):
                number = id_number(serial)
                serial += 1
                members.append(answers(number, member))
            houses.append({"head_name": members[0]["name"], "members_count": size,
                           "address": f"{code[-3:]}村{house % 9 + 1}组{house}号",
                           "phone": "13912345678", "members": members})
        rosters[code] = houses
    roster_load.import_rosters(store, rosters)
    store.close()
    return codes


def answers(number: str, member: int) -> dict:
    male = int(number[16]) % 2 == 1
    return {"name": "王" + "秀英建国志强"[member % 6], "id_number": number,
            "sex": "male" if male else "female",
            "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}", "ethnicity": "01",
            "phone": "13912345678", "relationship": "head" if member == 0 else "child",
            "hukou_type": "local_rural", "hukou_address": "临山村2组8号", "residence": "临山村2组8号",
            "person_category": "general", "resident_pension": "enrolled", "resident_medical": "enrolled",
            "employee_pension": "not_enrolled", "employee_medical": "not_enrolled",
            "pension_tier": "300", "payment_channel": "alipay", "remark": "常年在外务工，电话联系"}


# -- the server ----------------------------------------------------------------------------
def login(base: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "csrf_token": token}).encode()
    with opener.open(f"{base}/login", data=data) as response:
        if not response.url.rstrip("/").endswith("/s"):
            raise BenchFailure(f"login failed: landed on {response.url}")
    return opener


def workers_peak_kib(server_pid: int) -> dict[int, int]:
    """VmHWM (peak resident set) of each worker: the children of the gunicorn master."""
    peaks = {}
    for child in children(server_pid):
        status = Path(f"/proc/{child}/status").read_text()
        peaks[child] = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))
    if not peaks:
        raise BenchFailure(f"no worker processes under the server (pid {server_pid})")
    return peaks


def peaks(server: int) -> str:
    return ", ".join(f"{pid}: {kib / 1024:.1f} MB" for pid, kib in sorted(workers_peak_kib(server).items()))


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def server_pid() -> int:
    """The ``canbao serve`` process running_server started: our only child running survey_app.cli."""
    for pid in children(os.getpid()):
        if b"survey_app.cli" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise BenchFailure("the server process was not found")


def download(opener, url: str, suffix: str, target: Path) -> tuple[float, float, int]:
    """(seconds to the first body byte, seconds in all, bytes); raises on anything but the export."""
    started = time.perf_counter()
    with opener.open(url) as response:
        if response.status != 200 or response.url != url:
            raise BenchFailure(f"{url}: status {response.status}, ended at {response.url}")
        kind = response.headers.get("Content-Type", "")
        if ("text/csv" if suffix == "csv" else "spreadsheetml") not in kind:
            raise BenchFailure(f"{url}: Content-Type {kind!r} is not the export")
        first = response.read(1)
        first_byte = time.perf_counter() - started
        size = len(first)
        with target.open("wb") as out:
            out.write(first)
            while piece := response.read(CHUNK):
                out.write(piece)
                size += len(piece)
    return first_byte, time.perf_counter() - started, size


def count_rows(path: Path, suffix: str) -> int:
    """Data rows (the header not counted), every row checked to have the header's width."""
    if suffix == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            width = len(next(reader))
            rows = 0
            for row in reader:
                if len(row) != width:
                    raise BenchFailure(f"{path.name}: row {rows + 2} has {len(row)} cells, not {width}")
                rows += 1
        return rows
    with zipfile.ZipFile(path) as package:
        bad = package.testzip()
        if bad:
            raise BenchFailure(f"{path.name}: damaged part {bad}")
    book = load_workbook(path, read_only=True)
    rows = sum(1 for _ in book.active.iter_rows(min_row=2, values_only=True))
    book.close()
    return rows


def run(villages: int, persons: int, workers: int, threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        started = time.perf_counter()
        codes = build(data, villages, persons)
        built = time.perf_counter() - started
        megabytes = sum(f.stat().st_size for f in (data / "villages").rglob("*") if f.is_file()) / 2**20
        print(f"villages={villages} persons/village={persons} rows={villages * persons} "
              f"village files={megabytes:.1f} MB (built in {built:.1f} s)")
        with running_server(data, workers=workers, threads=threads) as base:
            opener = login(base)
            pid = server_pid()
            print(f"server pid {pid}; workers' peak RSS after login: {peaks(pid)}")
            for suffix in ("csv", "xlsx"):
                for label, path, expected in (("one village", f"/s/v/{codes[0]}/export.{suffix}", persons),
                                              ("district", f"/s/export.{suffix}", villages * persons)):
                    target = Path(tmp) / f"export.{suffix}"
                    first_byte, total, size = download(opener, base + path, suffix, target)
                    rows = count_rows(target, suffix)
                    if rows != expected:
                        raise BenchFailure(f"{path}: {rows} rows, {expected} were loaded")
                    print(f"{suffix:4} {label:11} rows={rows:>8} size={size / 2**20:7.1f} MB  "
                          f"first byte={first_byte * 1000:6.0f} ms  total={total:6.2f} s  "
                          f"({rows / total:,.0f} rows/s)  workers' peak RSS: {peaks(pid)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=50)
    parser.add_argument("--persons", type=int, default=300, help="persons per village")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    run(args.villages, args.persons, args.workers, args.threads)
