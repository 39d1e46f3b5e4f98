"""Benchmark: 1,000 printed forms for one village.

Targets (2-core machine): the batch in <= 90 s, <= 600 MB peak RSS for the
whole process tree, and per-page cost in the batch <= 1.2x a single page.
Run: .venv/bin/python benchmarks/bench_print_forms.py [persons]
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from survey_app import create_app, demo, documents, grid, registry, roster_load, state
from survey_app.registry import Scope
from survey_app.store import LocalStore

VILLAGE = "370403001001"


def synthetic_village(store: LocalStore, persons: int) -> None:
    """The demo grid, plus one village of ``persons`` people in households of four."""
    from faker import Faker
    fake = Faker("zh_CN")
    fake.seed_instance(1)
    grid.save(store, demo.build_units(fake))
    rng = random.Random(1)
    houses = []
    for number in range(1, persons // 4 + 1):
        members = []
        for i in range(4):
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(25000))
            male = i % 2 == 0
            members.append({"name": fake.last_name() + (fake.first_name_male() if male
                                                         else fake.first_name_female()),
                            "id_number": demo.id_number(rng, birth, male),
                            "sex": "male" if male else "female", "birth_date": birth.isoformat(),
                            "relationship": "head" if i == 0 else "child", "ethnicity": "01"})
        houses.append({"head_name": members[0]["name"], "address": f"临山村1组{number}号",
                       "members_count": 4, "members": members})
    roster_load.import_roster(store, VILLAGE, houses)


class TreeRSS:
    """Peak resident memory of this process plus its render children, sampled every 50 ms."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _tree_rss(pid: int) -> int:
    total = 0
    for p in [pid] + _children(pid):
        try:
            fields = Path(f"/proc/{p}/status").read_text().split("VmRSS:")[1].split()
            total += int(fields[0]) * 1024
        except (OSError, IndexError):
            pass
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            found += [kid] + _children(kid)
    return found


def main(persons: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data, exports = Path(tmp) / "data", Path(tmp) / "exports"
        store = LocalStore(data)
        data.mkdir()
        synthetic_village(store, persons)
        app = create_app({"SECRET_KEY": "bench", "DATA": str(data), "EXPORTS_DIR": str(exports)})
        with app.app_context():
            scope = Scope(frozenset(state.current_grid().villages_under("370403")), "bench")
            first_house = registry.households(store, scope, VILLAGE)[0]["ref"]
            documents.print_forms(scope, village=VILLAGE, household_refs=[first_house])  # warm-up
            started = time.perf_counter()
            single = documents.print_forms(scope, village=VILLAGE, household_refs=[first_house])
            single_per_page = (time.perf_counter() - started) / single.meta["pages"]
            with TreeRSS() as rss:
                started = time.perf_counter()
                batch = documents.print_forms(scope, village=VILLAGE)
                seconds = time.perf_counter() - started
        pages = batch.meta["pages"]
        per_page = seconds / pages
        print(f"persons in village      {persons}")
        print(f"batch                   {pages} pages in {seconds:.1f} s "
              f"({batch.pdf.stat().st_size / 1e6:.1f} MB PDF)")
        print(f"peak RSS (process tree) {rss.peak / 1e6:.0f} MB")
        print(f"small batch per page    {single_per_page:.3f} s ({single.meta['pages']} pages, "
              "one household: includes token issue, fork and write)")
        print(f"batch per page (wall)   {per_page:.3f} s  -> ratio {per_page / single_per_page:.2f}")
        print(f"targets: <= 90 s: {'OK' if seconds <= 90 else 'MISSED'}; "
              f"<= 600 MB: {'OK' if rss.peak <= 600e6 else 'MISSED'}; "
              f"ratio <= 1.2: {'OK' if per_page <= 1.2 * single_per_page else 'MISSED'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
