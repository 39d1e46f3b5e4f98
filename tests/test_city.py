"""A city above its districts (市 → 区县 → 乡镇 → 村): grid files, the city role, dashboards
that drill down with exact subtotals, and a 进度通报 for the whole city."""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import PASSWORD
from helpers import submission

from survey_app import coverage, grid, registry, roster_load, state, users
from survey_app.registry import Scope
from survey_app.store import LocalStore, Store

CITY = "370400"
SECOND_DISTRICT = "370402"
SECOND_TOWNSHIP = "370402001"
SECOND_VILLAGES = ("370402001001", "370402001002")

CITY_YAML = """
city:
  code: "370400"
  name: 枣庄市
  districts:
    - code: "370402"
      name: 市中区
      townships:
        - code: "370402001"
          name: 中心街道
          villages:
            - {code: "370402001001", name: 光明社区}
            - {code: "370402001002", name: 文化社区}
"""


@pytest.fixture
def city_app(app, store, tmp_path):
    """The demo district placed under a city, with a second district and a city administrator."""
    path = tmp_path / "city.yaml"
    path.write_text(CITY_YAML, encoding="utf-8")
    grid.import_file(store, path)
    with store.transaction(Store.GRID) as shards:  # the demo district joins the city
        unit = shards[Store.GRID].find_one("units", code="370403")
        shards[Store.GRID].update("units", unit["doc_id"], {"parent": CITY})
    loaded = grid.load(store)
    users.add_user(store, loaded, username="city", password=PASSWORD, role="city_admin", area=[CITY])
    houses = [{"head_name": "赵大", "address": "光明社区1号", "members_count": 2, "members": [
        {"name": "赵大", "id_number": "370402198001010011", "sex": "male", "birth_date": "1980-01-01",
         "relationship": "head"},
        {"name": "钱二", "id_number": "370402198202020022", "sex": "female", "birth_date": "1982-02-02",
         "relationship": "spouse"}]}]
    roster_load.import_roster(store, SECOND_VILLAGES[0], houses)
    scope = Scope(frozenset(SECOND_VILLAGES), "tester")
    with app.app_context():
        payload = submission(f"{SECOND_VILLAGES[0]}.1", id_number="370402198001010011",
                             name="赵大", relationship="head")
        registry.submit(store, scope, state.registration_form(),
                        {**payload, "person": f"{SECOND_VILLAGES[0]}.1"})
    return app


def computed(store: Store, villages) -> dict:
    return coverage.totals(coverage.computed_row(store.read(Store.village(v)), v) for v in villages)


def table_rows(page: str) -> dict[str, list[int]]:
    rows = {}
    for name, cells in re.findall(r'<tr>\s*<td><a href="[^"]+">([^<]+)</a></td>(.*?)</tr>', page, re.S):
        rows[name] = [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)]
    return rows


def test_the_city_grid_reads_from_yaml_and_csv(tmp_path):
    csv_text = ("层级,代码,名称,上级代码\n市,370400,枣庄市,\n区县,370402,市中区,370400\n"
                "乡镇,370402001,中心街道,370402\n村,370402001001,光明社区,370402001\n")
    (tmp_path / "g.csv").write_text(csv_text, encoding="utf-8")
    (tmp_path / "g.yaml").write_text(CITY_YAML, encoding="utf-8")
    from_csv, from_yaml = grid.parse_file(tmp_path / "g.csv"), grid.parse_file(tmp_path / "g.yaml")
    assert [(u["code"], u["level"], u["parent"]) for u in from_csv] == \
        [(u["code"], u["level"], u["parent"]) for u in from_yaml][:4]
    assert from_yaml[0]["level"] == "city" and from_yaml[1]["parent"] == CITY


@pytest.mark.parametrize("rows, problem", [
    ("市,370400,枣庄市,370499\n", "市是最高一级"),
    ("区县,370402,市中区,\n乡镇,370402001,中心街道,370402\n区县,370405,台儿庄区,370402001\n", "不能直接管"),
    ("市,370400,枣庄市,\n乡镇,370400001,某街道,370400\n", "不能直接管"),
])
def test_a_unit_under_the_wrong_level_is_listed(tmp_path, rows, problem):
    (tmp_path / "g.csv").write_text("层级,代码,名称,上级代码\n" + rows, encoding="utf-8")
    with pytest.raises(grid.GridError) as err:
        grid.parse_file(tmp_path / "g.csv")
    assert any(problem in p for p in err.value.problems), err.value.problems


def test_the_city_dashboard_shows_each_district_with_exact_subtotals(city_app, client, auth, store):
    auth.login("city")
    page = client.get("/s/").get_data(as_text=True)
    rows = table_rows(page)
    assert set(rows) == {"薛城区", "市中区"}
    loaded = grid.load(store)
    for code, name in (("370403", "薛城区"), (SECOND_DISTRICT, "市中区")):
        expected = computed(store, loaded.villages_under(code))
        assert rows[name] == [expected["households"], expected["households_visited"],
                              expected["persons_expected"], expected["persons_registered"],
                              sum(expected["not_enrolled"].values())]
    assert rows["市中区"][:4] == [1, 1, 2, 1]
    township = table_rows(client.get(f"/s/a/{SECOND_DISTRICT}").get_data(as_text=True))
    assert township == {"中心街道": rows["市中区"]}
    villages = table_rows(client.get(f"/s/a/{SECOND_TOWNSHIP}").get_data(as_text=True))
    assert villages["光明社区"] == rows["市中区"] and villages["文化社区"] == [0, 0, 0, 0, 0]


def test_a_district_administrator_cannot_open_the_city_or_the_other_district(city_app, client, auth):
    auth.login("admin")
    assert client.get(f"/s/a/{CITY}").status_code == 404
    assert client.get(f"/s/a/{SECOND_DISTRICT}").status_code == 404
    assert client.get("/s/a/370403001").status_code == 200


def test_a_city_progress_report_lists_its_districts(city_app, store, tmp_path):
    from survey_app import documents
    with city_app.app_context():
        everywhere = Scope(frozenset(grid.load(store).villages_under(CITY)), "city")
        export = documents.print_notice(everywhere, "progress", township=CITY)
    text = subprocess.run(["pdftotext", str(export.pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "枣庄市全民参保入户登记进度通报" in text and "各区县登记进度" in text
    assert "薛城区" in text and "市中区" in text


def test_kept_rows_equal_rows_computed_from_the_records(city_app, store):
    """After roster imports and registrations in two districts, nothing needs rebuilding."""
    loaded = grid.load(store)
    assert coverage.rebuild(store, [v["code"] for v in loaded.villages]) == []
    for code in (CITY, SECOND_DISTRICT, "370403", "370403001", SECOND_TOWNSHIP):
        kept = coverage.unit_row(store, loaded, code)
        assert {k: kept[k] for k in coverage.COUNTS} == \
            {k: computed(store, loaded.villages_under(code))[k] for k in coverage.COUNTS}


def test_a_township_whose_village_codes_do_not_carry_its_code_is_summed(tmp_path):
    store = LocalStore(tmp_path / "d")
    units = [{"code": "610802", "level": "district", "name": "榆阳区", "parent": None, "contacts": []},
             {"code": "610802101", "level": "township", "name": "鱼河镇", "parent": "610802", "contacts": []},
             {"code": "610802102", "level": "township", "name": "镇川镇", "parent": "610802", "contacts": []},
             {"code": "610802102001", "level": "village", "name": "错码村", "parent": "610802101",
              "contacts": []}]
    grid.save(store, grid.validate_units(units))
    loaded = grid.load(store)
    house = {"head_name": "孙三", "address": "错码村1号", "members_count": 1, "members": [
        {"name": "孙三", "id_number": "610802198001010016", "sex": "male", "birth_date": "1980-01-01",
         "relationship": "head"}]}
    roster_load.import_roster(store, "610802102001", [house])
    assert not loaded.owns_code_prefix("610802101") and not loaded.owns_code_prefix("610802102")
    assert coverage.unit_row(store, loaded, "610802101")["persons_expected"] == 1
    assert coverage.unit_row(store, loaded, "610802102")["persons_expected"] == 0
