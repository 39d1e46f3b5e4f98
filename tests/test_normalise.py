"""What Chinese input methods type is one person, whichever path it comes in by."""

from __future__ import annotations

import uuid

import pytest
from conftest import VILLAGE_A, csrf_from, first_household
from helpers import new_id_number, submission
from test_roster import upload, xlsx

from survey_app import textnorm
from survey_app.store import Store

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")


def full_width(number: str) -> str:
    """An ID number as a pinyin keyboard in full-width mode types it, with a lower-case x."""
    return number.translate(FULL_WIDTH)


def id_number_with_x() -> str:
    while not (number := new_id_number(1985)).endswith("X"):
        pass
    return number


def post(client, token, body):
    return client.post("/api/v1/submissions", json=body, headers={"X-CSRFToken": token})


@pytest.mark.parametrize(("typed", "stored"), [
    ("买买提 • 艾力", "买买提·艾力"), ("阿依古丽．吐尔逊", "阿依古丽·吐尔逊"), ("张　三", "张三"),
    ("玛丽・居里", "玛丽·居里"), ("John  Smith", "John Smith"), ("Ｌｉ Ｌｅｉ", "Li Lei"),
])
def test_names_are_folded_to_one_spelling(typed, stored):
    assert textnorm.person_name(typed) == stored


def test_codes_fold_full_width_digits_spaces_and_a_small_x():
    assert textnorm.fold_code("３７０４ ０３１９８５\u3000０３１５１２３ｘ") == "37040319850315123X"
    assert textnorm.fold_text("临山村３组１２号，东") == "临山村3组12号，东"  # Chinese punctuation stays


def test_full_width_id_through_the_api_is_the_same_person(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)
    number = id_number_with_x()
    first = post(client, token, submission(house["ref"], id_number=number, phone="１３９１２３４５６７８"))
    assert first.status_code == 201, first.get_json()
    stored = client.get(f"/api/v1/persons/{first.get_json()['id']}").get_json()["answers"]
    assert stored["phone"] == "13912345678"
    second = post(client, token, submission(house["ref"], id_number=full_width(number)))
    assert second.status_code == 409 and second.get_json()["error"] == "duplicate_id_number"


def test_full_width_id_through_the_web_form_is_the_same_person(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    number = id_number_with_x()
    path = f"/e/h/{house['ref']}/register"
    page = client.get(path).get_data(as_text=True)
    answers = {k: v for k, v in submission(house["ref"], id_number=full_width(number),
                                           name="热依拉 ・ 买买提", sex="male").items()
               if k != "household"}
    response = client.post(path, data={**answers, "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    people = [p for p in store.read(Store.village(VILLAGE_A)).all("persons")
              if p["answers"].get("id_number") == number]
    assert len(people) == 1 and people[0]["answers"]["name"] == "热依拉·买买提"
    again = client.post(path, data={**answers, "uuid": str(uuid.uuid4()), "id_number": number,
                                    "csrf_token": csrf_from(page)})
    assert again.status_code in (302, 409)  # opened as the existing record, never a second one
    assert sum(1 for p in store.read(Store.village(VILLAGE_A)).all("persons")
               if p["answers"].get("id_number") == number) == 1


def test_full_width_roster_rows_load_as_typed_by_hand(auth, client, store):
    auth.login("township")
    number = id_number_with_x()
    rows = [["７", "古丽．热合曼", "临山村３组７号", "古丽．热合曼", full_width(number), "户主",
             "１３６ １１１１ ２２２２"]]
    assert upload(client, VILLAGE_A, "名单.xlsx", xlsx(rows)).status_code == 302
    person = next(p for p in store.read(Store.village(VILLAGE_A)).all("persons")
                  if p["answers"]["id_number"] == number)
    assert person["answers"]["name"] == "古丽·热合曼" and person["answers"]["phone"] == "13611112222"
    house = store.read(Store.village(VILLAGE_A)).get("households", person["household"])
    assert house["address"] == "临山村3组7号" and house["number"] == "7"
    # the same person typed again in a second file is not loaded twice
    assert upload(client, VILLAGE_A, "名单.xlsx", xlsx([["7", "古丽·热合曼", "临山村3组7号", "古丽·热合曼",
                                                          number, "户主", ""]])).status_code == 302
    assert sum(1 for p in store.read(Store.village(VILLAGE_A)).all("persons")
               if p["answers"]["id_number"] == number) == 1


RARE_NAMES = ["𠮷野家", "王𪚥", "李䶮", "陈𬌗", "欧阳〇一"]


@pytest.mark.parametrize("name", RARE_NAMES)
def test_names_with_extension_block_characters_are_registered(auth, client, store, name):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    response = post(client, auth.api_token(), submission(house["ref"], name=name))
    assert response.status_code == 201, response.get_json()
    assert client.get(f"/api/v1/persons/{response.get_json()['id']}").get_json()["answers"]["name"] == name


def test_a_long_transliterated_name_fits(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    name = "·".join(["阿卜杜热合曼"] * 7)  # 48 characters
    assert len(name) >= 45
    response = post(client, auth.api_token(), submission(house["ref"], name=name))
    assert response.status_code == 201, response.get_json()
    too_long = post(client, auth.api_token(), submission(house["ref"], name="阿" * 51))
    assert too_long.status_code == 422 and "姓名" in too_long.get_json()["errors"]["name"]
