"""Edits keep what they replace: the earlier answers stay in the village file and show on the form."""

from __future__ import annotations

import html
import uuid

from conftest import VILLAGE_A, csrf_from, first_household
from helpers import submission

from survey_app.store import Store


def post(client, token, body):
    return client.post("/api/v1/submissions", json=body, headers={"X-CSRFToken": token})


def revisions(store):
    return store.read(Store.village(VILLAGE_A)).all("revisions")


def registered_once(auth, client, store):
    """Log in as VILLAGE_A's enumerator and register one person; (token, household, body, ref)."""
    auth.login("e001001")
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)
    first = submission(house["ref"])
    return token, house, first, post(client, token, first).get_json()["id"]


def test_an_edit_keeps_the_earlier_answers_and_shows_what_changed(auth, client, store):
    auth.login("e001001")
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)
    first = submission(house["ref"], phone="13912345678", payment_channel="alipay")
    ref = post(client, token, first).get_json()["id"]
    edited = {**first, "uuid": str(uuid.uuid4()), "person": ref, "phone": "13811112222",
              "payment_channel": "wechat"}
    assert post(client, token, edited).status_code == 201  # a new submission, editing the person
    kept = revisions(store)
    assert len(kept) == 1 and kept[0]["answers"]["phone"] == "13912345678"
    assert kept[0]["replaced_by"] == "e001001"
    page = html.unescape(client.get(f"/e/p/{ref}", follow_redirects=True).get_data(as_text=True))
    assert "修改记录（1 次）" in page
    assert "联系电话：<del>13912345678</del> → 13811112222" in page
    assert "<del>支付宝</del> → 微信" in page  # choices by their labels, not their codes
    assert "公民身份号码：" not in page.split("修改记录")[1]  # unchanged fields are not listed


def test_saving_the_same_answers_again_adds_no_revision(auth, client, store):
    token, _house, first, ref = registered_once(auth, client, store)
    again = post(client, token, {**first, "uuid": str(uuid.uuid4()), "person": ref})
    assert again.status_code < 300
    assert revisions(store) == []


def test_registering_a_roster_person_keeps_the_roster_answers(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    expected = next(p for p in store.read(Store.village(VILLAGE_A)).all("persons")
                    if p["household"] == house["doc_id"] and p["status"] == "expected")
    ref = f"{VILLAGE_A}.{expected['doc_id']}"
    form_page = client.get(f"/e/p/{ref}", follow_redirects=True).get_data(as_text=True)
    assert "修改记录" not in form_page
    body = submission(house["ref"], name=expected["answers"]["name"],
                      id_number=expected["answers"]["id_number"], person=ref)
    assert post(client, auth.api_token(), body).status_code < 300
    kept = revisions(store)
    assert len(kept) == 1 and kept[0]["status"] == "expected"
    assert kept[0]["answers"] == expected["answers"]
    page = client.get(f"/e/p/{ref}", follow_redirects=True).get_data(as_text=True)
    assert "首次登记，取代导入名单中的信息" in page


def test_a_web_edit_with_an_error_keeps_the_history_visible(auth, client, store):
    token, house, first, ref = registered_once(auth, client, store)
    post(client, token, {**first, "uuid": str(uuid.uuid4()), "person": ref, "phone": "13811112222"})
    url = f"/e/h/{house['ref']}/register?person={ref}"
    page = client.get(url).get_data(as_text=True)
    bad = client.post(url, data={**first, "uuid": str(uuid.uuid4()), "phone": "12",
                                 "csrf_token": csrf_from(page)})
    assert bad.status_code == 422
    assert "修改记录（1 次）" in bad.get_data(as_text=True)
    assert len(revisions(store)) == 1


def test_who_registered_and_when_stays_while_who_changed_it_follows_each_edit(app, store):
    from survey_app import registry, state
    from survey_app.registry import Scope
    house = first_household(store, VILLAGE_A)
    first, second = Scope(frozenset({VILLAGE_A}), "e001001"), Scope(frozenset({VILLAGE_A}), "township")
    with app.app_context():
        form = state.registration_form()
        body = submission(house["ref"])
        saved = registry.submit(store, first, form, body)
        before = registry.person(store, first, saved.ref)
        registry.submit(store, second, form, {**body, "uuid": str(uuid.uuid4()), "person": saved.ref,
                                              "phone": "13811112222"})
        after = registry.person(store, first, saved.ref)
    assert before["registered_by"] == after["registered_by"] == "e001001"
    assert after["registered_at"] == before["registered_at"] is not None
    assert after["changed_by"] == "township" and after["updated_at"] >= before["updated_at"]
    assert revisions(store)[-1]["saved_by"] == "e001001"
