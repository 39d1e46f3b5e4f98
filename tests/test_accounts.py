"""Account life cycle: disable, enable, remove, password change, idle and absolute session limits,
and the password policy on every path that sets a password."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, Auth

from survey_app import demo, passwords, throttle, users
from survey_app.store import Store

NEW_PASSWORD = "lantern-river-47"
SESSION = "/api/v1/session"  # any logged-in account may read it; 401 once the session is gone


def logged_in(app, username: str) -> Auth:
    auth = Auth(app.test_client())
    assert auth.login(username).status_code == 302
    assert auth.client.get(SESSION).status_code == 200
    return auth


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["user", *args])


# -- life cycle -------------------------------------------------------------------------
def test_disabling_ends_every_session_at_once_and_refuses_login(app, store):
    phone, laptop = logged_in(app, "e001001"), logged_in(app, "e001001")
    other = logged_in(app, "e002001")
    result = cli(app, "disable", "e001001")
    assert result.exit_code == 0, result.output
    assert phone.client.get(SESSION).status_code == 401
    assert laptop.client.get(SESSION).status_code == 401
    assert other.client.get(SESSION).status_code == 200  # only that account's sessions
    refused = Auth(app.test_client()).login("e001001")
    assert refused.status_code == 401 and "用户名或密码不正确" in refused.get_data(as_text=True)
    assert "已停用" in cli(app, "list").output
    result = cli(app, "enable", "e001001")
    assert result.exit_code == 0, result.output
    assert phone.client.get(SESSION).status_code == 401  # enabling brings no old session back
    assert Auth(app.test_client()).login("e001001").status_code == 302
    actions = [(a["action"], a["ref"]) for a in store.read(Store.SYSTEM).all("audit")
               if a["action"].startswith("user_")]
    assert actions == [("user_disabled", "e001001"), ("user_enabled", "e001001")]


def test_changing_the_password_ends_every_session(app):
    phone = logged_in(app, "e001001")
    result = cli(app, "password", "e001001", "--password", NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    assert phone.client.get(SESSION).status_code == 401
    assert Auth(app.test_client()).login("e001001", PASSWORD).status_code == 401
    assert Auth(app.test_client()).login("e001001", NEW_PASSWORD).status_code == 302


def test_removing_an_account_ends_its_sessions_even_if_the_name_comes_back(app, store):
    phone = logged_in(app, "e001001")
    stolen = phone.client.get_cookie("session").value
    result = cli(app, "remove", "e001001", "--yes")
    assert result.exit_code == 0, result.output
    assert users.find_user(store, "e001001") is None
    assert phone.client.get(SESSION).status_code == 401
    assert Auth(app.test_client()).login("e001001").status_code == 401
    result = cli(app, "add", "e001001", "--role", "enumerator", "--area", "370403001001",
                 "--password", NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get(SESSION).status_code == 401


def test_unknown_accounts_are_reported(app):
    for command in ("disable", "enable", "password"):
        args = [command, "nobody"] + (["--password", NEW_PASSWORD] if command == "password" else [])
        result = cli(app, *args)
        assert result.exit_code != 0 and "账号“nobody”不存在" in result.output


def test_only_a_hash_of_each_session_token_is_stored(app, store):
    phone = logged_in(app, "e001001")
    token = users.authenticate(store, "e001001", PASSWORD, throttle=throttle.Throttle(), hours=12,
                               keys=throttle.LoginKeys.of("e001001", "127.0.0.1", "k")).get_id()
    rows = [row for name in store.names("sessions/") for row in store.read(name).all("sessions")]
    assert len(rows) == 2 and all(set(row) >= {"token_hash", "generation", "seen", "expires"}
                                  for row in rows)
    stored = str(rows) + phone.client.get_cookie("session").value
    assert token not in stored
    assert users.token_hash(token) in str(rows)


# -- idle and absolute limits -----------------------------------------------------------------
def test_an_idle_session_ends_but_a_used_one_goes_on(app, clock):
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    phone = logged_in(app, "e001001")
    for _ in range(3):  # used every so often: never idle, though the sum passes the limit
        clock.advance(idle - 60)
        assert phone.client.get(SESSION).status_code == 200
    clock.advance(idle + 1)
    assert phone.client.get(SESSION).status_code == 401


def test_staff_sessions_idle_out_sooner(app, clock):
    staff, enumerator = logged_in(app, "township"), logged_in(app, "e001001")
    clock.advance(app.config["SESSION_IDLE_MINUTES_STAFF"] * 60 + 1)
    assert staff.client.get(SESSION).status_code == 401
    assert enumerator.client.get(SESSION).status_code == 200


def test_a_session_ends_after_its_absolute_lifetime_however_busy(app, clock):
    phone = logged_in(app, "e001001")
    for _ in range(app.config["SESSION_HOURS"] - 1):
        clock.advance(3600)
        assert phone.client.get(SESSION).status_code == 200
    clock.advance(3600 + 1)
    assert phone.client.get(SESSION).status_code == 401


def test_last_seen_is_written_at_most_once_a_minute(app, store, clock):
    phone = logged_in(app, "e001001")
    [name] = [n for n in store.names("sessions/") if store.read(n).all("sessions")]
    version = store.version(name)
    for _ in range(5):
        clock.advance(10)
        assert phone.client.get(SESSION).status_code == 200
    assert store.version(name) == version  # 50 seconds of requests: no write
    clock.advance(11)
    assert phone.client.get(SESSION).status_code == 200
    assert store.version(name) != version
    assert store.read(name).all("sessions")[0]["seen"] == clock.now


# -- password policy -------------------------------------------------------------------------
WEAK = {
    "12345678": "密码至少10位",
    "password": "密码至少10位",
    "        ": "密码不能全是空格或同一个字符",
    "          ": "密码不能全是空格或同一个字符",
    "aaaaaaaaaaaa": "密码不能全是空格或同一个字符",
    "1234567890": "连续的或键盘上挨着的字符",
    "9876543210": "连续的或键盘上挨着的字符",
    "abcdefghijk": "连续的或键盘上挨着的字符",
    "qwertyuiop": "连续的或键盘上挨着的字符",
    "1qaz2wsx3edc": "连续的或键盘上挨着的字符",
    "abcabcabcabc": "简单重复",
    "woaini1314520": "密码太常见",
    "5201314520": "密码太常见",
    "a123456789": "密码太常见",
    "Password2026!": "密码太常见",
    "qq123456789": "密码太常见",
    "e001001-secret": "密码不能包含用户名",
}


@pytest.mark.parametrize(("password", "message"), WEAK.items())
def test_weak_passwords_are_refused_with_a_reason(password, message):
    problems = passwords.password_problems(password, "e001001")
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize("password", ["12345678", "password", "        ", "woaini1314520", "e001001-secret"])
def test_every_path_that_sets_a_password_refuses_weak_ones(app, store, password):
    before = store.read(Store.USERS).find_one("users", username="e001001")
    added = cli(app, "add", "e001001", "--role", "enumerator", "--area", "370403001001",
                "--password", password)
    changed = cli(app, "password", "e001001", "--password", password)
    for result in (added, changed):
        assert result.exit_code != 0
        first_problem = passwords.password_problems(password, "e001001")[0]
        assert "密码" in result.output and first_problem in result.output
    assert store.read(Store.USERS).find_one("users", username="e001001") == before
    with pytest.raises(users.AccountError, match="密码"):
        users.set_password(store, "e001001", password, actor="test")


@pytest.mark.parametrize("password", [PASSWORD, NEW_PASSWORD, "长城-2026-秋天", "Tq7#mV9x!pL2"])
def test_ordinary_good_passwords_pass(password):
    assert passwords.password_problems(password, "e001001") == []


def test_the_demo_password_passes_the_policy():
    assert passwords.password_problems(demo.DEMO_PASSWORD, "e001001") == []
    assert passwords.password_problems(demo.DEMO_PASSWORD, "township") == []


def test_the_common_password_list_ships_with_the_package():
    common = passwords.common_passwords()
    assert len(common) >= 500
    assert {"123456789", "a123456", "woaini1314", "qq123456", "5201314", "1qaz2wsx", "zxcvbnm",
            "88888888", "147258369", "password"} <= common


@pytest.mark.parametrize(("name", "refused"), [
    ("e610802101001", False),       # "e" + a 12-digit village code: how a county names its enumerators
    ("13912345678", True), ("wang13912345678", True),   # a mobile number
    ("37040319880315123X", True), ("370403880315123", True),  # ID numbers, 18 and 15 digits
])
def test_a_username_may_hold_a_village_code_but_never_a_phone_or_id_number(app, store, name, refused):
    from survey_app import state
    with app.app_context():
        grid = state.current_grid()
    try:
        users.add_user(store, grid, username=name, password="lantern-river-47", role="enumerator",
                       area=["370403001001"])
    except users.AccountError as exc:
        assert refused and "用户名不能用手机号或身份证号" in str(exc)
    else:
        assert not refused
