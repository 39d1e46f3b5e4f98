"""初审 and 审核: the township approves or returns what villages sent, the county audits approvals.

The round trip from a phone's submission to the county's audit, bulk approval over a filter
(exact counts), every new route refusing what lies outside the user's area exactly as a missing
record, the history of who did what when, and the export's who/when/review columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import uuid

import pytest
from browser_phone import CHROMIUM_ARGS
from conftest import PASSWORD, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, csrf_from, first_household
from helpers import new_id_number, submission
from werkzeug.datastructures import MultiDict

from survey_app import clock, grid, registry, review, users
from survey_app.store import Store

VILLAGE_A2 = "370403001002"  # 临城街道 沙河崖社区, enumerator e001002
COMMENT = "身份证号与户口簿不一致，请入户核对"


# -- helpers -------------------------------------------------------------------------------------
class Session:
    """One logged-in user with their own test client (a phone, a township office, the county)."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        self.auth = Auth(self.client)
        response = self.auth.login(username)
        assert response.status_code == 302, username

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def text(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return html.unescape(response.get_data(as_text=True))

    def token(self) -> str:
        return self.auth.api_token()

    def post(self, path: str, data: dict | list, **kwargs):
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        return self.client.post(path, data=MultiDict([*pairs, ("csrf_token", self.token())]), **kwargs)

    def submit(self, body: dict) -> dict:
        response = self.client.post("/api/v1/submissions", json=body, headers={"X-CSRFToken": self.token()})
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()


def person(store, ref: str) -> dict:
    village, doc_id = registry.parse_ref(ref)
    return store.read(Store.village(village)).get("persons", doc_id)


def other_township(store) -> None:
    """A second township's staff account (常庄街道), for the scope tests."""
    users.add_user(store, grid.load(store), username="township2", password=PASSWORD,
                   role="township_staff", area=["370403002"], display_name="常庄街道工作人员")


def listed(session: Session, path: str) -> str:
    """The rows of a review list page (not its messages)."""
    return session.text(path).split('<ul class="list review-list">')[1].split("</ul>")[0]


def flashes(text: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+" role="status">([^<]*)</p>', text)


def now() -> str:
    return registry.now_iso()


def minute(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")


def export_row(session: Session, village: str, number: str) -> dict:
    data = session.get(f"/s/v/{village}/export.csv").get_data().decode("utf-8")[1:]
    rows = list(csv.reader(io.StringIO(data, newline="")))
    found = [r for r in rows[1:] if number in r]
    assert len(found) == 1
    return dict(zip(rows[0], found[0], strict=True))


@pytest.fixture
def phone(app):
    return Session(app, "e001001")


@pytest.fixture
def township(app):
    return Session(app, "township")


@pytest.fixture
def county(app):
    return Session(app, "admin")


# -- the round trip --------------------------------------------------------------------------------
def test_returned_corrected_approved_and_audited(app, store, phone, township, county):
    house = first_household(store, VILLAGE_A)
    number = new_id_number(year=1979)
    body = submission(house["ref"], name="韩立新", id_number=number, phone="13912345678")
    ref = phone.submit(body)["id"]
    assert person(store, ref)["review"] == {"state": "pending"} and "audit" not in person(store, ref)

    # the township's list and the record, read only, every answer by its label
    overview = listed(township, "/s/review")
    assert "韩立新" in overview and number not in overview
    assert f"{number[:6]}********{number[-4:]}" in overview  # the list masks numbers
    page = township.text(f"/s/review/{ref}")
    for shown in ("韩立新", number, "本地农业户口", "一般城乡居民", "支付宝", "e001001", "待初审"):
        assert shown in page, shown

    # a return needs a comment; without one nothing changes
    before = store.fingerprint(Store.village(VILLAGE_A))
    refused = township.post(f"/s/review/{ref}", {"action": "return", "comment": "  "})
    assert refused.status_code == 422 and "必须填写意见" in refused.get_data(as_text=True)
    assert store.fingerprint(Store.village(VILLAGE_A)) == before
    done = township.post(f"/s/review/{ref}", {"action": "return", "comment": COMMENT,
                                              "seen": review.version(person(store, ref)),
                                              "back": "/s/review?state=pending"})
    assert done.status_code == 302 and done.headers["Location"] == "/s/review?state=pending"
    returned = person(store, ref)["review"]
    assert {k: returned[k] for k in ("state", "by", "comment")} == \
        {"state": "returned", "by": "township", "comment": COMMENT}

    # the enumerator sees it, with the comment, on the home page and the household page …
    form_link = f"/e/h/{house['ref']}/register?person={ref}"
    home = phone.text("/e/")
    returned_section = home.split("退回修改的登记")[1].split("</section>")[0]
    assert "韩立新" in returned_section and COMMENT in returned_section
    assert f'href="{form_link}"' in returned_section
    household = phone.text(f"/e/h/{house['ref']}")
    item = household.split("韩立新")[1].split("</li>")[0]
    assert "退回" in item and COMMENT in item
    # … and on the phone's data for working offline
    bundle = phone.get("/api/v1/bundle").get_json()
    sent = next(p for v in bundle["villages"] for p in v["persons"] if p["id"] == ref)
    assert sent["review"] == {"state": "returned", "comment": COMMENT, "at": returned["at"]}

    # corrected and saved again: back to 待初审, off the home page
    phone.submit({**body, "uuid": str(uuid.uuid4()), "person": ref, "phone": "13812345678"})
    assert person(store, ref)["review"] == {"state": "pending"}
    home = phone.text("/e/")
    assert '<section class="card" data-returned hidden>' in home and "韩立新" not in home

    # approved; the county audits what the township approved
    township.post(f"/s/review/{ref}", {"action": "approve", "seen": review.version(person(store, ref))})
    assert person(store, ref)["review"]["state"] == "approved"
    assert "韩立新" in listed(county, "/s/review?mode=audit&state=unaudited")
    refused = county.post(f"/s/review/{ref}", {"action": "question", "comment": ""})
    assert refused.status_code == 422
    assert county.post(f"/s/review/{ref}", {"action": "audit"}).status_code == 302
    final = person(store, ref)
    assert final["review"]["state"] == "approved" and final["review"]["by"] == "township"
    assert {k: final["audit"][k] for k in ("state", "by", "comment")} == \
        {"state": "audited", "by": "admin", "comment": ""}
    assert "韩立新" not in listed(county, "/s/review?mode=audit&state=unaudited")
    assert "韩立新" in listed(county, "/s/review?mode=audit&state=audited")

    # who did what, when: newest first
    events = township.text(f"/s/review/{ref}").split("审核与修改记录")[1]
    steps = [(minute(final["audit"]["at"]), "admin", "审核（县）：已审核"),
             (minute(final["review"]["at"]), "township", "初审：初审通过"),
             (minute(final["updated_at"]), "e001001", "联系电话："),
             (minute(returned["at"]), "township", f"初审：退回 · 意见：{COMMENT}")]
    positions = []
    for when, who, what in steps:
        assert f"{when} · {who}" in events, (when, who)
        positions.append(events.index(what))
    assert positions == sorted(positions)
    assert "<del>13912345678</del> → 13812345678" in events

    # the export: who registered and changed it, and both reviews (never the comments)
    row = export_row(township, VILLAGE_A, number)
    columns = ("户编号", "登记人", "登记时间", "最后修改人", "审核状态", "审核人", "审核时间")
    assert {k: row[k] for k in columns} == {
        "户编号": house["ref"], "登记人": "e001001", "登记时间": minute(final["registered_at"]),
        "最后修改人": "e001001", "审核状态": "初审通过；审核（县）：已审核", "审核人": "township；admin",
        "审核时间": f"{minute(final['review']['at'])}；{minute(final['audit']['at'])}"}
    assert COMMENT not in json.dumps(row, ensure_ascii=False)

    # the audit log names the record only: no number, no comment
    entries = [e for e in store.read(Store.village(VILLAGE_A)).all("audit") if e["ref"] == ref]
    assert [e["action"] for e in entries if e["action"].startswith(("review_", "audit_"))] == \
        ["review_returned", "review_approved", "audit_audited"]
    text = json.dumps(entries, ensure_ascii=False)
    assert number not in text and COMMENT not in text and "1391234" not in text


def test_a_question_from_the_county_shows_to_the_township_and_a_new_approval_clears_it(
        store, phone, township, county):
    ref = phone.submit(submission(first_household(store, VILLAGE_A)["ref"], name="钱有疑"))["id"]
    township.post(f"/s/review/{ref}", {"action": "approve"})
    county.post(f"/s/review/{ref}", {"action": "question", "comment": "出生日期与身份证号不符？"})
    assert person(store, ref)["audit"]["state"] == "questioned"
    questioned = listed(township, "/s/review?state=questioned")
    assert "钱有疑" in questioned and "出生日期与身份证号不符？" in questioned
    township.post(f"/s/review/{ref}", {"action": "approve", "comment": "已核实无误"})
    assert "audit" not in person(store, ref) and person(store, ref)["review"]["comment"] == "已核实无误"
    assert "钱有疑" in listed(county, "/s/review?mode=audit&state=unaudited")


def test_a_form_saved_again_unchanged_after_a_return_shows_as_resubmitted(store, phone, township):
    body = submission(first_household(store, VILLAGE_A)["ref"], name="周重交")
    ref = phone.submit(body)["id"]
    township.post(f"/s/review/{ref}", {"action": "return", "comment": "请核对联系电话"})
    phone.submit({**body, "uuid": str(uuid.uuid4()), "person": ref})  # checked, nothing to change
    assert person(store, ref)["review"] == {"state": "pending"}
    events = township.text(f"/s/review/{ref}").split("审核与修改记录")[1]
    assert events.index("重新提交（内容未改），待初审") < events.index("初审：退回 · 意见：请核对联系电话")
    assert f"{minute(person(store, ref)['updated_at'])} · e001001" in events


def test_a_decision_on_a_form_changed_since_it_was_shown_is_refused(store, phone, township):
    house = first_household(store, VILLAGE_A)
    body = submission(house["ref"], name="孙变更")
    ref = phone.submit(body)["id"]
    shown = township.text(f"/s/review/{ref}")
    seen = re.search(r'name="seen" value="(\w+)"', shown).group(1)
    assert seen == review.version(person(store, ref))
    # corrected on the phone while the township looks at it (within the same second, too)
    phone.submit({**body, "uuid": str(uuid.uuid4()), "person": ref, "remark": "补充说明"})
    refused = township.post(f"/s/review/{ref}", {"action": "approve", "seen": seen})
    assert refused.status_code == 422 and "又被修改过" in refused.get_data(as_text=True)
    assert person(store, ref)["review"] == {"state": "pending"}
    # the same holds for a ticked row of the list
    response = township.post("/s/review", [("target", "selected"), ("ref", ref), (f"seen:{ref}", seen)],
                             follow_redirects=True)
    assert "已初审通过 0 条。" in flashes(html.unescape(response.get_data(as_text=True)))
    assert person(store, ref)["review"] == {"state": "pending"}


def test_a_partial_save_has_no_review_and_a_roster_person_cannot_be_reviewed(store, phone, township):
    house = first_household(store, VILLAGE_A)
    ref = phone.submit({**submission(house["ref"], name="郑暂存"), "ethnicity": "", "incomplete": True})["id"]
    assert "review" not in person(store, ref)
    assert township.post(f"/s/review/{ref}", {"action": "approve"}).status_code == 422
    assert "review" not in person(store, ref)
    expected = next(p for p in store.read(Store.village(VILLAGE_A)).all("persons")
                    if p["status"] == "expected")
    expected_ref = f"{VILLAGE_A}.{expected['doc_id']}"
    page = township.text(f"/s/review/{expected_ref}")
    assert "待登记" in page and 'value="approve"' not in page


# -- bulk approval -----------------------------------------------------------------------------------
def test_bulk_approval_over_a_filter_and_over_ticked_rows_counts_exactly(app, store, phone, township):
    other = Session(app, "e001002")
    in_a = [phone.submit(submission(first_household(store, VILLAGE_A)["ref"], name=f"批量甲{i}"))["id"]
            for i in "一二三"]
    in_a2 = [other.submit(submission(first_household(store, VILLAGE_A2)["ref"], name=f"批量乙{i}"))["id"]
             for i in "一二"]
    partial = phone.submit({**submission(first_household(store, VILLAGE_A)["ref"], name="批量暂存"),
                            "ethnicity": "", "incomplete": True})["id"]

    assert "共 3 条" in township.text(f"/s/review?village={VILLAGE_A}&state=pending")
    assert "共 2 条" in township.text("/s/review?by=e001002")
    overview = township.text("/s/review?by=e001002")
    assert "共 6 条" in township.text("/s/review")
    assert '<option value="e001002" selected>e001002</option>' in overview  # the area's enumerators
    assert '<option value="e001001">e001001</option>' in overview
    assert f'<option value="{VILLAGE_A2}">沙河崖社区</option>' in overview
    only_partial = township.text("/s/review?incomplete=1")
    assert "共 1 条" in only_partial and "批量暂存" in only_partial
    tomorrow = (clock.now().date() + dt.timedelta(days=1)).isoformat()
    assert "共 0 条" in township.text(f"/s/review?since={tomorrow}")
    assert "共 6 条" in township.text(f"/s/review?on=updated&until={tomorrow}")

    # every pending row the filter shows: the three of 临山村, nothing else
    response = township.post("/s/review", {"target": "filtered", "village": VILLAGE_A, "state": "pending",
                                           "as_of": now()}, follow_redirects=True)
    assert "已初审通过 3 条。" in flashes(html.unescape(response.get_data(as_text=True)))
    assert [person(store, r)["review"]["state"] for r in in_a] == ["approved"] * 3
    assert [person(store, r)["review"]["state"] for r in in_a2] == ["pending"] * 2
    assert "review" not in person(store, partial)

    # ticked rows: one of the two; an approved row ticked again is skipped, not approved twice
    response = township.post("/s/review", [("target", "selected"), ("ref", in_a2[0]), ("ref", in_a[0]),
                                           ("as_of", now())], follow_redirects=True)
    messages = flashes(html.unescape(response.get_data(as_text=True)))
    assert "已初审通过 1 条。" in messages
    assert "1 条未处理：不是待初审，或在列表显示后又被修改过。" in messages
    assert [person(store, r)["review"]["state"] for r in in_a2] == ["approved", "pending"]
    log = store.read(Store.village(VILLAGE_A)).all(review.LOG)
    assert len([e for e in log if e["person"] == int(in_a[0].split(".")[1])]) == 1

    # a row changed after the list was shown is left for another look
    response = township.post("/s/review", [("target", "selected"), ("ref", in_a2[1]),
                                           ("as_of", "2000-01-01T00:00:00+08:00")], follow_redirects=True)
    assert "已初审通过 0 条。" in flashes(html.unescape(response.get_data(as_text=True)))
    assert person(store, in_a2[1])["review"]["state"] == "pending"


def test_the_list_pages_and_samples_for_the_county(app, store, phone, township, county, monkeypatch):
    from survey_app import staff_review
    refs = [phone.submit(submission(first_household(store, VILLAGE_A)["ref"], name=f"抽样{i}"))["id"]
            for i in "甲乙丙丁戊己庚辛壬癸子丑"]
    township.post("/s/review", {"target": "filtered", "as_of": now()})
    monkeypatch.setattr(staff_review, "PAGE_SIZE", 5)
    first = township.text("/s/review?state=approved")
    assert "共 12 条" in first and "第 1 / 3 页" in first
    assert listed(township, "/s/review?state=approved").count('href="/s/review/') == 5
    assert listed(township, "/s/review?state=approved&page=3").count('href="/s/review/') == 2

    drawn = county.get("/s/review?mode=audit&sample=50")
    assert drawn.status_code == 302
    seed = re.search(r"seed=(\w+)", drawn.headers["Location"]).group(1)
    expected = [r for r in refs if review.in_sample(r, seed, 50)]
    page = county.text(f"/s/review?mode=audit&sample=50&seed={seed}&page=1")
    assert f"共 {len(expected)} 条" in page
    monkeypatch.setattr(staff_review, "PAGE_SIZE", 50)
    rows = listed(county, f"/s/review?mode=audit&sample=50&seed={seed}")
    shown = re.findall(r'href="/s/review/([\d.]+)\?', rows)
    assert sorted(shown) == sorted(expected)
    assert 0 < len(expected) < 12  # with this many, a 50 % sample is neither none nor all


def test_a_county_list_is_narrowed_to_a_township_when_it_covers_too_many_villages(county, monkeypatch):
    from survey_app import staff_review
    monkeypatch.setattr(staff_review, "MAX_LIST_VILLAGES", 5)
    too_many = county.text("/s/review")
    assert "请先选择一个乡镇（街道）" in too_many
    assert f'<option value="{TOWNSHIP_A}">临城街道</option>' in too_many
    assert 'name="village"' not in too_many  # villages are offered once a township is chosen
    narrowed = county.text(f"/s/review?township={TOWNSHIP_A}")
    assert f'<option value="{VILLAGE_A2}">沙河崖社区</option>' in narrowed and "共 0 条" in narrowed


# -- who may do what, and where -----------------------------------------------------------------------
def page_shape(response, code: str) -> str:
    text = response.get_data(as_text=True).replace(code, "?")
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', text)


def test_another_townships_staff_get_404_for_each_route_and_change_nothing(app, store, phone):
    ref = phone.submit(submission(first_household(store, VILLAGE_A)["ref"], name="范围外"))["id"]
    other_township(store)
    outsider = Session(app, "township2")
    missing = f"{VILLAGE_A}.99999"
    for path in (f"/s/review/{ref}",):
        outside, absent = outsider.get(path), outsider.get(path.replace(ref, missing))
        assert outside.status_code == absent.status_code == 404
        assert page_shape(outside, ref) == page_shape(absent, missing)
    for query in (f"village={VILLAGE_A}", f"township={TOWNSHIP_A}", "village=370403009009"):
        assert outsider.get(f"/s/review?{query}").status_code == 404, query
    before = store.digest()
    assert outsider.post(f"/s/review/{ref}", {"action": "approve"}).status_code == 404
    assert outsider.post(f"/s/review/{ref}", {"action": "return", "comment": "x"}).status_code == 404
    assert outsider.post("/s/review", [("target", "selected"), ("ref", ref)]).status_code == 404
    b_person = store.read(Store.village(VILLAGE_B)).all("persons")[0]
    mixed = [("target", "selected"), ("ref", f"{VILLAGE_B}.{b_person['doc_id']}"), ("ref", ref)]
    assert outsider.post("/s/review", mixed).status_code == 404
    assert outsider.post("/s/review", [("target", "filtered"), ("village", VILLAGE_A)]).status_code == 404
    assert store.digest() == before
    assert "范围外" not in listed(outsider, "/s/review")


@pytest.mark.parametrize("method, path", [
    ("get", "/s/review"), ("get", "/s/review?mode=audit"), ("get", f"/s/review/{VILLAGE_A}.1"),
    ("post", "/s/review"), ("post", f"/s/review/{VILLAGE_A}.1"),
])
def test_enumerators_never_reach_the_review_pages(app, store, method, path):
    enumerator = Session(app, "e001001")
    before = store.digest()
    response = enumerator.get(path) if method == "get" else \
        enumerator.post(path, [("action", "approve"), ("target", "selected"), ("ref", f"{VILLAGE_A}.1")])
    assert response.status_code == 404
    assert store.digest() == before


def test_each_office_takes_its_own_step_only(store, phone, township, county):
    ref = phone.submit(submission(first_household(store, VILLAGE_A)["ref"], name="分工"))["id"]
    before = store.fingerprint(Store.village(VILLAGE_A))
    assert county.post(f"/s/review/{ref}", {"action": "approve"}).status_code == 422  # 初审 is the township's
    county.post("/s/review", [("target", "selected"), ("ref", ref)])
    assert township.post(f"/s/review/{ref}", {"action": "audit"}).status_code == 422  # and 审核 the county's
    assert store.fingerprint(Store.village(VILLAGE_A)) == before
    assert 'value="approve"' not in county.text(f"/s/review/{ref}")
    assert 'value="audit"' not in township.text(f"/s/review/{ref}")


def test_reading_a_record_is_on_record_without_numbers(store, phone, township):
    from survey_app import audit
    number = new_id_number()
    ref = phone.submit(submission(first_household(store, VILLAGE_A)["ref"], id_number=number))["id"]
    township.text(f"/s/review/{ref}")
    entries = audit.entries(store, VILLAGE_A)
    assert {"user": "township", "action": "review_read_person", "ref": ref} in \
        [{k: e[k] for k in ("user", "action", "ref")} for e in entries]
    assert number not in json.dumps(entries, ensure_ascii=False)


def test_csrf_is_required_for_decisions(app, store, phone, township):
    ref = phone.submit(submission(first_household(store, VILLAGE_A)["ref"]))["id"]
    before = store.fingerprint(Store.village(VILLAGE_A))
    assert township.client.post(f"/s/review/{ref}", data={"action": "approve"}).status_code == 400
    assert township.client.post("/s/review", data={"target": "filtered"}).status_code == 400
    assert store.fingerprint(Store.village(VILLAGE_A)) == before
    assert csrf_from(township.text("/s/review"))


# -- on phones: the township returns a form, the enumerator's phone shows it, with signal or not --------


def login(page, username: str, landing: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(landing))


def ready(page) -> None:
    """The field client has started and filled the page (from the phone's data, if a shell)."""
    page.wait_for_function("() => window.Canbao && Canbao.page && Canbao.page.ready")
    page.evaluate("Canbao.page.ready")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
def test_a_township_reviewer_returns_a_form_and_the_enumerators_phone_shows_it(app, store, data_dir, phone):
    from live_server import running_server
    from playwright.sync_api import expect, sync_playwright

    house = first_household(store, VILLAGE_A)
    number = new_id_number(year=1984)
    ref = phone.submit(submission(house["ref"], name="欧阳明", id_number=number))["id"]
    with running_server(data_dir) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        errors: list[str] = []
        try:
            def context():
                made = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                           has_touch=True, locale="zh-CN", base_url=base)
                page = made.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                return made, page

            # the township's reviewer: the list, the record, a return with a comment
            _office, desk = context()
            login(desk, "township", r"/s/")
            desk.goto("/s/review")
            assert no_horizontal_scroll(desk)
            desk.get_by_role("link", name=re.compile("欧阳明")).click()
            desk.wait_for_url(re.compile(rf"/s/review/{re.escape(ref)}\?"))
            assert no_horizontal_scroll(desk)
            expect(desk.get_by_text(number)).to_be_visible()
            expect(desk.get_by_text("本地农业户口")).to_be_visible()
            desk.get_by_role("button", name="退回调查员修改").click()  # no comment yet: refused
            expect(desk.get_by_role("alert")).to_contain_text("必须填写意见")
            desk.get_by_label("意见（退回或提出疑问时必填）").fill(COMMENT)
            desk.get_by_role("button", name="退回调查员修改").click()
            desk.wait_for_url(re.compile(r"/s/review(\?|$)"))
            expect(desk.get_by_role("status")).to_contain_text("欧阳明：已退回")
            row = desk.locator(".review-list").get_by_role("link", name=re.compile("欧阳明"))
            expect(row).to_contain_text("退回")
            expect(row).to_contain_text(COMMENT)

            # the enumerator's phone: the home page online …
            field, mobile = context()
            login(mobile, "e001001", r"/e/")
            ready(mobile)
            mobile.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
            mobile.wait_for_function("() => Canbao.db.meta('refreshed').then(Boolean)")
            returned = mobile.locator("#returned-list")
            expect(returned).to_contain_text("欧阳明")
            expect(returned).to_contain_text(COMMENT)
            assert no_horizontal_scroll(mobile)

            # … and with no signal: the shells filled from the phone's own data
            field.set_offline(True)
            mobile.goto("/e/")
            ready(mobile)
            assert mobile.evaluate("document.body.dataset.shell") == "home"
            expect(returned).to_contain_text("欧阳明")
            expect(returned).to_contain_text(f"退回意见：{COMMENT}")
            mobile.goto(f"/e/h/{house['ref']}")
            ready(mobile)
            assert mobile.evaluate("document.body.dataset.shell") == "household"
            item = mobile.locator("#shell-list li", has_text="欧阳明")
            expect(item).to_contain_text("退回")
            expect(item).to_contain_text(COMMENT)
            item.locator('a[href*="/register"]').click()  # the row's own link, not its 争议/缴费 actions
            mobile.wait_for_url(re.compile(rf"/register\?person={re.escape(ref)}$"))
            field.set_offline(False)
        finally:
            browser.close()
    assert errors == []
    assert person(store, ref)["review"]["state"] == "returned"
