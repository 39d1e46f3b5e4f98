"""The canbao command: user add, grid import, backup, check, demo loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from survey_app import users
from survey_app.store import LocalStore, Store


def test_user_add_then_login(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "add", "wang", "--role", "enumerator",
                                 "--area", "370403001002", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    from conftest import Auth
    assert Auth(client).login("wang", "long-enough-1").status_code == 302


def test_user_add_refuses_wrong_level_and_short_password(app):
    result = app.test_cli_runner().invoke(args=["user", "add", "li", "--role", "enumerator",
                                                "--area", "370403001", "--password", "short"])
    assert result.exit_code != 0
    assert "密码至少10位" in result.output and "不是该角色对应的层级" in result.output


def test_grid_import_reports_problems_and_exit_code(app, tmp_path):
    bad = tmp_path / "grid.csv"
    bad.write_text("层级,代码,名称,上级代码\n村,1,,9\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["grid", "import", str(bad)])
    assert result.exit_code == 1
    assert "未作任何修改" in result.output and "缺少名称" in result.output


def test_backup_writes_a_parseable_snapshot(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    snapshot = next((tmp_path / "b").iterdir())
    copy, original = LocalStore(snapshot), LocalStore(app.config["DATA"])
    assert copy.check() > 20
    assert copy.fingerprints() == original.fingerprints()
    assert copy.read(Store.village("370403001001")).count("persons") > 0


def test_check_counts_files(app):
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0 and "均完好" in result.output


def test_demo_loads_accounts_and_valid_people(tmp_path):
    from survey_app import create_app
    app = create_app({"DATA": str(tmp_path / "d"), "SECRET_KEY": "x",
                      "PORTAL_OUTPUT": str(tmp_path / "portal")})
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--households", "2"])
    assert result.exit_code == 0, result.output
    assert "admin" in result.output and "e001001" in result.output
    store = LocalStore(tmp_path / "d")
    names = {a.username for a in users.list_users(store)}
    assert {"admin", "township", "e001001", "e104003"} <= names
    from survey_app import idcard
    people = store.read(Store.village("370403001001")).all("persons")
    for person in people:
        idcard.parse(person["answers"]["id_number"])  # every demo number is valid
    assert (Path(tmp_path / "portal") / "index.html").exists()


def _write_old_format(source: LocalStore, old: Path) -> None:
    """The layout canbao 1 wrote: one JSON file per shard, 64 index buckets, sessions in users.json."""
    import hashlib
    import json
    for name in source.names():
        shard = source.read(name)
        tables = {t: {str(r.pop("doc_id")): r for r in shard.all(t)} for t in shard.tables()}
        if name.startswith(("summary/", "sessions/", "throttle/")):
            continue
        if name.startswith("index/"):
            kind = name.split("/")[1]
            for entry in tables.get("entries", {}).values():
                bucket = f"{hashlib.sha256(entry['key'].encode()).digest()[0] % 64:02d}"
                path = old / "index" / kind / f"{bucket}.json"
                data = json.loads(path.read_text()) if path.exists() else {"entries": {}}
                data["entries"][str(len(data["entries"]) + 1)] = entry
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(data, ensure_ascii=False))
            continue
        if name == "users":
            tables["sessions"] = {"1": {"token": "old", "username": "admin", "expires": 0}}
        tables.pop("summary", None)
        path = old / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(tables, ensure_ascii=False))


def test_migrate_brings_an_old_data_folder_over_and_keeps_the_old_one(demo_template, tmp_path):
    from survey_app import coverage
    source = LocalStore(demo_template)
    old = tmp_path / "data"
    _write_old_format(source, old)
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*.json")}
    env = {**os.environ, "CANBAO_DATA": str(old)}
    refused = subprocess.run([sys.executable, "-m", "survey_app.cli", "check"], capture_output=True,
                             text=True, env=env, timeout=60)
    assert refused.returncode == 2 and "canbao migrate" in refused.stderr
    done = subprocess.run([sys.executable, "-m", "survey_app.cli", "migrate"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    kept = next(tmp_path.glob("data.canbao1-*"))
    assert {p.relative_to(kept): p.read_bytes() for p in kept.rglob("*.json")} == before
    migrated = LocalStore(old)
    for name in source.names():
        if not name.startswith(("index/", "sessions/", "throttle/", "users")):
            assert migrated.fingerprint(name) == source.fingerprint(name), name
    for code in source.village_codes():
        for person in source.read(Store.village(code)).all("persons"):
            number = person["answers"]["id_number"]
            entry = migrated.read(Store.index("idnum", number)).find_one("entries", key=number)
            assert (entry["village"], entry["person"]) == (code, person["doc_id"])
    assert coverage.rebuild(migrated, migrated.village_codes(), repair=False) == []
    assert migrated.read("users").find_one("users", username="admin") is not None
    assert migrated.read("users").all("sessions") == []


def test_check_finds_and_repairs_coverage_rows_that_disagree_with_the_records(app, store):
    from survey_app import coverage
    village = "370403001001"
    with store.transaction(Store.summary(village)) as shards:
        row = shards[Store.summary(village)].get(coverage.ROWS, int(village))
        shards[Store.summary(village)].update(coverage.ROWS, int(village), {"households": 99})
    runner = app.test_cli_runner()
    found = runner.invoke(args=["check"])
    assert found.exit_code == 1 and village in found.output and "--repair" in found.output
    repaired = runner.invoke(args=["check", "--repair"])
    assert repaired.exit_code == 0 and "已按记录改正 1 个" in repaired.output
    assert coverage.village_row(store, village)["households"] == row["households"]
    assert runner.invoke(args=["check"]).exit_code == 0


def test_restore_loads_a_snapshot_into_an_empty_store_only(app, store, tmp_path):
    from survey_app import create_app
    snapshot = store.backup(tmp_path / "b")
    empty = create_app({"DATA": str(tmp_path / "empty"), "SECRET_KEY": "x"})
    result = empty.test_cli_runner().invoke(args=["restore", str(snapshot)])
    assert result.exit_code == 0, result.output
    assert LocalStore(tmp_path / "empty").fingerprints() == store.fingerprints()
    again = app.test_cli_runner().invoke(args=["restore", str(snapshot)])
    assert again.exit_code != 0 and "不是空的" in again.output


def test_serve_on_a_busy_port_says_which_option_picks_another(app):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = app.test_cli_runner().invoke(args=["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"端口 {port} 已被其他程序占用" in result.output and "--port" in result.output
    assert "Traceback" not in result.output and "正在" not in result.output


def test_an_exported_outbox_is_imported_with_the_api_s_rules_and_a_report(app, store, tmp_path):
    import json

    from helpers import submission

    house = "370403001001.1"
    first = submission(house, name="导入甲")
    new_house = "5f0e1c1e-0000-4000-8000-000000000001"
    items = [
        {"uuid": "h-1", "kind": "household", "village": "370403001001", "label": "新户",
         "payload": {"uuid": new_house, "head_name": "新户", "address": "临山村5组5号",
                     "members_count": "1"}, "created": 1, "state": "waiting"},
        {"uuid": first["uuid"], "kind": "person", "household": house, "label": "导入甲",
         "payload": first, "created": 2, "state": "waiting"},
        {"uuid": "p-2", "kind": "person", "household": f"new-{new_house}", "label": "新户",
         "payload": submission("", name="新户"), "created": 3, "state": "fix"},
        {"uuid": "p-3", "kind": "person", "household": house, "label": "坏表",
         "payload": submission(house, phone="1"), "created": 4, "state": "waiting"},
        {"uuid": "p-4", "kind": "person", "household": house, "label": "已传", "created": 5,
         "payload": submission(house), "state": "done"},
    ]
    half = {key: first[key] for key in ("name", "ethnicity")}
    drafts = [{"id": "d-1", "kind": "person", "household": house, "village": "370403001001",
               "uuid": "5f0e1c1e-0000-4000-8000-00000000000d", "values": {**half, "name": "草稿乙"},
               "updated": 6},
              {"id": "d-2", "kind": "person", "household": house, "uuid": first["uuid"],
               "values": {"name": "导入甲"}, "updated": 7}]  # already queued: the outbox form wins
    path = tmp_path / "outbox.json"
    path.write_text(json.dumps({"format": "canbao-outbox", "version": 1, "user": "e001001",
                                "outbox": items, "drafts": drafts}, ensure_ascii=False))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["submissions", "import", str(path)])
    assert result.exit_code == 1  # the bad form is reported, the others are in
    assert "导入甲（人员）：已导入" in result.output and "新户（家庭户）：已导入" in result.output
    assert "新户（人员）：已导入" in result.output  # registered into the household made just before
    assert "坏表（人员）：未导入：表单有错误" in result.output and "已传" not in result.output
    assert "草稿乙（草稿）（人员）：已导入" in result.output and "导入甲（草稿）" not in result.output
    kept = next(p for p in store.read(Store.village("370403001001")).all("persons")
                if p["answers"]["name"] == "草稿乙")
    assert kept["status"] == "incomplete" and "id_number" in kept["missing"]
    again = runner.invoke(args=["submissions", "import", str(path)])
    assert "导入甲（人员）：已有（重复提交）" in again.output
    assert "新户（家庭户）：已有（重复提交）" in again.output
    names = [p["answers"]["name"] for p in store.read(Store.village("370403001001")).all("persons")]
    assert names.count("导入甲") == 1 and names.count("新户") == 1
    foreign = runner.invoke(args=["submissions", "import", str(path), "--user", "e002001"])
    assert "导入甲（人员）：未导入：家庭户不存在或不在该账号的范围内" in foreign.output


def test_an_outbox_file_with_a_lone_surrogate_is_refused_and_changes_nothing(app, store, tmp_path):
    path = tmp_path / "outbox.json"
    # what a hand-edited file can hold: a JSON escape of half a UTF-16 pair
    path.write_bytes(b'{"format": "canbao-outbox", "version": 1, "user": "e001001", "outbox": '
                     b'[{"uuid": "p-1", "kind": "person", "household": "370403001001.1", '
                     b'"payload": {"name": "\\ud800"}}], "drafts": []}')
    before = store.digest()
    result = app.test_cli_runner().invoke(args=["submissions", "import", str(path)])
    assert result.exit_code != 0 and "无法保存的字符" in result.output
    assert "Traceback" not in result.output
    assert store.digest() == before


def test_payments_in_an_exported_outbox_are_imported_once(app, store, tmp_path):
    import json
    import uuid

    from helpers import submission

    from survey_app import registry, state
    from survey_app.registry import Scope

    with app.app_context():
        scope = Scope(frozenset({"370403001001"}), "e001001")
        ref = registry.submit(store, scope, state.registration_form(),
                              submission("370403001001.1", name="缴费甲")).ref
    payment = {"uuid": str(uuid.uuid4()), "person": ref, "schemes": ["resident_medical"],
               "amount": "400", "channel": "village_agent", "receipt_no": "SD-0009"}
    items = [{"uuid": payment["uuid"], "kind": "payment", "person": ref, "label": "缴费甲",
              "payload": payment, "created": 1, "state": "waiting"},
             {"uuid": "x-2", "kind": "payment", "person": ref, "label": "缴费乙", "created": 2,
              "state": "waiting", "payload": {**payment, "uuid": str(uuid.uuid4()), "amount": "500"}}]
    path = tmp_path / "outbox.json"
    path.write_text(json.dumps({"format": "canbao-outbox", "version": 1, "user": "e001001",
                                "outbox": items, "drafts": []}, ensure_ascii=False))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["submissions", "import", str(path)])
    assert "缴费甲（缴费）：已导入" in result.output
    assert "缴费乙（缴费）：未导入：表单有错误" in result.output  # already paid: refused, reported
    again = runner.invoke(args=["submissions", "import", str(path)])
    assert "缴费甲（缴费）：已有（重复提交）" in again.output
    rows = store.read(Store.village("370403001001")).all("payments")
    assert [(r["amount"], r["receipt_no"]) for r in rows] == [(40000, "SD-0009")]
