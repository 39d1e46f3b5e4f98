"""Bodies no client should send: a clear 422 that changes nothing, never a 500 the outbox retries.

A phone's outbox retries every 5xx for ever (``field.js`` verdict "retry"), and the same
bytes fail the same way each time: a body the server cannot keep must be refused as a
form to fix.  Also: every 405 names the methods its URL takes.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from conftest import VILLAGE_A, first_household
from helpers import answers, submission

from survey_app.store import Store

LONE_SURROGATE = b"\\ud800"  # the six characters of the escape, as a client's JSON encoder writes them


def send(client, token, raw: bytes, url: str = "/api/v1/submissions"):
    return client.post(url, data=raw, content_type="application/json", headers={"X-CSRFToken": token})


def raw_submission(home: str, **replacements: bytes) -> bytes:
    """A valid submission's JSON, with some answers replaced by raw JSON text."""
    body = submission(home)
    text = json.dumps({k: v for k, v in body.items() if k not in replacements}, ensure_ascii=False)
    extra = b"".join(b', "%s": %s' % (k.encode(), v) for k, v in replacements.items())
    return text[:-1].encode("utf-8") + extra + b"}"


@pytest.fixture
def logged_in(auth, client, store):
    auth.login("e001001")
    return auth.api_token(), first_household(store, VILLAGE_A)["ref"]


@pytest.mark.parametrize("raw", [
    b'{"name": "' + LONE_SURROGATE + b'"}',                         # the brief's body, as sent
    b'{"name": "\\udc00x"}',                                         # a lone low surrogate
    b'{"name": "\\ud800\\u0041"}',                                   # a high one, then no low one
    b'{"' + LONE_SURROGATE + b'": "x"}',                             # in a key
    b'{"name": "\xed\xa0\x80"}',                                     # the surrogate as raw bytes
    b'{"name": "\xff\xfe"}',                                         # not UTF-8 at all
])
def test_a_lone_surrogate_or_bad_utf8_is_422_and_writes_nothing(client, store, logged_in, raw):
    token, _house = logged_in
    before = store.digest()
    response = send(client, token, raw)
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid_characters"
    assert "代理项" in body["message"] and "未保存" in body["message"]
    assert store.digest() == before


def test_a_surrogate_in_a_complete_form_is_refused_before_anything_is_kept(client, store, logged_in):
    token, house = logged_in
    before = store.digest()
    for field in ("name", "remark", "hukou_address", "uuid", "household", "person"):
        raw = raw_submission(house, **{field: b'"a' + LONE_SURROGATE + b'b"'})
        response = send(client, token, raw)
        assert (response.status_code, response.get_json()["error"]) == (422, "invalid_characters"), field
    new_house = b'{"head_name": "' + LONE_SURROGATE + b'", "address": "x", "members_count": 2}'
    response = send(client, token, new_house, f"/api/v1/villages/{VILLAGE_A}/households")
    assert response.status_code == 422 and response.get_json()["error"] == "invalid_characters"
    assert store.digest() == before


def test_a_valid_surrogate_pair_is_a_character_like_any_other(client, store, logged_in):
    token, house = logged_in
    # U+20BB7 𠮷, a name character of CJK extension B, escaped as its UTF-16 pair
    raw = raw_submission(house, name=b'"\\ud842\\udfb7\\u91ce\\u5bb6"')
    response = send(client, token, raw)
    assert response.status_code == 201, response.get_json()
    person = client.get(f"/api/v1/persons/{response.get_json()['id']}").get_json()
    assert person["answers"]["name"] == "\U00020bb7野家"


@pytest.mark.parametrize("depth", [9, 1000, 5000])
def test_deep_nesting_is_422_and_writes_nothing(client, store, logged_in, depth):
    token, house = logged_in
    before = store.digest()
    nested = b"[" * depth + b"]" * depth
    for raw in (raw_submission(house, remark=nested), b'{"a": ' + nested + b"}",
                b'{"a": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"):
        response = send(client, token, raw)
        assert response.status_code == 422, response.get_data(as_text=True)[:200]
        assert response.get_json()["error"] == "too_deep"
        assert "层" in response.get_json()["message"]
    assert store.digest() == before


def test_shallow_structures_in_answers_are_refused_as_answers_not_as_bodies(client, logged_in):
    token, house = logged_in
    response = send(client, token, raw_submission(house, remark=b'[["a"]]'))
    assert response.status_code in (201, 422)  # a remark is text: whatever str() makes of it, or refused
    assert response.get_json().get("error") != "too_deep"


@pytest.mark.parametrize("raw", [
    b"", b"{", b"{}}", b'{"name": NaN}', b'{"name": Infinity}', b'{"members_count": 1e400}',
    b"[1, 2]", b'"text"', b"null",
])
def test_malformed_or_unkeepable_json_is_422(client, store, logged_in, raw):
    token, _house = logged_in
    before = store.digest()
    response = send(client, token, raw)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_json"
    assert store.digest() == before


def test_numbers_past_64_bits_never_reach_the_store_as_integers(client, store, logged_in):
    token, house = logged_in
    big = b"123456789012345678901234567890"
    for raw, url in ((raw_submission(house, remark=big), "/api/v1/submissions"),
                     (b'{"head_name": "x", "address": "x", "members_count": ' + big + b"}",
                      f"/api/v1/villages/{VILLAGE_A}/households")):
        response = send(client, token, raw, url)
        assert response.status_code in (201, 422), response.get_data(as_text=True)
    store.digest()  # serialises every record again: raises on anything orjson cannot write


def test_web_form_bytes_that_are_no_utf8_cannot_reach_the_store(auth, client, store):
    """Forms are decoded by werkzeug: bad bytes become U+FFFD or stay percent-escaped."""
    from test_registration_web import open_form
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    for bad in (b"%ED%A0%80", b"\xed\xa0\x80", b"%ud800"):
        url, hidden = open_form(client, house)
        fields = {**hidden, **answers()}
        encoded = urlencode(fields).encode() + b"&remark=ok" + bad
        response = client.post(url, data=encoded, content_type="application/x-www-form-urlencoded")
        assert response.status_code < 500
    remarks = [p["answers"].get("remark") for p in store.read(Store.village(VILLAGE_A)).all("persons")]
    assert "ok%ED%A0%80" in remarks  # kept as typed, percent signs and all
    store.digest()  # serialises every record again: raises on a lone surrogate


# -- 405 ------------------------------------------------------------------------------------------
URL_VALUES = {"village": VILLAGE_A, "ref": f"{VILLAGE_A}.1", "code": VILLAGE_A, "fmt": "xlsx",
              "change": "disable", "doc_id": 1, "filename": "app.css", "path": "index.html", "kind": "home",
              "form_id": "registration", "token": "ABCD2345", "relative": "x.pdf", "step": "reply"}


def test_every_405_names_the_allowed_methods(app, client):
    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule in app.url_map.iter_rules():
        _domain, path = rule.build({arg: URL_VALUES.get(arg, "1") for arg in rule.arguments})
        allowed = set(adapter.allowed_methods(path))
        for method in ("PUT", "DELETE", "PATCH", "GET" if "GET" not in allowed else "POST"):
            if method in allowed:
                continue
            response = client.open(path, method=method)
            assert response.status_code == 405, (method, path, response.status_code)
            assert "Allow" in response.headers, (method, path)
            assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, (method, path)
            if path.startswith("/api/"):
                body = response.get_json()
                assert body and body["error"] and body["message"], (method, path)
            checked += 1
    assert checked > 100


def test_api_405_is_json_with_allow(auth, client):
    auth.login("e001001")
    response = client.get("/api/v1/submissions")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    assert response.is_json and response.get_json()["message"] == "不支持该操作。"
    page = client.get("/logout")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]
    assert "text/html" in page.headers["Content-Type"]
