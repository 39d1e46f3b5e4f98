"""Taking a payment at the door on a phone-sized Chromium, with and without signal.

The real server (gunicorn) runs on a copy of the demo data in which two people of village A's
first household were registered beforehand; the phone pays for them through the payment
page, online, then offline through the outbox, and one payment the server refuses (a receipt
number already given to someone else) stays on the phone with its message until corrected.
"""

from __future__ import annotations

import re

import pytest
from browser_phone import Phone as BasePhone
from browser_phone import phone_of
from conftest import VILLAGE_A, Auth, first_household
from helpers import submission

from survey_app.store import LocalStore, Store

pytestmark = pytest.mark.browser


class Phone(BasePhone):
    def submit_payment(self, household: str) -> None:
        self.page.get_by_role("button", name="记录缴费").click()
        self.page.wait_for_url(re.compile(rf"/e/h/{re.escape(household)}(\?|$)"))
        self.ready()


@pytest.fixture
def registered(app, store):
    """Two people of the first household on the roll: 王建国 (pension 500 + medical) and 王小红 (medical)."""
    client = app.test_client()
    auth = Auth(client)
    assert auth.login("e001001").status_code == 302
    token = auth.api_token()
    house = first_household(store, VILLAGE_A)["ref"]
    refs = {"house": house}
    for name, extra in (("王建国", {"pension_tier": "500", "payment_channel": "village_agent"}),
                        ("王小红", {"resident_pension": "not_enrolled", "not_enrolled_reason": "migrant_work",
                                    "pension_tier": "", "payment_channel": "village_agent"})):
        response = client.post("/api/v1/submissions", json=submission(house, name=name, **extra),
                               headers={"X-CSRFToken": token})
        assert response.status_code == 201, response.get_json()
        refs[name] = response.get_json()["id"]
    return refs


@pytest.fixture
def phone(data_dir, registered):
    with phone_of(Phone, data_dir) as device:
        yield device


def payments(data_dir) -> list[dict]:
    return LocalStore(data_dir).read(Store.village(VILLAGE_A)).all("payments")  # what is on disk now


def test_a_payment_taken_online_through_the_page(phone, registered, data_dir):
    house, person = registered["house"], registered["王建国"]
    with phone.serving():
        phone.login()
        page = phone.open(f"/e/h/{house}")
        page.locator(f'a.row-action[href="/e/p/{person}/pay"]').click()
        page.wait_for_url(re.compile(r"/pay$"))
        phone.ready()
        assert page.locator("#in-amount").input_value() == "900.00"
        assert page.locator("#in-amount").get_attribute("inputmode") == "decimal"
        page.get_by_label("居民养老").uncheck()  # the amount follows the schemes ticked
        assert page.locator("#in-amount").input_value() == "400.00"
        page.get_by_label("居民养老").check()
        assert page.locator("#in-amount").input_value() == "900.00"
        assert page.get_by_label("村居代办员代收").is_checked()  # the person's own choice, first
        page.get_by_label("统一收款票据号").fill("sd-0001")
        phone.submit_payment(house)
        assert page.locator("#page-notice").inner_text() == "已上传：缴费 900.00 元。 票据号 SD-0001"
        assert page.locator(f'a.row-action[href="/e/p/{person}/pay"]').inner_text() == "已缴清"
    rows = payments(data_dir)
    assert sorted((r["scheme"], r["amount"], r["receipt_no"]) for r in rows) == [
        ("resident_medical", 40000, "SD-0001"), ("resident_pension", 50000, "SD-0001")]


def test_payments_taken_with_no_signal_upload_later_and_a_refused_one_waits_with_its_message(
        phone, registered, data_dir):
    house = registered["house"]
    with phone.serving():
        phone.login()
        phone.context.set_offline(True)
        page = phone.open(f"/e/p/{registered['王建国']}/pay")  # the shell, filled from the phone
        assert page.locator("body").get_attribute("data-shell") == "pay"
        assert page.locator("[data-fill=person-name]").inner_text() == "王建国"
        assert page.locator("#in-amount").input_value() == "900.00"
        page.get_by_label("统一收款票据号").fill("SD-0001")
        phone.submit_payment(house)
        assert page.locator("#page-notice").inner_text() == "已保存在手机上，有网络时自动上传。"
        listed = page.locator("#local-work-list").inner_text()
        assert "王建国 · 缴费 900.00 元" in listed and "待上传" in listed
        # the same receipt book number for someone else: taken on the phone, refused by the server
        phone.open(f"/e/p/{registered['王小红']}/pay")
        assert page.locator("#in-amount").input_value() == "400.00"
        page.get_by_label("统一收款票据号").fill("SD-0001")
        phone.submit_payment(house)
        phone.expect_status("待上传 2 条")
        assert payments(data_dir) == []  # nothing reached the server yet
        again = phone.open(f"/e/p/{registered['王建国']}/pay")  # paid on this phone: nothing left to take
        assert again.locator("#pay-note").inner_text() == "本年度个人应缴部分已缴清。"

        phone.context.set_offline(False)
        items = {i["payload"]["person"]: i for i in phone.wait_settled(2)}
        assert items[registered["王建国"]]["state"] == "done"
        refused = items[registered["王小红"]]
        assert refused["state"] == "fix"
        assert refused["error"]["errors"] == {"receipt_no": "这个票据号已开给本村其他人，请核对票据。"}
        assert sorted((r["scheme"], r["amount"], r["receipt_no"]) for r in payments(data_dir)) == [
            ("resident_medical", 40000, "SD-0001"), ("resident_pension", 50000, "SD-0001")]

        page = phone.open(f"/e/h/{house}")
        listed = page.locator("#local-work-list").inner_text()
        assert "王小红 · 缴费 400.00 元" in listed and "需修改" in listed
        page.get_by_role("link", name=re.compile("王小红 · 缴费")).click()
        page.wait_for_url(re.compile(r"/pay\?outbox="))
        phone.ready()
        error = page.locator("#field-receipt_no .error")
        assert error.inner_text() == "这个票据号已开给本村其他人，请核对票据。"
        assert page.locator("#in-receipt_no").input_value() == "SD-0001"  # as it was typed
        page.get_by_label("统一收款票据号").fill("SD-0002")
        phone.submit_payment(house)
        assert page.locator("#page-notice").inner_text() == "已上传：缴费 400.00 元。 票据号 SD-0002"
    rows = payments(data_dir)
    assert len(rows) == 3 and [r["receipt_no"] for r in rows if r["person"] ==
                               int(registered["王小红"].split(".")[1])] == ["SD-0002"]
    assert len({i["uuid"] for i in phone.outbox()}) == 2  # the corrected one replaced the refused one
