"""暂存 (saving what is known) and people who died, moved away or cannot be found."""

from __future__ import annotations

from conftest import VILLAGE_A, csrf_from, first_household
from helpers import answers, new_id_number, submission

from survey_app import coverage, formdef
from survey_app.settings import defaults
from survey_app.store import Store


def form() -> formdef.FormDefinition:
    return formdef.load(defaults()["FORMS_DIR"], "registration")


def post(auth, client, payload):
    return client.post("/api/v1/submissions", json=payload, headers={"X-CSRFToken": auth.api_token()})


def test_a_partial_save_keeps_what_is_known_and_lists_what_is_missing(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    before = coverage.village_row(store, VILLAGE_A)
    number = new_id_number(1975)
    response = post(auth, client, {"uuid": submission(house["ref"])["uuid"], "household": house["ref"],
                                   "incomplete": True, "name": "韩梅", "id_number": number,
                                   "phone": "13800001111"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "incomplete" and body["receipt"]
    assert "ethnicity" in body["missing"] and "name" not in body["missing"]
    person = store.read(Store.village(VILLAGE_A)).get("persons", int(body["id"].split(".")[1]))
    assert person["status"] == "incomplete" and person["answers"]["phone"] == "13800001111"
    assert person["missing"] == body["missing"]
    after = coverage.village_row(store, VILLAGE_A)
    assert after["persons_incomplete"] == before["persons_incomplete"] + 1
    assert after["persons_registered"] == before["persons_registered"]
    assert store.read(Store.index("idnum", number)).find_one("entries", key=number)  # still one person
    finished = post(auth, client, {**submission(house["ref"], name="韩梅", id_number=number),
                                   "person": body["id"]})
    assert finished.status_code == 201 and finished.get_json()["status"] == "registered"
    done = coverage.village_row(store, VILLAGE_A)
    assert done["persons_incomplete"] == before["persons_incomplete"]
    assert done["persons_registered"] == before["persons_registered"] + 1


def test_a_partial_save_still_checks_every_answer_given(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    before = store.fingerprint(Store.village(VILLAGE_A))
    bad_phone = post(auth, client, {"uuid": submission(house["ref"])["uuid"], "household": house["ref"],
                                    "incomplete": True, "name": "韩梅", "phone": "123"})
    assert bad_phone.status_code == 422 and "phone" in bad_phone.get_json()["errors"]
    no_name = post(auth, client, {"uuid": submission(house["ref"])["uuid"], "household": house["ref"],
                                  "incomplete": True, "phone": "13800001111"})
    assert no_name.status_code == 422 and "姓名" in no_name.get_json()["errors"]["name"]
    assert store.fingerprint(Store.village(VILLAGE_A)) == before


def test_someone_who_died_needs_only_what_makes_sense(store):
    number = new_id_number(1940)
    result = form().validate({"situation": "deceased", "name": "赵老汉", "id_number": number,
                              "sex": "male", "situation_note": "2026年8月病故", "phone": "13800001111"})
    assert result.ok, result.errors
    assert "phone" not in result.values and "resident_pension" not in result.values
    assert form().validate({"situation": "deceased", "name": "赵老汉", "id_number": number,
                            "sex": "male"}).errors == {"situation_note": "此项必填。"}
    living = form().validate({**answers(), "situation": "living"})
    assert living.ok and living.values["phone"]


def test_the_form_counts_the_required_answers_still_open():
    open_now = form().required_open({"name": "张三", "situation": "moved_out"})
    assert open_now == ["situation_note", "id_number", "sex"]  # in form order
    assert form().required_open({**answers()}) == []


def test_the_web_form_saves_what_is_known_and_the_household_page_says_what_is_missing(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    page = client.get(f"/e/h/{house['ref']}/register").get_data(as_text=True)
    assert "暂存" in page
    response = client.post(f"/e/h/{house['ref']}/register", data={
        "csrf_token": csrf_from(page), "uuid": submission(house["ref"])["uuid"], "incomplete": "1",
        "name": "李雷", "situation": "living"}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "已暂存，还缺" in text and "未完成" in text and "还缺：" in text and "公民身份号码" in text
