"""The canbao command: user add, grid import, backup, check, demo loading."""

from __future__ import annotations

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
    assert "密码至少8位" in result.output and "不是该角色对应的层级" in result.output


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
