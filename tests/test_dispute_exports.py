"""The dispute analysis page and its files, and the ledger (台账) as a file: exact text, cells
as Excel reads them, formula injection neutralised, the phone masked, the audit entry, and
who sees which items (another township's staff none, a department its routed items only)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile

import pytest
from conftest import PASSWORD, VILLAGE_A, VILLAGE_B, Auth
from helpers import Instant
from openpyxl import load_workbook

from survey_app import clock, formdef
from survey_app.campaign import load_campaign
from survey_app.disputes import exports, ledger, stats
from survey_app.spreadsheet import csv_stream
from survey_app.store import Store

ROUTES = ["/d/stats", "/d/stats.csv", "/d/stats.xlsx", "/d/ledger.csv", "/d/ledger.xlsx"]
FILES = ROUTES[1:]


@pytest.fixture
def items(app, store, monkeypatch):
    """Two items of 临山村 (township 370403001) and one of 常庄社区 (another township):

    …001-1  16 Nov, window, records, content "=1+2 …", opinion "@…"; → tax 17 Nov; replied
            18 Nov "-已核实入库" by phone; satisfied
    …001-2  16 Nov, visit, base, content "+基数过高"; open, due 23 Nov: 1 working day left on 20 Nov
    …002-1  16 Nov in 常庄社区; open
    Requests are made on Friday 20 Nov 2026.
    """
    campaign = load_campaign(app.config["CAMPAIGN_FILE"])
    definition = formdef.load(app.config["FORMS_DIR"], "dispute")
    instant = Instant(dt.date(2026, 11, 16))
    monkeypatch.setattr(clock, "utc_now", instant)

    def ctx(username, villages, departments=(), staff=True):
        viewer = ledger.Viewer(frozenset(villages), username, frozenset(departments), staff)
        return ledger.Context(store, viewer, campaign.disputes, campaign.workdays)
    township, other = ctx("township", [VILLAGE_A]), ctx("admin", [VILLAGE_B])

    one = ledger.intake(township, definition, VILLAGE_A, {
        "party_name": "李秀兰", "party_phone": "13912345678", "channel": "window", "category": "records",
        "content": "=1+2 已缴未入库", "first_opinion": "@转税务核实", "uuid": str(uuid.uuid4())},
        household=f"{VILLAGE_A}.1")
    two = ledger.intake(township, definition, VILLAGE_A, {
        "party_name": "王建国", "party_phone": "13800001111", "channel": "visit", "category": "base",
        "content": "+基数过高", "first_opinion": "核对基数", "uuid": str(uuid.uuid4())})
    three = ledger.intake(other, definition, VILLAGE_B, {
        "party_name": "张伟", "party_phone": "13700002222", "channel": "phone", "category": "service",
        "content": "窗口排队太久", "first_opinion": "转交", "uuid": str(uuid.uuid4())})
    instant.day = dt.date(2026, 11, 17)
    ledger.transfer(township, one, "tax", "核实")
    instant.day = dt.date(2026, 11, 18)
    ledger.reply(township, one, "-已核实入库", "phone")
    ledger.rate(township, one, "satisfied")
    instant.day = dt.date(2026, 11, 20)
    return one, two, three


LEDGER_CSV = (
    "\ufeff事项编号,受理时间,村（社区）,户编号,当事人姓名,联系电话（脱敏）,受理渠道,争议类别,争议内容,"
    "初步处理意见,分级,办结期限,承办部门,状态,剩余工作日（负数为逾期）,答复内容,答复人,答复时间,答复方式,满意度\r\n"
    "370403001-1,2026-11-16 10:00,临山村,370403001001.1,李秀兰,*******5678,窗口来访,"
    "申报、未申报、欠缴、已缴数据及缴费凭证,'=1+2 已缴未入库,'@转税务核实,日常,2026-11-23,税务,已办结,,"
    "'-已核实入库,township,2026-11-18 10:00,电话,满意\r\n"
    "370403001-2,2026-11-16 10:00,临山村,,王建国,*******1111,入户走访,缴费基数或金额,'+基数过高,核对基数,"
    "日常,2026-11-23,,办理中,1,,,,,\r\n")


def test_the_ledger_as_csv_exact_text(auth, client, items):
    auth.login("township")
    response = client.get("/d/ledger.csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="canbao-dispute-ledger-370403001-2026-11-20.csv"'
    assert response.get_data().decode("utf-8") == LEDGER_CSV
    assert b"13912345678" not in response.get_data() and b"13800001111" not in response.get_data()


def test_the_ledger_as_xlsx_cells(auth, client, items):
    auth.login("township")
    response = client.get("/d/ledger.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book["征缴争议台账"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:6] == ["事项编号", "受理时间", "村（社区）", "户编号", "当事人姓名", "联系电话（脱敏）"]
    assert rows[1] == ["370403001-1", "2026-11-16 10:00", "临山村", "370403001001.1", "李秀兰",
                       "*******5678", "窗口来访", "申报、未申报、欠缴、已缴数据及缴费凭证",
                       "'=1+2 已缴未入库", "'@转税务核实", "日常", "2026-11-23", "税务", "已办结", None,
                       "'-已核实入库", "township", "2026-11-18 10:00", "电话", "满意"]
    assert rows[2][13:15] == ["办理中", 1]
    assert len(rows) == 3
    assert all(cell.data_type == "s" for cell in sheet[2] if cell.value is not None)  # no formula
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as package:
        assert not any(b"13912345678" in package.read(n) for n in package.namelist())


def test_a_party_name_that_looks_like_a_formula_is_neutralised():
    """The form refuses such a name, but an item from any other source goes through the same cell rule."""
    definition = formdef.load("forms", "dispute")
    campaign = load_campaign("content/data/campaign.toml")
    item = {"ref": "370403001-9", "village": VILLAGE_A, "household": None,
            "received_at": "2026-11-16T10:00:00+08:00",
            "answers": {"party_name": "=HYPERLINK(\"http://x\")", "party_phone": "+8613912345678",
                        "channel": "visit", "category": "other", "content": "-1", "first_opinion": "@A1"},
            "level": "routine", "due": "2026-11-23", "holders": [], "state": "open", "reply": None,
            "satisfaction": None}
    rows = exports.ledger_rows([item], definition=definition, rules=campaign.disputes,
                               calendar=campaign.workdays, village_names={}, today=dt.date(2026, 11, 20))
    text = b"".join(csv_stream(exports.LEDGER_COLUMNS, rows)).decode("utf-8")
    line = text.split("\r\n")[1]
    assert line.startswith('370403001-9,2026-11-16 10:00,370403001001,,"\'=HYPERLINK(""http://x"")",*******5678,')
    assert ",'-1,'@A1," in line and "13912345678" not in text


STATS_CSV_START = (
    "\ufeff【总体情况】\r\n指标,数值\r\n统计日期,2026-11-20\r\n受理期间,全部\r\n受理总数,2\r\n办理中,1\r\n"
    "已办结,1\r\n当前逾期,0\r\n逾期件数（逾期办结及逾期未办结）,0\r\n逾期率,0.0%\r\n计算用时的已办结件数,1\r\n"
    "平均办理用时（工作日）,2.0\r\n最长办理用时（工作日）,2\r\n最长用时事项编号,370403001-1\r\n曾上报件数,0\r\n\r\n"
    "【按争议类别】\r\n争议类别,件数\r\n参保登记,0\r\n申报、未申报、欠缴、已缴数据及缴费凭证,1\r\n缴费基数或金额,1\r\n"
    "特殊缴费、退费、滞纳金,0\r\n单位未登记或未缴费,0\r\n服务投诉,0\r\n其他,0\r\n\r\n"
    "【按分类分级】\r\n分级,当前件数,曾上报至此级\r\n日常,2,0\r\n疑难,0,0\r\n重大,0,0\r\n\r\n")
STATS_CSV_END = (
    "【按村（社区）】\r\n代码,村（社区）,件数,办理中,当前逾期\r\n370403001001,临山村,2,1,0\r\n\r\n"
    "【按受理月份】\r\n月份,件数\r\n2026-11,2\r\n\r\n"
    "【满意度】\r\n评价,件数\r\n满意,1\r\n基本满意,0\r\n不满意,0\r\n未评价,0\r\n\r\n"
    "【重复当事人】\r\n当事人（脱敏）,件数,事项编号\r\n\r\n"
    "【重复户】\r\n户编号,村（社区）,件数,事项编号\r\n\r\n")


def test_the_stats_as_csv_exact_text(auth, client, items):
    auth.login("township")
    response = client.get("/d/stats.csv")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8")
    assert text.startswith(STATS_CSV_START) and text.endswith(STATS_CSV_END)
    departments = text[len(STATS_CSV_START):-len(STATS_CSV_END)]
    assert departments.startswith("【按承办部门】\r\n部门,曾流转件数,在办件数\r\n税务,1,0\r\n人社,0,0\r\n")
    assert text.count("\ufeff") == 1


def test_the_stats_as_xlsx_one_sheet_per_breakdown(auth, client, items):
    auth.login("township")
    response = client.get("/d/stats.xlsx?from=2026-11&to=2026-11")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["总体情况", "按争议类别", "按分类分级", "按承办部门", "按村（社区）",
                               "按受理月份", "满意度", "重复当事人", "重复户"]
    assert [[c.value for c in row] for row in book["按争议类别"].iter_rows(max_row=3)] == [
        ["争议类别", "件数"], ["参保登记", 0], ["申报、未申报、欠缴、已缴数据及缴费凭证", 1]]
    headline = {row[0].value: row[1].value for row in book["总体情况"].iter_rows(min_row=2)}
    assert (headline["受理期间"], headline["受理总数"], headline["平均办理用时（工作日）"]) == \
        ("2026-11 至 2026-11", 2, 2)
    assert [[c.value for c in row] for row in book["按村（社区）"].iter_rows()] == [
        ["代码", "村（社区）", "件数", "办理中", "当前逾期"], ["370403001001", "临山村", 2, 1, 0]]


def test_exports_are_audited_without_personal_data(auth, client, items, store):
    auth.login("township")
    before = len(store.read(Store.SYSTEM).all("audit"))
    for route in FILES:
        assert client.get(route + "?from=2026-10").status_code == 200
    entries = store.read(Store.SYSTEM).all("audit")[before:]
    assert [(e["action"], e["ref"], e["items"], e["months"]) for e in entries] == [
        (f"dispute_{kind}_{fmt}", "370403001", 2, "2026-10 起")
        for kind in ("stats", "ledger") for fmt in ("csv", "xlsx")]
    assert all(e["user"] == "township" for e in entries)
    text = str(entries)
    assert "13912345678" not in text and "5678" not in text and "李秀兰" not in text and "李*兰" not in text


# -- who sees what ------------------------------------------------------------------------------------
def _ledger_refs(client, query: str = "") -> list[str]:
    text = client.get("/d/ledger.csv" + query).get_data().decode("utf-8")
    return [line.split(",")[0] for line in text.split("\r\n")[1:] if line]


def _client_of(app, username: str, password: str = PASSWORD):
    """A browser of its own per person: logging in again on one client is not what is tested."""
    client = app.test_client()
    assert Auth(client).login(username, password).status_code == 302
    return client


def test_scope_of_the_figures_and_files(app, items, store):
    from survey_app import state, users
    with app.app_context():
        users.add_user(store, state.current_grid(), username="township2", password="long-enough-1",
                       role="township_staff", area=["370403002"], display_name="常庄街道工作人员")
    one, two, three = items
    assert _ledger_refs(_client_of(app, "township")) == [one, two]
    other = _client_of(app, "township2", "long-enough-1")  # another township's staff
    assert _ledger_refs(other) == [three]
    page = other.get("/d/stats").get_data(as_text=True)
    assert one not in page and "临山村" not in page
    stats_text = other.get("/d/stats.csv").get_data().decode("utf-8")
    assert "受理总数,1\r\n" in stats_text and "临山村" not in stats_text
    tax = _client_of(app, "tax")  # item one was routed to it, nothing else
    assert _ledger_refs(tax) == [one]
    tax_page = tax.get("/d/stats").get_data(as_text=True)
    assert 'data-figure="total"><span class="measure-label">受理总数</span><strong>1</strong>' in tax_page
    assert "受理总数,1\r\n" in tax.get("/d/stats.csv").get_data().decode("utf-8")
    medical = _client_of(app, "medical")  # nothing routed to it
    assert _ledger_refs(medical) == []
    assert "受理总数,0\r\n" in medical.get("/d/stats.csv").get_data().decode("utf-8")
    admin = _client_of(app, "admin")  # the district: every item, a township at a time if asked
    assert _ledger_refs(admin) == [one, two, three]
    assert _ledger_refs(admin, "?township=370403002") == [three]
    assert 'name="township"' in admin.get("/d/stats").get_data(as_text=True)


def test_the_township_filter_outside_the_area_is_absent(auth, client, items):
    auth.login("township")
    for route in ROUTES:
        assert client.get(route + "?township=370403002").status_code == 404
        assert client.get(route + "?township=nonsense").status_code == 404


def test_an_enumerator_gets_404_everywhere(auth, client, items):
    auth.login("e001001")
    for route in ROUTES:
        assert client.get(route).status_code == 404, route


def test_not_logged_in_is_sent_to_login(client, items):
    for route in ROUTES:
        assert client.get(route).status_code in (302, 401)


@pytest.mark.parametrize("query", ["?from=2026-13", "?from=abc&to=2026-11", "?from=2026-12&to=2026-01",
                                   "?to=%00", "?from=" + "9" * 500])
def test_bad_months_are_ignored_with_a_message(auth, client, items, query):
    auth.login("township")
    page = client.get("/d/stats" + query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="flash flash-warning"' in html
    assert 'data-figure="total"><span class="measure-label">受理总数</span><strong>2</strong>' in html
    assert client.get("/d/ledger.csv" + query).status_code == 200


def test_the_page_draws_charts_and_headline(auth, client, items):
    auth.login("township")
    page = client.get("/d/stats")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 3 and "<script>" not in html.split("<main>")[1]
    assert 'role="img" aria-label="按争议类别统计"' in html and "<title>按受理月份统计</title>" in html
    categories = html.split('data-breakdown="category"')[1].split("</svg>")[0]
    assert categories.count('data-series="count"') == 7  # every category, the empty ones too
    assert categories.count('data-value="1"') == 2 and categories.count('data-value="0"') == 5
    assert 'data-series="2026-11" data-value="2"' in html
    assert 'data-series="routed" data-value="1"' in html  # 税务
    assert 'href="/d/"' in html
    assert "13912345678" not in html
    for label, figure in (("total", "2"), ("open", "1")):
        assert f'data-figure="{label}"' in html and f"<strong>{figure}</strong>" in html
    assert "/d/ledger.xlsx" in html and "/d/stats.csv" in html


def test_overdue_stands_out(auth, client, items, monkeypatch):
    monkeypatch.setattr(clock, "utc_now", Instant(dt.date(2026, 11, 24)))  # item two was due 23 Nov
    auth.login("township")
    html = client.get("/d/stats").get_data(as_text=True)
    assert 'data-overdue' in html and '<strong class="error">1</strong>' in html
    assert "逾期率</span>\n    <strong>50.0%</strong>" in html
    text = client.get("/d/ledger.csv").get_data().decode("utf-8")
    assert ",已逾期,-1," in text


def test_repeat_party_shows_the_masked_name_only(auth, client, items, app, store):
    campaign = load_campaign(app.config["CAMPAIGN_FILE"])
    viewer = ledger.Viewer(frozenset([VILLAGE_A]), "township", frozenset(), True)
    ctx = ledger.Context(store, viewer, campaign.disputes, campaign.workdays)
    ledger.intake(ctx, formdef.load(app.config["FORMS_DIR"], "dispute"), VILLAGE_A, {
        "party_name": "李秀兰", "party_phone": "139 1234 5678", "channel": "phone", "category": "other",
        "content": "又来电话", "first_opinion": "解释", "uuid": str(uuid.uuid4())})
    auth.login("township")
    html = client.get("/d/stats").get_data(as_text=True)
    section = html.split('data-breakdown="repeat-parties"')[1].split("</section>")[0]
    assert "李*兰" in section and "李秀兰" not in section
    assert '<a href="/d/i/370403001-1">370403001-1</a>、<a href="/d/i/370403001-3">370403001-3</a>' in section
    text = client.get("/d/stats.csv").get_data().decode("utf-8")
    assert "【重复当事人】\r\n当事人（脱敏）,件数,事项编号\r\n李*兰,2,370403001-1、370403001-3\r\n" in text
    assert "5678" not in text and "李秀兰" not in text


def test_stats_summary_and_files_agree(items, app, store):
    """The page's figures and the file's come from one summary: a spot check of the section builder."""
    campaign = load_campaign(app.config["CAMPAIGN_FILE"])
    viewer = ledger.Viewer(frozenset([VILLAGE_A]), "township", frozenset(), True)
    ctx = ledger.Context(store, viewer, campaign.disputes, campaign.workdays)
    definition = formdef.load(app.config["FORMS_DIR"], "dispute")
    summary = stats.summarise(ledger.visible(ctx), definition=definition,
                              rules=campaign.disputes, calendar=campaign.workdays,
                              village_names={VILLAGE_A: "临山村"}, today=dt.date(2026, 11, 20))
    sections = exports.stats_sections(summary, "全部", dt.date(2026, 11, 20))
    assert [s.name for s in sections][:3] == ["总体情况", "按争议类别", "按分类分级"]
    assert exports.sheet_names(["a[1]", "a[1]", "x" * 40]) == ["a_1_", "a_1_(2)", "x" * 31]
