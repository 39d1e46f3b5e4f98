"""A phone-sized Chromium (360×740, touch, zh-CN) logged in as an enumerator, and the real server
it talks to: what the browser tests of the field client share."""

from __future__ import annotations

import contextlib
import re
import time

from live_server import free_port, server_process
from playwright.sync_api import expect, sync_playwright

# Generous: the loop ends as soon as the phone is done; CI shares two cores with other tests.
SETTLE_SECONDS = 60
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def no_horizontal_scroll(page) -> bool:
    # A click that navigates returns before the new document exists: measure the loaded page.
    page.wait_for_load_state()
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def open_new_member_form(page) -> None:
    """Log in as 临山村's enumerator and open the form for a new member of the first household,
    each page waited for: a click returns before the page it opens exists (CI failed so once)."""
    page.goto("/login")
    page.get_by_label("用户名").fill("e001001")
    page.get_by_label("密码").fill("canbao-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name=re.compile("临山村")).click()
    page.wait_for_url(re.compile(r"/e/v/"))
    assert no_horizontal_scroll(page)
    page.locator(".list a").first.click()
    page.wait_for_url(re.compile(r"/e/h/[^/]+$"))
    page.get_by_role("link", name="登记新成员").click()
    page.wait_for_url(re.compile(r"/register"))
    page.wait_for_function("() => document.body.getAttribute('data-ready')")  # the form's script is on


class Phone:
    """A Chromium on a phone-sized screen, and the server it talks to (which a test may stop)."""

    def __init__(self, playwright, data_dir):
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        self.context = self.new_context()
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.server = None

    def new_context(self, **extra):
        return self.browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                        has_touch=True, locale="zh-CN", base_url=self.base, **extra)

    @contextlib.contextmanager
    def serving(self):
        with server_process(self.data_dir, port=self.port) as (_base, process):
            self.server = process
            yield
            self.server = None

    def login(self, username: str = "e001001", page=None) -> None:
        page = page or self.page
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill("canbao-demo")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/e/"))
        self.ready(page)
        page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
        page.wait_for_function("() => Canbao.db.meta('refreshed').then(Boolean)")

    def ready(self, page=None):
        page = page or self.page
        page.wait_for_function("() => window.Canbao && Canbao.page && Canbao.page.ready")
        page.evaluate("Canbao.page.ready")

    def open(self, path: str, page=None):
        page = page or self.page
        page.goto(path)
        self.ready(page)
        return page

    def outbox(self) -> list[dict]:
        return self.page.evaluate("Canbao.db.all('outbox')")

    def wait_settled(self, count: int, seconds: float = SETTLE_SECONDS) -> list[dict]:
        """Until ``count`` outbox items are answered (sent, or refused to be fixed)."""
        return self.wait_outbox(count, ("done", "fix"), seconds)

    def wait_outbox(self, count: int, states: tuple[str, ...], seconds: float = SETTLE_SECONDS) -> list[dict]:
        """Until ``count`` outbox items are in one of ``states``, nudging the upload meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            items = self.outbox()
            if len([i for i in items if i["state"] in states]) >= count:
                return items
            self.page.evaluate("Canbao.page.upload()")
            time.sleep(0.3)
        raise AssertionError(f"not {'/'.join(states)} in {seconds} s: {self.outbox()}")

    def expect_status(self, text: str) -> None:
        """The phone's status line says ``text`` (it is written after the page is ready: wait)."""
        expect(self.page.locator("#phone-status [data-status]")).to_contain_text(text)


@contextlib.contextmanager
def phone_of(kind: type[Phone], data_dir):
    """A fixture's body: the phone, closed afterwards; a script error on any page fails the test."""
    with sync_playwright() as playwright:
        device = kind(playwright, data_dir)
        try:
            yield device
        finally:
            device.browser.close()
        assert device.errors == []
