"""POST /api/v1/submissions: receipts, idempotency on uuid, duplicates, CSRF, scope."""

from __future__ import annotations

import yaml
from conftest import VILLAGE_A, VILLAGE_B, first_household
from helpers import answers, new_id_number, submission

from survey_app.store import Store


def post(client, token, body):
    return client.post("/api/v1/submissions", json=body, headers={"X-CSRFToken": token})


def registered_count(store, village):
    return sum(1 for p in store.read(Store.village(village)).all("persons")
               if p["status"] == "registered")


def test_submission_creates_person_with_receipt(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    response = post(client, auth.api_token(), submission(house["ref"]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"].startswith(VILLAGE_A + ".")
    assert len(body["receipt"]) == 9 and body["receipt"][4] == "-"
    person = client.get(f"/api/v1/persons/{body['id']}").get_json()
    assert person["status"] == "registered" and person["answers"]["birth_date"] == "1988-03-15"


def test_same_uuid_same_content_returns_same_record(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    body = submission(first_household(store, VILLAGE_A)["ref"])
    first = post(client, token, body)
    count = registered_count(store, VILLAGE_A)
    again = post(client, token, body)
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["receipt"] == first.get_json()["receipt"]
    assert registered_count(store, VILLAGE_A) == count


def test_same_uuid_different_content_is_409_and_changes_nothing(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    body = submission(first_household(store, VILLAGE_A)["ref"])
    created = post(client, token, body).get_json()
    before = store.fingerprint(Store.village(VILLAGE_A))
    changed = post(client, token, {**body, "name": "王秀兰"})
    assert changed.status_code == 409
    assert changed.get_json()["error"] == "uuid_conflict"
    assert store.fingerprint(Store.village(VILLAGE_A)) == before
    assert client.get(f"/api/v1/persons/{created['id']}").get_json()["answers"]["name"] == "王秀英"


def test_invalid_form_is_422_with_chinese_messages_and_saves_nothing(auth, client, store):
    auth.login("e001001")
    count = registered_count(store, VILLAGE_A)
    bad = submission(first_household(store, VILLAGE_A)["ref"], phone="12345", id_number="123")
    response = post(client, auth.api_token(), bad)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert "手机" in errors["phone"] and "18位" in errors["id_number"]
    assert registered_count(store, VILLAGE_A) == count


def test_unknown_fields_and_non_json_bodies_are_refused(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    body = {**submission(first_household(store, VILLAGE_A)["ref"]), "salary": "1"}
    assert post(client, token, body).get_json()["errors"] == {"salary": "未知字段。"}
    raw = client.post("/api/v1/submissions", data="[1,2]", content_type="application/json",
                      headers={"X-CSRFToken": token})
    assert raw.status_code == 422


def test_missing_uuid_is_refused(auth, client, store):
    auth.login("e001001")
    body = submission(first_household(store, VILLAGE_A)["ref"])
    del body["uuid"]
    response = post(client, auth.api_token(), body)
    assert response.status_code == 422 and "uuid" in response.get_json()["errors"]


def test_duplicate_id_in_own_area_points_to_existing_record(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)["ref"]
    number = new_id_number()
    first = post(client, token, submission(house, id_number=number)).get_json()
    second = post(client, token, submission(house, id_number=number))
    assert second.status_code == 409
    assert second.get_json()["existing"] == first["id"]
    assert registered_count(store, VILLAGE_A) == 1


def test_duplicate_id_elsewhere_names_only_the_village(auth, client, store, app):
    auth.login("e002001")
    number = new_id_number()
    post(client, auth.api_token(), submission(first_household(store, VILLAGE_B)["ref"],
                                              id_number=number))
    other = app.test_client()
    from conftest import Auth
    other_auth = Auth(other)
    other_auth.login("e001001")
    response = post(other, other_auth.api_token(),
                    submission(first_household(store, VILLAGE_A)["ref"], id_number=number))
    assert response.status_code == 409
    body = response.get_json()
    assert "常庄社区" in body["message"] and "existing" not in body
    assert VILLAGE_B not in response.get_data(as_text=True)


def test_roster_person_id_opens_that_record_instead_of_a_second(auth, client, store):
    auth.login("e001001")
    roster = store.read(Store.village(VILLAGE_A)).all("persons")[0]
    house = f"{VILLAGE_A}.{roster['household']}"
    response = post(client, auth.api_token(), submission(house, id_number=roster["answers"]["id_number"]))
    assert response.status_code == 409
    assert response.get_json()["existing"] == f"{VILLAGE_A}.{roster['doc_id']}"


def test_completing_a_roster_person_keeps_one_record(auth, client, store):
    auth.login("e001001")
    roster = store.read(Store.village(VILLAGE_A)).all("persons")[0]
    house = f"{VILLAGE_A}.{roster['household']}"
    ref = f"{VILLAGE_A}.{roster['doc_id']}"
    body = {**submission(house, id_number=roster["answers"]["id_number"],
                         sex=roster["answers"]["sex"]), "person": ref}
    count = len(store.read(Store.village(VILLAGE_A)).all("persons"))
    response = post(client, auth.api_token(), body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"] == ref
    assert len(store.read(Store.village(VILLAGE_A)).all("persons")) == count
    assert client.get(f"/api/v1/persons/{ref}").get_json()["status"] == "registered"


def test_post_without_csrf_token_is_rejected(auth, client, store):
    auth.login("e001001")
    count = registered_count(store, VILLAGE_A)
    response = client.post("/api/v1/submissions",
                           json=submission(first_household(store, VILLAGE_A)["ref"]))
    assert response.status_code == 400 and response.get_json()["error"] == "csrf"
    assert registered_count(store, VILLAGE_A) == count


def test_api_requires_login(client):
    assert client.get("/api/v1/session").status_code == 401
    assert client.post("/api/v1/submissions", json={}).status_code in (400, 401)


def test_households_can_be_added_through_the_api(auth, client):
    auth.login("e001001")
    response = client.post(f"/api/v1/villages/{VILLAGE_A}/households",
                           json={"head_name": "李建国", "address": "临山村5组1号", "members_count": 3},
                           headers={"X-CSRFToken": auth.api_token()})
    assert response.status_code == 201
    listed = client.get(f"/api/v1/villages/{VILLAGE_A}/households").get_json()["households"]
    assert any(h["id"] == response.get_json()["id"] for h in listed)


def test_openapi_document_describes_submissions(client):
    spec = yaml.safe_load(client.get("/api/v1/openapi.yaml").get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    responses = spec["paths"]["/submissions"]["post"]["responses"]
    assert {"201", "200", "409", "422", "404"} <= set(responses)


def test_openapi_request_bodies_list_exactly_the_keys_the_server_takes(client, app):
    """additionalProperties is false in the description: its keys must follow forms/*.toml."""
    from survey_app import formdef, registry
    spec = yaml.safe_load(client.get("/api/v1/openapi.yaml").get_data(as_text=True))
    schemas = spec["components"]["schemas"]
    forms = app.config["FORMS_DIR"]
    assert set(schemas["Submission"]["properties"]) == \
        formdef.load(forms, "registration").field_names | registry.ENVELOPE
    household = formdef.load(forms, "household").field_names
    assert set(schemas["NewHousehold"]["properties"]) == household | {"uuid"}
    assert schemas["Submission"]["additionalProperties"] is False


def test_form_definition_served_as_json(auth, client):
    auth.login("e001001")
    definition = client.get("/api/v1/forms/registration").get_json()
    names = [f["name"] for s in definition["sections"] for f in s["fields"]]
    assert {"name", "id_number", "phone"} <= set(names)
    assert answers().keys() <= set(names)


def test_legacy_15_digit_number_is_upgraded_only_with_confirmation(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)["ref"]
    legacy = "370403780612151"  # born 1978-06-12, sequence 151 (odd: male)
    refused = post(client, token, submission(house, id_number=legacy))
    assert refused.status_code == 422
    assert "15位" in refused.get_json()["errors"]["id_number"]
    saved = post(client, token, submission(house, id_number=legacy, confirm_id_upgrade=True))
    assert saved.status_code == 201, saved.get_json()
    person = client.get(f"/api/v1/persons/{saved.get_json()['id']}").get_json()
    assert person["answers"]["id_number"].startswith("370403197806121")
    assert len(person["answers"]["id_number"]) == 18
    assert "confirm_id_upgrade" not in person["answers"]


def test_audit_entries_never_hold_an_id_or_phone_number(auth, client, store):
    import re
    auth.login("e001001")
    post(client, auth.api_token(), submission(first_household(store, VILLAGE_A)["ref"]))
    audit = store.read(Store.village(VILLAGE_A)).all("audit")
    assert audit and audit[-1]["action"] == "register_person"
    text = repr(audit)
    assert not re.search(r"\d{17}[\dXx]|1[3-9]\d{9}", text)


def test_household_retry_with_same_uuid_makes_one_household(auth, client, store):
    import uuid as uuidlib
    auth.login("e001001")
    token = auth.api_token()
    body = {"uuid": str(uuidlib.uuid4()), "head_name": "孙立新", "address": "临山村7组2号",
            "members_count": 4}
    url = f"/api/v1/villages/{VILLAGE_A}/households"
    first = client.post(url, json=body, headers={"X-CSRFToken": token})
    again = client.post(url, json=body, headers={"X-CSRFToken": token})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    changed = client.post(url, json={**body, "members_count": 5}, headers={"X-CSRFToken": token})
    assert changed.status_code == 409
    heads = [h["head_name"] for h in store.read(Store.village(VILLAGE_A)).all("households")]
    assert heads.count("孙立新") == 1
    unknown = client.post(url, json={**body, "uuid": str(uuidlib.uuid4()), "owner": "x"},
                          headers={"X-CSRFToken": token})
    assert unknown.status_code == 422 and "owner" in unknown.get_json()["errors"]


def test_late_retry_of_a_first_form_after_an_edit_is_still_a_replay(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    first = submission(first_household(store, VILLAGE_A)["ref"])
    created = post(client, token, first).get_json()
    edit = {**submission(first["household"], id_number=first["id_number"], phone="0632-4400001"),
            "person": created["id"]}
    assert post(client, token, edit).status_code == 201
    late = post(client, token, first)  # the phone's queue retries the first form
    assert late.status_code == 200 and late.get_json()["id"] == created["id"]
    person = client.get(f"/api/v1/persons/{created['id']}").get_json()
    assert person["answers"]["phone"] == "0632-4400001"  # the retry changed nothing


def test_the_bundle_holds_only_the_enumerator_s_own_villages(auth, client):
    auth.login("e001001")
    bundle = client.get("/api/v1/bundle").get_json()
    assert bundle["username"] == "e001001"
    assert [v["code"] for v in bundle["villages"]] == [VILLAGE_A]
    village = bundle["villages"][0]
    assert village["households"] and village["persons"]
    for person in village["persons"]:
        assert person["household"].startswith(VILLAGE_A + ".") and person["answers"]["id_number"]
    auth.logout()
    auth.login("township")
    assert client.get("/api/v1/bundle").status_code == 404  # staff do not carry a township in a phone


# -- a number registered elsewhere: no location oracle (see survey_app/duplicates.py) --------------
def _registered_in_b(app, name: str) -> tuple[str, str]:
    """An ID number registered in village B by its own enumerator; returns (number, person id)."""
    from conftest import Auth
    other = app.test_client()
    other_auth = Auth(other)
    other_auth.login("e002001")
    number = new_id_number()
    house = first_household(app.extensions["canbao"]["store"], VILLAGE_B)["ref"]
    saved = post(other, other_auth.api_token(), submission(house, id_number=number, name=name))
    assert saved.status_code == 201, saved.get_json()
    return number, saved.get_json()["id"]


def duplicate_audit(store) -> list[dict]:
    return [a for a in store.read(Store.SYSTEM).all("audit") if a["action"] == "duplicate_id_number"]


def test_duplicate_elsewhere_with_another_name_names_no_village(auth, client, store, app):
    number, _ref = _registered_in_b(app, "张三丰")
    auth.login("e001001")
    before = store.fingerprint(Store.village(VILLAGE_A))
    response = post(client, auth.api_token(),
                    submission(first_household(store, VILLAGE_A)["ref"], id_number=number, name="李四光"))
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "duplicate_id_number"
    assert "其他地区" in body["message"] and "乡镇（街道）核实" in body["message"]
    assert "village" not in body and "existing" not in body
    text = response.get_data(as_text=True)
    assert "常庄" not in text and VILLAGE_B not in text
    assert store.fingerprint(Store.village(VILLAGE_A)) == before


def test_duplicate_elsewhere_with_the_same_name_as_typed_names_the_village(auth, client, store, app):
    number, _ref = _registered_in_b(app, "张三丰")
    auth.login("e001001")
    response = post(client, auth.api_token(),  # a space and a full-width typing are the same name
                    submission(first_household(store, VILLAGE_A)["ref"], id_number=number, name="张 三丰"))
    assert response.status_code == 409
    assert response.get_json()["village"] == "常庄街道常庄社区"
    assert "existing" not in response.get_json()


def test_every_duplicate_hit_is_audited_with_the_masked_number_only(auth, client, store, app):
    import re
    number, ref = _registered_in_b(app, "张三丰")
    auth.login("e001001")
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)["ref"]
    post(client, token, submission(house, id_number=number, name="李四光"))
    post(client, token, submission(house, id_number=number, name="张三丰"))
    post(client, token, submission(house, id_number=number, name="王秀英"))
    own_number = new_id_number()
    post(client, token, submission(house, id_number=own_number))
    own = post(client, token, submission(house, id_number=own_number))  # a hit in the own area
    entries = duplicate_audit(store)
    assert own.status_code == 409 and len(entries) == 4
    assert [e["name_matched"] for e in entries[:2]] == [False, True]
    assert entries[0]["ref"] == ref and entries[0]["user"] == "e001001"
    assert entries[0]["id_number"] == number[:6] + "*" * 8 + number[-4:]
    assert [e["in_area"] for e in entries] == [False, False, False, True]
    assert number not in repr(entries) and not re.search(r"\d{17}[\dXx]", repr(entries))


def test_duplicate_hits_outside_the_area_are_rate_limited_per_user(auth, client, store, app):
    app.config["DUPLICATE_MAX_HITS"] = 3
    numbers = [_registered_in_b(app, "张三丰")[0] for _ in range(5)]
    auth.login("e001001")
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)["ref"]
    own_number = new_id_number()
    post(client, token, submission(house, id_number=own_number))
    answers_seen = [post(client, token, submission(house, id_number=n, name="张三丰")) for n in numbers[:3]]
    assert [r.status_code for r in answers_seen] == [409, 409, 409]
    refused = post(client, token, submission(house, id_number=numbers[3], name="张三丰"))
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"] == "too_many_duplicates" and "分钟后再试" in body["message"]
    assert "village" not in body and "常庄" not in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # the own area still answers as ever: those hits are neither limited nor counted
    own = post(client, token, submission(house, id_number=own_number))
    assert own.status_code == 409 and own.get_json()["existing"]
    assert duplicate_audit(store)[-2]["refused"] is True
    # new people are still registered; another user has a limit of their own
    assert post(client, token, submission(house)).status_code == 201
    from conftest import Auth
    other = app.test_client()
    Auth(other).login("e001002")
    elsewhere = post(other, Auth(other).api_token(),
                     submission(first_household(store, "370403001002")["ref"], id_number=numbers[4],
                                name="张三丰"))
    assert elsewhere.status_code == 409
