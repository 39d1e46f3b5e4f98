"""The enumerator's web form: errors beside fields, nothing saved until valid, duplicates."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import VILLAGE_A, VILLAGE_B, csrf_from, first_household
from helpers import answers, new_id_number

from survey_app.store import Store


class FieldErrors(HTMLParser):
    """Maps each field wrapper id to the error text shown inside it."""

    def __init__(self):
        super().__init__()
        self.errors, self._field, self._in_error = {}, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and (attrs.get("id") or "").startswith("field-"):
            self._field = attrs["id"][6:]
        if tag == "p" and attrs.get("class") == "error":
            self._in_error = True

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_error = False

    def handle_data(self, data):
        if self._in_error and self._field:
            self.errors[self._field] = self.errors.get(self._field, "") + data


def form_errors(html):
    parser = FieldErrors()
    parser.feed(html)
    return parser.errors


def open_form(client, house_ref, person=None):
    url = f"/e/h/{house_ref}/register" + (f"?person={person}" if person else "")
    page = client.get(url).get_data(as_text=True)
    import re
    submission_id = re.search(r'name="uuid" value="([^"]+)"', page).group(1)
    return url, {"csrf_token": csrf_from(page), "uuid": submission_id}


def persons(store, village=VILLAGE_A):
    return store.read(Store.village(village)).all("persons")


def test_register_new_member_shows_receipt(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    url, hidden = open_form(client, house)
    response = client.post(url, data={**hidden, **answers()}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "回执号" in page
    assert any(p["status"] == "registered" for p in persons(store))


def test_errors_are_shown_next_to_their_fields_and_nothing_saved(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    before = store.fingerprint(Store.village(VILLAGE_A))
    url, hidden = open_form(client, house)
    bad = answers(phone="555", name="", sex="female")
    response = client.post(url, data={**hidden, **bad})
    assert response.status_code == 422
    errors = form_errors(response.get_data(as_text=True))
    assert errors["name"] == "此项必填。"
    assert "手机" in errors["phone"]
    assert "性别与公民身份号码不符" in errors["sex"]
    assert store.fingerprint(Store.village(VILLAGE_A)) == before
    assert 'value="555"' in response.get_data(as_text=True)  # what was typed is kept


def test_double_tap_on_save_registers_once(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    url, hidden = open_form(client, house)
    data = {**hidden, **answers()}
    client.post(url, data=data)
    client.post(url, data=data)
    assert sum(p["status"] == "registered" for p in persons(store)) == 1


def test_duplicate_in_own_area_opens_existing_record(auth, client, store):
    auth.login("e001001")
    roster = persons(store)[0]
    house = f"{VILLAGE_A}.{roster['household']}"
    url, hidden = open_form(client, house)
    count = len(persons(store))
    response = client.post(url, data={**hidden, **answers(id_number=roster["answers"]["id_number"],
                                                          sex=roster["answers"]["sex"])})
    assert response.status_code == 302
    assert f"person={VILLAGE_A}.{roster['doc_id']}" in response.headers["Location"]
    assert len(persons(store)) == count


def test_duplicate_elsewhere_with_the_same_name_names_the_village(auth, client, store):
    roster_b = persons(store, VILLAGE_B)[0]
    auth.login("e001001")
    url, hidden = open_form(client, first_household(store, VILLAGE_A)["ref"])
    count = len(persons(store))
    response = client.post(url, data={**hidden, **answers(id_number=roster_b["answers"]["id_number"],
                                                          name=roster_b["answers"]["name"],
                                                          sex=roster_b["answers"]["sex"])})
    assert response.status_code == 409
    error = form_errors(response.get_data(as_text=True))["id_number"]
    assert "常庄街道常庄社区" in error  # the same person: where they are registered helps
    assert len(persons(store)) == count


def test_editing_a_registered_person_keeps_receipt_and_one_record(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    url, hidden = open_form(client, house)
    number = new_id_number()
    client.post(url, data={**hidden, **answers(id_number=number)})
    saved = next(p for p in persons(store) if p["answers"]["id_number"] == number)
    ref = f"{VILLAGE_A}.{saved['doc_id']}"
    url, hidden = open_form(client, house, person=ref)
    client.post(url + "", data={**hidden, **answers(id_number=number, phone="0632-4412345")})
    again = [p for p in persons(store) if p["answers"]["id_number"] == number]
    assert len(again) == 1
    assert again[0]["answers"]["phone"] == "0632-4412345"
    assert again[0]["receipt"] == saved["receipt"]


def test_form_without_csrf_token_is_refused(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    before = store.fingerprint(Store.village(VILLAGE_A))
    _url, hidden = open_form(client, house)
    response = client.post(f"/e/h/{house}/register", data={"uuid": hidden["uuid"], **answers()})
    assert response.status_code == 400
    assert "刷新页面" in response.get_data(as_text=True)
    assert store.fingerprint(Store.village(VILLAGE_A)) == before


def test_add_household_then_it_is_listed(auth, client, store):
    auth.login("e001001")
    page = client.get(f"/e/v/{VILLAGE_A}/households/new").get_data(as_text=True)
    bad = client.post(f"/e/v/{VILLAGE_A}/households/new",
                      data={"csrf_token": csrf_from(page), "head_name": "赵", "members_count": "0"})
    assert bad.status_code == 422
    import re
    form = {"csrf_token": csrf_from(page), "head_name": "赵丽颖", "address": "临山村6组18号",
            "members_count": "2", "uuid": re.search(r'name="uuid" value="([^"]+)"', page).group(1)}
    ok = client.post(f"/e/v/{VILLAGE_A}/households/new", data=form)
    tapped_twice = client.post(f"/e/v/{VILLAGE_A}/households/new", data=form)
    assert ok.status_code == tapped_twice.status_code == 302
    assert ok.headers["Location"] == tapped_twice.headers["Location"]
    assert client.get(f"/e/v/{VILLAGE_A}").get_data(as_text=True).count("赵丽颖") == 1


def test_household_page_counts_people_still_missing(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    page = client.get(f"/e/h/{house['ref']}").get_data(as_text=True)
    assert f"还有 {house['members_count']} 人未登记" in page


def test_village_search_finds_a_household_by_any_member_name(auth, client, store):
    auth.login("e001001")
    shard = store.read(Store.village(VILLAGE_A))
    member = next(p for p in shard.all("persons") if p["answers"]["relationship"] != "head")
    house = shard.get("households", member["household"])
    page = client.get(f"/e/v/{VILLAGE_A}", query_string={"q": member["answers"]["name"]})
    assert f"/e/h/{VILLAGE_A}.{member['household']}" in page.get_data(as_text=True)
    assert house["head_name"] in page.get_data(as_text=True)
