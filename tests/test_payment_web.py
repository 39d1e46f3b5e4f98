"""Recording a payment on the enumerator's page, and the grid member's reminder list.

The demo villages start with nobody registered, so village A's roll is exactly the people a
test registers: what each owes, the reminders and their order are known to the fen.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html.parser import HTMLParser

import pytest
from conftest import VILLAGE_A, VILLAGE_B, Auth, csrf_from
from helpers import submission

from survey_app import clock
from survey_app.store import Store

VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "area", "base", "wbr"}


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC))


class Marked(HTMLParser):
    """Each element carrying ``attribute``: its attributes, its text (spaces collapsed), its links."""

    def __init__(self, attribute: str):
        super().__init__()
        self.attribute, self.found, self._open = attribute, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            for item, _depth in self._open:
                item["links"].append(attrs.get("href"))
        if tag in VOID:
            if tag == "input":
                for item, _depth in self._open:
                    item["inputs"].append(attrs)
            return
        for item, _depth in self._open:
            item["_depth"] += 1
        if self.attribute in attrs:
            item = {"attrs": attrs, "text": "", "links": [], "inputs": [], "_depth": 0}
            self.found.append(item)
            self._open.append((item, 0))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        for item, _depth in list(self._open):
            if item["_depth"] == 0:
                self._open.remove((item, _depth))
            else:
                item["_depth"] -= 1

    def handle_data(self, data):
        for item, _depth in self._open:
            item["text"] += data


def marked(html: str, attribute: str) -> list[dict]:
    parser = Marked(attribute)
    parser.feed(html)
    for item in parser.found:
        item["text"] = " ".join(item["text"].split())
    return parser.found


class Enumerator:
    """e001001's browser: pages, forms with their CSRF token, and the JSON API to register people."""

    def __init__(self, app, username: str = "e001001"):
        self.client = app.test_client()
        assert Auth(self.client).login(username).status_code == 302
        self.token = Auth(self.client).api_token()

    def register(self, household: str, **answers) -> str:
        response = self.client.post("/api/v1/submissions", json=submission(household, **answers),
                                    headers={"X-CSRFToken": self.token})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def page(self, path: str):
        return self.client.get(path)

    def open_pay(self, person: str) -> dict[str, str]:
        """The payment page read (an audited read): its hidden fields."""
        page = self.page(f"/e/p/{person}/pay").get_data(as_text=True)
        submission_id = re.search(r'name="uuid" value="([^"]+)"', page).group(1)
        return {"csrf_token": csrf_from(page), "uuid": submission_id}

    def post_pay(self, person: str, hidden: dict[str, str], **form):
        return self.client.post(f"/e/p/{person}/pay", data={**hidden, **form})

    def pay(self, person: str, **form):
        return self.post_pay(person, self.open_pay(person), **form)


@pytest.fixture
def enumerator(app):
    return Enumerator(app)


def households(store, village=VILLAGE_A) -> list[str]:
    return [f"{village}.{h['doc_id']}" for h in store.read(Store.village(village)).all("households")]


def in_error(html: str) -> dict[str, str]:
    """The fields marked wrong, each with its text (label, hint and message)."""
    return {f["attrs"]["id"]: f["text"] for f in marked(html, "id")
            if "has-error" in f["attrs"].get("class", "")}


def schemes_offered(html: str) -> list[dict]:
    return [i for f in marked(html, "data-payment") for i in f["inputs"] if i.get("name") == "schemes"]


def payments(store, village=VILLAGE_A) -> list[dict]:
    return store.read(Store.village(village)).all("payments")


# -- the payment page -------------------------------------------------------------------------------
def test_the_page_shows_what_is_owed_and_a_form_ready_to_take_it(enumerator, store):
    person = enumerator.register(households(store)[0], name="王建国", pension_tier="500",
                                 payment_channel="village_agent")
    html = enumerator.page(f"/e/p/{person}/pay").get_data(as_text=True)
    lines = [line["text"] for line in marked(html, "data-scheme") if line["attrs"].get("class") != "choice"]
    assert lines == ["居民养老 档次 500 元 个人应缴 500.00 元 · 已缴 0.00 元 政府代缴/资助 0.00 元 未缴",
                     "居民医疗 个人应缴 400.00 元 · 已缴 0.00 元 政府代缴/资助 0.00 元 未缴"]
    assert [(b["value"], b["data-owed"], "checked" in b) for b in schemes_offered(html)] == [
        ("resident_pension", "50000", True), ("resident_medical", "40000", True)]
    amount = re.search(r'<input id="in-amount"[^>]*>', html).group(0)
    assert 'value="900.00"' in amount and 'inputmode="decimal"' in amount
    channels = re.findall(r'name="channel" value="([a-z_]+)"( checked)?', html)
    assert channels[0] == ("village_agent", " checked") and len(channels) == 6
    assert all(not checked for _value, checked in channels[1:])
    assert re.search(r'name="paid_on" value="2026-11-21" type="date" max="2026-11-21"', html)
    assert "村居代办员代收现金时必须填写统一收款票据上的号码" in html


def test_a_special_group_member_sees_the_government_share(enumerator, store):
    person = enumerator.register(households(store)[0], name="张特丙", person_category="special",
                                 special_group="dibao", pension_tier="200")
    html = enumerator.page(f"/e/p/{person}/pay").get_data(as_text=True)
    lines = [line["text"] for line in marked(html, "data-scheme") if line["attrs"].get("class") != "choice"]
    assert lines == ["居民养老 档次 200 元 个人应缴 0.00 元 · 已缴 0.00 元 政府代缴/资助 200.00 元 已缴清",
                     "居民医疗 个人应缴 120.00 元 · 已缴 0.00 元 政府代缴/资助 280.00 元 未缴"]
    # the pension is the government's to pay
    assert [i["value"] for i in schemes_offered(html)] == ["resident_medical"]
    assert 'id="in-amount" name="amount" value="120.00"' in html


def test_cash_without_a_receipt_number_is_refused_beside_the_field_and_nothing_is_saved(enumerator, store):
    person = enumerator.register(households(store)[0], name="王建国", pension_tier="500")
    hidden = enumerator.open_pay(person)
    before = store.digest()
    response = enumerator.post_pay(person, hidden, schemes=["resident_pension", "resident_medical"],
                                   amount="900",
                              channel="village_agent", receipt_no="", paid_on="2026-11-20", note="上午收")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert store.digest() == before
    fields = in_error(html)
    assert list(fields) == ["field-receipt_no"]
    assert fields["field-receipt_no"].endswith("代办员收取现金时必须填写统一收款票据的号码。")
    summary = next(f for f in marked(html, "id") if f["attrs"]["id"] == "error-summary")
    assert summary["text"] == "有 1 处需要修改，尚未记录缴费： 代办员收取现金时必须填写统一收款票据的号码。"
    assert summary["links"] == ["#field-receipt_no"]
    # what was typed is kept
    assert 'name="amount" value="900"' in html and 'value="2026-11-20"' in html and 'value="上午收"' in html
    assert re.search(r'name="channel" value="village_agent" checked', html)


def test_an_amount_short_of_the_schemes_chosen_is_refused(enumerator, store):
    person = enumerator.register(households(store)[0], name="王建国", pension_tier="500")
    hidden = enumerator.open_pay(person)
    before = store.digest()
    response = enumerator.post_pay(person, hidden, schemes=["resident_medical"], amount="300",
                                   channel="wechat")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and store.digest() == before
    fields = in_error(html)
    assert list(fields) == ["field-amount"] and "金额 300.00 元少于应缴的 400.00 元" in fields["field-amount"]
    boxes = [(i["value"], "checked" in i) for i in schemes_offered(html)]
    assert boxes == [("resident_pension", False), ("resident_medical", True)]  # as ticked


def test_a_payment_recorded_goes_back_to_the_household_with_amount_and_receipt(enumerator, store):
    house = households(store)[0]
    person = enumerator.register(house, name="王建国", pension_tier="500")
    response = enumerator.pay(person, schemes=["resident_pension", "resident_medical"], amount="900.00",
                              channel="village_agent", receipt_no="sd-2026-0001", paid_on="2026-11-21")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/e/h/{house}")
    rows = payments(store)
    assert sorted((r["scheme"], r["amount"], r["receipt_no"], r["channel"], r["source"]) for r in rows) == [
        ("resident_medical", 40000, "SD-2026-0001", "village_agent", "field"),
        ("resident_pension", 50000, "SD-2026-0001", "village_agent", "field")]
    page = enumerator.page(f"/e/h/{house}").get_data(as_text=True)
    assert "已记录 王建国 缴费 900.00 元。 票据号 SD-2026-0001" in page
    row = next(r for r in marked(page, "class") if r["attrs"]["class"] == "with-action")
    assert row["links"][-1] == f"/e/p/{person}/pay" and row["text"].endswith("已缴清")
    again = enumerator.page(f"/e/p/{person}/pay").get_data(as_text=True)
    assert "本年度个人应缴部分已缴清。" in again and "data-payment" not in again


def test_the_household_page_links_pay_only_for_people_on_the_roll(enumerator, store):
    house = households(store)[0]
    on_roll = enumerator.register(house, name="王建国")
    employee = enumerator.register(house, name="王工人", employee_pension="enrolled",
                                   employee_medical="enrolled", resident_pension="", resident_medical="",
                                   pension_tier="", payment_channel="")
    page = enumerator.page(f"/e/h/{house}").get_data(as_text=True)
    assert f'href="/e/p/{on_roll}/pay">缴费</a>' in page
    assert f"/e/p/{employee}/pay" not in page
    expected = enumerator.page(f"/e/p/{employee}/pay")
    assert expected.status_code == 200 and "data-payment" not in expected.get_data(as_text=True)


def test_a_person_outside_the_area_is_not_found(app, store):
    other = Enumerator(app, "e002001")
    person = other.register(households(store, VILLAGE_B)[0], name="常一")
    mine = Enumerator(app)
    assert mine.page(f"/e/p/{person}/pay").status_code == 404
    page = mine.page(f"/e/p/{VILLAGE_A}.1/pay").get_data(as_text=True)
    before = store.digest()
    response = mine.client.post(f"/e/p/{person}/pay", data={
        "csrf_token": csrf_from(page), "uuid": str(uuid.uuid4()), "schemes": "resident_medical",
        "amount": "400", "channel": "wechat"})
    assert response.status_code == 404 and store.digest() == before
    assert mine.page(f"/e/v/{VILLAGE_B}/reminders").status_code == 404


# -- reminders ---------------------------------------------------------------------------------------
def test_the_reminders_list_who_owes_by_household_with_a_number_to_call(enumerator, store):
    first, second = households(store)[:2]
    # registered in the second household first: the list follows the households, not the order typed
    dibao = enumerator.register(second, name="李特丙", person_category="special", special_group="dibao",
                                pension_tier="200", phone="13800000003", payment_channel="village_agent")
    enumerator.register(second, name="李工人", employee_pension="enrolled", employee_medical="enrolled",
                        resident_pension="", resident_medical="", pension_tier="", payment_channel="")
    general = enumerator.register(first, name="王建国", pension_tier="500", phone="13800000001",
                                  payment_channel="wechat")
    paid = enumerator.register(first, name="王小红", pension_tier="300", phone="13800000002")
    medical_only = enumerator.register(first, name="王学文", resident_pension="", pension_tier="",
                                       person_category="student", phone="13800000004",
                                       payment_channel="alipay")
    assert enumerator.pay(paid, schemes=["resident_pension", "resident_medical"], amount="700",
                          channel="alipay").status_code == 302
    html = enumerator.page(f"/e/v/{VILLAGE_A}/reminders").get_data(as_text=True)
    counts = {c["attrs"]["data-count"]: c["text"] for c in marked(html, "data-count")}
    assert counts == {"owing": "3", "paid": "1", "roll": "4"}
    heads = {h: store.read(Store.village(VILLAGE_A)).get("households", int(h.split(".")[1]))
             for h in (first, second)}
    assert [(s["attrs"]["data-household"], s["text"].split(" ")[0]) for s in marked(html, "data-household")] \
        == [(first, heads[first]["head_name"]), (second, heads[second]["head_name"])]
    people = [(p["attrs"]["data-person"], p["text"], [link for link in p["links"] if link.startswith("tel:")])
              for p in marked(html, "data-person")]
    assert people == [
        (general, "王建国 居民养老 500.00 元、居民医疗 400.00 元 缴费方式：微信 拨打 13800000001 缴费",
         ["tel:13800000001"]),
        (medical_only, "王学文 居民医疗 400.00 元 缴费方式：支付宝 拨打 13800000004 缴费",
         ["tel:13800000004"]),
        (dibao, "李特丙 居民医疗 120.00 元 缴费方式：村居代办员代收 拨打 13800000003 缴费",
         ["tel:13800000003"]),
    ]
    assert [p["links"][-1] for p in marked(html, "data-person")] == [
        f"/e/p/{ref}/pay" for ref in (general, medical_only, dibao)]


def test_the_village_and_home_pages_link_the_reminders(enumerator, store):
    enumerator.register(households(store)[0], name="王建国")
    village = enumerator.page(f"/e/v/{VILLAGE_A}").get_data(as_text=True)
    assert f'href="/e/v/{VILLAGE_A}/reminders"' in village
    home = enumerator.page("/e/").get_data(as_text=True)
    assert f'href="/e/v/{VILLAGE_A}/reminders"' in home


def test_reading_the_reminders_is_audited_without_phone_numbers(enumerator, store):
    enumerator.register(households(store)[0], name="王建国", phone="13800000001")
    enumerator.page(f"/e/v/{VILLAGE_A}/reminders")
    from survey_app import audit
    entries = audit.entries(store, VILLAGE_A[:9]) + audit.entries(store, VILLAGE_A)
    reads = [e for e in entries if e.get("action") == "read_reminders"]
    assert reads and "13800000001" not in repr(entries)


def test_the_pay_shell_carries_no_one_s_data(enumerator, store):
    enumerator.register(households(store)[0], name="王建国")
    html = enumerator.page("/e/shell/pay").get_data(as_text=True)
    assert 'data-shell="pay"' in html and "王建国" not in html
    assert [i["attrs"]["data-scheme"] for i in marked(html, "data-scheme")
            if i["attrs"].get("class") == "choice"] == ["resident_pension", "resident_medical"]
    sw = enumerator.page("/e/sw.js").get_data(as_text=True)
    assert '"pay"' in sw and "/pay$/" in sw
