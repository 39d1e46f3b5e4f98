"""How long the portal build takes: the standard site, and a city-sized grid.

Run: .venv/bin/python benchmarks/bench_portal_build.py [--repeat N]

The large grid is one district with 50 townships of 20 villages each (1,000
villages, two contacts per unit).  The directory is one page per township, so
page count grows with townships, and no single page grows with the grid.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from survey_app.portal import build_portal  # noqa: E402
from survey_app.settings import PROJECT_ROOT  # noqa: E402

CAMPAIGN = PROJECT_ROOT / "content" / "data" / "campaign.toml"
TODAY = dt.date(2026, 11, 5)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "芳强伟敏静丽军磊洋勇艳杰娟涛明超秀霞平刚"


def names():
    for n in itertools.count():
        yield SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


def contacts(name_source, serial: int, office: bool) -> list[dict]:
    # Private mobiles are in the input, as in real data; the build must drop them.
    return [
        {
            "role": role,
            "name": next(name_source),
            "phone": f"139{serial:04d}{i:04d}",
            "office_phone": f"0632-44{serial % 100000:05d}" if office and i == 0 else "",
        }
        for i, role in enumerate(("网格长", "网格员"))
    ]


def synthetic_grid(townships: int, villages_per_township: int) -> list[dict]:
    source = names()
    serial = itertools.count()
    units = [
        {
            "code": "370403",
            "level": "district",
            "name": "样例区",
            "parent": None,
            "contacts": contacts(source, next(serial), True),
        }
    ]
    for t in range(1, townships + 1):
        town = f"370403{t:03d}"
        units.append(
            {
                "code": town,
                "level": "township",
                "name": f"第{t}镇",
                "parent": "370403",
                "contacts": contacts(source, next(serial), True),
            }
        )
        for v in range(1, villages_per_township + 1):
            units.append(
                {
                    "code": f"{town}{v:03d}",
                    "level": "village",
                    "name": f"第{t}镇{v}村",
                    "parent": town,
                    "contacts": contacts(source, next(serial), v % 3 == 0),
                }
            )
    return units


def timed_build(grid: list[dict], repeat: int) -> tuple[list[float], Path, tempfile.TemporaryDirectory]:
    scratch = tempfile.TemporaryDirectory(prefix="bench-portal-")
    out = Path(scratch.name) / "output"
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        build_portal(out, grid_units=grid, campaign_file=CAMPAIGN, today=TODAY)
        times.append(time.perf_counter() - start)
    return times, out, scratch


def report(label: str, grid: list[dict], repeat: int) -> None:
    times, out, scratch = timed_build(grid, repeat)
    with scratch:
        pages = list(out.rglob("*.html"))
        largest = max(pages, key=lambda p: p.stat().st_size)
        villages = sum(u["level"] == "village" for u in grid)
        print(
            f"{label}: {villages} villages, {len(pages)} pages | "
            f"median {statistics.median(times):.2f} s, best {min(times):.2f} s over {repeat} | "
            f"largest page {largest.relative_to(out)} {largest.stat().st_size / 1024:.1f} KB, "
            f"search.json {(out / 'search.json').stat().st_size / 1024:.1f} KB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    report("standard site", synthetic_grid(townships=3, villages_per_township=4), args.repeat)
    report("large grid   ", synthetic_grid(townships=50, villages_per_township=20), args.repeat)


if __name__ == "__main__":
    main()
