"""The store's guarantees, on both backends: no lost writes across processes, no torn
records, no stale reads, consistent backups, and a write whose cost is the change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tinydb import Query, TinyDB

from survey_app import create_app
from survey_app.store import CorruptShard, LocalStore, Store, StoreFormatError, journal, open_location
from survey_app.store.tinydb_storage import ShardStorage

WORKER = Path(__file__).with_name("storage_worker.py")
VILLAGES = ["370403001001", "370403001002", "370403002001"]


def registered(store: Store) -> list[dict]:
    return [p for code in store.village_codes()
            for p in store.read(Store.village(code)).all("persons") if p["status"] == "registered"]


def start_worker(store: Store, worker: int, count: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.Popen([sys.executable, str(WORKER), store.location, str(worker), str(count),
                             *VILLAGES], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


# -- the guarantees under real processes ----------------------------------------------------------
@pytest.mark.slow
def test_parallel_writers_lose_nothing(any_store):
    before = len(registered(any_store))
    processes, per_worker = 4, 25
    workers = [start_worker(any_store, w, per_worker) for w in range(processes)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    acked = [line.split() for out, _ in outputs for line in out.splitlines()]
    assert len(acked) == processes * per_worker
    assert any_store.check() == len(any_store.names())
    people = registered(any_store)
    assert len(people) == before + processes * per_worker
    assert len({p["answers"]["id_number"] for p in people}) == len(people)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [3, 17, 40])
def test_sigkill_mid_write_keeps_every_acknowledged_record(any_store, kill_after):
    writer = start_worker(any_store, 7, 500)
    acked = []
    for line in writer.stdout:
        acked.append(line.split())
        if len(acked) >= kill_after:
            writer.send_signal(signal.SIGKILL)  # lands while the next write is under way
            break
    writer.wait(timeout=30)
    acked += [line.split() for line in writer.stdout.read().splitlines() if line.startswith("ACK")]
    assert writer.returncode == -signal.SIGKILL
    reopened = open_location(any_store.location)  # as a restarted server would
    reopened.recover()
    reopened.check()
    by_id = {p["answers"]["id_number"] for p in registered(reopened)}
    for _ack, ref, number in acked:
        village, doc_id = ref.split(".")
        record = reopened.read(Store.village(village)).get("persons", int(doc_id))
        assert record is not None and record["answers"]["id_number"] == number
        assert number in by_id
        entry = reopened.read(Store.index("idnum", number)).find_one("entries", key=number)
        assert entry == {**entry, "village": village, "person": int(doc_id)}
    reopened.close()


@pytest.mark.slow
def test_backup_while_writing_is_consistent(any_store, tmp_path):
    writer = start_worker(any_store, 3, 60)
    time.sleep(0.5)
    snapshot = any_store.backup(tmp_path / "backups")
    writer.communicate(timeout=120)
    copy = LocalStore(snapshot)
    assert copy.check() > 0
    for person in registered(copy):
        number = person["answers"]["id_number"]
        entry = copy.read(Store.index("idnum", number)).find_one("entries", key=number)
        assert entry is not None, "a person in the snapshot lost its index entry"


def test_a_backup_sees_a_transaction_whole(any_store, tmp_path):
    """A snapshot taken while a transaction writes a new index shard and a village holds both
    or neither (the CI failure of 2026-11-21 held a person without its index entry)."""
    village, bucket = Store.village(VILLAGES[0]), "index/fresh/00"
    inside, snapshots = threading.Event(), []

    def backup_once_writer_is_inside():
        inside.wait(timeout=10)
        snapshots.append(any_store.backup(tmp_path / "backups"))

    backup = threading.Thread(target=backup_once_writer_is_inside)
    backup.start()
    with any_store.transaction(village, bucket) as shards:
        shards[bucket].insert("entries", {"key": "k", "record": "r"})
        shards[village].insert("notes", {"text": "与索引同时写入"})
        inside.set()
        time.sleep(0.3)  # the backup is now waiting on the gate (files) or reading a snapshot
    backup.join(timeout=30)
    copy = LocalStore(snapshots[0])
    has_entry = copy.read(bucket).find_one("entries", key="k") is not None
    has_note = bool(copy.read(village).all("notes"))
    assert has_entry == has_note
    if isinstance(any_store, LocalStore):
        assert has_entry  # the file store's backup waited for the transaction


def test_a_nested_transaction_does_not_deadlock_with_a_waiting_backup(data_dir, tmp_path):
    store = LocalStore(data_dir)
    outer, inner = Store.village(VILLAGES[0]), Store.village(VILLAGES[1])
    inside, snapshots = threading.Event(), []
    backup = threading.Thread(target=lambda: (inside.wait(timeout=10), snapshots.append(
        store.backup(tmp_path / "backups"))))
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
    copy = LocalStore(snapshots[0])
    assert copy.read(outer).all("notes") and copy.read(inner).all("notes")


# -- the shard interface, the same on both backends ------------------------------------------------
def test_a_transaction_that_raises_writes_nothing(any_store):
    name = Store.village(VILLAGES[0])
    before = any_store.fingerprint(name)
    raw = any_store.raw(name) if isinstance(any_store, LocalStore) else None
    with pytest.raises(RuntimeError), any_store.transaction(name) as shards:
        shards[name].insert("notes", {"text": "不应写入"})
        raise RuntimeError("boom")
    assert any_store.fingerprint(name) == before
    if raw is not None:
        assert any_store.raw(name) == raw  # not a byte appended
    assert any_store.read(name).all("notes") == []


def test_shard_operations(any_store):
    name = "system"
    with any_store.transaction(name) as shards:
        shard = shards[name]
        first = shard.insert("t", {"k": "a", "n": 1, "tags": ["x", "y"]})
        second = shard.insert("t", {"k": "b", "n": 2})
        shard.upsert("t", {"n": 10}, k="a")              # merge into the match
        shard.upsert("t", {"k": "c", "n": 3}, k="c")      # no match: insert
        shard.upsert_by_key("t", [{"k": "b", "n": 20}], key="k")
        assert shard.find("t", k="a")[0]["n"] == 10       # reads see the transaction's own writes
        assert shard.find("t", tags=["x"]) == []          # equality, not containment
        assert shard.find("t", missing=None) == []        # a missing field never matches
    view = any_store.read(name)
    assert [(r["doc_id"], r["k"], r["n"]) for r in view.all("t")] == [(first, "a", 10), (second, "b", 20),
                                                                       (3, "c", 3)]
    assert view.get("t", first)["tags"] == ["x", "y"] and view.count("t") == 3 and "t" in view.tables()
    with any_store.transaction(name) as shards:
        shards[name].remove("t", k="b")
        shards[name].update("t", first, {"n": 11})
    assert [r["k"] for r in any_store.read(name).find("t", n=11)] == ["a"]
    assert any_store.read(name).find_one("t", k="b") is None


def test_bulk_reads_see_committed_and_uncommitted_records(any_store):
    name = "system"
    with any_store.transaction(name) as shards:
        shards[name].insert_many("t", [{"k": "a", "g": 1}, {"k": "b", "g": 2}, {"k": "c", "g": 1}])
    with any_store.transaction(name) as shards:
        shard = shards[name]
        shard.insert("t", {"k": "d", "g": 1})
        shard.update("t", 2, {"g": 1})             # b moves into group 1 within the transaction
        shard.remove("t", k="c")
        assert [r["k"] for r in shard.find_any("t", "g", [1, 5])] == ["a", "b", "d"]
        assert [r["k"] for r in shard.find_any("t", "k", ["a", "zz"])] == ["a"]
        assert sorted(shard.get_many("t", [1, 3, 4, 99])) == [1, 4]
    assert [r["k"] for r in any_store.read(name).find_any("t", "g", [1])] == ["a", "b", "d"]
    assert list(any_store.read(name).get_many("t", [2])) == [2]


def test_reads_are_copies(any_store):
    name = "system"
    with any_store.transaction(name) as shards:
        shards[name].insert("t", {"nested": {"a": 1}})
    got = any_store.read(name).all("t")[0]
    got["nested"]["a"] = 999
    assert any_store.read(name).all("t")[0]["nested"] == {"a": 1}


def test_changes_are_tracked_for_tracked_tables(any_store):
    name = Store.village(VILLAGES[0])
    with any_store.transaction(name) as shards:
        shard = shards[name]
        shard.track("persons")
        first = shard.all("persons")[0]
        shard.update("persons", first["doc_id"], {"status": "registered"})
        new_id = shard.insert("persons", {"household": 1, "status": "expected", "answers": {}})
        changes = {doc_id: (before, after) for doc_id, before, after in shard.changes("persons")}
    assert changes[first["doc_id"]][0]["status"] == first["status"]
    assert changes[first["doc_id"]][1]["status"] == "registered"
    assert changes[new_id][0] is None and changes[new_id][1]["household"] == 1


def test_another_process_sees_every_write(any_store):
    """Two handles with their own caches, as two server processes: no stale read, ever."""
    other = open_location(any_store.location)
    name = Store.village(VILLAGES[0])
    assert len(other.read(name).all("persons")) == len(any_store.read(name).all("persons"))
    for n in range(40):  # enough to fold the journal into a new base more than once
        with any_store.transaction(name) as shards:
            shards[name].insert("notes", {"n": n, "text": "记录" * 400})
        assert other.read(name).count("notes") == n + 1
    with other.transaction(name) as shards:
        shards[name].insert("notes", {"n": 40})
    assert any_store.read(name).find_one("notes", n=40) is not None
    other.close()


def test_tinydb_opens_any_shard(any_store):
    """TinyDB's own API over a shard: its queries, and writes that keep the store's guarantees."""
    name = Store.village(VILLAGES[0])
    db = TinyDB(storage=ShardStorage, store=any_store, name=name)
    people = db.table("persons").search(Query().status == "expected")
    assert len(people) == len(any_store.read(name).find("persons", status="expected")) > 0
    db.table("notes").insert({"text": "经由 TinyDB 写入"})
    assert any_store.read(name).find_one("notes", text="经由 TinyDB 写入") is not None
    assert len(db.table("persons")) == any_store.read(name).count("persons")


def test_a_snapshot_restores_into_either_backend(any_store, tmp_path, pg_server):
    snapshot = LocalStore(any_store.backup(tmp_path / "b"))
    into_files = LocalStore(tmp_path / "restored")
    into_database = open_location(pg_server.new_database())
    for target in (into_files, into_database):
        assert target.load_records(snapshot.records()) > 0
        assert target.fingerprints() == any_store.fingerprints()
        name = Store.village(VILLAGES[0])
        with target.transaction(name) as shards:  # new ids continue after the restored ones
            new_id = shards[name].insert("persons", {"household": 1, "status": "expected", "answers": {}})
        assert new_id == len(any_store.read(name).all("persons")) + 1
    into_database.close()


# -- the file store: what is written, and what a crash or damage leaves --------------------------
def test_a_write_appends_only_the_change(tmp_path):
    """The cost of a write does not grow with the village: a small and a big one append the same."""
    store = LocalStore(tmp_path / "d")
    appended = {}
    for village, size in (("370403001001", 10), ("370403001002", 5000)):
        name = Store.village(village)
        with store.transaction(name) as shards:
            shards[name].insert_many("persons", [{"household": i, "answers": {"name": "张三"}}
                                                 for i in range(size)])
        store._current(name, locked=False)  # as after any read
        files = store.files(name)
        before = files.journal.stat().st_size + (files.base.stat().st_size if files.base.exists() else 0)
        with store.transaction(name) as shards:
            shards[name].insert("persons", {"household": 1, "answers": {"name": "李四"}})
        after = files.journal.stat().st_size + (files.base.stat().st_size if files.base.exists() else 0)
        appended[size] = after - before
    assert appended[10] < 200
    assert appended[5000] - appended[10] == len("5001") - len("11")  # only the longer id differs


def test_compaction_folds_the_journal_into_a_readable_base(tmp_path):
    store = LocalStore(tmp_path / "d")
    name = Store.village(VILLAGES[0])
    for n in range(120):
        with store.transaction(name) as shards:
            shards[name].insert("persons", {"household": n,
                                            "answers": {"name": "王秀英", "note": "x" * 3000}})
    files = store.files(name)
    base = files.base.read_text(encoding="utf-8")
    assert "王秀英" in base and "\\u" not in base  # readable UTF-8
    assert base.startswith('{\n"_canbao": {"1": {"generation": ')
    assert files.journal.stat().st_size < journal.COMPACT_MIN_BYTES + 10_000
    assert LocalStore(tmp_path / "d").read(name).count("persons") == 120
    assert not list(files.base.parent.glob(".*.tmp"))


def test_a_torn_last_line_is_cut_and_kept_aside(data_dir):
    store = LocalStore(data_dir)
    name = Store.village(VILLAGES[0])
    persons = store.read(name).count("persons")
    with open(store.files(name).journal, "ab") as handle:
        handle.write(b'0badf00d [["p","persons",999,{"answers":')  # a crash mid-append
    assert LocalStore(data_dir).read(name).count("persons") == persons  # readers skip it
    repaired = LocalStore(data_dir).recover()
    assert repaired == [name]
    kept = list((data_dir / "recovered").iterdir())
    assert len(kept) == 1 and b'"answers":' in kept[0].read_bytes()
    with store.transaction(name) as shards:
        shards[name].insert("notes", {"text": "修复后写入"})
    fresh = LocalStore(data_dir)
    assert fresh.check() and fresh.read(name).count("persons") == persons


def test_damage_inside_the_journal_is_refused_and_left_untouched(data_dir):
    store = LocalStore(data_dir)
    name = Store.village(VILLAGES[0])
    for n in range(3):
        with store.transaction(name) as shards:
            shards[name].insert("notes", {"n": n})
    path = store.files(name).journal
    lines = path.read_bytes().split(b"\n")
    first_note = next(i for i, line in enumerate(lines) if b'"n":0' in line)
    lines[first_note] = lines[first_note].replace(b'"n":0', b'"n":7')  # its checksum no longer matches
    path.write_bytes(b"\n".join(lines))
    damaged = path.read_bytes()
    fresh = LocalStore(data_dir)
    with pytest.raises(CorruptShard) as err:
        fresh.read(name)
    assert str(path) in str(err.value)
    with pytest.raises(CorruptShard):
        with fresh.transaction(name) as shards:
            shards[name].insert("notes", {"n": 9})
    assert path.read_bytes() == damaged


def test_a_damaged_base_stops_start_up_and_is_left_untouched(data_dir):
    store = LocalStore(data_dir)
    name = Store.village(VILLAGES[0])
    with store.transaction(name) as shards:
        shards[name].insert("notes", {"text": "x" * 300_000})  # enough to fold into a base
    broken = store.files(name).base
    broken.write_text('{"persons": {"1": {"name": "张', encoding="utf-8")
    before = broken.read_bytes()
    with pytest.raises(CorruptShard) as err:
        create_app({"DATA": str(data_dir), "SECRET_KEY": "x"})
    assert str(broken) in str(err.value)
    assert broken.read_bytes() == before


def test_start_up_does_not_parse_every_file_but_check_does(data_dir):
    """Start-up looks at each shard's ends only; the full check reads everything."""
    store = LocalStore(data_dir)
    name = Store.village(VILLAGES[0])
    with store.transaction(name) as shards:
        shards[name].insert("notes", {"text": "x" * 300_000})
    base = store.files(name).base
    raw = bytearray(base.read_bytes())
    middle = raw.index(b"xxxx")
    raw[middle:middle + 4] = b"yyyy"  # same length: only a full read can tell
    base.write_bytes(bytes(raw))
    assert LocalStore(data_dir).recover() == []
    with pytest.raises(CorruptShard):
        LocalStore(data_dir).check()


def test_corrupt_file_stops_cli_with_a_message_naming_it(data_dir):
    broken = data_dir / "grid.jsonl"
    broken.write_text("not json", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "survey_app.cli", "check"], capture_output=True,
                            text=True, env={**os.environ, "CANBAO_DATA": str(data_dir)}, timeout=60)
    assert result.returncode == 2
    assert "grid.jsonl" in result.stderr and "损坏" in result.stderr
    assert broken.read_text(encoding="utf-8") == "not json"


def test_a_folder_of_the_old_format_is_refused_with_what_to_do(tmp_path):
    old = tmp_path / "old"
    (old / "villages").mkdir(parents=True)
    (old / "grid.json").write_text('{"units": {}}', encoding="utf-8")
    with pytest.raises(StoreFormatError) as err:
        LocalStore(old)
    assert "canbao migrate" in str(err.value)
