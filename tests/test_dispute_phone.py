"""A dispute heard at the door (征缴争议, 首接负责): the API the phone's outbox posts to, the
intake page of a household visit, and the enumerator's own list of what they took in."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from conftest import VILLAGE_A, VILLAGE_B, csrf_from, first_household

from survey_app import clock, state
from survey_app.disputes import ledger
from survey_app.store import Store

PHONE = "13912345678"
ANSWERS = {"party_name": "李超", "party_phone": PHONE, "channel": "visit", "category": "records",
           "content": "去年在村里交过钱，名单上却显示未缴。",
           "first_opinion": "收据在手，建议转税务核实入库。"}


@pytest.fixture(autouse=True)
def monday(monkeypatch):
    """Monday 23 November 2026: a routine item (5 working days) falls due on Monday the 30th."""
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def house(store):
    home = first_household(store, VILLAGE_A)
    members = store.read(Store.village(VILLAGE_A)).find("persons", household=home["doc_id"])
    return {"ref": home["ref"], "head": home["head_name"],
            "person": f"{VILLAGE_A}.{members[0]['doc_id']}", "name": members[0]["answers"]["name"]}


@pytest.fixture
def api(auth, client):
    """e001001's client and a function posting one dispute body with the CSRF token."""
    auth.login("e001001")
    token = auth.api_token()
    return lambda body: client.post("/api/v1/disputes", json=body, headers={"X-CSRFToken": token})


def body(house, **extra) -> dict:
    return {"uuid": str(uuid.uuid4()), "village": VILLAGE_A, "household": house["ref"],
            "person": house["person"], **ANSWERS, **extra}


def items_on_disk(store) -> list[dict]:
    return store.read(Store.disputes(VILLAGE_A)).all(ledger.TABLE)


def township_context(app, store) -> ledger.Context:
    with app.app_context():
        campaign = state.campaign()
    viewer = ledger.Viewer(frozenset({VILLAGE_A}), "township", staff=True)
    return ledger.Context(store, viewer, campaign.disputes, campaign.workdays)


# -- the API ----------------------------------------------------------------------------------------
def test_intake_then_a_replay_returns_the_same_item(api, house, store):
    sent = body(house)
    first = api(sent)
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert answer == {"id": answer["id"], "village": VILLAGE_A, "due": "2026-11-30", "level": "routine",
                      "replayed": False}
    assert re.fullmatch(r"370403001-\d+", answer["id"])
    assert first.headers["Location"].endswith(f"/api/v1/disputes/{answer['id']}")
    again = api(sent)  # the outbox retries after a dropped answer
    assert again.status_code == 200 and again.get_json()["id"] == answer["id"]
    assert again.get_json()["replayed"] is True
    [item] = items_on_disk(store)
    assert (item["household"], item["person"], item["received_by"]) == \
        (house["ref"], house["person"], "e001001")
    assert item["answers"]["party_phone"] == PHONE


def test_the_same_uuid_with_other_content_is_a_conflict_and_changes_nothing(api, house, store):
    sent = body(house)
    assert api(sent).status_code == 201
    before = store.digest()
    refused = api({**sent, "content": "另一件事"})
    assert refused.status_code == 409 and refused.get_json()["error"] == "uuid_conflict"
    assert store.digest() == before


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"note": "x"}, "note", "未知字段。"),
    ({"party_phone": "12345"}, "party_phone", None),
    ({"category": ""}, "category", None),
    ({"category": "weather"}, "category", None),
    ({"village": ["x"]}, "village", None),
    ({"uuid": "not-a-uuid"}, "uuid", None),
])
def test_refused_bodies_say_which_field_and_write_nothing(api, house, store, change, field, message):
    before = store.digest()
    sent = body(house, **change)
    if change.get("category") == "":
        del sent["category"]  # missing altogether
    refused = api(sent)
    assert refused.status_code == 422, refused.get_json()
    errors = refused.get_json()["errors"]
    assert field in errors and (message is None or errors[field] == message)
    assert store.digest() == before
    assert PHONE not in refused.get_data(as_text=True)


def test_places_outside_the_village_or_the_area_are_not_found(api, house, store):
    other = first_household(store, VILLAGE_B)["ref"]
    second = store.read(Store.village(VILLAGE_A)).all("households")[1]
    not_a_member = next(p for p in store.read(Store.village(VILLAGE_A)).all("persons")
                        if p["household"] == second["doc_id"])
    before = store.digest()
    for wrong in ({"village": VILLAGE_B, "household": other, "person": None},  # outside the area
                  {"household": other, "person": None},  # the village's, not the household's
                  {"household": None, "person": f"{VILLAGE_B}.1"},
                  {"person": f"{VILLAGE_A}.{not_a_member['doc_id']}"},  # not of this household
                  {"household": f"{VILLAGE_A}.999", "person": None}):
        answer = api(body(house, **wrong))
        assert answer.status_code == 404, (wrong, answer.get_json())
        assert answer.get_json()["error"] == "not_found"
    assert store.digest() == before


def test_a_person_alone_names_their_household(api, house, store):
    assert api(body(house, household=None)).status_code == 201
    [item] = items_on_disk(store)
    assert (item["household"], item["person"]) == (house["ref"], house["person"])


def test_the_receiver_sees_their_item_and_another_enumerator_does_not(api, auth, client, house):
    ref = api(body(house)).get_json()["id"]
    seen = client.get(f"/api/v1/disputes/{ref}").get_json()
    assert seen["id"] == ref and seen["state"] == "open" and seen["level"] == "routine"
    assert (seen["due"], seen["days_left"], seen["overdue"], seen["reply"]) == ("2026-11-30", 5, False, None)
    assert seen["answers"]["party_phone"] == "*******5678"  # the API never sends the number back
    assert [d["id"] for d in client.get("/api/v1/disputes").get_json()["disputes"]] == [ref]
    auth.logout()
    auth.login("e002001")
    assert client.get(f"/api/v1/disputes/{ref}").status_code == 404
    assert client.get("/api/v1/disputes").get_json() == {"disputes": []}
    assert client.get("/api/v1/disputes/370403001-x").status_code == 404


def test_the_phone_number_is_never_in_the_audit(api, house, store):
    ref = api(body(house)).get_json()["id"]
    audited = [entry for name in store.names("") for entry in store.read(name).all("audit")]
    assert any(e["action"] == "dispute_intake" and e["ref"] == ref for e in audited)
    assert PHONE not in repr(audited) and PHONE[-8:] not in repr(audited)


# -- the intake page ----------------------------------------------------------------------------------
def test_the_household_person_and_home_pages_link_to_intake(auth, client, house):
    auth.login("e001001")
    page = client.get(f"/e/h/{house['ref']}").get_data(as_text=True)
    assert f'href="/e/h/{house["ref"]}/dispute"' in page
    assert f'href="/e/h/{house["ref"]}/dispute?person={house["person"]}"' in page  # each member row
    person_page = client.get(f"/e/h/{house['ref']}/register?person={house['person']}").get_data(as_text=True)
    assert f'/e/h/{house["ref"]}/dispute?person={house["person"]}' in person_page
    assert 'href="/e/disputes"' in client.get("/e/").get_data(as_text=True)


def test_the_intake_page_is_the_form_definition_with_phone_keyboards(auth, client, house):
    auth.login("e001001")
    html = client.get(f"/e/h/{house['ref']}/dispute?person={house['person']}").get_data(as_text=True)
    assert "<h1>征缴争议受理登记</h1>" in html
    assert re.search(r'<input id="in-party_phone"[^>]*type="tel"[^>]*inputmode="tel"', html)
    assert re.search(r'<input id="in-party_name" name="party_name" value="' + house["name"], html)
    assert re.search(r'value="visit" checked', html)  # 入户走访 by default
    assert 'data-kind="dispute"' in html and "答复当事人用" in html  # the hint from the definition
    assert len(re.findall(r'type="radio" name="category"', html)) == 7 and 'class="req"' in html


def test_posting_the_page_registers_the_item_linked_to_household_and_person(auth, client, house, store):
    auth.login("e001001")
    url = f"/e/h/{house['ref']}/dispute?person={house['person']}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    form = {**ANSWERS, "csrf_token": token, "uuid": str(uuid.uuid4())}
    done = client.post(url, data=form)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/e/h/{house['ref']}")
    [item] = items_on_disk(store)
    assert (item["household"], item["person"], item["answers"]["category"]) == \
        (house["ref"], house["person"], "records")
    page = client.get(f"/e/h/{house['ref']}").get_data(as_text=True)
    assert f"已登记争议，编号 370403001-{item['doc_id']}，应于 2026-11-30 前办结。" in page


def test_the_page_sent_again_with_other_answers_is_refused_and_offered_anew(auth, client, house, store):
    auth.login("e001001")
    url = f"/e/h/{house['ref']}/dispute"
    token = csrf_from(client.get(url).get_data(as_text=True))
    form = {**ANSWERS, "csrf_token": token, "uuid": str(uuid.uuid4())}
    assert client.post(url, data=form).status_code == 302
    refused = client.post(url, data={**form, "content": "另一件事：滞纳金。"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "这张登记单已经提交过，内容与已受理的不同" in html
    assert re.search(r'name="uuid" value="([^"]+)"', html)[1] != form["uuid"]
    [item] = items_on_disk(store)
    assert item["answers"]["content"] == ANSWERS["content"]


def test_a_refused_page_keeps_what_was_typed_and_writes_nothing(auth, client, house, store):
    auth.login("e001001")
    url = f"/e/h/{house['ref']}/dispute"
    token = csrf_from(client.get(url).get_data(as_text=True))
    before = store.digest()
    refused = client.post(url, data={**ANSWERS, "party_phone": "123", "csrf_token": token})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="field-party_phone" data-name="party_phone"' in html and "has-error" in html
    assert ANSWERS["content"] in html
    assert store.digest() == before


def test_a_member_of_another_household_or_village_is_not_found(auth, client, house, store):
    auth.login("e001001")
    other = first_household(store, VILLAGE_B)["ref"]
    assert client.get(f"/e/h/{other}/dispute").status_code == 404
    assert client.get(f"/e/h/{house['ref']}/dispute?person={VILLAGE_B}.1").status_code == 404


# -- the enumerator's list ----------------------------------------------------------------------------
def test_my_disputes_lists_days_left_and_the_reply_once_given(app, api, auth, client, house, store,
                                                              monkeypatch):
    ref = api(body(house)).get_json()["id"]
    page = client.get("/e/disputes").get_data(as_text=True)
    assert ref in page and "还剩 5 个工作日" in page
    assert "申报、未申报、欠缴、已缴数据及缴费凭证" in page and f"{house['head']} 户" in page
    assert PHONE not in page
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC))
    late = client.get("/e/disputes").get_data(as_text=True)
    assert "已超期 1 个工作日" in late and "有 1 件已超过办结期限。" in late
    ledger.reply(township_context(app, store), ref, "经核实已入库，名单已更正。", "phone")
    replied = client.get("/e/disputes").get_data(as_text=True)
    assert "经核实已入库，名单已更正。" in replied and "已办结" in replied and "已超期" not in replied
    auth.logout()
    auth.login("e002001")
    assert ref not in client.get("/e/disputes").get_data(as_text=True)


# -- an exported outbox, loaded on the server ---------------------------------------------------------
def test_disputes_in_an_exported_outbox_are_imported_once_with_the_api_s_rules(app, house, store, tmp_path):
    good, bad = body(house), body(house, party_phone="1391234", party_name="张三")
    draft_values = {k: v for k, v in ANSWERS.items()} | {"party_name": "王五"}
    items = [{"uuid": good["uuid"], "kind": "dispute", "village": VILLAGE_A, "household": house["ref"],
              "person": house["person"], "label": "争议登记 · 当事人 李超", "payload": good,
              "created": 1, "state": "waiting"},
             {"uuid": bad["uuid"], "kind": "dispute", "village": VILLAGE_A, "household": house["ref"],
              "label": "争议登记 · 当事人 张三", "payload": bad, "created": 2, "state": "fix"}]
    drafts = [{"id": "d-1", "kind": "dispute", "village": VILLAGE_A, "household": house["ref"],
               "person": None, "uuid": str(uuid.uuid4()), "values": draft_values, "updated": 3}]
    path = tmp_path / "outbox.json"
    path.write_text(json.dumps({"format": "canbao-outbox", "version": 1, "user": "e001001",
                                "outbox": items, "drafts": drafts}, ensure_ascii=False))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["submissions", "import", str(path)])
    assert result.exit_code == 1, result.output  # the bad one is reported, the others are in
    assert re.search(r"争议登记 · 当事人 李超（争议）：已导入 370403001-\d+", result.output)
    assert "争议登记 · 当事人 张三（争议）：未导入：表单有错误（party_phone：" in result.output
    assert "争议登记 · 当事人 王五（草稿）（争议）：已导入" in result.output
    assert PHONE not in result.output
    taken = {i["answers"]["party_name"]: i for i in items_on_disk(store)}
    assert sorted(taken) == ["李超", "王五"] and taken["李超"]["received_by"] == "e001001"
    assert (taken["李超"]["household"], taken["李超"]["person"]) == (house["ref"], house["person"])
    again = runner.invoke(args=["submissions", "import", str(path)])
    assert "争议登记 · 当事人 李超（争议）：已有（重复提交）" in again.output
    assert len(items_on_disk(store)) == 2
    before = store.digest()
    foreign = runner.invoke(args=["submissions", "import", str(path), "--user", "e002001"])
    assert "争议登记 · 当事人 李超（争议）：未导入：家庭户不存在或不在该账号的范围内" in foreign.output
    assert store.digest() == before


def test_answers_that_are_not_text_are_refused(api, house, store):
    before = store.digest()
    refused = api(body(house, first_opinion={}, party_phone=13912345678))
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"first_opinion": "应为文字。", "party_phone": "应为文字。"}
    assert store.digest() == before


def test_a_post_with_no_session_is_told_to_log_in(client):
    answer = client.post("/api/v1/disputes", json={})
    assert answer.status_code == 401 and answer.get_json()["error"] == "unauthorized"


JUNK = ["x", "..", "0", "-1", "9" * 400, "张三", f"{VILLAGE_A}.", f"{VILLAGE_A}.x", "370403001-x",
        "370403001-99999999999999999999", "370403001--1", "a-b-c", "%00", "{{7*7}}"]


@pytest.mark.parametrize("username", ["e001001", "township", "admin", "tax"])
def test_junk_in_the_paths_is_a_404_never_a_500(auth, client, username):
    auth.login(username)
    for junk in JUNK:
        for url in (f"/e/h/{junk}/dispute", f"/e/h/{VILLAGE_A}.1/dispute?person={junk}",
                    f"/api/v1/disputes/{junk}"):
            assert client.get(url).status_code == 404, url
    assert client.get("/e/disputes").status_code == 200
    assert client.get("/api/v1/disputes").status_code == 200
