"""What the field client costs a phone: bytes on first load, and time to a usable form on a slow line.

    .venv/bin/python benchmarks/bench_field_client.py

Through the real server (its access log counts every byte it sends, the service
worker's own fetches included) and Debian's Chromium at phone size:

* first load: the registration page after login, with everything it and the
  service worker fetch, as sent (gzip) - target ≤ 50 KB;
* slow line: Chromium's network emulation at 400 ms round trip and 400 kbit/s,
  the time from navigation until the form is usable (filled and enhanced), on
  the first visit (nothing cached: the browser logged in outside, so the form
  page is the first thing it loads) - target ≤ 2 s; and, with no signal at all,
  from the service worker.

A page that does not load, or a form that never becomes usable, stops it with an
error.  Prints the figures.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from live_server import server_process  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from survey_app import demo  # noqa: E402
from survey_app.store import LocalStore  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SLOW = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
        "uploadThroughput": 400_000 / 8}
FORM = "/e/h/370403001001.1/register"
LOGGED = re.compile(r'^\S+ (GET|POST) (\S+) (\d{3}) (\d+|-) (\d+|-) ')


class BenchmarkError(RuntimeError):
    pass


def sent_since(log: Path, offset: int) -> tuple[int, list[tuple[str, int, int]]]:
    """Bytes the server sent since ``offset`` of its access log; any failed request stops the run."""
    lines = log.read_text(encoding="utf-8")[offset:].splitlines()
    found = []
    for line in lines:
        match = LOGGED.match(line)
        if match:
            status = int(match.group(3))
            if status >= 400:
                raise BenchmarkError(f"the server answered {status} to {match.group(2)}")
            written, length = (int(v) if v != "-" else 0 for v in match.group(4, 5))
            found.append((match.group(2), status, max(written, length)))
    if not found:
        raise BenchmarkError("the access log recorded no request: nothing was measured")
    return sum(size for _path, _status, size in found), found


def session_cookie(base: str) -> dict:
    """Log in over plain HTTP, so the browser's first page is the form, with an empty cache."""
    import http.cookiejar
    import urllib.parse
    import urllib.request
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "e001001", "password": demo.DEMO_PASSWORD,
                                   "csrf_token": token}).encode()
    opener.open(base + "/login", data=form).read()
    cookie = next(c for c in jar if c.name == "session")
    return {"name": cookie.name, "value": cookie.value, "url": base}


def usable_after(page) -> float:
    """Seconds from navigation start until app.js marked the form usable."""
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    return int(page.get_attribute("body", "data-ready")) / 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data, log = Path(tmp) / "data", Path(tmp) / "access.log"
        demo.load(LocalStore(data), households_per_village=24, today=dt.date.today())
        env = {"CANBAO_ACCESS_LOG": str(log)}
        with server_process(data, environment=env) as (base, _server), sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                          has_touch=True, locale="zh-CN", base_url=base)
            context.add_cookies([session_cookie(base)])
            page = context.new_page()
            time.sleep(0.5)
            offset = len(log.read_text(encoding="utf-8"))
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
            cdp.send("Network.emulateNetworkConditions", SLOW)
            response = page.goto(FORM)
            if not response or response.status != 200:
                raise BenchmarkError(f"{FORM} answered {response and response.status}")
            cold = usable_after(page)
            page.evaluate("navigator.serviceWorker.ready")
            page.wait_for_function("caches.keys().then(k => k.length === 1)")
            time.sleep(1)  # the worker's last fetches reach the log
            total, requests = sent_since(log, offset)
            context.set_offline(True)
            page.reload()
            offline = usable_after(page)
            browser.close()
    print("first load of the registration page, everything sent by the server (gzip):")
    for path, status, size in requests:
        note = "  (304: the browser already had it)" if status == 304 else ""
        print(f"  {size:>7,} B  {path}{note}")
    verdict = "ok" if total <= 50 * 1024 else "MISSED"
    print(f"  {total:>7,} B  total = {total / 1024:.1f} KB   target ≤ 50 KB: {verdict}")
    print("usable form:")
    for name, seconds in (("first visit, 400 ms / 400 kbit/s", cold),
                          ("no signal (from the worker)", offline)):
        print(f"  {name:<34} {seconds:.2f} s   target ≤ 2 s: {'ok' if seconds <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
