"""Submissions per second and latency through the real server, on a city of any size.

    .venv/bin/python benchmarks/bench_submissions.py --clients 50 --seconds 30 --scale 0.1
    .venv/bin/python benchmarks/bench_submissions.py --backend postgres --rate 200

A part of ``python -m benchmarks`` on its own: builds seed 002's city at
``--scale`` (1.0: 606,974 people) through ``canbao grid import`` and
``canbao roster import``, logs in one enumerator per village for ``--clients``
villages spread over the city, and sends new registrations for ``--seconds``:
back to back, or paced at ``--rate`` submissions a second in all.  More
clients than villages, or any failed request, stops it with an error: no
figure is printed for less than was asked.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.__main__ import (  # noqa: E402
    Submissions,
    canbao,
    create_accounts,
    measure_submissions,
    seed002,
    server_process,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--scale", type=float, default=0.1, help="share of seed 002's 606,974 people")
    parser.add_argument("--rate", type=float, default=None, help="submissions a second, all clients together")
    parser.add_argument("--backend", choices=("files", "postgres"), default="files")
    parser.add_argument("--workers", type=int, default=None, help="server worker processes (default: cores)")
    args = parser.parse_args()
    counties = seed002.plan(args.scale)
    with tempfile.TemporaryDirectory(prefix="canbao-bench-") as tmp:
        work = Path(tmp)
        seed002.write_files(work / "dataset", counties)
        database = None
        if args.backend == "postgres":
            from pg_server import PgServer
            database = PgServer(options="").start()
            location = database.new_database()
            environment = {"CANBAO_DATABASE_URL": location}
        else:
            location = str(work / "data")
            environment = {"CANBAO_DATA": location}
        try:
            canbao(environment, "grid", "import", str(work / "dataset" / "city.yaml"))
            canbao(environment, "roster", "import", *map(str, seed002.roster_files(work / "dataset")))
            accounts = create_accounts(location, counties, args.clients)
            sizes = {v.code: v.households for c in counties for v in c.villages}
            server = server_process(location, workers=args.workers or 0, environment=environment)
            with server as (base, process):
                figures = measure_submissions(base, process.pid, accounts, Submissions(sizes, {}),
                                              args.seconds, rate=args.rate)
        finally:
            if database:
                database.stop()
    print(f"{args.backend}: {sum(c.persons for c in counties):,} people, {args.clients} clients, "
          f"{'paced at ' + str(args.rate) + '/s' if args.rate else 'back to back'}, {args.seconds:g} s")
    for name, value in figures.items():
        print(f"  {name:<30} {value}")


if __name__ == "__main__":
    main()
