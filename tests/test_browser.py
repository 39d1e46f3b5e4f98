"""A real phone-sized Chromium against the real server: log in and register a person by labels."""

from __future__ import annotations

import re

import pytest
from browser_phone import CHROMIUM_ARGS, no_horizontal_scroll, open_new_member_form
from helpers import new_id_number
from live_server import running_server
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(data_dir):
    with running_server(data_dir) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                      has_touch=True, locale="zh-CN", base_url=base)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page, errors
        browser.close()


def small_tap_targets(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll(
        'a.btn, button, select, label.choice, .list a, ' +
        'input:not([type=hidden]):not([type=radio]):not([type=checkbox])')]
        .filter(e => e.offsetParent !== null)
        .filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
        .map(e => e.outerHTML.slice(0, 80))""")


def test_enumerator_registers_a_person_on_a_phone(phone):
    page, console_errors = phone
    open_new_member_form(page)
    assert no_horizontal_scroll(page)
    assert small_tap_targets(page) == []

    number = new_id_number(year=1995, male=False)
    page.get_by_label("姓名").fill("周晓梅")
    page.get_by_label("公民身份号码").fill(number)
    assert page.locator("output[data-derived=id_number]").inner_text() == "1995-03-15"
    assert page.get_by_label("女", exact=True).is_checked()  # derived from the ID number's parity
    page.get_by_label("民族").select_option(label="汉族")
    page.get_by_label("联系电话").fill("13712345678")
    page.get_by_label("子女", exact=True).check()
    page.get_by_label("本地农业户口").check()
    page.get_by_label("一般城乡居民").check()
    assert page.get_by_text("特殊人群类别").is_hidden()
    pension = page.locator("#field-resident_pension")
    pension.get_by_label("未参保").check()
    assert page.get_by_label("外出务工/经商").is_visible()  # the reason appears only now
    page.get_by_label("外出务工/经商").check()
    page.locator("#field-resident_medical").get_by_label("已参保").check()
    page.get_by_label("微信", exact=True).check()
    page.locator("#field-employee_pension").get_by_label("未参保").check()
    page.locator("#field-employee_medical").get_by_label("未参保").check()
    page.get_by_role("button", name="保存", exact=True).click()

    page.wait_for_url(re.compile(r"/e/h/[^/]+\?|/e/h/[^/]+$"))
    notice = page.locator("#page-notice")
    notice.wait_for()
    assert re.fullmatch(r"已上传。回执号 [0-9A-Z]{4}-[0-9A-Z]{4}", notice.inner_text())
    assert page.locator("#shell-list").get_by_text("周晓梅").is_visible()
    assert console_errors == []


def test_wrong_answers_show_chinese_errors_beside_fields(phone):
    page, _errors = phone
    open_new_member_form(page)
    page.get_by_label("公民身份号码").fill("123456")
    page.get_by_role("button", name="保存", exact=True).click()
    # expect waits for the answer: read at once, the error may not be written yet (it failed so once)
    expect(page.locator("#field-id_number .error")).to_contain_text("18位")
    expect(page.locator("#field-name .error")).to_have_text("此项必填。")
    assert no_horizontal_scroll(page)


def test_back_to_a_refused_post_loads_the_page_again_instead_of_err_cache_miss(phone):
    """A page that answered a POST (here a refused login) is Back-able after the next success."""
    page, _errors = phone
    page.goto("/login")
    page.get_by_label("用户名").fill("e001001")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector("text=用户名或密码不正确")
    page.get_by_label("用户名").fill("e001001")
    page.get_by_label("密码").fill("canbao-demo")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/e/"))
    page.go_back()
    page.wait_for_load_state()
    assert not page.url.startswith("chrome-error"), page.url
    assert page.get_by_label("用户名").is_visible()  # the login page itself, fetched again by GET
