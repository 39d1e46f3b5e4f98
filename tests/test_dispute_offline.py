"""A dispute heard at the door, registered on a phone-sized Chromium with no signal.

The real server (gunicorn) runs on a copy of the demo data.  During a visit to village A's
first household the signal goes; the enumerator opens 登记争议 from the household page (one
for a member, one for the household), fills the form from the phone's keyboards, and it
waits in the outbox.  Back online, the first is registered in the ledger linked to the
household and the person; the second, with a phone number mistyped, stays on the phone with
its message until it is corrected and sent.  ``/e/disputes`` then lists both with days left.
"""

from __future__ import annotations

import re

import pytest
from browser_phone import Phone as BasePhone
from browser_phone import phone_of
from conftest import VILLAGE_A

from survey_app.campaign import load_campaign
from survey_app.disputes import ledger
from survey_app.store import LocalStore, Store

pytestmark = pytest.mark.browser
HOUSE = f"{VILLAGE_A}.1"
PHONE = "13912345678"
BAD_PHONE = "1391234"
PHONE_ERROR = "请填写11位手机号码，或带区号的固定电话（如0632-4412345）。"
CAMPAIGN = load_campaign("content/data/campaign.toml")  # the server's (CANBAO_CAMPAIGN default)


class Phone(BasePhone):
    def ready(self, page=None):
        super().ready(page)
        (page or self.page).wait_for_function("() => !document.querySelector('form[data-kind]') || "
                                    "document.body.hasAttribute('data-ready')")

    def follow(self, link, url: str):
        link.click()
        self.page.wait_for_url(re.compile(url))
        self.ready()
        return self.page

    def save(self) -> None:
        self.page.get_by_role("button", name="保存").click()
        self.page.wait_for_url(re.compile(rf"/e/h/{re.escape(HOUSE)}(\?|$)"))
        self.ready()


@pytest.fixture
def phone(data_dir):
    with phone_of(Phone, data_dir) as device:
        yield device


def ledger_items(data_dir) -> list[dict]:
    return LocalStore(data_dir).read(Store.disputes(VILLAGE_A)).all(ledger.TABLE)  # on disk now


def first_member(data_dir) -> dict:
    shard = LocalStore(data_dir).read(Store.village(VILLAGE_A))
    member = shard.find("persons", household=1)[0]
    return {"ref": f"{VILLAGE_A}.{member['doc_id']}", "name": member["answers"]["name"]}


def fill_matter(page, content: str) -> None:
    page.get_by_label("申报、未申报、欠缴、已缴数据及缴费凭证").check()
    page.get_by_label("争议内容").fill(content)
    page.get_by_label("初步处理意见").fill("已解释缴费入库需要时间，建议转税务核实。")


def test_disputes_taken_in_with_no_signal_upload_later_and_a_refused_one_is_corrected(phone, data_dir):
    member = first_member(data_dir)
    with phone.serving():
        phone.login()
        page = phone.open(f"/e/h/{HOUSE}")  # the visit: the household page, with signal
        phone.context.set_offline(True)

        # 1. a member's dispute, from their row: the shell, filled from the phone's bundle
        page = phone.follow(page.locator(f'a.row-action[href="/e/h/{HOUSE}/dispute?person={member["ref"]}"]'),
                            r"/dispute\?person=")
        assert page.locator("body").get_attribute("data-shell") == "dispute"
        assert page.locator("[data-fill=person-name]").inner_text() == member["name"]
        assert page.get_by_label("当事人姓名").input_value() == member["name"]  # the party, by default
        assert page.get_by_label("入户走访").is_checked()
        phone_box = page.get_by_label("联系电话")
        assert (phone_box.get_attribute("type"), phone_box.get_attribute("inputmode")) == ("tel", "tel")
        phone_box.fill(PHONE)
        fill_matter(page, "去年在村里交过钱，名单上却显示未缴。")
        phone.save()
        assert page.locator("#page-notice").inner_text() == "已保存在手机上，有网络时自动上传。"
        listed = page.locator("#local-work-list").inner_text()
        assert f"争议登记 · 当事人 {member['name']}" in listed and "待上传" in listed
        assert PHONE not in listed

        # 2. the household's dispute, from the page's button: a phone number typed short
        page = phone.follow(page.get_by_role("link", name="登记争议", exact=True), r"/dispute$")
        assert page.locator("[data-fill=person-name]").is_hidden()
        page.get_by_label("当事人姓名").fill("张三")
        page.get_by_label("联系电话").fill(BAD_PHONE)
        fill_matter(page, "滞纳金是怎么算的？")
        phone.save()
        phone.expect_status("待上传 2 条")
        assert ledger_items(data_dir) == []  # nothing reached the server yet

        # 3. the signal is back: one registered, one refused with its message
        phone.context.set_offline(False)
        items = {i["payload"]["party_name"]: i for i in phone.wait_settled(2)}
        assert items[member["name"]]["state"] == "done"
        refused = items["张三"]
        assert refused["state"] == "fix" and refused["error"]["errors"] == {"party_phone": PHONE_ERROR}
        [first] = ledger_items(data_dir)
        assert (first["household"], first["person"], first["received_by"]) == \
            (HOUSE, member["ref"], "e001001")
        assert first["answers"]["party_phone"] == PHONE and first["answers"]["channel"] == "visit"

        # 4. corrected from the outbox list and sent
        page = phone.open(f"/e/h/{HOUSE}")
        listed = page.locator("#local-work-list").inner_text()
        assert "争议登记 · 当事人 张三" in listed and "需修改" in listed and BAD_PHONE not in listed
        page = phone.follow(page.get_by_role("link", name=re.compile("争议登记 · 当事人 张三")),
                            r"/dispute\?outbox=")
        assert page.locator("#field-party_phone .error").inner_text() == PHONE_ERROR
        assert page.get_by_label("联系电话").input_value() == BAD_PHONE  # as it was typed
        assert page.get_by_label("争议内容").input_value() == "滞纳金是怎么算的？"
        page.get_by_label("联系电话").fill("13800001111")
        phone.save()
        second = next(i for i in ledger_items(data_dir) if i["answers"]["party_name"] == "张三")
        number = f"{VILLAGE_A[:9]}-{second['doc_id']}"
        assert page.locator("#page-notice").inner_text() == f"已登记争议，编号 {number}。"
        assert (second["household"], second["person"]) == (HOUSE, None)
        assert len({i["uuid"] for i in phone.outbox()}) == 2  # the corrected one replaced the refused one

        # 5. the enumerator's own list: both, each with its working days left
        page = phone.open("/e/disputes")
        for item in ledger_items(data_dir):
            row = page.locator(f"#d-{VILLAGE_A[:9]}-{item['doc_id']}")
            left = ledger.days_left(item, CAMPAIGN.workdays)
            assert (f"还剩 {left} 个工作日" if left else "今天到期") in row.inner_text()
            assert "办理中" in row.inner_text() and PHONE not in row.inner_text()
