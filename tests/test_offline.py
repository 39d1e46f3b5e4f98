"""The field client with and without signal, in a phone-sized Chromium against the real server.

Every test here is one thing an enumerator does in a village lane: the signal goes, the
server stops, the session ends, the tab closes; no typed answer may be lost, and no form
may be registered twice.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_phone import Phone as BasePhone
from browser_phone import phone_of
from conftest import VILLAGE_A
from helpers import new_id_number
from playwright.sync_api import expect

from survey_app import coverage
from survey_app.store import LocalStore, Store

pytestmark = pytest.mark.browser
HOUSE = f"{VILLAGE_A}.1"


class Phone(BasePhone):
    def store(self) -> LocalStore:
        return LocalStore(self.data_dir)  # a fresh handle: what is on disk now

    def wait_uploaded(self, count: int) -> list[dict]:
        return self.wait_outbox(count, ("done",))


@pytest.fixture
def phone(data_dir):
    with phone_of(Phone, data_dir) as device:
        yield device


def fill_person(page, name: str, number: str | None = None) -> str:
    number = number or new_id_number(year=1991, male=False)
    page.get_by_label("姓名").fill(name)
    page.get_by_label("公民身份号码").fill(number)
    page.get_by_label("民族").select_option(label="汉族")
    page.get_by_label("联系电话").fill("13712345678")
    page.get_by_label("子女", exact=True).check()
    page.get_by_label("本地农业户口").check()
    page.get_by_label("一般城乡居民").check()
    page.locator("#field-resident_pension").get_by_label("未参保").check()
    page.get_by_label("外出务工/经商").check()
    page.locator("#field-resident_medical").get_by_label("已参保").check()
    page.get_by_label("微信", exact=True).check()
    page.locator("#field-employee_pension").get_by_label("未参保").check()
    page.locator("#field-employee_medical").get_by_label("未参保").check()
    return number


def save(phone: Phone, button: str = "保存") -> None:
    phone.page.get_by_role("button", name=button, exact=button == "保存").click()
    phone.page.wait_for_url(re.compile(rf"/e/h/{re.escape(HOUSE)}(\?|$)"))
    phone.ready()


def people_named(store: LocalStore, name: str) -> list[dict]:
    people = store.read(Store.village(VILLAGE_A)).all("persons")
    return [p for p in people if p["answers"].get("name") == name]


def test_three_forms_typed_with_no_signal_upload_once_the_signal_is_back(phone):
    with phone.serving():
        phone.login()
        phone.context.set_offline(True)
        page = phone.open(f"/e/h/{HOUSE}/register")  # a reload with no signal: the page still opens
        numbers = {}
        for name in ("周晓梅", "王大力", "李小红"):
            phone.open(f"/e/h/{HOUSE}/register")
            numbers[name] = fill_person(page, name)
            save(phone)
            assert page.locator("#page-notice").inner_text() == "已保存在手机上，有网络时自动上传。"
        phone.expect_status("待上传 3 条")
        first = numbers["周晓梅"]
        assert phone.store().read(Store.index("idnum", first)).find_one("entries", key=first) is None
        phone.context.set_offline(False)
        items = phone.wait_uploaded(3)
        phone.open(f"/e/h/{HOUSE}")
        listed = page.locator("#local-work-list").inner_text()
    store = phone.store()
    for name, number in numbers.items():
        assert len(people_named(store, name)) == 1, name
        receipt = next(i["receipt"] for i in items if i["label"] == name)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", receipt) and receipt in listed
        assert people_named(store, name)[0]["answers"]["id_number"] == number


def test_a_server_stopped_mid_upload_still_ends_with_each_form_once(phone):
    with phone.serving():
        phone.login()
        phone.context.set_offline(True)
        for name in ("赵一", "赵二", "赵三"):
            phone.open(f"/e/h/{HOUSE}/register")
            fill_person(phone.page, name)
            save(phone)
        phone.context.set_offline(False)
        phone.page.evaluate("Canbao.page.upload()")  # starts sending, one form after another
        phone.server.kill()  # the server dies under it, mid-request or between two
    with phone.serving():  # started again on the same address and data
        phone.page.evaluate("Canbao.db.all('outbox').then(items => Promise.all(items.map(i =>"  # no backoff
                            " Canbao.db.put('outbox', Object.assign(i, {notBefore: 0})))))")
        phone.wait_uploaded(3)
    store = phone.store()
    for name in ("赵一", "赵二", "赵三"):
        assert len(people_named(store, name)) == 1, name
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []


def test_a_uuid_the_server_holds_with_other_content_stays_in_the_outbox_with_its_message(phone):
    with phone.serving():
        phone.login()
        phone.open(f"/e/h/{HOUSE}/register")
        fill_person(phone.page, "孙一")
        save(phone)
        first = phone.wait_uploaded(1)[0]
        reused = {**first, "state": "waiting", "payload": {**first["payload"], "name": "孙二"},
                  "label": "孙二", "created": first["created"] + 1}
        phone.page.evaluate("item => Canbao.db.put('outbox', item)", reused)  # same uuid, other content
        phone.page.evaluate("Canbao.page.upload()")
        phone.page.wait_for_function("uuid => Canbao.db.get('outbox', uuid).then(i => i.state === 'fix')",
                                     arg=first["uuid"])
        phone.open(f"/e/h/{HOUSE}")
        listed = phone.page.locator("#local-work-list").inner_text()
        assert "该 uuid 已用于内容不同的提交" in listed and "需修改" in listed
        phone.expect_status("需修改 1 条")
    assert people_named(phone.store(), "孙二") == []


def test_an_ended_session_loses_no_typed_answer_and_the_form_uploads_after_login(phone):
    with phone.serving():
        phone.login()
        page = phone.open(f"/e/h/{HOUSE}/register")
        number = fill_person(page, "钱多多")
        other = phone.new_context(storage_state=phone.context.storage_state())
        thief = other.new_page()
        thief.goto("/e/")
        thief.locator("details.menu summary").click()
        thief.locator("form[data-logout] button").click()  # the same session, ended elsewhere
        thief.wait_for_url(re.compile(r"/login"))
        other.close()
        page.get_by_role("button", name="保存", exact=True).click()
        page.wait_for_url(re.compile(r"/login\?"))  # the upload met an ended session: log in again
        # the login page fills this notice from the phone's store once its script has run
        page.wait_for_function("() => document.getElementById('login-waiting')"
                               " && document.getElementById('login-waiting').innerText.includes('1 条登记')")
        assert "1 条登记还没有上传" in page.locator("#login-waiting").inner_text()
        assert page.evaluate("Canbao.db.meta('paused')") == "login"
        assert [i["label"] for i in phone.outbox()] == ["钱多多"]
        phone.login()  # the same user again: the outbox is kept and resumes
        phone.wait_uploaded(1)
    person = people_named(phone.store(), "钱多多")
    assert len(person) == 1 and person[0]["answers"]["id_number"] == number


def test_a_csrf_token_gone_stale_on_the_phone_is_fetched_again_and_nothing_is_lost(phone):
    with phone.serving():
        phone.login()
        phone.context.set_offline(True)
        page = phone.open(f"/e/h/{HOUSE}/register")
        fill_person(page, "吴小青")
        save(phone)
        page.evaluate("Canbao.db.setMeta('csrf', 'a-token-from-yesterday')")
        phone.context.set_offline(False)
        phone.wait_uploaded(1)
        assert page.evaluate("Canbao.db.meta('paused')") in (None, "")
    assert len(people_named(phone.store(), "吴小青")) == 1


def test_a_half_typed_form_survives_no_signal_a_reload_and_a_closed_tab(phone):
    with phone.serving():
        phone.login()
        page = phone.open(f"/e/h/{HOUSE}/register")
        page.get_by_label("姓名").fill("吴半填")
        number = new_id_number(year=1980)
        page.get_by_label("公民身份号码").fill(number)
        page.get_by_label("联系电话").fill("13900001111")
        page.get_by_label("本地农业户口").check()
        # The last answers reach the phone's store before the signal goes (a reload in the same
        # millisecond as a keystroke may lose that keystroke, as in any browser).
        page.wait_for_function("""() => Canbao.db.all('drafts').then(d => d.length === 1
            && JSON.stringify(d[0].values).includes('13900001111')
            && JSON.stringify(d[0].values).includes('local_rural'))""")
        phone.context.set_offline(True)
        page.reload()
        phone.ready()
        assert page.get_by_label("姓名").input_value() == "吴半填"
        page.close()  # the tab is gone
        page = phone.page = phone.context.new_page()
        phone.open(f"/e/h/{HOUSE}", page)
        drafts = page.locator("#local-work-list")
        assert "吴半填" in drafts.inner_text() and "草稿" in drafts.inner_text()
        drafts.get_by_role("link", name=re.compile("吴半填")).click()
        # the form page itself, once it has filled the draft in (not the household page leaving)
        page.wait_for_url(re.compile(r"/register\?.*draft="))
        page.wait_for_function("() => document.body.getAttribute('data-ready')")
        assert page.get_by_label("姓名").input_value() == "吴半填"
        assert page.get_by_label("公民身份号码").input_value() == number
        assert page.get_by_label("联系电话").input_value() == "13900001111"
        assert page.get_by_label("本地农业户口").is_checked()


def test_a_partial_save_is_kept_counted_and_finished_later(phone):
    with phone.serving():
        phone.login()
        page = phone.open(f"/e/h/{HOUSE}/register")
        page.get_by_label("姓名").fill("郑暂存")
        number = new_id_number(year=1970)
        page.get_by_label("公民身份号码").fill(number)
        assert "还有" in page.locator("#form-progress").inner_text()
        save(phone, "暂存（信息不全，先保存已填的）")
        assert "已暂存上传，还缺" in page.locator("#page-notice").inner_text()
        row = coverage.village_row(phone.store(), VILLAGE_A)
        assert row["persons_incomplete"] == 1
        person = people_named(phone.store(), "郑暂存")[0]
        assert person["status"] == "incomplete" and "ethnicity" in person["missing"]
        phone.open(f"/e/h/{HOUSE}")
        page.locator("#shell-list").get_by_role("link", name=re.compile("郑暂存")).click()
        page.wait_for_url(re.compile(r"/register\?"))  # ready() must not see the page being left
        phone.ready()
        fill_person(page, "郑暂存", number)
        save(phone)
    store = phone.store()
    finished = people_named(store, "郑暂存")
    assert len(finished) == 1 and finished[0]["status"] == "registered" and finished[0]["missing"] == []
    assert coverage.village_row(store, VILLAGE_A)["persons_incomplete"] == 0


def test_nothing_personal_stays_on_the_phone_after_logout(phone):
    with phone.serving():
        phone.login()
        page = phone.open(f"/e/h/{HOUSE}/register")
        page.get_by_label("姓名").fill("冯留存")
        page.wait_for_function("() => Canbao.db.all('drafts').then(d => d.length === 1)")
        assert page.evaluate("Canbao.db.all('villages').then(v => v.length)") == 1
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        page.locator("details.menu summary").click()
        with page.expect_download() as download:
            page.locator("form[data-logout] button").click()  # the draft is not lost: it goes to a file
        page.wait_for_url(re.compile(r"/login"))
        assert "1 条登记或草稿没有上传" in asked[0]
        exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert [d["values"]["name"] for d in exported["drafts"]] == ["冯留存"]
        kept = page.evaluate("""async () => {
            const found = {};
            const db = await new Promise(r => {
                const q = indexedDB.open('canbao'); q.onsuccess = () => r(q.result); });
            for (const name of db.objectStoreNames) {
                found[name] = await new Promise(r => {
                    const q = db.transaction(name).objectStore(name).getAll();
                    q.onsuccess = () => r(q.result); });
            }
            found.caches = await caches.keys();
            return found;
        }""")
    assert kept == {"meta": [], "villages": [], "drafts": [], "outbox": [], "caches": []}


def test_data_older_than_seven_days_is_refused_until_refreshed(phone):
    with phone.serving():
        phone.login()
        phone.page.evaluate("Canbao.db.setMeta('refreshed', Date.now() - 8 * 24 * 3600 * 1000)")
        phone.context.set_offline(True)
        page = phone.open(f"/e/v/{VILLAGE_A}")
        assert "超过7天" in page.locator("#shell-note").inner_text()
        assert page.locator("#shell-list li").count() == 0
        phone.context.set_offline(False)
        phone.open("/e/")
        page.locator("[data-action=refresh]").click()
        page.wait_for_function("() => Canbao.db.meta('refreshed').then(t => Date.now() - t < 60000)")


def test_another_user_on_the_same_phone_finds_nothing_of_the_first(phone):
    with phone.serving():
        phone.login("e001001")
        phone.page.evaluate("Canbao.db.put('drafts', {id: 'x', user: 'e001001', kind: 'person',"
                            " household: arguments[0], values: {name: '前一位的草稿'}, updated: Date.now()})"
                            .replace("arguments[0]", repr(HOUSE)))
        other = phone.new_context()
        page = other.new_page()  # the same phone (browser profile) is not shared by contexts: log the
        phone.page.context.clear_cookies()  # first user out at the server's side only, keep the data
        phone.login("e001002")
        villages = phone.page.evaluate("Canbao.db.all('villages').then(v => v.map(x => x.code))")
        drafts = phone.page.evaluate("Canbao.db.all('drafts')")
        other.close()
        del page
    assert villages == ["370403001002"] and drafts == []


def test_a_household_found_with_no_signal_and_its_people_upload_in_order(phone):
    with phone.serving():
        phone.login()
        phone.context.set_offline(True)
        page = phone.open(f"/e/v/{VILLAGE_A}/households/new")
        page.get_by_label("户主姓名").fill("新户主")
        page.get_by_label("门牌地址").fill("临山村9组99号")
        page.get_by_label("家庭人口数").fill("2")
        page.get_by_role("button", name="保存", exact=True).click()
        page.wait_for_url(re.compile(r"/e/h/new-"))
        phone.ready()
        expect(page.locator("[data-fill=head-name]").first).to_have_text("新户主")
        page.locator("[data-fill=register-link]").click()
        page.wait_for_url(re.compile(r"/register"))  # ready() must not see the page being left
        phone.ready()
        fill_person(page, "新户主")
        page.get_by_label("户主", exact=True).check()
        page.get_by_role("button", name="保存", exact=True).click()
        page.wait_for_url(re.compile(r"/e/h/new-.*queued"))
        phone.ready()
        phone.expect_status("待上传 2 条")
        phone.context.set_offline(False)
        items = phone.wait_uploaded(2)
    store = phone.store()
    house = next(i for i in items if i["kind"] == "household")
    village, doc_id = house["ref"].split(".")
    person = people_named(store, "新户主")
    assert village == VILLAGE_A and len(person) == 1 and person[0]["household"] == int(doc_id)
    assert store.read(Store.village(VILLAGE_A)).get("households", int(doc_id))["address"] == "临山村9组99号"


def test_a_refused_form_shows_each_error_beside_its_field_and_a_list_that_leads_to_them(phone):
    with phone.serving():
        phone.login()
        page = phone.open(f"/e/h/{HOUSE}/register")
        fill_person(page, "错号码")
        page.get_by_label("联系电话").fill("12345")
        page.get_by_role("button", name="保存", exact=True).click()
        summary = page.locator("#error-summary")
        summary.wait_for()
        assert summary.inner_text().startswith("有 1 处需要修改")
        assert "联系电话" in summary.inner_text()
        assert "11位手机号码" in page.locator("#field-phone .error").inner_text()
        assert page.evaluate("document.activeElement.id") == "in-phone"  # the first error, focused
        assert "outbox=" in page.url  # the corrected form replaces the one kept, not a second copy
        page.get_by_label("联系电话").fill("13712345678")
        page.get_by_role("button", name="保存", exact=True).click()
        page.wait_for_url(re.compile(r"saved="))
        phone.ready()
        assert [i["state"] for i in phone.outbox()] == ["done"]
    assert len(people_named(phone.store(), "错号码")) == 1


def test_without_a_service_worker_the_form_still_saves(phone):
    with phone.serving():
        context = phone.new_context(service_workers="block")
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("用户名").fill("e001001")
        page.get_by_label("密码").fill("canbao-demo")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/e/"))
        page.goto(f"/e/h/{HOUSE}/register")
        page.wait_for_function("() => window.Canbao && Canbao.page && Canbao.page.ready")
        fill_person(page, "无后台")
        page.get_by_role("button", name="保存", exact=True).click()
        page.wait_for_url(re.compile(r"saved="))
        context.close()
    assert len(people_named(phone.store(), "无后台")) == 1


def test_the_outbox_exported_to_a_file_is_loaded_on_the_server(phone, app, tmp_path):
    with phone.serving():
        phone.login()
        phone.context.set_offline(True)
        page = phone.open(f"/e/h/{HOUSE}/register")
        fill_person(page, "最后一招")
        save(phone)
        phone.open("/e/")
        with page.expect_download() as download:
            page.locator("[data-action=export]").click()
        path = tmp_path / "outbox.json"
        download.value.save_as(path)
    result = app.test_cli_runner().invoke(args=["submissions", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "最后一招（人员）：已导入" in result.output
    assert len(people_named(phone.store(), "最后一招")) == 1
