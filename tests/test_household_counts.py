"""户不漏人 on small known households, and rosters loaded twice without a second copy."""

from __future__ import annotations

import uuid

from conftest import VILLAGE_A, csrf_from
from helpers import new_id_number, submission
from test_roster import upload, xlsx

from survey_app import coverage, roster_load
from survey_app.store import Store


def roster_house(head: str, wife: str, child: str, number: str = "A-17") -> dict:
    return {"number": number, "head_name": "宋长河", "address": "临山村9组1号", "phone": "13700001234",
            "members_count": 4, "members": [
                {"name": "宋长河", "id_number": head, "sex": "male", "birth_date": head[6:10] + "-03-15",
                 "relationship": "head", "phone": "13700001234"},
                {"name": "许桂芝", "id_number": wife, "sex": "female", "birth_date": wife[6:10] + "-03-15",
                 "relationship": "spouse"},
                {"name": "宋小川", "id_number": child, "sex": "male", "birth_date": child[6:10] + "-03-15",
                 "relationship": "child"},
            ]}


def load_family(store) -> tuple[str, list[str]]:
    """A household of 4 declared, 3 on the roster: returns its ref and the three ID numbers."""
    numbers = [new_id_number(1960), new_id_number(1962, male=False), new_id_number(1990)]
    roster_load.import_roster(store, VILLAGE_A, [roster_house(*numbers)])
    house = next(h for h in store.read(Store.village(VILLAGE_A)).all("households")
                 if h.get("number") == "A-17")
    return f"{VILLAGE_A}.{house['doc_id']}", numbers


def person_ref(store, number: str) -> str:
    person = next(p for p in store.read(Store.village(VILLAGE_A)).all("persons")
                  if p["answers"]["id_number"] == number)
    return f"{VILLAGE_A}.{person['doc_id']}"


def post(client, token, body):
    return client.post("/api/v1/submissions", json=body, headers={"X-CSRFToken": token})


def household_progress(store, ref: str) -> dict:
    doc_id = int(ref.split(".")[1])
    shard = store.read(Store.village(VILLAGE_A))
    return coverage.household_progress(shard.get("households", doc_id),
                                       shard.find("persons", household=doc_id))


def test_someone_added_never_cancels_a_pending_roster_person(auth, client, store):
    ref, (head, wife, child) = load_family(store)
    before = coverage.village_row(store, VILLAGE_A)
    auth.login("e001001")
    token = auth.api_token()
    for number, name, relation in ((head, "宋长河", "head"), (wife, "许桂芝", "spouse")):
        body = submission(ref, person=person_ref(store, number), id_number=number, name=name,
                          relationship=relation, sex="male" if relation == "head" else "female")
        assert post(client, token, body).status_code == 201
    # a grandchild the roster does not know, and the declared fourth person
    for name in ("宋苗苗", "宋禾禾"):
        added = post(client, token, submission(ref, name=name, id_number=new_id_number(2015),
                                               relationship="grandchild"))
        assert added.status_code == 201
    assert added.get_json()["household_size"] == 5  # 3 listed + 2 added: the size followed the list

    progress = household_progress(store, ref)
    assert progress == {"declared": 5, "listed": 5, "registered": 4, "pending": 1, "unlisted": 0,
                        "to_do": 1, "over": 0, "complete": False}
    page = client.get(f"/e/h/{ref}").get_data(as_text=True)
    assert "还有 1 人未登记" in page  # 宋小川 is still 待登记
    row = coverage.village_row(store, VILLAGE_A)
    assert row["households_complete"] == before["households_complete"]
    assert row["persons_expected"] - before["persons_expected"] == 1  # 4 declared, now 5 listed
    assert row["persons_registered"] - before["persons_registered"] == 4

    body = submission(ref, person=person_ref(store, child), id_number=child, name="宋小川")
    assert post(client, token, body).status_code == 201
    assert household_progress(store, ref)["complete"]
    assert "未登记" not in client.get(f"/e/h/{ref}").get_data(as_text=True)
    assert coverage.village_row(store, VILLAGE_A)["households_complete"] == before["households_complete"] + 1
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []  # the kept row is the computed one


def test_a_household_with_fewer_listed_than_declared_shows_the_gap(auth, client, store):
    ref, _numbers = load_family(store)  # declared 4, listed 3
    auth.login("e001001")
    page = client.get(f"/e/h/{ref}").get_data(as_text=True)
    assert "还有 4 人未登记" in page and "名单上只有 3 人" in page


def test_the_printed_progress_report_counts_a_household_complete_only_when_it_is(auth, client, store):
    ref, (head, wife, child) = load_family(store)
    auth.login("e001001")
    token = auth.api_token()
    post(client, token, submission(ref, name="宋外来", id_number=new_id_number(2016),
                                   relationship="grandchild"))
    for number in (head, wife, child):
        post(client, token, submission(ref, person=person_ref(store, number), id_number=number,
                                       name="宋长河", sex="male" if number != wife else "female"))
    row = coverage.village_row(store, VILLAGE_A)
    progress = household_progress(store, ref)
    # declared 4, 3 roster + 1 added = 4 listed, all registered: complete, and only now
    assert progress["complete"] and progress["declared"] == 4
    assert row["households_complete"] >= 1
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []


def test_loading_the_same_roster_twice_makes_no_second_copy(auth, client, store):
    auth.login("township")
    head, wife = new_id_number(1971), new_id_number(1973, male=False)
    rows = [["H-1", "陈国栋", "临山村8组5号", "陈国栋", head, "户主", "13611112222"],
            ["H-1", "陈国栋", "临山村8组5号", "林美玲", wife, "配偶", ""]]
    shard = lambda: store.read(Store.village(VILLAGE_A))  # noqa: E731
    houses_before, people_before = len(shard().all("households")), len(shard().all("persons"))
    row_before = coverage.village_row(store, VILLAGE_A)

    assert upload(client, VILLAGE_A, "名单.xlsx", xlsx(rows)).status_code == 302
    first = client.get(f"/s/v/{VILLAGE_A}").get_data(as_text=True)
    assert "新增 1 户 2 人" in first
    assert upload(client, VILLAGE_A, "名单.xlsx", xlsx(rows)).status_code == 302
    second = client.get(f"/s/v/{VILLAGE_A}").get_data(as_text=True)
    assert "新增 0 户 0 人" in second and "1 户无变化" in second
    assert len(shard().all("households")) == houses_before + 1
    assert len(shard().all("persons")) == people_before + 2
    assert coverage.village_row(store, VILLAGE_A)["households"] == row_before["households"] + 1

    # a corrected file: a new phone for the household, a son added, the wife's name fixed
    son = new_id_number(2001)
    rows[0][6] = "13611113333"
    rows[1][3] = "林美龄"
    rows.append(["H-1", "陈国栋", "临山村8组5号", "陈小栋", son, "子女", ""])
    assert upload(client, VILLAGE_A, "名单.xlsx", xlsx(rows)).status_code == 302
    third = client.get(f"/s/v/{VILLAGE_A}").get_data(as_text=True)
    # the head's new phone and the wife's spelling: two people corrected
    assert "新增 0 户 1 人" in third and "已有的 1 户有更正（更正 2 人）" in third
    house = next(h for h in shard().all("households") if h.get("number") == "H-1")
    assert house["phone"] == "13611113333" and house["members_count"] == 3
    assert len(shard().all("households")) == houses_before + 1
    names = {p["answers"]["name"] for p in shard().find("persons", household=house["doc_id"])}
    assert names == {"陈国栋", "林美龄", "陈小栋"}
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []


def test_a_roster_without_numbers_matches_on_the_head_then_name_and_address(store):
    head = new_id_number(1950)
    house = {"head_name": "范老四", "address": "临山村1组2号", "members_count": 1, "members": [
        {"name": "范老四", "id_number": head, "sex": "male", "birth_date": "1950-03-15",
         "relationship": "head"}]}
    first = roster_load.import_roster(store, VILLAGE_A, [house])
    assert first["households"] == 1
    moved = {**house, "address": "临山村1组9号"}  # the same head, a corrected address
    again = roster_load.import_roster(store, VILLAGE_A, [moved])
    assert again["households"] == 0 and again["households_changed"] == 1
    nobody = {"head_name": "范老四", "address": "临山村1组9号", "members_count": 1, "members": [
        {"name": "范小五", "id_number": new_id_number(1980), "sex": "male", "birth_date": "1980-03-15",
         "relationship": "child"}]}
    third = roster_load.import_roster(store, VILLAGE_A, [nobody])  # no head row: name + address
    assert third["households"] == 0 and third["persons"] == 1


def test_a_roster_phone_prefills_the_form_and_is_exported(auth, client, store):
    ref, (head, _wife, _child) = load_family(store)
    auth.login("e001001")
    form = client.get(f"/e/h/{ref}/register?person={person_ref(store, head)}").get_data(as_text=True)
    assert 'value="13700001234"' in form
    auth.logout()
    auth.login("township")
    exported = client.get(f"/s/v/{VILLAGE_A}/export.csv").get_data(as_text=True)
    line = next(x for x in exported.splitlines() if head in x)
    assert "13700001234" in line


def test_adding_a_household_like_one_already_there_asks_first(auth, client, store):
    auth.login("e001001")
    existing = store.read(Store.village(VILLAGE_A)).all("households")[0]
    path = f"/e/v/{VILLAGE_A}/households/new"
    page = client.get(path).get_data(as_text=True)
    body = {"csrf_token": csrf_from(page), "uuid": str(uuid.uuid4()), "head_name": existing["head_name"],
            "address": "临山村新建99号", "members_count": "2"}
    count = len(store.read(Store.village(VILLAGE_A)).all("households"))
    asked = client.post(path, data=body)
    assert asked.status_code == 422
    text = asked.get_data(as_text=True)
    assert "本村已有相同户主或相同地址的家庭户" in text and existing["head_name"] in text
    assert len(store.read(Store.village(VILLAGE_A)).all("households")) == count
    confirmed = client.post(path, data={**body, "confirm_new_household": "1"})
    assert confirmed.status_code == 302
    assert len(store.read(Store.village(VILLAGE_A)).all("households")) == count + 1
    # the API asks the same way
    api = client.post(f"/api/v1/villages/{VILLAGE_A}/households", headers={"X-CSRFToken": auth.api_token()},
                      json={"uuid": str(uuid.uuid4()), "head_name": "另一户", "address": existing["address"],
                            "members_count": 1})
    assert api.status_code == 422 and "confirm_new_household" in api.get_json()["errors"]
