"""The storage guarantees: no lost writes across processes, no torn files, no silent resets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from survey_app import create_app
from survey_app.storage import CorruptShard, Store

WORKER = Path(__file__).with_name("storage_worker.py")
VILLAGES = ["370403001001", "370403001002", "370403002001"]


def registered(store: Store) -> list[dict]:
    return [p for code in store.village_codes_on_disk()
            for p in store.read(Store.village(code)).all("persons") if p["status"] == "registered"]


def start_worker(data_dir: Path, worker: int, count: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.Popen([sys.executable, str(WORKER), str(data_dir), str(worker), str(count),
                             *VILLAGES], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def every_file_parses(store: Store) -> None:
    for path in store.data_files():
        json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_parallel_writers_lose_nothing(data_dir):
    store = Store(data_dir)
    before = len(registered(store))
    processes, per_worker = 4, 25
    workers = [start_worker(data_dir, w, per_worker) for w in range(processes)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    acked = [line.split() for out, _ in outputs for line in out.splitlines()]
    assert len(acked) == processes * per_worker
    every_file_parses(store)
    people = registered(store)
    assert len(people) == before + processes * per_worker
    assert len({p["answers"]["id_number"] for p in people}) == len(people)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [3, 17, 40])
def test_sigkill_mid_write_keeps_files_whole_and_acknowledged_records(data_dir, kill_after):
    store = Store(data_dir)
    writer = start_worker(data_dir, 7, 500)
    acked = []
    for line in writer.stdout:
        acked.append(line.split())
        if len(acked) >= kill_after:
            writer.send_signal(signal.SIGKILL)  # lands while the next write is under way
            break
    writer.wait(timeout=30)
    acked += [line.split() for line in writer.stdout.read().splitlines() if line.startswith("ACK")]
    assert writer.returncode == -signal.SIGKILL
    store.check()
    every_file_parses(store)
    by_id = {p["answers"]["id_number"] for p in registered(store)}
    for _ack, ref, number in acked:
        village, doc_id = ref.split(".")
        record = store.read(Store.village(village)).get("persons", int(doc_id))
        assert record is not None and record["answers"]["id_number"] == number
        assert number in by_id


def test_atomic_write_leaves_no_temporary_files(data_dir):
    store = Store(data_dir)
    with store.transaction(Store.SYSTEM) as shards:
        shards[Store.SYSTEM].insert("notes", {"text": "参保"})
    assert not list(data_dir.glob(".*.tmp"))
    assert "参保" in (data_dir / Store.SYSTEM).read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_corrupt_file_stops_start_up_and_is_left_untouched(tmp_path, data_dir):
    broken = data_dir / "villages" / "370403001001.json"
    broken.write_text('{"persons": {"1": {"name": "张', encoding="utf-8")
    before = broken.read_bytes()
    with pytest.raises(CorruptShard) as err:
        create_app({"DATA": str(data_dir), "SECRET_KEY": "x"})
    assert str(broken) in str(err.value)
    assert broken.read_bytes() == before


def test_corrupt_file_stops_cli_with_a_message_naming_it(data_dir):
    broken = data_dir / "grid.json"
    broken.write_text("not json", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "survey_app.cli", "check"], capture_output=True,
                            text=True, env={**os.environ, "CANBAO_DATA": str(data_dir)}, timeout=60)
    assert result.returncode == 2
    assert "grid.json" in result.stderr and "损坏" in result.stderr
    assert broken.read_text(encoding="utf-8") == "not json"


@pytest.mark.slow
def test_backup_while_writing_is_consistent(data_dir):
    store = Store(data_dir)
    writer = start_worker(data_dir, 3, 60)
    time.sleep(0.5)
    snapshot = store.backup(data_dir.parent / "backups")
    writer.communicate(timeout=120)
    copy = Store(snapshot)
    assert copy.check() > 0
    for person in registered(copy):
        number = person["answers"]["id_number"]
        entry = copy.read(Store.index("idnum", number)).find_one("entries", key=number)
        assert entry is not None, "a person in the snapshot lost its index entry"


def test_backup_waits_for_a_transaction_that_creates_a_new_shard(data_dir):
    """The CI failure of 2026-11-21: a snapshot listed its files, then a writer
    created a new index bucket, and the copy held a person without its index."""
    store = Store(data_dir)
    village, bucket = Store.village(VILLAGES[0]), "index/fresh/00.json"
    inside, snapshots = threading.Event(), []

    def backup_once_writer_is_inside():
        inside.wait(timeout=10)
        snapshots.append(store.backup(data_dir.parent / "backups"))

    backup = threading.Thread(target=backup_once_writer_is_inside)
    backup.start()
    with store.transaction(village, bucket) as shards:
        shards[bucket].insert("entries", {"key": "k", "record": "r"})
        shards[village].insert("notes", {"text": "与索引同时写入"})
        inside.set()
        time.sleep(0.3)  # the backup is now waiting on the gate, not copying
    backup.join(timeout=30)
    copy = Store(snapshots[0])
    assert copy.read(bucket).find_one("entries", key="k") is not None
    assert copy.read(village).all("notes")


def test_a_nested_transaction_does_not_deadlock_with_a_waiting_backup(data_dir):
    store = Store(data_dir)
    outer, inner = Store.village(VILLAGES[0]), Store.village(VILLAGES[1])
    inside, snapshots = threading.Event(), []
    backup = threading.Thread(target=lambda: (inside.wait(timeout=10), snapshots.append(
        store.backup(data_dir.parent / "backups"))))
    backup.start()
    started = time.monotonic()
    with store.transaction(outer) as shards:
        shards[outer].insert("notes", {"text": "外层"})
        inside.set()
        time.sleep(0.3)  # the backup now holds the turnstile, waiting for the gate
        with store.transaction(inner) as nested:
            nested[inner].insert("notes", {"text": "内层"})
    backup.join(timeout=30)
    assert time.monotonic() - started < 10  # not the 30 s lock timeout
    copy = Store(snapshots[0])
    assert copy.read(outer).all("notes") and copy.read(inner).all("notes")
