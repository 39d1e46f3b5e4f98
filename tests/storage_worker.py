"""A writer process for the storage tests: registers people and acknowledges each on stdout.

Run as ``python tests/storage_worker.py LOCATION WORKER COUNT VILLAGE [VILLAGE ...]``, where
LOCATION is a data folder or a PostgreSQL URL.
A line ``ACK <ref> <id_number>`` is printed only after submit() returned, so
every acknowledged record must survive anything that happens afterwards.
"""

from __future__ import annotations

import sys
import uuid

from stdnum.cn import ric

from survey_app import formdef, registry
from survey_app.settings import defaults
from survey_app.store import open_location


def person_answers(worker: int, sequence: int) -> dict:
    body = f"370403{1940 + worker:04d}0101{sequence % 1000:03d}"
    number = body + ric.calc_check_digit(body + "0")
    return {
        "name": "测试人员", "id_number": number, "sex": "male" if sequence % 2 else "female",
        "ethnicity": "01", "phone": "13812345678", "relationship": "other",
        "hukou_type": "local_rural", "hukou_address": "测试村1组1号", "residence": "测试村1组1号",
        "person_category": "general", "resident_pension": "other_scheme",
        "resident_medical": "other_scheme", "employee_pension": "enrolled",
        "employee_medical": "enrolled",
    }


def main(location: str, worker: int, count: int, villages: list[str]) -> None:
    store = open_location(location)
    definition = formdef.load(defaults()["FORMS_DIR"], "registration")
    scope = registry.Scope(frozenset(villages), f"worker{worker}")
    for sequence in range(count):
        village = villages[(worker + sequence) % len(villages)]
        payload = {"uuid": str(uuid.uuid4()), "household": f"{village}.1",
                   **person_answers(worker, sequence)}
        saved = registry.submit(store, scope, definition, payload)
        print("ACK", saved.ref, payload["id_number"], flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
