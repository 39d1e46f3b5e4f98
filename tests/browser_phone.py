"""A phone-sized Chromium (360×740, touch, zh-CN) logged in as an enumerator, and the real server
it talks to: what the browser tests of the field client share."""

from __future__ import annotations

import contextlib
import re
import time

from live_server import free_port, server_process

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


class Phone:
    """A Chromium on a phone-sized screen, logged in as e001001, and the server it talks to."""

    def __init__(self, playwright, data_dir):
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                                has_touch=True, locale="zh-CN", base_url=self.base)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    @contextlib.contextmanager
    def serving(self):
        with server_process(self.data_dir, port=self.port):
            yield

    def login(self) -> None:
        self.page.goto("/login")
        self.page.get_by_label("用户名").fill("e001001")
        self.page.get_by_label("密码").fill("canbao-demo")
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_url(re.compile(r"/e/"))
        self.ready()
        self.page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
        self.page.wait_for_function("() => Canbao.db.meta('refreshed').then(Boolean)")

    def ready(self):
        self.page.wait_for_function("() => window.Canbao && Canbao.page && Canbao.page.ready")
        self.page.evaluate("Canbao.page.ready")

    def open(self, path: str):
        self.page.goto(path)
        self.ready()
        return self.page

    def outbox(self) -> list[dict]:
        return self.page.evaluate("Canbao.db.all('outbox')")

    def wait_settled(self, count: int, seconds: float = 30) -> list[dict]:
        """Until ``count`` outbox items are answered (sent, or refused to be fixed)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            items = self.outbox()
            if len([i for i in items if i["state"] in ("done", "fix")]) >= count:
                return items
            self.page.evaluate("Canbao.page.upload()")
            time.sleep(0.3)
        raise AssertionError(f"not answered in {seconds} s: {self.outbox()}")
