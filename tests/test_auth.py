"""Login, logout, session rotation and the failed-login throttle."""

from __future__ import annotations

import re

from conftest import PASSWORD, csrf_from


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


def test_repeated_failures_are_throttled_even_with_the_right_password(auth, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("e001001", "wrong-password")
    blocked = auth.login("e001001")
    assert blocked.status_code == 429
    assert "次数过多" in blocked.get_data(as_text=True)


def test_unknown_users_are_throttled_too(auth, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("ghost", "wrong-password")
    assert auth.login("ghost", "wrong-password").status_code == 429


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
    from survey_app import users
    from survey_app.store import Store
    auth.login("e001001")
    for _ in range(40):  # enough sessions that some share a bucket with the next one
        users.authenticate(store, "e001001", PASSWORD, keys=[], window=900, hours=12)
    for name in store.names("sessions/"):
        with store.transaction(name) as shards:
            for session in shards[name].all("sessions"):
                shards[name].update("sessions", session["doc_id"], {"expires": 0})
    assert client.get("/e/").status_code == 302  # an expired session is no session
    fresh = users.authenticate(store, "e001001", PASSWORD, keys=[], window=900, hours=12)
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
