"""The dispute desk (/d): the list, an item and its steps, window intake, the payments one click
away and the staff dashboard's panel — through the pages, as township staff and departments use
them, with the ledger's scope and the party's phone kept where they belong."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from conftest import PASSWORD, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, csrf_from
from helpers import Instant, new_id_number
from payers import ApiClient

from survey_app import audit, clock, grid, users
from survey_app.store import Store

PHONE = "13698765432"  # not the helpers' registration phone: found only where the item put it
INTAKE = {"party_name": "李秀兰", "party_phone": PHONE, "channel": "window", "category": "records",
          "content": "去年已经在村里交过钱，名单上却显示未缴。",
          "first_opinion": "收据在手，建议转税务核实入库情况。"}


@pytest.fixture
def today(monkeypatch):
    """The campaign's clock, fixed on a Tuesday before National Day (a routine item: due 10-12)."""
    instant = Instant(dt.date(2026, 9, 29))
    monkeypatch.setattr(clock, "utc_now", instant)
    return instant


@pytest.fixture
def people(app):
    """A logged-in test client per account (each keeps its own session)."""
    def login(name: str):
        client = app.test_client()
        assert Auth(client).login(name).status_code == 302
        return client
    return login


def post(client, url: str, data: dict, csrf: bool = True):
    token = csrf_from(client.get("/d/digest").get_data(as_text=True)) if csrf else None
    return client.post(url, data={**data, **({"csrf_token": token} if csrf else {})})


def resident(store, village: str = VILLAGE_A) -> dict:
    """A registered person of the village with an ID number (demo data)."""
    for person in store.read(Store.village(village)).all("persons"):
        if person.get("answers", {}).get("id_number"):
            return {**person, "ref": f"{village}.{person['doc_id']}"}
    raise AssertionError("demo village has no registered person")


def take_in(client, village: str = VILLAGE_A, **extra) -> str:
    page = client.get("/d/new")
    body = {**INTAKE, "village": village, "uuid": str(uuid.uuid4()), **extra,
            "csrf_token": csrf_from(page.get_data(as_text=True))}
    done = client.post("/d/new", data=body)
    assert done.status_code == 302, done.get_data(as_text=True)
    return done.headers["Location"].rsplit("/", 1)[1]


def item_of(store, ref: str) -> dict:
    township, number = ref.split("-")
    return store.read(Store.disputes(township)).get("items", int(number))


def step(client, ref: str, name: str, data: dict):
    return post(client, f"/d/i/{ref}/{name}", data)


def text(response) -> str:
    return response.get_data(as_text=True)


# -- the whole flow through the pages ---------------------------------------------------------------
def test_an_item_from_the_window_to_reopening(app, store, people, today):
    township = people("township")
    form = text(township.get("/d/new"))
    assert re.search(r'value="window" checked', form)  # 窗口来访 by default
    someone = resident(store)
    ref = take_in(township, id_number=someone["answers"]["id_number"])
    item = item_of(store, ref)
    assert (item["person"], item["household"]) == (someone["ref"], f"{VILLAGE_A}.{someone['household']}")
    assert someone["answers"]["id_number"] not in str(item)  # the number links; it is not kept

    assert step(township, ref, "classify", {"level": "routine", "note": "按日常事项办理"}).status_code == 302
    moved = step(township, ref, "transfer", {"department": "tax", "note": "需核实入库记录"})
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/d/i/{ref}")

    tax = people("tax")
    mine = text(tax.get("/d/"))  # 本部门待办 by default
    assert ref in mine and "本部门待办" in mine
    joint = step(tax, ref, "joint", {"departments": ["tax", "medical"], "note": "医保待遇也受影响"})
    assert joint.status_code == 302
    medical = people("medical")
    assert ref in text(medical.get("/d/"))
    page = text(medical.get(f"/d/i/{ref}"))
    assert "交工作专班办理" in page  # where 上报 sends it, said before it is sent
    assert step(medical, ref, "escalate", {"note": "期限内未能办结，转工作专班"}).status_code == 302
    assert item_of(store, ref)["holders"] == ["tax", "medical", "task_force"]

    task_force = people("task_force")
    replied = step(task_force, ref, "reply", {"text": "经核实已入库，名单已更正。", "how": "phone"})
    assert replied.status_code == 302
    assert step(township, ref, "rate", {"satisfaction": "dissatisfied"}).status_code == 302
    assert step(township, ref, "reopen", {"note": "当事人要求出具缴费证明"}).status_code == 302

    done = item_of(store, ref)
    assert done["state"] == "open" and done["reply"]["text"] == "经核实已入库，名单已更正。"
    assert [e["action"] for e in done["events"]] == [
        "intake", "classify", "transfer", "joint", "escalate", "reply", "rate", "reopen"]
    page = text(township.get(f"/d/i/{ref}"))
    timeline = page[page.index("办理记录"):]
    labels = ["受理登记", "分类定级", "转办", "联合处理", "上报", "答复", "记录满意度", "重新打开"]
    assert [timeline.index(f"<strong>{label}</strong>") for label in labels] == sorted(
        timeline.index(f"<strong>{label}</strong>") for label in labels)
    assert "经核实已入库，名单已更正。" in page and "不满意" in page
    assert "期限内未能办结，转工作专班" in timeline


def test_a_department_that_hears_it_first_holds_it_and_routes_it_on(app, store, people, today):
    """首接负责: the tax office's window takes a matter in; it can act on it at once, and what it
    hands on leaves it able to read but no longer to act."""
    tax = people("tax")
    ref = take_in(tax, channel="window")
    item = item_of(store, ref)
    assert (item["holders"], item["held_by"]) == (["tax"], ["tax"])
    assert ref in text(tax.get("/d/"))  # 本部门待办
    assert re.search(r"<dt>承办部门</dt><dd>税务</dd>", text(tax.get(f"/d/i/{ref}")))
    assert step(tax, ref, "classify", {"level": "routine", "note": "按日常事项办理"}).status_code == 302
    assert step(tax, ref, "transfer", {"department": "medical", "note": "属医保待遇问题"}).status_code == 302
    assert item_of(store, ref)["holders"] == ["medical"]
    assert step(tax, ref, "reply", {"text": "已答复。", "how": "phone"}).status_code == 422
    assert ref in text(people("medical").get("/d/"))


def test_a_double_submit_records_one_item(app, store, people, today):
    township = people("township")
    token = csrf_from(text(township.get("/d/new")))
    body = {**INTAKE, "village": VILLAGE_A, "uuid": str(uuid.uuid4()), "csrf_token": token}
    first, second = township.post("/d/new", data=body), township.post("/d/new", data=body)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(store.read(Store.disputes(TOWNSHIP_A)).all("items")) == 1


def test_the_same_form_sent_again_with_other_answers_is_refused_and_offered_anew(app, store, people, today):
    """Back, edit, send: the first item stays as it was, the page says why and carries a new uuid,
    so sending once more registers the edited matter as its own item."""
    township = people("township")
    token = csrf_from(text(township.get("/d/new")))
    body = {**INTAKE, "village": VILLAGE_A, "uuid": str(uuid.uuid4()), "csrf_token": token}
    assert township.post("/d/new", data=body).status_code == 302
    refused = township.post("/d/new", data={**body, "content": "另一件事：滞纳金。"})
    page = text(refused)
    assert refused.status_code == 422 and "这张登记单已经提交过，内容与已受理的不同" in page
    fresh = re.search(r'name="uuid" value="([^"]+)"', page)[1]
    assert fresh != body["uuid"] and "另一件事：滞纳金。" in page  # what was typed is kept
    [first] = store.read(Store.disputes(TOWNSHIP_A)).all("items")
    assert first["answers"]["content"] == INTAKE["content"]
    again = township.post("/d/new", data={**body, "content": "另一件事：滞纳金。", "uuid": fresh})
    assert again.status_code == 302
    assert len(store.read(Store.disputes(TOWNSHIP_A)).all("items")) == 2


def test_bad_intake_shows_the_messages_and_writes_nothing(app, store, people, today):
    township = people("township")
    token = csrf_from(text(township.get("/d/new")))
    before = store.digest()
    cases = [{"party_phone": "123", "village": VILLAGE_A},       # the form's own check
             {"village": VILLAGE_B},                               # another township's village
             {"village": VILLAGE_A, "id_number": "110101199003074514"},  # not registered here
             {"village": VILLAGE_A, "uuid": "not-a-uuid"}]
    for case in cases:
        body = {**INTAKE, "uuid": str(uuid.uuid4()), "csrf_token": token, **case}
        refused = township.post("/d/new", data=body)
        assert refused.status_code == 422, case
        assert 'class="error"' in text(refused)
    assert store.digest() == before
    assert "请选择当事人所在的村（社区）" in text(township.post("/d/new", data={
        **INTAKE, "village": "", "uuid": str(uuid.uuid4()), "csrf_token": token}))


# -- days left and overdue marks --------------------------------------------------------------------
def test_days_left_and_overdue_marks_at_the_boundary(app, store, people, today):
    township = people("township")
    ref = take_in(township)
    today.day = dt.date(2026, 10, 9)  # Fri; Sat 10-10 is worked (调休), Sun off, Mon 10-12 due
    page = text(township.get("/d/"))
    assert "剩 2 个工作日" in page and "data-overdue" not in page
    today.day = dt.date(2026, 10, 12)
    page = text(township.get("/d/"))
    assert "今日到期" in page and "data-overdue" not in page
    assert re.search(r'data-count="today">.*?<strong>1</strong>', page)
    today.day = dt.date(2026, 10, 13)
    page = text(township.get("/d/"))
    row = re.search(rf'<tr data-ref="{ref}" data-overdue>.*?</tr>', page, re.S).group(0)
    assert "⚠ 逾期 1 个工作日" in row and 'class="error"' in row
    assert re.search(r'data-count="overdue">.*?⚠ 1</strong>', page)
    assert ref in text(township.get("/d/?overdue=1"))
    assert "逾期 1 个工作日" in text(township.get(f"/d/i/{ref}"))
    panel = text(township.get(f"/s/a/{TOWNSHIP_A}"))
    assert "征缴争议事项" in panel and "⚠ 逾期 1 个工作日" in panel
    assert f"/d/?township={TOWNSHIP_A}" in panel


def test_list_filters_ignore_bad_values_and_order_overdue_first(app, store, people, today):
    township = people("township")
    late = take_in(township)
    today.day = dt.date(2026, 10, 13)
    fresh = take_in(township)
    step(township, fresh, "classify", {"level": "difficult"})
    page = text(township.get("/d/"))
    assert page.index(f'data-ref="{late}"') < page.index(f'data-ref="{fresh}"')
    for query in ("state=zzz", "level=urgent", "department=police", "village=999999999999",
                  "township=x", "overdue=yes", "view=mine"):
        assert township.get(f"/d/?{query}").status_code == 200
    assert late not in text(township.get("/d/?level=difficult"))
    assert late not in text(township.get("/d/?state=closed"))


# -- scope ------------------------------------------------------------------------------------------
def test_every_desk_route_refuses_outsiders(app, store, people, today):
    township = people("township")
    ref = take_in(township, id_number=resident(store)["answers"]["id_number"])
    routes = ["/d/", "/d/new", "/d/digest", f"/d/i/{ref}", f"/d/i/{ref}/payments"]
    enumerator = people("e001001")
    for route in routes:
        assert enumerator.get(route).status_code == 404, route
    assert post(township, f"/d/i/{ref}/classify", {"level": "routine"}).status_code == 302

    users.add_user(store, grid.load(store), username="township2", password=PASSWORD,
                   role="township_staff", area=["370403002"])
    other, medical = people("township2"), people("medical")  # medical: not routed to it
    assert ref not in text(other.get("/d/"))
    before = store.digest()
    for route in (f"/d/i/{ref}", f"/d/i/{ref}/payments"):
        assert other.get(route).status_code == 404, route
    for name, data in (("classify", {"level": "major"}), ("transfer", {"department": "tax", "note": "x"}),
                       ("reply", {"text": "x", "how": "phone"})):
        assert post(other, f"/d/i/{ref}/{name}", data).status_code == 404
    assert medical.get(f"/d/i/{ref}").status_code == 404
    assert medical.get(f"/d/i/{ref}/payments").status_code == 404
    assert post(medical, f"/d/i/{ref}/reply", {"text": "x", "how": "phone"}).status_code == 404
    assert ref not in text(medical.get("/d/?view=all"))
    assert store.digest() == before
    assert township.get("/d/i/370403001-999").status_code == 404
    assert township.get("/d/i/nonsense").status_code == 404


def test_a_department_that_handed_it_on_may_read_but_not_act(app, store, people, today):
    township = people("township")
    ref = take_in(township)
    step(township, ref, "transfer", {"department": "tax", "note": "需核实"})
    tax = people("tax")
    assert step(tax, ref, "transfer", {"department": "medical", "note": "属医保职责"}).status_code == 302
    page = text(tax.get(f"/d/i/{ref}"))
    assert "只能查看" in page and 'action="/d/i/' not in page
    assert PHONE not in page and "*******5432" in page  # no longer its to call back
    assert ref not in text(tax.get("/d/"))  # 本部门待办: it holds nothing now
    assert ref in text(tax.get("/d/?view=all"))
    before = store.digest()
    refused = step(tax, ref, "reply", {"text": "已答复", "how": "phone"})
    assert refused.status_code == 422 and "只能查看" in text(refused)
    assert store.digest() == before


# -- bad steps, CSRF --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "data", "message"), [
    ("classify", {"level": "urgent"}, "请选择日常、疑难或重大"),
    ("transfer", {"department": "police", "note": "x"}, "请选择承办部门"),
    ("transfer", {"department": "tax", "note": "  "}, "请写明流转或上报的理由"),
    ("joint", {"departments": ["tax"], "note": "x"}, "联合处理至少选择两个部门"),
    ("reply", {"text": "", "how": "phone"}, "请填写答复内容"),
    ("reply", {"text": "答复", "how": "pigeon"}, "请选择答复方式"),
    ("rate", {"satisfaction": "satisfied"}, "答复之后才能记录当事人的满意度"),
    ("reopen", {"note": "x"}, "这件事项尚未办结"),
])
def test_bad_steps_are_refused_in_chinese_and_change_nothing(app, store, people, today, name, data, message):
    township = people("township")
    ref = take_in(township)
    before = store.digest()
    refused = step(township, ref, name, data)
    assert refused.status_code == 422
    assert message in text(refused) and "未作任何修改" in text(refused)
    assert store.digest() == before


def test_a_step_without_its_csrf_token_is_400(app, store, people, today):
    township = people("township")
    ref = take_in(township)
    before = store.digest()
    refused = post(township, f"/d/i/{ref}/classify", {"level": "major"}, csrf=False)
    assert refused.status_code == 400 and "页面已过期" in text(refused)
    assert township.post("/d/new", data={**INTAKE, "village": VILLAGE_A}).status_code == 400
    assert store.digest() == before


# -- the phone, the payments ------------------------------------------------------------------------
def test_the_phone_is_on_the_item_page_only(app, store, people, today, caplog):
    caplog.set_level("DEBUG")
    township = people("township")
    ref = take_in(township)
    step(township, ref, "transfer", {"department": "tax", "note": "需核实"})
    assert PHONE in text(township.get(f"/d/i/{ref}"))
    assert PHONE in text(people("tax").get(f"/d/i/{ref}"))  # holds it: calls the party back
    assert PHONE not in text(township.get("/d/")) and PHONE not in text(township.get("/d/digest"))
    audits = [store.read(name, cache=False).all("audit") for name in store.names("audit/")]
    audits.append(store.read(Store.disputes(TOWNSHIP_A), cache=False).all("audit"))
    assert any(e["action"] == "dispute_read_item" and e["item"] == ref for rows in audits for e in rows)
    assert PHONE not in str(audits)
    assert PHONE not in caplog.text


def test_payments_of_the_person_one_click_away(app, store, people, today):
    enumerator = ApiClient(app, "e001001")
    house = f"{VILLAGE_A}.{store.read(Store.village(VILLAGE_A)).all('households')[0]['doc_id']}"
    number = new_id_number()
    person = enumerator.register(house, name="王建国", id_number=number, pension_tier="500")
    enumerator.pay(person, ["resident_pension"], "500.00", channel="village_agent",
                   receipt_no="SD-2026-0007", paid_on="2026-09-29")
    township = people("township")
    ref = take_in(township, id_number=number)
    page = text(township.get(f"/d/i/{ref}"))
    assert f"/d/i/{ref}/payments" in page and "王建国" in page
    assert f'href="/s/review/{person}"' in page  # staff: the person's own page
    step(township, ref, "transfer", {"department": "tax", "note": "需核实"})
    tax = people("tax")
    assert f'href="/s/review/{person}"' not in text(tax.get(f"/d/i/{ref}"))  # no registration data
    shown = tax.get(f"/d/i/{ref}/payments")
    assert shown.status_code == 200
    body = text(shown)
    assert "SD-2026-0007" in body and "500.00" in body and "城乡居民基本养老保险" in body
    assert number not in body and number[:6] + "********" + number[-4:] in body
    entries = audit.entries(store, VILLAGE_A)
    assert any(e["action"] == "dispute_read_payments" and e["ref"] == person and e["user"] == "tax"
               for e in entries)
    unlinked = take_in(township)
    assert township.get(f"/d/i/{unlinked}/payments").status_code == 404


def test_department_accounts_get_their_own_nav(app, people, today):
    tax = people("tax")
    page = text(tax.get("/d/"))
    nav = re.search(r'<nav class="staff-nav".*?</nav>', page, re.S).group(0)
    assert "争议台账" in nav and "/d/stats" in nav and "/s/" not in nav
    page = text(people("township").get("/d/"))
    staff_nav = re.search(r'<nav class="staff-nav".*?</nav>', page, re.S).group(0)
    assert re.search(r'href="/d/" aria-current="page">争议台账', staff_nav)


def test_a_due_date_in_a_year_without_holidays_says_so(people, today):
    """Received late in December, a routine item falls due in January: the campaign file has no
    holidays of that year yet, so its page warns that the limit counts weekends only."""
    township = people("township")
    ref = take_in(township)
    assert "节假日安排尚未录入" not in text(township.get(f"/d/i/{ref}"))
    today.day = dt.date(2026, 12, 29)
    late = take_in(township)
    page = text(township.get(f"/d/i/{late}"))
    assert "2027 年的节假日安排尚未录入" in page and "2027-01-05" in page
