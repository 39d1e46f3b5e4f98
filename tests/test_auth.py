"""Login, logout, session rotation, the failed-login throttle and the audit of logins."""

from __future__ import annotations

import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import PASSWORD, Auth, csrf_from

from survey_app import create_app, throttle, users
from survey_app.store import Store


def from_address(app, address: str) -> Auth:
    """A browser at another address (a client of its own, so its own cookies)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Auth(client)


def test_unknown_user_and_wrong_password_get_the_same_answer(auth):
    unknown = auth.login("nobody", "whatever-123")
    wrong = auth.login("e001001", "wrong-password")
    assert unknown.status_code == wrong.status_code == 401
    assert "用户名或密码不正确" in unknown.get_data(as_text=True)
    assert page_without_token(unknown).replace("nobody", "") == \
        page_without_token(wrong).replace("e001001", "")


def page_without_token(response) -> str:
    # CSRF tokens carry a timestamp, so two renders a second apart differ there
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))


def test_repeated_failures_are_delayed_for_seconds_then_the_right_password_works(auth, app, clock):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("e001001", "wrong-password").status_code == 401
    delayed = auth.login("e001001")
    assert delayed.status_code == 429
    wait = app.config["LOGIN_DELAY_SECONDS"]
    assert delayed.headers["Retry-After"] == str(wait)
    assert f"登录失败次数过多，请{wait}秒后再试" in delayed.get_data(as_text=True)
    clock.advance(wait)
    assert auth.login("e001001").status_code == 302  # a delay, never a lock-out


def test_delays_grow_with_each_failure(auth, app, clock):
    waits = []
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 6):
        response = auth.login("e001001", "wrong-password")
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.advance(waits[-1])
            response = auth.login("e001001", "wrong-password")
        assert response.status_code == 401
    assert waits == [2, 4, 8, 16, 32, 64]


def test_unknown_users_are_delayed_too(auth, app, clock):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("ghost", "wrong-password")
    assert auth.login("ghost", "wrong-password").status_code == 429


def test_the_owner_logs_in_while_someone_guesses_from_elsewhere(app, clock):
    attacker = from_address(app, "203.0.113.66")
    for _ in range(50):
        response = attacker.login("e001001", "wrong-password")
        if response.status_code == 429:  # the attacker waits out every delay: 50 real failures
            clock.advance(int(response.headers["Retry-After"]))
            response = attacker.login("e001001", "wrong-password")
        assert response.status_code == 401
    owner = from_address(app, "198.51.100.7")
    response = owner.login("e001001")
    if response.status_code == 429:  # others' failures cost the owner a modest delay at most
        wait = int(response.headers["Retry-After"])
        assert wait <= app.config["LOGIN_ACCOUNT_DELAY_MAX_SECONDS"]
        clock.advance(wait)
        response = owner.login("e001001")
    assert response.status_code == 302
    still = attacker.login("e001001", "wrong-password")
    assert still.status_code == 429  # the owner's success did not reset the attacker's count
    assert int(still.headers["Retry-After"]) > app.config["LOGIN_ACCOUNT_DELAY_MAX_SECONDS"]


def test_failures_behind_one_office_address_do_not_lock_out_colleagues(app, clock):
    office = "10.20.30.40"  # one township office behind NAT
    someone = from_address(app, office)
    for name in ("e001001", "e001002", "typo-name", "admin"):
        for _ in range(app.config["LOGIN_MAX_FAILURES"] + 2):
            assert someone.login(name, "wrong-password").status_code in (401, 429)
    assert from_address(app, office).login("e002001").status_code == 302
    assert from_address(app, office).login("township").status_code == 302


def test_one_address_failing_everywhere_is_delayed_in_the_end(data_dir, clock):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATA": str(data_dir),
                      "LOGIN_ADDRESS_MAX_FAILURES": 4})
    sprayer = from_address(app, "192.0.2.9")
    for number in range(4):
        assert sprayer.login(f"name{number}", "wrong-password").status_code == 401
    assert sprayer.login("e002001").status_code == 429  # a new account, but the same address
    assert from_address(app, "192.0.2.10").login("e002001").status_code == 302


def test_concurrent_guesses_get_no_more_password_checks_than_the_budget(app, clock, monkeypatch):
    checks = []
    real_check = users.check_password_hash

    def counting_check(stored: str, password: str) -> bool:
        checks.append(password)
        return real_check(stored, password)

    monkeypatch.setattr(users, "check_password_hash", counting_check)
    guessers = []
    for _ in range(40):
        client = app.test_client()
        guessers.append((client, csrf_from(client.get("/login").get_data(as_text=True))))
    start = threading.Barrier(len(guessers))

    def guess(number: int) -> int:
        client, token = guessers[number]
        start.wait()
        return client.post("/login", data={"username": "e001001", "password": f"guess-{number}",
                                           "csrf_token": token}).status_code

    with ThreadPoolExecutor(len(guessers)) as pool:
        statuses = list(pool.map(guess, range(len(guessers))))
    assert len(checks) == app.config["LOGIN_MAX_FAILURES"]
    assert sorted(statuses) == [401] * len(checks) + [429] * (len(guessers) - len(checks))


def test_unknown_users_take_as_long_as_known_ones(data_dir):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATA": str(data_dir),
                      "LOGIN_MAX_FAILURES": 1000, "LOGIN_ADDRESS_MAX_FAILURES": 1000})
    auth = Auth(app.test_client())
    auth.login("warm-up", "wrong-password")
    times = {"nobody": [], "e001001": []}
    for _ in range(7):
        for name in times:  # interleaved, so the machine's load falls on both alike
            started = time.perf_counter()
            assert auth.login(name, "wrong-password").status_code == 401
            times[name].append(time.perf_counter() - started)
    unknown, known = (statistics.median(times[n]) for n in ("nobody", "e001001"))
    assert 1 / 3 < unknown / known < 3, (unknown, known)


def test_logins_failures_and_logouts_are_audited_without_secrets(app, store, auth):
    auth.login("e001001", "wrong-password-1")
    auth.login("370403199001011234", "wrong-password-2")  # an ID number in the wrong field
    auth.login("13812345678", "wrong-password-3")
    assert auth.login("e001001").status_code == 302
    auth.logout()
    audit = [a for a in store.read(Store.SYSTEM).all("audit") if a["action"].startswith("log")]
    assert [(a["action"], a["user"]) for a in audit] == [
        ("login_failed", "e001001"), ("login_failed", "370*************34"),
        ("login_failed", "138******78"), ("login", "e001001"), ("logout", "e001001")]
    assert all(a["address"] == "127.0.0.1" and a["at"] for a in audit)
    assert [a.get("known") for a in audit[:3]] == [True, False, False]
    everything = b"".join(store.fingerprints().values()).decode("utf-8")
    for secret in ("wrong-password-1", "wrong-password-2", "wrong-password-3", PASSWORD,
                   "370403199001011234", "13812345678"):
        assert secret not in everything


def test_typed_names_are_masked_and_cut_for_the_audit():
    assert users.name_for_audit("e001001") == "e001001"
    assert users.name_for_audit("37040319900101123X") == "370*************3X"
    assert users.name_for_audit("x" * 80) == "x" * 32
    assert users.name_for_audit("bad\nname\x00") == "badname"


def test_session_cookie_changes_at_login(client, auth):
    client.get("/login")
    before = client.get_cookie("session").value
    auth.login("e001001")
    assert client.get_cookie("session").value != before


def test_logout_invalidates_the_session_even_if_the_cookie_is_replayed(app, client, auth):
    auth.login("e001001")
    stolen = client.get_cookie("session").value
    assert client.get("/e/").status_code == 200
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/e/").status_code == 302  # back to the login page


def test_pages_need_login(client):
    response = client.get("/e/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_never_redirects_off_site(client):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login?next=https://evil.example/", data={
        "username": "e001001", "password": "canbao-demo", "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/"


def test_login_form_without_csrf_is_refused(client):
    response = client.post("/login", data={"username": "e001001", "password": "canbao-demo"})
    assert response.status_code == 400


def test_expired_sessions_end_and_are_cleared_at_the_next_login(app, client, auth, store):
    keys = throttle.LoginKeys.of("e001001", "127.0.0.1", "test-secret")
    auth.login("e001001")
    for _ in range(40):  # enough sessions that some share a bucket with the next one
        users.authenticate(store, "e001001", PASSWORD, keys=keys, throttle=throttle.Throttle(), hours=12)
    for name in store.names("sessions/"):
        with store.transaction(name) as shards:
            for session in shards[name].all("sessions"):
                shards[name].update("sessions", session["doc_id"], {"expires": 0})
    assert client.get("/e/").status_code == 302  # an expired session is no session
    fresh = users.authenticate(store, "e001001", PASSWORD, keys=keys, throttle=throttle.Throttle(), hours=12)
    bucket = store.read(Store.sessions(users.token_hash(fresh.get_id()))).all("sessions")
    assert [s["expires"] > 0 for s in bucket] == [True]
    stored = [s for name in store.names("sessions/") for s in store.read(name).all("sessions")]
    assert all(fresh.get_id() not in str(s) for s in stored)  # only a hash of the token is kept


def test_https_setting_marks_the_session_cookie_secure(data_dir):
    from survey_app import create_app
    secure = create_app({"DATA": str(data_dir), "SECRET_KEY": "x", "HTTPS": 1})
    plain = create_app({"DATA": str(data_dir), "SECRET_KEY": "x"})
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert plain.config["SESSION_COOKIE_SECURE"] is False


def test_forwarded_headers_are_believed_only_when_a_setting_says_so(data_dir):
    from flask import request

    from survey_app import create_app
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "canbao.gov.cn",
                 "X-Forwarded-For": "203.0.113.9"}
    seen = {}
    for hops in (0, 1):
        app = create_app({"DATA": str(data_dir), "SECRET_KEY": "x", "TRUSTED_PROXIES": hops})

        def probe(hops=hops):
            seen[hops] = (request.scheme, request.host, request.remote_addr)
            return ""

        app.add_url_rule("/probe", "probe", probe)
        app.test_client().get("/probe", headers=forwarded)
    assert seen[0] == ("http", "localhost", "127.0.0.1")
    assert seen[1] == ("https", "canbao.gov.cn", "203.0.113.9")


def test_a_blank_username_or_password_is_no_attempt(client, store):
    before = store.digest()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for fields in ({"username": "", "password": "x"}, {"username": "e001001", "password": ""}, {}):
        response = client.post("/login", data={**fields, "csrf_token": token})
        assert response.status_code == 400 and "请输入用户名和密码" in response.get_data(as_text=True)
    assert store.digest() == before  # nothing counted, nothing audited


def test_a_long_attack_keeps_its_longest_delay_until_it_stops(auth, app, clock):
    longest = app.config["LOGIN_DELAY_MAX_SECONDS"]
    waits = []
    while not waits or waits[-1] < longest:
        response = auth.login("e001001", "wrong-password")
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.advance(waits[-1])
    for _ in range(3):  # waiting out the longest delay does not make the failures forgotten
        assert auth.login("e001001", "wrong-password").status_code == 401
        response = auth.login("e001001", "wrong-password")
        assert int(response.headers["Retry-After"]) == longest
        clock.advance(longest)
    clock.advance(app.config["LOGIN_WINDOW_SECONDS"])  # quiet long enough: forgotten
    assert auth.login("e001001").status_code == 302


def test_a_concurrent_attempt_reserved_a_moment_later_makes_no_one_wait():
    """Two colleagues log in at once from one office: the one whose request started first may
    see the other's reservation, stamped a moment later, and must not be delayed by it."""
    policy = throttle.Throttle()
    keys = throttle.LoginKeys.of("e001001", "10.0.0.1", "secret")
    later = {keys.address: [1000.5]}  # another account's attempt from the same address
    assert policy.wait(keys, later, at=1000.0) == 0
    many = {keys.pair: [1000.0] * policy.free}  # past the free failures a wait does apply
    assert policy.wait(keys, many, at=1000.0) > 0


def test_a_session_s_last_seen_stamp_is_not_data_a_refused_request_wrote(auth, client, store, clock):
    """Store.digest (the tests' "nothing changed") leaves the sessions out: a refused request a
    minute after the last one stamps its session, and that alone must not read as a write."""
    auth.login("e001001")
    before = store.digest()
    sessions = {n: f for n, f in store.fingerprints().items() if n.startswith("sessions/")}
    clock.advance(users.SEEN_EVERY + 1)
    assert client.get("/e/h/370403001001.99999").status_code == 404
    assert {n: f for n, f in store.fingerprints().items() if n.startswith("sessions/")} != sessions
    assert store.digest() == before
    with store.transaction(Store.SYSTEM) as shards:  # while any real write still shows
        shards[Store.SYSTEM].insert("audit", {"action": "probe"})
    assert store.digest() != before
