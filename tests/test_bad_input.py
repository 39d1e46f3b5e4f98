"""Bad input never gets a 500 and never changes saved data.

Every route is fed junk in its path, its query and its body, by each kind of
user, with a valid CSRF token so the junk reaches the code behind the form.
"""

from __future__ import annotations

import hashlib

import pytest
from conftest import VILLAGE_A

JUNK_SEGMENTS = ["x", "..", "%2e%2e%2f", "0", "-1", "9" * 400, "张三", f"{VILLAGE_A}.", f"{VILLAGE_A}.x",
                 f"{VILLAGE_A}.99999999999999999999", ".1", "a.b.c", "%00", "{{7*7}}"]
JUNK_VALUES = ["", "x", "-1", "1e309", "9" * 5000, "<script>", "\x00", "张" * 300, "[]", "{}"]

GET_ROUTES = ["/e/v/{}", "/e/v/{}/households/new", "/e/h/{}", "/e/p/{}", "/e/h/{}/register",
              "/s/v/{}", "/s/v/{}/roster", "/s/v/{}/export.xlsx", "/api/v1/forms/{}",
              "/api/v1/villages/{}/households", "/api/v1/households/{}", "/api/v1/persons/{}",
              "/q/{}", "/s/print/files/{}", "/portal/{}", "/static/{}"]
FORM_POSTS = ["/e/v/{}/households/new", "/e/h/{}/register", "/s/v/{}/roster", "/s/print/forms",
              "/s/print/notice", "/lang/{}", "/login"]
JSON_POSTS = ["/api/v1/submissions", "/api/v1/villages/{}/households"]
QUERY_ROUTES = ["/e/v/" + VILLAGE_A, "/s/", "/s/export.xlsx", "/e/", "/s/print/"]
USERS = ["e001001", "township", "admin"]


def data_fingerprint(store) -> str:
    digest = hashlib.sha256()
    for name, state in sorted(store.fingerprints().items()):
        if not name.startswith(("sessions/", "throttle/")):  # logging in writes there
            digest.update(name.encode() + state)
    return digest.hexdigest()


@pytest.fixture(params=USERS)
def user_client(request, auth, client):
    auth.login(request.param)
    return client


def assert_no_server_error(response, what):
    assert response.status_code < 500, f"{what} answered {response.status_code}"


def test_junk_paths_and_queries_never_500(user_client):
    for route in GET_ROUTES:
        for segment in JUNK_SEGMENTS:
            url = route.format(segment)
            assert_no_server_error(user_client.get(url), url)
    for route in QUERY_ROUTES:
        for value in JUNK_VALUES:
            for key in ("q", "village", "township", "page", "token", "kind"):
                response = user_client.get(route, query_string={key: value})
                assert_no_server_error(response, f"{route}?{key}={value[:20]!r}")


def test_junk_form_posts_never_500_and_change_nothing(user_client, auth, store):
    before = data_fingerprint(store)
    token = auth.api_token()
    for route in FORM_POSTS:
        for segment in ("x", VILLAGE_A, f"{VILLAGE_A}.1", f"{VILLAGE_A}.99999"):
            url = route.format(segment)
            for value in JUNK_VALUES:
                fields = {k: value for k in ("name", "id_number", "phone", "households", "blank",
                                             "village", "township", "kind", "head_name",
                                             "members_count", "address", "uuid", "token")}
                response = user_client.post(url, data={**fields, "csrf_token": token})
                assert_no_server_error(response, f"POST {url} with {value[:20]!r}")
    assert data_fingerprint(store) == before


def test_junk_json_posts_never_500_and_change_nothing(user_client, auth, store):
    before = data_fingerprint(store)
    headers = {"X-CSRFToken": auth.api_token()}
    bodies = [None, [], "text", 7, {}, {"uuid": []}, {"uuid": "u", "household": []},
              {"uuid": "u", "household": f"{VILLAGE_A}.x", "answers": "x"},
              {"uuid": "u", "household": f"{VILLAGE_A}.1", "answers": {"name": ["a"], "id_number": 5}},
              {"uuid": {"a": 1}, "head_name": {"x": 1}, "members_count": "abc"},
              {"uuid": "v", "household": f"{VILLAGE_A}.99999999999999999999999", "answers": {}}]
    for route in JSON_POSTS:
        url = route.format(VILLAGE_A)
        for body in bodies:
            response = user_client.post(url, json=body, headers=headers)
            assert_no_server_error(response, f"POST {url} with {body!r}")
        raw = user_client.post(url, data=b"{not json",
                               headers={**headers, "Content-Type": "application/json"})
        assert_no_server_error(raw, f"POST {url} with broken JSON")
    assert data_fingerprint(store) == before
