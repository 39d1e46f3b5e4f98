"""Scope: anything outside the user's area answers 404, exactly as if it did not exist."""

from __future__ import annotations

import re

import pytest
from conftest import VILLAGE_A, VILLAGE_B, first_household
from helpers import submission

from survey_app.store import Store


def b_person(store):
    person = store.read(Store.village(VILLAGE_B)).all("persons")[0]
    return f"{VILLAGE_B}.{person['doc_id']}", f"{VILLAGE_B}.{person['household']}"


@pytest.mark.parametrize("path", [
    f"/e/v/{VILLAGE_B}",
    f"/e/v/{VILLAGE_B}/households/new",
    f"/e/h/{VILLAGE_B}.1",
    f"/e/h/{VILLAGE_B}.1/register",
    f"/e/p/{VILLAGE_B}.1",
    f"/api/v1/villages/{VILLAGE_B}/households",
    f"/api/v1/households/{VILLAGE_B}.1",
    f"/api/v1/persons/{VILLAGE_B}.1",
])
def test_other_village_reads_are_404_like_missing_ones(auth, client, path):
    auth.login("e001001")
    outside = client.get(path)
    missing = client.get(path.replace(VILLAGE_B, "370403009009"))
    assert outside.status_code == missing.status_code == 404
    # the pages differ only where they echo the requested path back, and in the
    # CSRF token, which carries a timestamp that may tick between the requests
    assert page_shape(outside, VILLAGE_B) == page_shape(missing, "370403009009")


def page_shape(response, village):
    text = response.get_data(as_text=True).replace(village, "?")
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', text)


def test_other_village_api_post_is_404_and_writes_nothing(auth, client, store):
    auth.login("e001001")
    before = store.fingerprint(Store.village(VILLAGE_B))
    response = client.post("/api/v1/submissions", json=submission(f"{VILLAGE_B}.1"),
                           headers={"X-CSRFToken": auth.api_token()})
    assert response.status_code == 404
    assert store.fingerprint(Store.village(VILLAGE_B)) == before


def test_other_village_web_post_is_404_and_writes_nothing(auth, client, store):
    auth.login("e001001")
    before = store.fingerprint(Store.village(VILLAGE_B))
    token = auth.api_token()
    response = client.post(f"/e/h/{VILLAGE_B}.1/register",
                           data={**submission(f"{VILLAGE_B}.1"), "csrf_token": token})
    assert response.status_code == 404
    assert store.fingerprint(Store.village(VILLAGE_B)) == before


def test_person_of_another_village_cannot_be_smuggled_into_own_household(auth, client, store):
    auth.login("e001001")
    person_ref, _house = b_person(store)
    body = {**submission(first_household(store, VILLAGE_A)["ref"]), "person": person_ref}
    response = client.post("/api/v1/submissions", json=body,
                           headers={"X-CSRFToken": auth.api_token()})
    assert response.status_code == 404


def test_village_comes_from_server_data_not_the_request(auth, client, store):
    auth.login("e001001")
    body = {**submission(first_household(store, VILLAGE_A)["ref"])}
    body_with_village = {**body, "village": VILLAGE_B}
    response = client.post("/api/v1/submissions", json=body_with_village,
                           headers={"X-CSRFToken": auth.api_token()})
    assert response.status_code == 422  # "village" is not a field anyone may send
    saved = client.post("/api/v1/submissions", json=body,
                        headers={"X-CSRFToken": auth.api_token()}).get_json()
    assert saved["id"].startswith(VILLAGE_A)


def test_township_staff_see_their_township_only(auth, client):
    auth.login("township")
    page = client.get("/s/").get_data(as_text=True)
    assert "临山村" in page and "常庄社区" not in page
    assert client.get(f"/s/v/{VILLAGE_A}").status_code == 200
    assert client.get(f"/s/v/{VILLAGE_B}").status_code == 404


def test_district_admin_drills_down_to_every_village(auth, client):
    auth.login("admin")
    page = client.get("/s/").get_data(as_text=True)
    assert "临城街道" in page and "常庄街道" in page and "周营镇" in page
    assert "后西村" in client.get("/s/a/370403104").get_data(as_text=True)


@pytest.mark.parametrize("area", ["370403002", "370403", "370403002001", "999999999"])
def test_township_staff_cannot_open_another_area(auth, client, area):
    auth.login("township")
    assert client.get(f"/s/a/{area}").status_code == 404


def test_enumerators_cannot_open_staff_pages(auth, client):
    auth.login("e001001")
    assert client.get("/s/").status_code == 404


def test_full_id_numbers_shown_only_inside_the_area(auth, client, store):
    person = store.read(Store.village(VILLAGE_A)).all("persons")[0]
    number = person["answers"]["id_number"]
    auth.login("township")
    assert number in client.get(f"/s/v/{VILLAGE_A}").get_data(as_text=True)
    auth.logout()
    auth.login("e002001")
    for path in (f"/e/v/{VILLAGE_A}", f"/api/v1/persons/{VILLAGE_A}.{person['doc_id']}"):
        assert number not in client.get(path).get_data(as_text=True)
