"""Supervision dashboards down the grid (city → district → township → village → households), their
SVG charts, the 未参保人员统计表 downloads and the district 进度通报, on a small grid where every
figure is known by hand.

The grid (泰山市, invented codes)::

    370900 泰山市
      370901 东岳区
        370901001 东街道:  甲村 (H1: A1 A2 A3, declared 3; H2: B1, declared 2)
                           乙村 (H3: C1 C2)
        370901002 西镇:    丙村 (H4: D1; H5: E1 E2)
      370902 南湖区
        370902001 湖滨街道: 丁村 (H6: F1)

Registrations (today is 2026-11-21, Beijing)::

    A1 e1 registered 11-20, 初审通过, 已审核      A2 e1 registered 11-21, pension not enrolled
                                                (外出务工), 退回
    A3 e2 暂存 (incomplete)                      B1 e2 registered 11-21, medical not enrolled
                                                (在校学生), 初审通过, 有疑问
    C1 e3 registered 11-08 (no review: 待初审)   D1 e4 registered 11-07 (outside 14 days), 初审通过
    E1 e4 registered 11-21, neither scheme (不愿参加), no review
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from conftest import PASSWORD, Auth
from helpers import new_id_number, submission

from survey_app import charts, coverage, create_app, documents, grid, idcard, registry, roster_load, users
from survey_app.registry import Scope
from survey_app.store import Store

TODAY = dt.date(2026, 11, 21)
CITY, EAST, SOUTH = "370900", "370901", "370902"
TOWN_E, TOWN_W, TOWN_S = "370901001", "370901002", "370902001"
JIA, YI, BING, DING = "370901001001", "370901001002", "370901002001", "370902001001"
SVG = "{http://www.w3.org/2000/svg}"

UNITS = [
    ("city", CITY, "泰山市", None), ("district", EAST, "东岳区", CITY), ("district", SOUTH, "南湖区", CITY),
    ("township", TOWN_E, "东街道", EAST), ("township", TOWN_W, "西镇", EAST),
    ("township", TOWN_S, "湖滨街道", SOUTH),
    ("village", JIA, "甲村", TOWN_E), ("village", YI, "乙村", TOWN_E), ("village", BING, "丙村", TOWN_W),
    ("village", DING, "丁村", TOWN_S),
]
HOUSES = {  # village: [(head, declared size, [member names])]
    JIA: [("A1", 3, ["A1", "A2", "A3"]), ("B1", 2, ["B1"])],
    YI: [("C1", 2, ["C1", "C2"])],
    BING: [("D1", 1, ["D1"]), ("E1", 2, ["E1", "E2"])],
    DING: [("F1", 1, ["F1"])],
}
NAMES = {"A1": "赵一", "A2": "赵二", "A3": "赵三", "B1": "钱一", "C1": "孙一", "C2": "孙二",
         "D1": "李一", "E1": "周一", "E2": "周二", "F1": "吴一"}
ACCOUNTS = [("city", "city_admin", CITY, "市管理员"), ("dist", "district_admin", EAST, "区管理员"),
            ("town", "township_staff", TOWN_E, "东街道工作人员"),
            ("west", "township_staff", TOWN_W, "西镇工作人员"),
            ("e1", "enumerator", JIA, "甲村网格员"), ("e2", "enumerator", JIA, "甲村协管员")]
# e3 and e4 have no account (left, or never made): their rows show the user name alone.


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The grid above, its rosters, accounts and registrations; returns the app and the people's ids."""
    root = tmp_path_factory.mktemp("dashboard")
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATA": str(root / "data"),
                      "EXPORTS_DIR": str(root / "exports"), "PORTAL_OUTPUT": str(root / "portal")})
    store = app.extensions["canbao"]["store"]
    grid.save(store, grid.validate_units([{"code": code, "level": level, "name": name, "parent": parent,
                                           "contacts": []} for level, code, name, parent in UNITS]))
    loaded = grid.load(store)
    for username, role, area, display in ACCOUNTS:
        users.add_user(store, loaded, username=username, password=PASSWORD, role=role, area=[area],
                       display_name=display)
    ids = {key: new_id_number(1980 + i) for i, key in enumerate(NAMES)}
    for village, houses in HOUSES.items():
        roster_load.import_roster(store, village, [
            {"head_name": NAMES[head], "address": f"{head}号", "members_count": size,
             "members": [{"name": NAMES[m], "id_number": ids[m], "sex": "male", "relationship": "head"}
                         for m in members]} for head, size, members in houses])
    refs = {}
    for village in HOUSES:
        for person in store.read(Store.village(village)).all("persons"):
            key = next(k for k, v in NAMES.items() if v == person["answers"]["name"])
            refs[key] = (village, person["household"], person["doc_id"])

    def register(key, user, incomplete=False, **answers):
        village, house, doc_id = refs[key]
        scope = Scope(frozenset([village]), user)
        payload = {**submission(f"{village}.{house}", name=NAMES[key], id_number=ids[key], **answers),
                   "person": f"{village}.{doc_id}"}
        if incomplete:
            payload = {k: payload[k] for k in ("uuid", "household", "person", "name", "id_number", "sex")}
            payload["incomplete"] = "1"
        with app.app_context():
            from survey_app import state
            registry.submit(store, scope, state.registration_form(), payload)

    register("A1", "e1")
    register("A2", "e1", resident_pension="not_enrolled", not_enrolled_reason="migrant_work")
    register("A3", "e2", incomplete=True)
    register("B1", "e2", resident_medical="not_enrolled", not_enrolled_reason="student")
    register("C1", "e3")
    register("D1", "e4")
    register("E1", "e4", resident_pension="not_enrolled", resident_medical="not_enrolled",
             not_enrolled_reason="refused", not_enrolled_remark="本人暂不愿参加")
    # what the review screens and the registry set on the records, set here directly
    review = {"A1": ("2026-11-20", "approved", "audited"), "A2": ("2026-11-21", "returned", None),
              "B1": ("2026-11-21", "approved", "questioned"), "C1": ("2026-11-08", None, None),
              "D1": ("2026-11-07", "approved", None), "E1": ("2026-11-21", None, None)}
    for key, (day, first, second) in review.items():
        fields = {"registered_at": f"{day}T10:00:00+08:00"}
        fields.update({"review": {"state": first, "by": "town"}} if first else {})
        fields.update({"audit": {"state": second, "by": "dist"}} if second else {})
        set_fields(store, refs[key], **fields)
    return {"app": app, "store": store, "refs": refs, "root": root}


def set_fields(store, ref, **fields):
    """Change a person as another module would: in a coverage transaction (rows kept current)."""
    village, _house, doc_id = ref
    with coverage.transaction(store, [village]) as shards:
        shards[Store.village(village)].update("persons", doc_id, fields)


@pytest.fixture(autouse=True)
def campaign_day(monkeypatch):
    monkeypatch.setattr(idcard, "current_date", lambda: TODAY)


@pytest.fixture
def client(world):
    return world["app"].test_client()


@pytest.fixture
def login(client):
    def as_user(username):
        Auth(client).login(username)
        return client
    return as_user


# -- the rows: exact figures at each level ----------------------------------------------------
JIA_ROW = {"households": 2, "households_visited": 2, "households_complete": 0, "persons_listed": 4,
           "persons_expected": 5, "persons_registered": 3, "persons_incomplete": 1, "special_groups": 0,
           "persons_uninsured": 2, "uninsured": {"resident_pension": 1, "resident_medical": 1},
           "not_enrolled": {"migrant_work": 1, "student": 1},
           "by_day": {"2026-11-20": 1, "2026-11-21": 2},
           "by_user": {"e1": {"households": 1, "registered": 2, "returned": 1},
                       "e2": {"households": 2, "registered": 1, "incomplete": 1}},
           "reviews": {"approved": 2, "returned": 1, "audited": 1, "questioned": 1}}
YI_ROW = {"households": 1, "households_visited": 1, "households_complete": 0, "persons_listed": 2,
          "persons_expected": 2, "persons_registered": 1, "persons_incomplete": 0, "special_groups": 0,
          "persons_uninsured": 0, "uninsured": {}, "not_enrolled": {}, "by_day": {"2026-11-08": 1},
          "by_user": {"e3": {"households": 1, "registered": 1}}, "reviews": {"pending": 1}}
BING_ROW = {"households": 2, "households_visited": 2, "households_complete": 1, "persons_listed": 3,
            "persons_expected": 3, "persons_registered": 2, "persons_incomplete": 0, "special_groups": 0,
            "persons_uninsured": 1, "uninsured": {"resident_pension": 1, "resident_medical": 1},
            "not_enrolled": {"refused": 1}, "by_day": {"2026-11-07": 1, "2026-11-21": 1},
            "by_user": {"e4": {"households": 2, "registered": 2}}, "reviews": {"approved": 1, "pending": 1}}
EAST_TOTAL = {"households": 5, "households_visited": 5, "households_complete": 1, "persons_listed": 9,
              "persons_expected": 10, "persons_registered": 6, "persons_incomplete": 1, "special_groups": 0,
              "persons_uninsured": 3, "uninsured": {"resident_pension": 2, "resident_medical": 2},
              "not_enrolled": {"migrant_work": 1, "student": 1, "refused": 1},
              "by_day": {"2026-11-07": 1, "2026-11-08": 1, "2026-11-20": 1, "2026-11-21": 3},
              "by_user": {**JIA_ROW["by_user"], **YI_ROW["by_user"], **BING_ROW["by_user"]},
              "reviews": {"approved": 3, "returned": 1, "audited": 1, "questioned": 1, "pending": 2}}


# what collection adds to a row is pinned by tests/test_collection.py and test_collection_progress.py
COLLECTION = {"persons_due", "persons_paid", "special_due", "special_paid", "roll", "raised",
              "raised_by_day", "paid_by_day"}


def counts(row):
    return {k: v for k, v in row.items() if k != "village" and k not in COLLECTION}


def test_rows_hold_the_known_figures_at_every_level(world):
    store, loaded = world["store"], grid.load(world["store"])
    assert counts(coverage.village_row(store, JIA)) == JIA_ROW
    assert counts(coverage.village_row(store, YI)) == YI_ROW
    assert counts(coverage.unit_row(store, loaded, TOWN_E)) == counts(coverage.totals([JIA_ROW, YI_ROW]))
    assert counts(coverage.unit_row(store, loaded, TOWN_W)) == BING_ROW
    assert counts(coverage.unit_row(store, loaded, EAST)) == EAST_TOTAL
    city = coverage.unit_row(store, loaded, CITY)
    assert (city["households"], city["households_visited"], city["persons_expected"],
            city["persons_registered"]) == (6, 5, 11, 6)


def test_kept_rows_equal_rows_computed_from_the_records(world):
    villages = [JIA, YI, BING, DING]
    assert coverage.rebuild(world["store"], villages, repair=False) == []
    for village in villages:
        shard = world["store"].read(Store.village(village))
        assert coverage.village_row(world["store"], village) == coverage.computed_row(shard, village)


# -- pages ----------------------------------------------------------------------------------
def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, re.S)]


def chart(page: str, title: str) -> ET.Element:
    found = [s for s in svgs(page) if s.get("aria-label") == title]
    assert len(found) == 1, [s.get("aria-label") for s in svgs(page)]
    return found[0]


def bars(svg: ET.Element) -> list[tuple[str, str, float]]:
    """(series, value text, drawn width) of every bar, in order."""
    return [(r.get("data-series"), r.get("data-value"), float(r.get("width")))
            for r in svg.iter(f"{SVG}rect") if r.get("data-series")]


def group_names(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text") if t.get("font-weight") == "600"]


def table_row(page: str, css: str, label: str) -> list[str]:
    row = re.search(rf'<tr class="{css}"[^>]*><th scope="row">(?:[^<]|<a [^>]*>|</a>)*?{re.escape(label)}'
                    rf'(?:</a>)?</th>(.*?)</tr>', page, re.S)
    assert row, (css, label)
    return re.findall(r"<t[dh][^>]*>(\d+)</t[dh]>", row.group(1))


def main_rows(page: str) -> dict[str, tuple[str, list[int]]]:
    return {name: (href, [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)])
            for href, name, cells in re.findall(
                r'<tr>\s*<td><a href="([^"]+)">([^<]+)</a></td>(.*?)</tr>', page, re.S)}


def test_the_district_dashboard_shows_townships_subtotals_and_the_total(login):
    page = login("dist").get("/s/").get_data(as_text=True)
    assert main_rows(page) == {"东街道": (f"/s/a/{TOWN_E}", [3, 3, 7, 4, 2]),
                               "西镇": (f"/s/a/{TOWN_W}", [2, 2, 3, 2, 1])}
    total = re.search(r'<tfoot><tr class="total">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<th>(\d+)</th>", total) == ["5", "5", "10", "6", "3"]
    # each township again with its villages and its 小计
    assert table_row(page, "sub", "甲村") == ["2", "2", "5", "3", "2"]
    assert table_row(page, "subtotal", "东街道 小计") == ["3", "3", "7", "4", "2"]
    assert table_row(page, "subtotal", "西镇 小计") == ["2", "2", "3", "2", "1"]
    assert f'href="/s/v/{JIA}"' in page and f'href="/s/v/{BING}"' in page
    # the three measures of the district: 5/5, 6/10, 6/7
    assert re.findall(r'data-measure="(\w+)"><span class="measure-label">[^<]+</span>\s*<strong>([^<]+)',
                      page) == [("households", "100%"), ("persons", "60%"), ("fields", "86%")]


def test_the_district_coverage_chart_draws_each_townships_shares(login):
    page = login("dist").get(f"/s/a/{EAST}").get_data(as_text=True)
    svg = chart(page, "各单位登记进度")
    assert svg.get("width") == "100%" and svg.get("viewBox").startswith(f"0 0 {charts.WIDTH} ")
    assert group_names(svg) == ["东街道", "西镇"]
    track = charts.WIDTH - charts.VALUE_W
    expected = [("households", "100%", 1), ("persons", "57%", 4 / 7), ("fields", "80%", 4 / 5),
                ("households", "100%", 1), ("persons", "67%", 2 / 3), ("fields", "100%", 1)]
    assert [(s, v) for s, v, _w in bars(svg)] == [(s, v) for s, v, _f in expected]
    for (_s, _v, width), (_s2, _v2, share) in zip(bars(svg), expected, strict=True):
        assert width == pytest.approx(track * share, abs=0.06)


def test_the_daily_chart_covers_the_last_14_days_to_today(login):
    page = login("dist").get(f"/s/a/{EAST}").get_data(as_text=True)
    drawn = {s: int(v) for s, v, _w in bars(chart(page, "近14天每日登记人数"))}
    assert list(drawn) == [(TODAY - dt.timedelta(days=n)).isoformat() for n in range(13, -1, -1)]
    assert {d: n for d, n in drawn.items() if n} == {"2026-11-08": 1, "2026-11-20": 1, "2026-11-21": 3}
    assert "近14天共登记 5 人，今天 3 人" in page  # 11-07 is the 15th day back


def test_the_enumerator_table_and_chart(login):
    page = login("dist").get(f"/s/a/{EAST}").get_data(as_text=True)
    assert table_row(page, "sub", "甲村网格员（e1）") == ["1", "2", "0", "1"]
    assert table_row(page, "sub", "甲村协管员（e2）") == ["2", "1", "1", "0"]
    assert table_row(page, "sub", "e3") == ["1", "1", "0", "0"]
    assert table_row(page, "sub", "e4") == ["2", "2", "0", "0"]
    svg = chart(page, "各网格员登记情况")
    assert group_names(svg) == ["甲村网格员（e1）", "甲村协管员（e2）", "e3", "e4"]
    drawn = bars(svg)
    assert [v for _s, v, _w in drawn[:4]] == ["1", "2", "0", "1"]  # e1: visited, registered, …, returned
    peak = max(width for _s, _v, width in drawn)
    assert [w / peak for _s, _v, w in drawn[:4]] == pytest.approx([0.5, 1, 0, 0.5])


def test_review_counts_per_unit_and_in_total(login):
    page = login("dist").get(f"/s/a/{EAST}").get_data(as_text=True)
    section = page[page.index("审核情况"):]
    # 待补充, 待初审, 初审通过, 退回, 已审核, 有疑问
    assert table_row(section, "sub", "东街道") == ["1", "1", "2", "1", "1", "1"]
    assert table_row(section, "sub", "西镇") == ["0", "1", "1", "0", "0", "0"]
    total = re.search(r'<tr class="total">(.*?)</tr>', section, re.S).group(1)
    assert re.findall(r"<th>(\d+)</th>", total) == ["1", "2", "3", "1", "1", "1"]


def test_the_township_and_village_pages_drill_down_to_households(login):
    client = login("town")
    township = client.get("/s/").get_data(as_text=True)
    assert main_rows(township) == {"甲村": (f"/s/v/{JIA}", [2, 2, 5, 3, 2]),
                                   "乙村": (f"/s/v/{YI}", [1, 1, 2, 1, 0])}
    assert "逐级明细与小计" not in township  # a township's villages are the last level of areas
    assert group_names(chart(township, "各单位登记进度")) == ["甲村", "乙村"]
    village = client.get(f"/s/v/{JIA}").get_data(as_text=True)
    assert f'<a href="/s/a/{TOWN_E}">东街道</a>' in village  # back up the grid
    assert re.findall(r'data-measure="\w+"><span class="measure-label">[^<]+</span>\s*<strong>([^<]+)',
                      village) == ["100%", "60%", "75%"]
    households = re.findall(r'<tr id="h\d+" class="household">\s*<th scope="row">([^<]+)</th>'
                            r'<td>[^<]*</td>\s*<td>(\d+ / \d+)</td>', village)
    assert households == [("赵一", "2 / 3"), ("钱一", "1 / 2")]
    assert {s: int(v) for s, v, _w in bars(chart(village, "近14天每日登记人数")) if int(v)} == \
        {"2026-11-20": 1, "2026-11-21": 2}
    assert table_row(village, "sub", "甲村网格员（e1）") == ["1", "2", "0", "1"]


def test_the_city_sees_its_districts(login):
    page = login("city").get("/s/").get_data(as_text=True)
    assert main_rows(page) == {"东岳区": (f"/s/a/{EAST}", [5, 5, 10, 6, 3]),
                               "南湖区": (f"/s/a/{SOUTH}", [1, 0, 1, 0, 0])}
    assert table_row(page, "subtotal", "东岳区 小计") == ["5", "5", "10", "6", "3"]
    assert table_row(page, "sub", "湖滨街道") == ["1", "0", "1", "0", "0"]


def test_a_chart_escapes_names_from_data():
    row = {"name": "<script>x</script>", "households": 1, "households_visited": 1}
    svg = charts.coverage_bars([row], "t")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert ET.fromstring(str(svg)) is not None
    assert bars(ET.fromstring(str(svg)))[1][1] == "—"  # nobody expected: no share, not 0 %


# -- 未参保人员统计表 --------------------------------------------------------------------------
STATS_HEADER = ["代码", "单位", "已登记人数", "未参保户籍人口数", "其中：未参加城乡居民基本养老保险",
                "其中：未参加城乡居民基本医疗保险", "未参保原因：外出务工/经商", "未参保原因：在校学生",
                "未参保原因：死亡", "未参保原因：参军", "未参保原因：服刑", "未参保原因：不愿参加",
                "未参保原因：其他"]
EAST_STATS = [[TOWN_E, "东街道", 4, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0],
              [TOWN_W, "西镇", 2, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0],
              ["", "合计", 6, 3, 2, 2, 1, 1, 0, 0, 0, 1, 0]]


def test_stats_csv_of_the_district_exactly(login, world):
    response = login("dist").get("/s/stats.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="canbao-stats-{EAST}-2026-11-21.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows == [STATS_HEADER] + [[str(c) for c in row] for row in EAST_STATS]
    audit = world["store"].read(Store.SYSTEM).find("audit", action="stats_csv", user="dist")
    assert audit and audit[-1]["ref"] == EAST and audit[-1]["units"] == 2


def test_stats_xlsx_of_a_township_and_a_village(login):
    client = login("dist")
    for url, expected in ((f"/s/a/{TOWN_E}/stats.xlsx",
                           [[JIA, "甲村", 3, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0],
                            [YI, "乙村", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                            [None, "合计", 4, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0]]),
                          (f"/s/v/{BING}/stats.xlsx",
                           [[BING, "丙村", 2, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0],
                            [None, "合计", 2, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0]])):
        response = client.get(url)
        assert response.status_code == 200, url
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
        sheet = book["未参保人员统计表"]
        assert [list(r) for r in sheet.iter_rows(values_only=True)] == [STATS_HEADER] + expected


def test_a_city_stats_file_lists_districts(login):
    rows = list(csv.reader(io.StringIO(login("city").get("/s/stats.csv").get_data().decode("utf-8-sig"))))
    assert [r[:4] for r in rows[1:]] == [[EAST, "东岳区", "6", "3"], [SOUTH, "南湖区", "0", "0"],
                                         ["", "合计", "6", "3"]]


def test_an_account_with_two_townships_sees_both_and_their_total(world, login):
    users.add_user(world["store"], grid.load(world["store"]), username="both", password=PASSWORD,
                   role="township_staff", area=[TOWN_E, TOWN_W])
    client = login("both")
    page = client.get("/s/").get_data(as_text=True)
    assert main_rows(page) == {"东街道": (f"/s/a/{TOWN_E}", [3, 3, 7, 4, 2]),
                               "西镇": (f"/s/a/{TOWN_W}", [2, 2, 3, 2, 1])}
    assert group_names(chart(page, "各单位登记进度")) == ["东街道", "西镇"]
    response = client.get("/s/stats.csv")
    assert f"canbao-stats-{TOWN_E}_{TOWN_W}-2026-11-21.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[1:] == [[str(c) for c in row] for row in EAST_STATS]


@pytest.mark.parametrize("url", [
    f"/s/a/{TOWN_W}", f"/s/a/{EAST}", f"/s/a/{CITY}", f"/s/v/{BING}",
    f"/s/a/{TOWN_W}/stats.csv", f"/s/a/{EAST}/stats.xlsx", f"/s/v/{BING}/stats.csv",
    f"/s/v/{BING}/stats.xlsx", "/s/a/370999/stats.csv", "/s/v/370901001999/stats.csv",
    f"/s/a/{JIA}/stats.csv",  # a village is not an area page
])
def test_outside_the_area_reads_as_missing(login, url):
    assert login("town").get(url).status_code == 404


def test_enumerators_have_no_dashboards_or_stats(login):
    client = login("e1")
    assert client.get("/s/stats.csv").status_code == 404
    assert client.get(f"/s/v/{JIA}/stats.xlsx").status_code == 404


# -- the district's 进度通报 -------------------------------------------------------------------
def test_the_district_progress_report_lists_townships_with_subtotals_and_charts(world):
    with world["app"].app_context():
        scope = Scope(frozenset(grid.load(world["store"]).villages_under(EAST)), "dist")
        export = documents.print_notice(scope, "progress", township=EAST, day=TODAY)
    text = subprocess.run(["pdftotext", "-layout", str(export.pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "东岳区全民参保入户登记进度通报" in text and "各乡镇（街道）登记进度" in text
    # 户数 已走访 人数齐全 应登记 已登记 登记率 未参保 特殊人群
    assert re.search(r"东街道\s+3\s+3\s+0\s+7\s+4\s+57\.1%\s+2\s+0", text)
    assert re.search(r"西镇\s+2\s+2\s+1\s+3\s+2\s+66\.7%\s+1\s+0", text)
    assert re.search(r"东街道\s*甲村\s+2\s+2\s+0\s+5\s+3\s+60\.0%\s+2\s+0", text)
    assert re.search(r"东街道 小计\s+3\s+3\s+0\s+7\s+4\s+57\.1%\s+2\s+0", text)
    assert re.search(r"西镇 小计\s+2\s+2\s+1\s+3\s+2\s+66\.7%\s+1\s+0", text)
    assert len(re.findall(r"合计\s+5\s+5\s+1\s+10\s+6\s+60\.0%\s+3\s+0", text)) == 2
    # the charts are drawn (SVG text comes out as text): legend, shares, the days
    assert text.count("村不漏户") >= 2 and "57%" in text and "11/21" in text
    assert "近14天每日登记人数" in text
    assert re.search(r"合计\s+1\s+2\s+3\s+1\s+1\s+1", text)  # 待补充 待初审 初审通过 退回 已审核 有疑问
