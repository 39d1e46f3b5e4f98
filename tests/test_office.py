"""Running the office in the browser: accounts (/s/users), forced and self-service password
changes (/password), the audit view (/s/audit), the staff navigation, the print room's household
picker and the blank form's household search (/q/<token>)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PASSWORD, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, csrf_from, first_household
from test_city import SECOND_VILLAGES, city_app  # noqa: F401  (the demo district in a city: a fixture)

from survey_app import documents, printed, tokens, users
from survey_app.registry import Scope, write_audit
from survey_app.store import Store

NEW_PASSWORD = "lantern-river-47"
OTHER_PASSWORD = "copper-kettle-93"
VILLAGE_A2 = "370403001002"  # 临城街道 沙河崖社区: township A's second village
SESSION = "/api/v1/session"
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def logged_in(app, username: str, password: str = PASSWORD) -> Auth:
    auth = Auth(app.test_client())
    assert auth.login(username, password).status_code == 302
    return auth


def post(client, url: str, data: dict | None = None, **kwargs):
    """A form post the way the browser makes it: the page's own CSRF token."""
    token = csrf_from(client.get("/password").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def system_audit(store) -> list[dict]:
    return store.read(Store.SYSTEM, cache=False).all("audit")


def create(client, **fields):
    data = {"role": "enumerator", "username": "e_new", "display_name": "新网格员", "area": [VILLAGE_A2],
            "password": NEW_PASSWORD, "action": "create", **fields}
    return post(client, "/s/users/new", data)


# -- who may come ---------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/s/users", "/s/users/new", "/s/users/e001001", "/s/audit"])
def test_enumerators_find_no_office_pages(app, url):
    assert logged_in(app, "e001001").client.get(url).status_code == 404


def test_township_staff_have_accounts_but_no_audit(app):
    client = logged_in(app, "township").client
    assert client.get("/s/users").status_code == 200
    assert client.get("/s/audit").status_code == 404
    assert client.get("/s/users/new?role=township_staff").status_code == 404  # not theirs to create


# -- creating -------------------------------------------------------------------------------
def test_a_weak_password_is_refused_in_chinese_and_nothing_is_saved(app, store):
    client = logged_in(app, "township").client
    response = create(client, password="password123")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "账号未创建" in page and "密码太常见" in page
    assert 'value="e_new"' in page and 'value="370403001002" checked' in page  # what was typed stays
    assert users.find_user(store, "e_new") is None
    assert not [a for a in system_audit(store) if a["action"] == "user_added"]


def test_creating_an_account_with_ticked_villages(app, store):
    client = logged_in(app, "township").client
    form = client.get("/s/users/new").get_data(as_text=True)
    # the township's own villages are offered as tick boxes, no other township's
    assert f'value="{VILLAGE_A}"' in form and f'value="{VILLAGE_A2}"' in form
    assert f'value="{VILLAGE_B}"' not in form and "常庄社区" not in form
    filtered = post(client, "/s/users/new", {"role": "enumerator", "action": "filter", "q": "沙河",
                                             "area": [VILLAGE_A], "username": "e_new"})
    page = filtered.get_data(as_text=True)
    assert filtered.status_code == 200 and "沙河崖社区" in page and "于庄村" not in page
    assert f'value="{VILLAGE_A}" checked' in page  # a ticked village stays in view and ticked
    assert users.find_user(store, "e_new") is None  # filtering saved nothing
    response = create(client)
    assert response.status_code == 200 and "已创建账号 e_new" in response.get_data(as_text=True)
    account = users.get_account(store, "e_new")
    assert account.role == "enumerator" and account.area == (VILLAGE_A2,) and account.must_change
    entry = [a for a in system_audit(store) if a["action"] == "user_added"]
    assert [(e["user"], e["ref"], e["area"]) for e in entry] == [("township", "e_new", VILLAGE_A2)]
    assert create(client).status_code == 422  # a name taken is never overwritten
    assert "已被使用" in create(client, username="e001001").get_data(as_text=True)


def test_a_generated_password_is_shown_once_and_works(app, store):
    client = logged_in(app, "township").client
    page = create(client, password="").get_data(as_text=True)
    password = re.search(r'class="mono temp-password">([^<]+)<', page).group(1)
    assert not users.password_problems(password, "e_new")
    assert password not in json.dumps(system_audit(store), ensure_ascii=False)
    assert logged_in(app, "e_new", password)


def test_managers_cannot_reach_outside_their_area(app, store):
    client = logged_in(app, "township").client
    listing = client.get("/s/users").get_data(as_text=True)
    assert "e001001" in listing and "e002001" not in listing and ">admin<" not in listing
    for name in ("e002001", "admin", "township", "nobody"):
        assert client.get(f"/s/users/{name}").status_code == 404
        assert post(client, f"/s/users/{name}/disable").status_code == 404
        assert post(client, f"/s/users/{name}/password", {"password": NEW_PASSWORD}).status_code == 404
        assert post(client, f"/s/users/{name}", {"area": [VILLAGE_A]}).status_code == 404
    refused = create(client, area=[VILLAGE_B])  # another township's village, however it is sent
    assert refused.status_code == 422 and "不在您的管辖范围内" in refused.get_data(as_text=True)
    assert not users.get_account(store, "e002001").disabled
    assert users.find_user(store, "e_new") is None


def test_a_district_admin_creates_township_staff_for_its_townships(app, store):
    client = logged_in(app, "admin").client
    form = client.get("/s/users/new?role=township_staff").get_data(as_text=True)
    assert f'value="{TOWNSHIP_A}"' in form and f'value="{VILLAGE_A}"' not in form
    response = create(client, role="township_staff", username="t_new", area=[TOWNSHIP_A])
    assert response.status_code == 200
    assert users.get_account(store, "t_new").area == (TOWNSHIP_A,)
    assert client.get("/s/users/township").status_code == 200  # its township staff
    assert client.get("/s/users/e002001").status_code == 200  # and its enumerators


def test_a_city_admin_manages_district_admins_only(request):
    client = logged_in(request.getfixturevalue("city_app"), "city").client
    assert client.get("/s/users/admin").status_code == 200
    assert client.get("/s/users/township").status_code == 404
    assert client.get("/s/users/new?role=enumerator").status_code == 404
    form = client.get("/s/users/new?role=district_admin").get_data(as_text=True)
    assert 'value="370402"' in form and 'value="370403"' in form


# -- reset, forced change, self-service change ---------------------------------------------------
def test_reset_forces_a_change_before_anything_else(app, store):
    phone = logged_in(app, "e001001")
    manager = logged_in(app, "township").client
    response = post(manager, "/s/users/e001001/password", {"password": NEW_PASSWORD})
    assert response.status_code == 200 and "已重置 e001001 的密码" in response.get_data(as_text=True)
    assert phone.client.get(SESSION).status_code == 401  # the open session ended
    assert Auth(app.test_client()).login("e001001", PASSWORD).status_code == 401

    user = Auth(app.test_client())
    login = user.login("e001001", NEW_PASSWORD)
    assert login.status_code == 302 and login.headers["Location"].startswith("/password")
    for url in ("/e/", f"/e/v/{VILLAGE_A}", "/", "/s/print/"):
        answer = user.client.get(url)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/password"), url
    api = user.client.get(SESSION)
    assert api.status_code == 401 and api.get_json()["error"] == "password_change"
    page = user.client.get("/password").get_data(as_text=True)
    assert "临时密码" in page
    weak = post(user.client, "/password", {"current_password": NEW_PASSWORD, "new_password": "12345678901",
                                           "confirm_password": "12345678901"})
    assert weak.status_code == 422 and "密码未修改" in weak.get_data(as_text=True)
    same = post(user.client, "/password", {"current_password": NEW_PASSWORD, "new_password": NEW_PASSWORD,
                                           "confirm_password": NEW_PASSWORD})
    assert same.status_code == 422 and "不能与当前密码相同" in same.get_data(as_text=True)
    other = logged_in(app, "e001001", NEW_PASSWORD)  # another device, same temporary password
    done = post(user.client, "/password", {"current_password": NEW_PASSWORD, "new_password": OTHER_PASSWORD,
                                           "confirm_password": OTHER_PASSWORD})
    assert done.status_code == 302
    assert user.client.get("/e/").status_code == 200  # this session goes on, free
    assert other.client.get(SESSION).status_code == 401  # the other one ended
    assert not users.get_account(store, "e001001").must_change
    assert Auth(app.test_client()).login("e001001", OTHER_PASSWORD).status_code == 302
    actions = [(a["action"], a["user"], a["ref"]) for a in system_audit(store)
               if a["action"] in ("password_reset", "password_changed")]
    assert actions == [("password_reset", "township", "e001001"), ("password_changed", "e001001", "e001001")]


def test_anyone_may_change_their_own_password(app, store):
    client = logged_in(app, "admin").client
    assert "修改密码" in client.get("/s/").get_data(as_text=True)  # in the menu
    wrong = post(client, "/password", {"current_password": "not-it", "new_password": NEW_PASSWORD,
                                       "confirm_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    mismatch = post(client, "/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                          "confirm_password": OTHER_PASSWORD})
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.get_data(as_text=True)
    done = post(client, "/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                      "confirm_password": NEW_PASSWORD, "next": "/s/users"})
    assert done.status_code == 302 and done.headers["Location"] == "/s/users"
    assert client.get("/s/").status_code == 200


# -- disable, enable, area ----------------------------------------------------------------------
def test_disabling_ends_the_open_session_at_once(app, store):
    phone = logged_in(app, "e001001")
    assert phone.client.get("/e/").status_code == 200
    manager = logged_in(app, "township").client
    assert post(manager, "/s/users/e001001/disable").status_code == 302
    gone = phone.client.get("/e/")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert Auth(app.test_client()).login("e001001").status_code == 401
    assert "已停用" in manager.get("/s/users/e001001").get_data(as_text=True)
    assert post(manager, "/s/users/e001001/enable").status_code == 302
    assert Auth(app.test_client()).login("e001001").status_code == 302
    actions = [(a["action"], a["user"], a["ref"], a["area"]) for a in system_audit(store)
               if a["action"].startswith("user_")]
    assert actions == [("user_disabled", "township", "e001001", VILLAGE_A),
                       ("user_enabled", "township", "e001001", VILLAGE_A)]


def test_a_narrowed_area_holds_from_the_next_request(app, store):
    phone = logged_in(app, "e001001").client
    assert phone.get(f"/e/v/{VILLAGE_A}").status_code == 200
    assert phone.get(f"/e/v/{VILLAGE_A2}").status_code == 404
    manager = logged_in(app, "township").client
    page = manager.get("/s/users/e001001").get_data(as_text=True)
    assert f'value="{VILLAGE_A}" checked' in page
    none = post(manager, "/s/users/e001001", {"area_form": "1", "action": "save"})
    assert none.status_code == 422 and "请勾选" in none.get_data(as_text=True)
    moved = post(manager, "/s/users/e001001", {"area_form": "1", "action": "save", "area": [VILLAGE_A2]})
    assert moved.status_code == 302
    assert phone.get(f"/e/v/{VILLAGE_A}").status_code == 404  # the same session, at once
    assert phone.get(f"/e/v/{VILLAGE_A2}").status_code == 200
    assert phone.get(SESSION).get_json()["villages"] == [VILLAGE_A2]
    entry = [a for a in system_audit(store) if a["action"] == "user_area_changed"]
    assert [(e["user"], e["ref"], e["area"]) for e in entry] == [("township", "e001001", VILLAGE_A2)]


# -- the audit view -----------------------------------------------------------------------------
def _fill_system_audit(store, count: int) -> None:
    with store.transaction(Store.SYSTEM) as shards:
        for n in range(count):
            write_audit(shards[Store.SYSTEM], Scope(frozenset(), "township"), "export_csv", VILLAGE_A,
                        format="csv", number=n)


def rows(page: str) -> list[str]:
    return re.findall(r"<tr><td>(.*?)</tr>", page, re.S)


def test_the_audit_view_pages_newest_first_and_filters(app, store):
    _fill_system_audit(store, 60)
    client = logged_in(app, "admin").client
    first = client.get("/s/audit").get_data(as_text=True)
    assert len(rows(first)) == 50 and 'rel="next"' in first
    assert "登录" in rows(first)[0] and "admin" in rows(first)[0]  # the admin's own login is newest
    assert "number=59" in rows(first)[1]
    second = client.get("/s/audit?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and 'rel="next"' not in second
    numbers = re.findall(r"number=(\d+)", first + second)
    assert numbers == [str(n) for n in range(59, -1, -1)]  # each once, newest first
    only_logins = client.get("/s/audit?action=login").get_data(as_text=True)
    assert len(rows(only_logins)) == 1 and "number=" not in only_logins
    by_user = client.get("/s/audit?user=township&page=2").get_data(as_text=True)
    assert len(rows(by_user)) == 10
    assert not rows(client.get("/s/audit?since=2001-01-01&until=2001-12-31").get_data(as_text=True))
    today = system_audit(store)[-1]["at"][:10]
    assert len(rows(client.get(f"/s/audit?since={today}&until={today}&page=2").get_data(as_text=True))) == 11


def test_the_audit_view_holds_no_full_id_or_phone_number(app, store):
    from helpers import new_id_number
    number = new_id_number()
    for typed in (number, "13912345678"):  # typed into the username field by mistake
        Auth(app.test_client()).login(typed, "whatever-it-was")
    phone = logged_in(app, "e001001").client
    house = first_household(store, VILLAGE_A)
    assert phone.get(f"/e/h/{house['ref']}").status_code == 200  # a read, on the month's log
    client = logged_in(app, "admin").client
    system = client.get("/s/audit").get_data(as_text=True)
    assert "登录失败" in system and users.name_for_audit(number) in system  # masked, as written
    reads = client.get("/s/audit?source=reads").get_data(as_text=True)
    assert "查看家庭户" in reads and house["ref"] in reads
    for page in (system, reads):
        assert not FULL_ID.search(page) and not MOBILE.search(page)
    assert not FULL_ID.search(json.dumps(system_audit(store)))


def test_the_audit_view_keeps_to_the_admins_area(request, store):
    in_city = request.getfixturevalue("city_app")
    with store.transaction(Store.SYSTEM) as shards:
        write_audit(shards[Store.SYSTEM], Scope(frozenset(), "someone"), "export_csv", SECOND_VILLAGES[0])
        write_audit(shards[Store.SYSTEM], Scope(frozenset(), "someone"), "export_xlsx", VILLAGE_A)
    from survey_app import audit
    with in_city.test_request_context():
        audit.record_read(store, Scope(frozenset(SECOND_VILLAGES), "someone"), "read_household",
                          f"{SECOND_VILLAGES[0]}.1")
        audit.record_read(store, Scope(frozenset([VILLAGE_A]), "someone"), "read_household", f"{VILLAGE_A}.1")
    district = logged_in(in_city, "admin").client.get("/s/audit").get_data(as_text=True)
    assert VILLAGE_A in district and SECOND_VILLAGES[0] not in district
    assert ">city<" not in district  # the city admin's login is not the district's business
    reads = logged_in(in_city, "admin").client.get("/s/audit?source=reads").get_data(as_text=True)
    assert f"{VILLAGE_A}.1" in reads and SECOND_VILLAGES[0] not in reads
    city = logged_in(in_city, "city").client
    everything = city.get("/s/audit").get_data(as_text=True)
    assert VILLAGE_A in everything and SECOND_VILLAGES[0] in everything
    assert SECOND_VILLAGES[0] in city.get("/s/audit?source=reads").get_data(as_text=True)
    narrowed = "".join(rows(city.get(f"/s/audit?source=reads&unit={VILLAGE_A}").get_data(as_text=True)))
    assert f"{VILLAGE_A}.1" in narrowed and SECOND_VILLAGES[0] not in narrowed


def test_the_audit_view_lists_each_dispute_step_in_the_admins_area(request, store):
    """The ledger's own audit entries (disputes/<township>) on a third tab, scoped like the rest."""
    in_city = request.getfixturevalue("city_app")
    township = logged_in(in_city, "township").client
    page = township.get("/d/new")
    phone = "13698765432"
    taken = township.post("/d/new", data={
        "village": VILLAGE_A, "party_name": "李秀兰", "party_phone": phone, "channel": "window",
        "category": "records", "content": "名单显示未缴。", "first_opinion": "转税务核实。",
        "uuid": "0b9a4f9e-6f0e-4d7e-9a53-3f1b2c4d5e6f", "csrf_token": csrf_from(page.get_data(as_text=True))})
    ref = taken.headers["Location"].rsplit("/", 1)[1]
    token = csrf_from(township.get("/d/digest").get_data(as_text=True))
    classified = township.post(f"/d/i/{ref}/classify",
                               data={"level": "routine", "note": "日常", "csrf_token": token})
    assert classified.status_code == 302
    elsewhere = Store.disputes(SECOND_VILLAGES[0])
    with store.transaction(elsewhere) as shards:  # a step in the other district's ledger
        write_audit(shards[elsewhere], Scope(frozenset(), "someone"), "dispute_reply",
                    f"{SECOND_VILLAGES[0][:9]}-1")

    assert township.get("/s/audit?source=disputes").status_code == 404
    district = logged_in(in_city, "admin").client.get("/s/audit?source=disputes").get_data(as_text=True)
    listed = rows(district)
    assert len(listed) == 2 and "争议分类定级" in listed[0] and "受理争议" in listed[1]
    assert f'href="/d/i/{ref}"' in listed[0] and "临城街道" in listed[0]
    assert SECOND_VILLAGES[0][:9] not in district and phone not in district and not MOBILE.search(district)
    city = logged_in(in_city, "city").client
    assert len(rows(city.get("/s/audit?source=disputes").get_data(as_text=True))) == 3
    other = rows(city.get(f"/s/audit?source=disputes&unit={SECOND_VILLAGES[0][:9]}").get_data(as_text=True))
    assert len(other) == 1 and "争议答复" in other[0]
    only_intake = rows(city.get("/s/audit?source=disputes&action=dispute_intake").get_data(as_text=True))
    assert len(only_intake) == 1 and ref in only_intake[0]


# -- navigation ----------------------------------------------------------------------------------
def test_staff_pages_carry_the_navigation(app):
    admin = logged_in(app, "admin").client
    for url in ("/s/", "/s/print/", "/s/users", "/s/compare", "/s/audit", f"/s/v/{VILLAGE_A}"):
        page = admin.get(url).get_data(as_text=True)
        nav = re.search(r'<nav class="staff-nav".*?</nav>', page, re.S).group(0)
        for href in ('href="/s/"', 'href="/s/review"', 'href="/s/compare"', 'href="/s/print/"',
                     'href="/s/users"', 'href="/s/audit"'):
            assert href in nav, (url, href)
        assert nav.count('aria-current="page"') == 1, url
    township = logged_in(app, "township").client.get("/s/").get_data(as_text=True)
    assert 'class="staff-nav"' in township and 'href="/s/audit"' not in township
    phone = logged_in(app, "e001001").client.get("/e/").get_data(as_text=True)
    assert 'class="staff-nav"' not in phone


# -- the print room -----------------------------------------------------------------------------
def test_print_room_households_are_searched_and_ticked(app, store, monkeypatch):
    calls = []
    real = documents.print_forms

    def spy(scope, **kwargs):
        calls.append(kwargs["household_refs"])
        return real(scope, **kwargs)

    monkeypatch.setattr(documents, "print_forms", spy)
    houses = [h for h in store.read(Store.village(VILLAGE_A)).all("households")]
    wanted = [f"{VILLAGE_A}.{h['doc_id']}" for h in houses[:2]]
    client = logged_in(app, "township").client
    room = client.get("/s/print/").get_data(as_text=True)
    assert all(f'name="households" value="{ref}"' in room for ref in wanted)
    assert 'placeholder="370403001001.1' not in room  # no internal references to type
    head = houses[1]["head_name"]
    found = post(client, "/s/print/", {"village": VILLAGE_A, "q": head, "households": [wanted[0]],
                                       "action": "search"}).get_data(as_text=True)
    ticked = re.findall(r'name="households" value="([^"]+)"( checked)?', found)
    assert (wanted[0], " checked") in ticked and (wanted[1], "") in ticked  # kept, and found
    assert len(ticked) == len({wanted[0]} | {f"{VILLAGE_A}.{h['doc_id']}" for h in houses
                                             if head in h["head_name"] or head in h["address"]})
    other = post(client, "/s/print/", {"village": VILLAGE_A2, "action": "search"}).get_data(as_text=True)
    assert f'value="{VILLAGE_A2}" selected' in other and wanted[0] not in other
    for data in ({"households": wanted}, {"households": ",".join(wanted)}):  # ticks, then the old way
        response = post(client, "/s/print/forms", {"village": VILLAGE_A, "blank": "1", "action": "make",
                                                   **data})
        assert response.status_code == 302
        assert printed.wait_for_jobs(store, 120)
    assert calls == [wanted, wanted]
    made = documents.list_exports(app.config["EXPORTS_DIR"], [VILLAGE_A])
    assert len(made) == 2
    assert (made[0]["pages"], made[0]["persons"]) == (made[1]["pages"], made[1]["persons"])


# -- the blank form's household search -------------------------------------------------------------
def test_a_blank_forms_scan_searches_the_villages_households(app, store):
    token = tokens.issue_blank(store, Scope(frozenset([VILLAGE_A]), "tester"), VILLAGE_A, 1)[0]
    houses = store.read(Store.village(VILLAGE_A)).all("households")
    person = store.read(Store.village(VILLAGE_A)).all("persons")[-1]
    client = logged_in(app, "e001001").client

    def listed(query: str) -> set[str]:
        page = client.get(f"/q/{token}", query_string={"q": query}).get_data(as_text=True)
        assert 'name="q"' in page
        return set(re.findall(r"/e/h/([\d.]+)/register\?token=", page))

    everyone = {f"{VILLAGE_A}.{h['doc_id']}" for h in houses}
    assert listed("") == everyone
    target = houses[2]
    assert f"{VILLAGE_A}.{target['doc_id']}" in listed(target["head_name"])
    assert listed(target["head_name"]) < everyone
    assert f"{VILLAGE_A}.{person['household']}" in listed(person["answers"]["name"])  # a member's name
    assert listed("没有这个人") == set()
    page = client.get(f"/q/{token}?q=没有这个人").get_data(as_text=True).replace("&amp;", "&")
    assert f"/e/v/{VILLAGE_A}/households/new?token={token}" in page  # still a way to add the household
