"""/e/h/<household>/register?person=<ref>: the person must be one of that household's members.

Shown (GET) or saved (POST), a person of another household is not found there — also one
whose household has the same number in another village of the same area.
"""

from __future__ import annotations

import pytest
from conftest import VILLAGE_A, csrf_from
from helpers import answers

from survey_app.store import Store

VILLAGE_A2 = "370403001002"  # 临城街道's second village: the township account holds both


def pair(store, other_village: str, same_number: bool):
    """A household of village A and a person of another household (same doc number if asked)."""
    house = store.read(Store.village(VILLAGE_A)).all("households")[0]
    people = store.read(Store.village(other_village)).all("persons")
    stranger = next(p for p in people if (p["household"] == house["doc_id"]) == same_number)
    return f"{VILLAGE_A}.{house['doc_id']}", f"{other_village}.{stranger['doc_id']}"


@pytest.mark.parametrize("other_village, same_number", [(VILLAGE_A2, True), (VILLAGE_A, False)])
def test_a_person_of_another_household_is_404_on_get_and_post(auth, client, store, other_village,
                                                               same_number):
    auth.login("township")
    house, stranger = pair(store, other_village, same_number)
    url = f"/e/h/{house}/register?person={stranger}"
    assert client.get(url).status_code == 404
    token = csrf_from(client.get(f"/e/h/{house}/register").get_data(as_text=True))
    before = store.digest()
    response = client.post(url, data={"csrf_token": token, "uuid": "1b4e28ba-2fa1-4d2b-883f-0016d3cca427",
                                      **answers()})
    assert response.status_code == 404
    assert store.digest() == before


def test_a_member_of_the_household_still_opens(auth, client, store):
    auth.login("township")
    member = store.read(Store.village(VILLAGE_A2)).all("persons")[0]
    house, ref = f"{VILLAGE_A2}.{member['household']}", f"{VILLAGE_A2}.{member['doc_id']}"
    page = client.get(f"/e/h/{house}/register?person={ref}")
    assert page.status_code == 200 and member["answers"]["name"] in page.get_data(as_text=True)
