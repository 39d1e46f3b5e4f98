"""An ID number registered outside the caller's area, through the web form (survey_app/duplicates.py).

The API's answers are tested in test_api.py; here the enumerator's page: it names the
holding village only to one who also typed the registered person's name, records
every hit, and stops answering a user who keeps hitting numbers outside their area.
"""

from __future__ import annotations

from conftest import VILLAGE_A, VILLAGE_B, first_household
from helpers import answers
from test_registration_web import form_errors, open_form, persons

from survey_app.store import Store


def post_for(client, store, roster_person, **overrides):
    url, hidden = open_form(client, first_household(store, VILLAGE_A)["ref"])
    data = {**hidden, **answers(id_number=roster_person["answers"]["id_number"],
                                sex=roster_person["answers"]["sex"], **overrides)}
    return client.post(url, data=data)


def test_another_name_learns_only_that_the_number_is_registered_elsewhere(auth, client, store):
    roster_b = persons(store, VILLAGE_B)[0]
    auth.login("e001001")
    before = store.fingerprint(Store.village(VILLAGE_A))
    response = post_for(client, store, roster_b, name="李四光")
    assert response.status_code == 409
    error = form_errors(response.get_data(as_text=True))["id_number"]
    assert "其他地区" in error and "请联系乡镇（街道）核实" in error
    page = response.get_data(as_text=True)
    assert "常庄" not in page and roster_b["answers"]["name"] not in page
    assert store.fingerprint(Store.village(VILLAGE_A)) == before
    hit = store.read(Store.SYSTEM).all("audit")[-1]
    assert hit["action"] == "duplicate_id_number" and hit["user"] == "e001001"
    assert hit["ref"] == f"{VILLAGE_B}.{roster_b['doc_id']}" and hit["name_matched"] is False
    assert roster_b["answers"]["id_number"] not in repr(hit)


def test_the_registered_name_names_the_village(auth, client, store):
    roster_b = persons(store, VILLAGE_B)[0]
    auth.login("e001001")
    response = post_for(client, store, roster_b, name=roster_b["answers"]["name"])
    assert response.status_code == 409
    assert "常庄街道常庄社区" in form_errors(response.get_data(as_text=True))["id_number"]


def test_a_user_sweeping_numbers_outside_the_area_is_stopped(app, auth, client, store):
    app.config["DUPLICATE_MAX_HITS"] = 2
    people_b = persons(store, VILLAGE_B)
    auth.login("e001001")
    statuses = [post_for(client, store, p, name=p["answers"]["name"]).status_code for p in people_b[:3]]
    assert statuses == [409, 409, 429]
    refused = post_for(client, store, people_b[3], name=people_b[3]["answers"]["name"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    error = form_errors(refused.get_data(as_text=True))["id_number"]
    assert "次数过多" in error and "常庄" not in refused.get_data(as_text=True)
    # a hit in the own area still opens the record it found
    roster_a = persons(store)[0]
    own = post_for(client, store, roster_a)
    assert own.status_code == 302 and f"person={VILLAGE_A}.{roster_a['doc_id']}" in own.headers["Location"]
