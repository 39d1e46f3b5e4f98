"""Printed-form tokens: opaque, reused per person, bound once, and the /q/ scan route."""

from __future__ import annotations

import json
import re

import pytest
from conftest import VILLAGE_A, VILLAGE_B, csrf_from, first_household

from survey_app import tokens
from survey_app.registry import NotFound, Scope
from survey_app.store import Store

SCOPE_A = Scope(frozenset({VILLAGE_A}), "tester")


def _persons(store, village):
    return store.read(Store.village(village)).all("persons")


def test_tokens_are_opaque_and_unambiguous(store):
    person = _persons(store, VILLAGE_A)[0]
    token = tokens.for_persons(store, SCOPE_A, VILLAGE_A, [person["doc_id"]])[person["doc_id"]]
    assert len(token) >= 8 and set(token) <= set(tokens.ALPHABET)
    assert not set(token) & set("01OIL")
    assert person["answers"]["name"] not in token and person["answers"]["id_number"][-6:] not in token


def test_a_person_keeps_one_token_across_prints(store):
    ids = [p["doc_id"] for p in _persons(store, VILLAGE_A)[:3]]
    first = tokens.for_persons(store, SCOPE_A, VILLAGE_A, ids)
    again = tokens.for_persons(store, SCOPE_A, VILLAGE_A, ids)
    assert first == again and len(set(first.values())) == 3
    entry = tokens.lookup(store, first[ids[0]])
    assert entry == {"token": first[ids[0]], "village": VILLAGE_A, "person": ids[0]}


def test_lookup_forgives_typing_and_rejects_junk(store):
    doc_id = _persons(store, VILLAGE_A)[0]["doc_id"]
    token = tokens.for_persons(store, SCOPE_A, VILLAGE_A, [doc_id])[doc_id]
    typed = f"{token[:5].lower()}-{token[5:]}"
    assert tokens.lookup(store, typed)["person"] == doc_id
    for junk in ("", "ABC", "0" * 10, "../../etc/passwd", token + "2"):
        assert tokens.lookup(store, junk) is None


def test_issuing_outside_the_scope_is_refused(store):
    with pytest.raises(NotFound):
        tokens.issue_blank(store, SCOPE_A, VILLAGE_B, 1)


def test_a_blank_token_binds_once_and_only_in_its_village(store):
    blank, other = tokens.issue_blank(store, SCOPE_A, VILLAGE_A, 2)
    assert tokens.lookup(store, blank)["person"] is None
    first, second, third = (p["doc_id"] for p in _persons(store, VILLAGE_A)[:3])
    # a person who already has a printed token keeps it
    tokens.for_persons(store, SCOPE_A, VILLAGE_A, [first])
    assert not tokens.bind(store, SCOPE_A, blank, f"{VILLAGE_A}.{first}")
    assert tokens.bind(store, SCOPE_A, blank, f"{VILLAGE_A}.{second}")
    assert tokens.lookup(store, blank)["person"] == second
    assert not tokens.bind(store, SCOPE_A, blank, f"{VILLAGE_A}.{third}")  # already used
    both = Scope(frozenset({VILLAGE_A, VILLAGE_B}), "tester")
    b_person = _persons(store, VILLAGE_B)[0]["doc_id"]
    assert not tokens.bind(store, both, other, f"{VILLAGE_B}.{b_person}")  # wrong village
    assert not tokens.bind(store, SCOPE_A, "not-a-token", f"{VILLAGE_A}.{second}")


def test_audit_entries_carry_no_personal_numbers(store):
    ids = [p["doc_id"] for p in _persons(store, VILLAGE_A)]
    tokens.for_persons(store, SCOPE_A, VILLAGE_A, ids)
    audit = json.dumps(store.read(Store.village(VILLAGE_A)).all("audit"), ensure_ascii=False)
    assert "issue_tokens" in audit
    assert not re.search(r"\d{17}[\dXx]|1[3-9]\d{9}", audit)


# -- /q/<token> ----------------------------------------------------------------------------
def test_scan_shows_no_one_s_data_before_login(client, store):
    person = _persons(store, VILLAGE_A)[0]
    token = tokens.for_persons(store, SCOPE_A, VILLAGE_A, [person["doc_id"]])[person["doc_id"]]
    response = client.get(f"/q/{token}")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and f"/login?next=/q/{token}" in text
    assert person["answers"]["name"] not in text and person["answers"]["id_number"] not in text


def test_scan_opens_the_person_in_area_and_404_elsewhere(client, auth, store):
    person = _persons(store, VILLAGE_A)[0]
    token = tokens.for_persons(store, SCOPE_A, VILLAGE_A, [person["doc_id"]])[person["doc_id"]]
    auth.login("e001001")
    response = client.get(f"/q/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/e/p/{VILLAGE_A}.{person['doc_id']}")
    page = client.get(f"/q/{token}", follow_redirects=True)
    assert page.status_code == 200 and person["answers"]["name"] in page.get_data(as_text=True)
    assert client.get("/q/ZZZZZZZZZZ").status_code == 404
    auth.logout()
    auth.login("e002001")
    assert client.get(f"/q/{token}").status_code == 404


def test_blank_form_becomes_the_new_persons_record(client, auth, store):
    from test_documents import registration_payload
    token = tokens.issue_blank(store, SCOPE_A, VILLAGE_A, 1)[0]
    home = first_household(store, VILLAGE_A)
    auth.login("e002001")
    assert client.get(f"/q/{token}").status_code == 404
    auth.logout()
    auth.login("e001001")
    choose = client.get(f"/q/{token}").get_data(as_text=True)
    register_url = f"/e/h/{home['ref']}/register?token={token}"
    assert register_url in choose.replace("&amp;", "&")
    form = client.get(register_url).get_data(as_text=True)
    assert f'name="token" value="{token}"' in form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    uuid = re.search(r'name="uuid" value="([^"]+)"', form).group(1)
    data = {**registration_payload("新来人", 7), "csrf_token": csrf, "uuid": uuid, "token": token}
    assert client.post(register_url, data=data).status_code == 302
    entry = tokens.lookup(store, token)
    assert entry["person"] is not None
    record = store.read(Store.village(VILLAGE_A)).get("persons", entry["person"])
    assert record["answers"]["name"] == "新来人" and "token" not in record["answers"]
    opened = client.get(f"/q/{token}")
    assert opened.headers["Location"].endswith(f"/e/p/{VILLAGE_A}.{entry['person']}")


def test_blank_form_for_a_new_household_goes_straight_to_the_persons_form(client, auth, store):
    token = tokens.issue_blank(store, SCOPE_A, VILLAGE_A, 1)[0]
    auth.login("e001001")
    choose = client.get(f"/q/{token}").get_data(as_text=True).replace("&amp;", "&")
    new_url = f"/e/v/{VILLAGE_A}/households/new?token={token}"
    assert new_url in choose
    page = client.get(new_url).get_data(as_text=True)
    assert f'name="token" value="{token}"' in page
    form = {"csrf_token": csrf_from(page), "head_name": "钱新户", "address": "临山村9组2号",
            "members_count": "1", "token": token,
            "uuid": re.search(r'name="uuid" value="([^"]+)"', page).group(1)}
    created = client.post(new_url, data=form)
    assert created.status_code == 302
    assert f"/register?token={token}" in created.headers["Location"]
    home = next(h for h in store.read(Store.village(VILLAGE_A)).all("households")
                if h.get("head_name") == "钱新户")
    assert "token" not in home
    assert tokens.lookup(store, token)["person"] is None  # bound only when the person is saved


def test_a_junk_token_on_the_new_household_page_is_dropped(client, auth):
    auth.login("e001001")
    page = client.get(f"/e/v/{VILLAGE_A}/households/new?token=<script>").get_data(as_text=True)
    assert 'name="token"' not in page and "<script>" not in page


def test_a_resident_who_scans_a_form_learns_what_the_code_is_and_nothing_else(client, store):
    from survey_app import tokens
    from survey_app.registry import Scope
    real = tokens.issue_blank(store, Scope(frozenset({"370403001001"}), "township"), "370403001001", 1)[0]
    pages = []
    for token in (real, "ZZZZ9999"):  # a real code and one that never existed read the same
        page = client.get(f"/q/{token}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "这是入户调查员用的二维码" in text and 'href="/portal/"' in text
        assert f"/login?next=/q/{token}" in text
        pages.append(text.replace(token, "?"))
    assert pages[0] == pages[1]
