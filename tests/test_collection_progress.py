"""Collection progress pages (征缴进度): exact figures for a village, a township and the district.

The demo villages start with nobody registered; the people below are the whole roll
(amounts: campaign.toml [collection], medical 400 yuan, a 低保 person's medical 280 and
pension 200 paid by the government).  Today is 2026-11-21 (Beijing)::

    临山村 370403001001 (e001001)
      王建国  pension 500 + medical   paid 900 by WeChat on 11-21          paid
      李大    pension 300 + medical   paid medical 400 in cash on 11-20    partly
      张特丙  低保, pension 200 + medical: person owes 0 + 120, paid 120 in cash on 11-21,
              the township records the government's 200 + 280              paid (special)
    沙河崖社区 370403001002 (e001002)
      赵一    pension 300 + medical   unpaid
      赵二    medical only            paid 400 by Alipay on 11-21          paid
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from conftest import TOWNSHIP_A, VILLAGE_A, first_household
from payers import ApiClient

from survey_app import clock
from survey_app.collection import progress
from survey_app.store import Store

VILLAGE_A2 = "370403001002"
DISTRICT = "370403"
OTHER_TOWNSHIP, OTHER_VILLAGE = "370403002", "370403002001"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC))


Client = ApiClient


@pytest.fixture
def paid(app, store):
    """The roll above, registered and paid through the API."""
    a, a2 = Client(app, "e001001"), Client(app, "e001002")
    house_a, house_a2 = first_household(store, VILLAGE_A)["ref"], first_household(store, VILLAGE_A2)["ref"]
    wang = a.register(house_a, name="王建国", pension_tier="500")
    li = a.register(house_a, name="李大")
    zhang = a.register(house_a, name="张特丙", person_category="special", special_group="dibao",
                       pension_tier="200")
    a2.register(house_a2, name="赵一")
    zhao2 = a2.register(house_a2, name="赵二", resident_pension="not_enrolled", pension_tier="",
                        not_enrolled_reason="migrant_work")
    a.pay(wang, ["resident_pension", "resident_medical"], "900", channel="wechat")
    a.pay(li, ["resident_medical"], "400", channel="village_agent", receipt_no="A-0001", paid_on="2026-11-20")
    a.pay(zhang, ["resident_medical"], "120", channel="village_agent", receipt_no="A-0002")
    Client(app, "township").pay(zhang, ["resident_pension", "resident_medical"], "480", payer="government")
    a2.pay(zhao2, ["resident_medical"], "400", channel="alipay")
    return {"wang": wang, "li": li, "zhang": zhang}


def row_cells(html: str, attribute: str, value: str) -> list[str]:
    """The text of each cell of the table row carrying ``attribute="value"``."""
    found = re.search(rf'<tr[^>]*{attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={value}"
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found.group(1), re.S)]


def total_cells(html: str) -> list[str]:
    found = re.search(r'<table class="figures collection-units">.*?<tr class="total">(.*?)</tr>', html, re.S)
    cells = re.findall(r"<th[^>]*>(.*?)</th>", found.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def bars(html: str) -> dict[str, dict[str, str]]:
    """Every SVG chart of a page by its title: {data-series: data-value} (one group's bars each)."""
    charts = {}
    for svg in re.findall(r"<svg .*?</svg>", html, re.S):
        root = ET.fromstring(svg)
        values: dict[str, str] = {}
        for rect in root.iter(f"{SVG}rect"):
            if rect.get("data-series"):
                values.setdefault(rect.get("data-series"), rect.get("data-value"))
        charts[root.find(f"{SVG}title").text] = values
    return charts


def test_the_figures_of_a_village_are_exact(app, store, paid):
    from survey_app import coverage
    with app.app_context():
        from survey_app import state
        f = progress.figures(coverage.village_row(store, VILLAGE_A), state.rates())
    assert (f["persons"], f["paid"], f["general"]["persons"], f["general"]["paid"]) == (3, 2, 2, 1)
    assert (f["special"]["persons"], f["special"]["paid"]) == (1, 1)
    assert f["schemes"]["resident_pension"] == {"persons": 3, "due_person": 80000, "raised_person": 50000,
                                                "due_government": 20000, "raised_government": 20000}
    assert f["schemes"]["resident_medical"] == {"persons": 3, "due_person": 92000, "raised_person": 92000,
                                                "due_government": 28000, "raised_government": 28000}
    assert (f["due_person"], f["raised_person"]) == (172000, 142000)
    assert (f["special"]["due_person"], f["special"]["due_government"]) == (12000, 48000)
    assert (f["due_government"], f["raised_government"]) == (48000, 48000)


def test_the_village_page_shows_the_figures_the_links_and_two_svg_charts(app, paid):
    page = Client(app, "township").get(f"/s/v/{VILLAGE_A}/collection")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert row_cells(html, "data-scheme", "resident_pension") == \
        ["居民养老", "3", "800.00", "500.00", "200.00", "200.00"]
    assert row_cells(html, "data-scheme", "resident_medical") == \
        ["居民医疗", "3", "920.00", "920.00", "280.00", "280.00"]
    assert row_cells(html, "data-money", "person") == ["个人缴费", "1720.00", "1420.00", "300.00"]
    assert row_cells(html, "data-money", "government") == ["政府代缴资助", "480.00", "480.00", "0.00"]
    assert "一般人员 1 / 2 人已缴清（50%）" in html
    assert "特殊人群 1 / 1 人已缴清（100%）" in html
    assert "特殊人群个人应缴 120.00 元；政府应代缴资助 480.00 元，已拨 480.00 元" in html
    for link in (f"/s/v/{VILLAGE_A}/collection/roll", f"/s/v/{VILLAGE_A}/collection/reminders.pdf",
                 "/s/collection/import", f"/s/v/{VILLAGE_A}/collection/remittance"):
        assert link in html
    charts = bars(html)
    assert charts["各单位缴费进度"] == {"paid": "67%", "special": "100%"}
    daily = charts["近14天每日个人缴费金额（元）"]
    assert (daily["2026-11-20"], daily["2026-11-21"], daily["2026-11-19"]) == ("400", "1020", "0")


def test_the_township_page_has_its_villages_and_the_total(app, paid):
    html = Client(app, "township").get(f"/s/a/{TOWNSHIP_A}/collection").get_data(as_text=True)
    # 单位, 应缴人数, 已缴清, 缴费率, 个人应缴, 个人已缴, 特殊人群, 已缴清, 政府应代缴, 政府已拨
    assert row_cells(html, "data-code", VILLAGE_A) == \
        ["临山村", "3", "2", "67%", "1720.00", "1420.00", "1", "1", "480.00", "480.00"]
    assert row_cells(html, "data-code", VILLAGE_A2) == \
        ["沙河崖社区", "2", "1", "50%", "1100.00", "400.00", "0", "0", "0.00", "0.00"]
    assert row_cells(html, "data-code", "370403001003")[1:4] == ["0", "0", "—"]
    assert total_cells(html) == ["合计", "5", "3", "60%", "2820.00", "1820.00", "1", "1", "480.00", "480.00"]
    charts = bars(html)
    assert charts["各单位缴费进度"]["paid"] == "67%"   # the first unit's bar
    assert charts["近14天每日个人缴费金额（元）"]["2026-11-21"] == "1420"


def test_the_district_page_has_a_subtotal_per_township(app, paid):
    html = Client(app, "admin").get(f"/s/a/{DISTRICT}/collection").get_data(as_text=True)
    assert row_cells(html, "data-code", TOWNSHIP_A)[0] == "临城街道 小计"
    assert row_cells(html, "data-code", TOWNSHIP_A)[1:6] == ["5", "3", "60%", "2820.00", "1820.00"]
    assert row_cells(html, "data-code", VILLAGE_A)[0] == "临城街道 · 临山村"
    assert row_cells(html, "data-code", OTHER_TOWNSHIP)[1:4] == ["0", "0", "—"]
    assert total_cells(html) == ["合计", "5", "3", "60%", "2820.00", "1820.00", "1", "1", "480.00", "480.00"]


def test_collection_home_sends_each_account_to_its_own_area(app):
    response = Client(app, "township").get("/s/collection")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/s/a/{TOWNSHIP_A}/collection")
    page = Client(app, "admin").get("/s/collection")
    assert page.headers["Location"].endswith(f"/s/a/{DISTRICT}/collection")
    nav = Client(app, "admin").get(f"/s/a/{DISTRICT}/collection").get_data(as_text=True)
    assert re.search(r'<a href="/s/collection" aria-current="page">征缴</a>', nav)


def test_the_table_downloads_exactly_and_is_audited(app, store, paid):
    client = Client(app, "township")
    response = client.get(f"/s/a/{TOWNSHIP_A}/collection.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:5] == ["代码", "单位", "应缴人数", "已缴清人数", "缴费率"]
    assert rows[1] == [VILLAGE_A, "临山村", "3", "2", "67%", "1720", "1420", "500", "920",
                       "1", "1", "480", "480"]
    assert rows[2] == [VILLAGE_A2, "沙河崖社区", "2", "1", "50%", "1100", "400", "0", "400",
                       "0", "0", "0", "0"]
    assert rows[-1] == ["", "合计", "5", "3", "60%", "2820", "1820", "500", "1320", "1", "1", "480", "480"]
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/s/a/{TOWNSHIP_A}/collection.xlsx").get_data()),
                                  read_only=True)
    sheet = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert sheet[-1][2:7] == [5, 3, "60%", 2820, 1820]
    actions = [e["action"] for e in store.read(Store.SYSTEM).all("audit")]
    assert actions.count("collection_csv") == 1 and actions.count("collection_xlsx") == 1


OUTSIDE = [f"/s/v/{OTHER_VILLAGE}/collection", f"/s/a/{OTHER_TOWNSHIP}/collection",
           f"/s/a/{DISTRICT}/collection", f"/s/a/{OTHER_TOWNSHIP}/collection.csv",
           f"/s/a/{OTHER_TOWNSHIP}/collection.xlsx", f"/s/a/{VILLAGE_A}/collection",
           "/s/a/999999/collection", "/s/v/999999999999/collection"]


@pytest.mark.parametrize("path", OUTSIDE)
def test_outside_the_area_is_not_found(app, path):
    assert Client(app, "township").get(path).status_code == 404


@pytest.mark.parametrize("path", [f"/s/v/{VILLAGE_A}/collection", f"/s/a/{TOWNSHIP_A}/collection",
                                  "/s/collection"])
def test_enumerators_do_not_see_staff_pages(app, path):
    assert Client(app, "e001001").get(path).status_code == 404
