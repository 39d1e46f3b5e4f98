"""Printed documents: real Chinese glyphs, QR codes that open the right record, and privacy.

The documents are rendered once per module (rendering is the slow part) on a
private copy of the demo district with a few registered residents and two
hostile names added; tests that change data get their own app.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import zxingcpp
from conftest import TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, first_household
from PIL import Image

from survey_app import create_app, demo, documents, registry, roster_load, state, tokens
from survey_app import printed as print_room
from survey_app.campaign import load_campaign
from survey_app.collection import ledger, rates
from survey_app.registry import Scope
from survey_app.store import Store

HOSTILE = ("<img src=file:///etc/passwd>", "{{7*7}}")
HOSTILE_ADDRESS = '<link rel="stylesheet" href="http://evil.example/x.css">'
SPECIAL = ("特困", "孤儿", "低保", "残疾", "低收入", "计生特扶", "优抚", "特殊人群")
FULL_ID = re.compile(r"\d{17}[\dXx]")
MOBILE = re.compile(r"1[3-9]\d{9}")


def registration_payload(name: str, seed: int, special: str | None = None) -> dict:
    """A complete, valid web/API registration for a woman born in 1990."""
    rng = random.Random(seed)
    birth = dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(3000))
    payload = {
        "name": name, "id_number": demo.id_number(rng, birth, male=False, county="370403"),
        "sex": "female", "ethnicity": "01", "phone": f"1380000{seed:04d}",
        "relationship": "spouse", "hukou_type": "local_rural",
        "hukou_address": "临山村1组1号", "residence": "临山村1组1号",
        "person_category": "special" if special else "general",
        "resident_pension": "enrolled", "resident_medical": "enrolled",
        "employee_pension": "not_enrolled", "employee_medical": "not_enrolled",
        "pension_tier": "500", "payment_channel": "wechat",
    }
    if special:
        payload["special_group"] = special
    return payload


def _pdftotext(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *pages, str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def _qr_on_page(pdf: Path, page: int, tmp: Path) -> str:
    prefix = tmp / f"page{page}"
    subprocess.run(["pdftoppm", "-r", "100", "-f", str(page), "-l", str(page), "-png", str(pdf),
                    str(prefix)], check=True)
    image = next(tmp.glob(f"page{page}*.png"))
    found = zxingcpp.read_barcodes(Image.open(image))
    assert len(found) == 1, f"page {page}: {len(found)} QR codes"
    return found[0].text


@pytest.fixture(scope="module")
def printed(tmp_path_factory, demo_template):
    root = tmp_path_factory.mktemp("printed")
    shutil.copytree(demo_template, root / "data", ignore=shutil.ignore_patterns("locks"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATA": str(root / "data"),
                      "EXPORTS_DIR": str(root / "exports"), "PUBLIC_URL": "https://canbao.example"})
    with app.app_context():
        store = state.store()
        grid = state.current_grid()
        scope = Scope(frozenset(grid.villages_under("370403")), "tester")
        registered = _register_some(store, scope)
        _pay_for_everyone(store, scope, registered)
        _add_hostile_household(store)
        exports = {"forms": documents.print_forms(scope, village=VILLAGE_A, blank=1)}
        for kind in ("collection", "roster"):
            exports[kind] = documents.print_notice(scope, kind, village=VILLAGE_A)
        exports["progress"] = documents.print_notice(scope, "progress", township=TOWNSHIP_A)
    return {"app": app, "exports": exports, "registered": registered, "root": root}


def _register_some(store, scope):
    home = first_household(store, VILLAGE_A)
    definition = state.registration_form()
    people = []
    for seed, (name, special) in enumerate((("欧阳娜娜", "dibao"), ("张三丰", "disabled"),
                                             ("王芳", None)), start=1):
        payload = {**registration_payload(name, seed, special), "household": home["ref"],
                   "uuid": f"00000000-0000-4000-8000-{seed:012d}"}
        payload["ref"] = registry.submit(store, scope, definition, payload).ref
        people.append(payload)
    return people


def _pay_for_everyone(store, scope, people):
    """The paid roster lists those who paid in full: each person's part, and the government's
    for the two special groups (recorded by staff)."""
    for number, person in enumerate(people):
        for payer in ("person", "government"):
            owed = sum(line.person if payer == "person" else line.government
                       for line in rates.lines(person, state.rates()))
            if owed:
                ledger.record(store, scope, state.rates(), state.payment_channels(), {
                    "uuid": f"00000000-0000-4000-9000-{2 * number + (payer == 'government'):012d}",
                    "person": person["ref"], "schemes": ["resident_pension", "resident_medical"],
                    "amount": rates.fen_to_yuan(owed), "channel": "wechat", "payer": payer},
                    may_record_government=True)


def _add_hostile_household(store):
    rng = random.Random(99)
    members = [{"name": name, "id_number": demo.id_number(rng, dt.date(1980, 5, 5), True, "370403"),
                "sex": "male", "relationship": "head"} for name in HOSTILE]
    roster_load.import_roster(store, VILLAGE_A, [{"head_name": HOSTILE[0], "address": HOSTILE_ADDRESS,
                                              "members_count": 2, "members": members}])


# -- rendering -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind, expected", [
    ("forms", ("全民参保登记表", "公民身份号码", "城乡居民基本养老保险", "薛城区 临城街道 临山村")),
    ("collection", ("集中征缴通知", "宣传发动", "集中征缴", "数据处理", "缴费档次", "微信", "盖章处")),
    ("roster", ("缴费清册公示", "公示期", "异议", "欧**娜", "张*丰", "王*", "税务部门盖章处")),
    ("progress", ("入户登记进度通报", "临山村", "沙河崖社区", "登记率", "合计")),
])
def test_each_document_has_its_chinese_text(printed, kind, expected):
    text = _pdftotext(printed["exports"][kind].pdf)
    compact = re.sub(r"\s+", "", text)
    for phrase in expected:
        assert phrase.replace(" ", "") in compact, phrase
    assert re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", text)


def test_township_progress_has_the_dashboards_charts_and_its_enumerators(printed):
    """The 进度通报 draws the dashboards' SVG charts (their text is text in the PDF) and, for a
    township, each enumerator's figures: the three forms registered by "tester" in one household."""
    text = _pdftotext(printed["exports"]["progress"].pdf)
    compact = re.sub(r"\s+", "", text)
    for phrase in ("村不漏户", "户不漏人", "人不漏项", "近14天每日登记人数", "审核情况", "各网格员登记情况"):
        assert phrase in compact, phrase
    assert re.search(r"tester\s+1\s+3\s+0\s+0", text)  # 走访户数 已登记 待补充 被退回
    assert "各乡镇（街道）分村（社区）" not in compact  # a township's villages need no 小计


@pytest.mark.parametrize("kind", ["forms", "collection", "roster", "progress"])
def test_cjk_font_is_embedded(printed, kind):
    fonts = subprocess.run(["pdffonts", str(printed["exports"][kind].pdf)], check=True,
                           capture_output=True, text=True).stdout
    rows = [line for line in fonts.splitlines() if "WenQuanYi" in line]
    assert rows and all(" yes yes " in row for row in rows), fonts


def test_one_page_per_person_plus_blank_forms(printed):
    export = printed["exports"]["forms"]
    with printed["app"].app_context():
        persons = len(state.store().read(Store.village(VILLAGE_A)).all("persons"))
    assert export.meta["pages"] == persons + 1
    last = re.sub(r"\s+", "", _pdftotext(export.pdf, persons + 1))
    assert f"第{persons + 1}页共{persons + 1}页" in last


def test_form_prints_every_field_and_choice_of_the_definition(printed):
    text = re.sub(r"\s+", "", _pdftotext(printed["exports"]["forms"].pdf, 1))
    with printed["app"].app_context():
        definition = state.registration_form()
    for section in definition.sections:
        assert section.label in text
        for field in section.fields:
            assert field.label in text, field.name
            for choice in field.choices:
                assert choice.label.replace(" ", "") in text, (field.name, choice.label)


def test_qr_on_page_n_opens_that_person_for_an_in_area_enumerator(printed, tmp_path):
    export = printed["exports"]["forms"]
    client = printed["app"].test_client()
    auth = Auth(client)
    for page in (1, 3):
        url = _qr_on_page(export.pdf, page, tmp_path)
        assert url.startswith("https://canbao.example/q/")
        token = url.rsplit("/", 1)[1]
        assert token in _pdftotext(export.pdf, page)  # the short code under the QR
        with printed["app"].app_context():
            entry = tokens.lookup(state.store(), token)
            person = registry.person(state.store(), Scope(frozenset({VILLAGE_A})),
                                     f"{VILLAGE_A}.{entry['person']}")
        assert person["answers"]["name"] in _pdftotext(export.pdf, page)
        assert person["answers"]["id_number"] not in url and person["answers"]["name"] not in url
        auth.login("e001001")
        opened = client.get(f"/q/{token}", follow_redirects=True)
        assert opened.status_code == 200
        assert person["answers"]["id_number"] in opened.get_data(as_text=True)
        auth.logout()
        auth.login("e002001")
        assert client.get(f"/q/{token}").status_code == 404
        auth.logout()


def test_last_page_is_a_blank_form_with_an_unbound_token(printed, tmp_path):
    export = printed["exports"]["forms"]
    pages = export.meta["pages"]
    token = _qr_on_page(export.pdf, pages, tmp_path).rsplit("/", 1)[1]
    with printed["app"].app_context():
        assert tokens.lookup(state.store(), token) == {"token": token, "village": VILLAGE_A,
                                                       "person": None}
    assert "新发现人员" in _pdftotext(export.pdf, pages)


# -- hostile input -----------------------------------------------------------------------
def test_hostile_names_print_literally_and_are_never_fetched(printed):
    export = printed["exports"]["forms"]
    text = _pdftotext(export.pdf)
    for name in HOSTILE:
        assert name in text
    assert 'href="http://evil.example/x.css"' in text.replace("\n", "")
    assert export.fetched and set(export.fetched) == {"canbao:static/print/print.css"}


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "http://evil.example/x.css", "https://evil.example/",
    "data:text/css,body{}", "canbao:static/../../../../etc/passwd",
    "canbao:static/print/../../documents.py", "canbao:static/print/print.css?x=1", "print.css",
])
def test_fetcher_refuses_everything_but_our_static_files(app, url):
    from survey_app.render import StaticOnlyFetcher
    fetcher = StaticOnlyFetcher(app.static_folder)
    with pytest.raises(ValueError):
        fetcher.fetch(url)
    assert fetcher.fetch("canbao:static/print/print.css").read().startswith(b"/*")
    assert fetcher.requested == [url, "canbao:static/print/print.css"]


def test_render_time_limit_stops_a_slow_render(app, tmp_path):
    slow = "<p>" + "参保 " * 200000 + "</p>"
    with app.app_context(), pytest.raises(documents.RenderTimeout):
        documents.render_pdf(slow, tmp_path / "slow.pdf", seconds=0.2)
    assert not (tmp_path / "slow.pdf").exists()


# -- privacy of public notices --------------------------------------------------------------
def test_public_roster_shows_masked_people_and_nothing_sensitive(printed):
    text = _pdftotext(printed["exports"]["roster"].pdf)
    assert not FULL_ID.search(text.replace(" ", "")) and not MOBILE.search(text.replace(" ", ""))
    for person in printed["registered"]:
        birth = dt.date(int(person["id_number"][6:10]), int(person["id_number"][10:12]),
                        int(person["id_number"][12:14]))
        for shown in (birth.isoformat(), f"{birth.year}年{birth.month}月{birth.day}日",
                      person["id_number"][6:14], person["name"], person["phone"]):
            assert shown not in text, shown
        masked = person["id_number"][:6] + "********" + person["id_number"][-4:]
        assert masked in text
    for label in SPECIAL:
        assert label not in text, label
    assert "1组1号" not in text  # no house number


def test_collection_notice_dates_come_from_the_calendar(printed):
    text = _pdftotext(printed["exports"]["collection"].pdf)
    campaign = load_campaign(printed["app"].config["CAMPAIGN_FILE"])
    for phase in campaign.phases:
        assert f"{phase.start.year}年{phase.start.month}月{phase.start.day}日" in text
        assert f"{phase.end.year}年{phase.end.month}月{phase.end.day}日" in text


def test_collection_notice_shows_office_phone_never_the_mobile(printed):
    text = _pdftotext(printed["exports"]["collection"].pdf)
    with printed["app"].app_context():
        contacts = state.current_grid().get(VILLAGE_A)["contacts"]
    for contact in contacts:
        assert contact["name"] in text and contact["office_phone"] in text
        assert contact["phone"] not in text
    assert not MOBILE.search(text.replace(" ", ""))


# -- files, listing, audit -----------------------------------------------------------------
def test_exports_are_organised_and_described(printed):
    root = printed["root"] / "exports"
    for export in printed["exports"].values():
        assert export.pdf.is_relative_to(root / "370403001")
        assert export.pdf.parent.name == documents.today().isoformat()
        meta = json.loads(export.pdf.with_suffix(".json").read_text(encoding="utf-8"))
        assert meta["pages"] >= 1 and not FULL_ID.search(json.dumps(meta))


def test_published_notices_have_the_portal_shape(printed):
    notices = documents.published_notices(printed["root"] / "exports")
    assert {n["kind"] for n in notices} == {"collection", "roster"}
    for notice in notices:
        assert set(notice) == {"title", "kind", "village_name", "township_name", "pdf", "published"}
        assert notice["pdf"].is_file() and notice["village_name"] == "临山村"
        assert isinstance(notice["published"], dt.date)


def test_each_generation_is_audited_without_personal_numbers(printed):
    with printed["app"].app_context():
        audit = state.store().read(Store.village(VILLAGE_A)).all("audit")
        system = state.store().read(Store.SYSTEM).all("audit")
    actions = [a["action"] for a in audit]
    assert {"print_forms", "print_collection", "print_roster"} <= set(actions)
    assert any(a["action"] == "print_progress" for a in system)
    assert not FULL_ID.search(json.dumps(audit + system)) and not MOBILE.search(json.dumps(audit))


# -- staff pages ---------------------------------------------------------------------------
def test_staff_generate_list_and_download_in_their_area(client, auth, store, app):
    auth.login("township")
    page = client.get("/s/print/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    home = first_household(store, VILLAGE_A)
    response = client.post("/s/print/forms", data={"csrf_token": token, "village": VILLAGE_A,
                                                   "households": home["ref"], "blank": "0"})
    assert response.status_code == 302
    assert "正在生成" in client.get("/s/print/").get_data(as_text=True)  # the flash, at least
    assert print_room.wait_for_jobs(store, 120)
    listing = client.get("/s/print/").get_data(as_text=True)
    link = re.search(r'href="(/s/print/files/[^"]+)"', listing).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert client.get("/s/print/files/370403001/2020-01-01/forms-x.pdf").status_code == 404
    auth.logout()
    auth.login("e001001")
    assert client.get("/s/print/").status_code == 404
    assert client.get(link).status_code == 404


def test_a_batch_that_fails_while_rendering_is_reported_in_the_print_room(
        client, auth, app, store, monkeypatch):
    monkeypatch.setattr(documents, "RENDER_SECONDS", 0.001)
    auth.login("township")
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/s/print/").get_data(as_text=True)).group(1)
    response = client.post("/s/print/forms", data={"csrf_token": token, "village": VILLAGE_A})
    assert response.status_code == 302
    assert print_room.wait_for_jobs(store, 60)
    page = client.get("/s/print/").get_data(as_text=True)
    assert "生成失败" in page and "排版超过" in page
    assert not list(Path(app.config["EXPORTS_DIR"]).rglob("*.pdf"))


@pytest.mark.parametrize("village, message", [
    ("999999999999", "找不到"), (VILLAGE_B, "不在您的管辖范围内"), ("x/../../", "找不到"),
])
def test_staff_bad_village_explains_and_writes_nothing(client, auth, app, village, message):
    auth.login("township")
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/s/print/").get_data(as_text=True)).group(1)
    for url, data in (("/s/print/forms", {"village": village}),
                      ("/s/print/notice", {"kind": "roster", "area": village})):
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert not Path(app.config["EXPORTS_DIR"]).exists() or \
        not list(Path(app.config["EXPORTS_DIR"]).rglob("*.pdf"))


def test_staff_bad_household_and_blank_count(client, auth, app):
    auth.login("township")
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/s/print/").get_data(as_text=True)).group(1)
    for data, message in (({"households": f"{VILLAGE_B}.1"}, "不属于该村"),
                          ({"blank": "abc"}, "整数"), ({"blank": "100000"}, "空白表数量")):
        response = client.post("/s/print/forms",
                               data={"csrf_token": token, "village": VILLAGE_A, **data})
        assert response.status_code == 400 and message in response.get_data(as_text=True)


# -- CLI ----------------------------------------------------------------------------------
def test_cli_prints_forms_and_notices(app, store):
    runner = app.test_cli_runner()
    home = first_household(store, VILLAGE_B)
    result = runner.invoke(args=["print", "forms", "--village", VILLAGE_B, "--households",
                                 home["ref"], "--blank", "1"])
    assert result.exit_code == 0, result.output
    assert "已生成" in result.output
    result = runner.invoke(args=["print", "notice", "progress", "--township", TOWNSHIP_A])
    assert result.exit_code == 0, result.output
    pdfs = sorted(Path(app.config["EXPORTS_DIR"]).rglob("*.pdf"))
    assert len(pdfs) == 2


@pytest.mark.parametrize("args, message", [
    (["print", "forms", "--village", "999999999999"], "找不到"),
    (["print", "notice", "roster", "--township", TOWNSHIP_A], "须指定村"),
    (["print", "notice", "collection"], "--village 或 --township"),
])
def test_cli_bad_input_is_explained(app, args, message):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0 and message in result.output
    assert not Path(app.config["EXPORTS_DIR"]).exists() or \
        not list(Path(app.config["EXPORTS_DIR"]).rglob("*.pdf"))


def test_every_server_process_lists_a_running_batch_and_a_silent_one_reads_as_failed(
        data_dir, store, monkeypatch):
    from survey_app import jobs
    from survey_app.store import LocalStore
    job = jobs.start(store, village=VILLAGE_A, user="township", pages=80)
    jobs.progress(store, job, 40)
    other_worker = LocalStore(data_dir)
    listed = jobs.visible(other_worker, {VILLAGE_A})
    assert [(j["done_pages"], j["pages"], j["error"]) for j in listed] == [(40, 80, None)]
    assert jobs.visible(other_worker, {VILLAGE_B}) == []
    later = time.time() + jobs.SILENT_SECONDS + 1
    monkeypatch.setattr(jobs.time, "time", lambda: later)
    assert jobs.visible(other_worker, {VILLAGE_A})[0]["error"] == jobs.DIED_MESSAGE
    assert jobs.running(other_worker) == 0
