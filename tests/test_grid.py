"""Grid import from YAML and CSV: the three levels, contacts, and clear error lists."""

from __future__ import annotations

import json

import pytest

from survey_app import grid
from survey_app.store import LocalStore, Store

YAML_GRID = """
district:
  code: "610802"
  name: 榆阳区
  contacts:
    - {role: 网格长, name: 李明, phone: "13900001111", office_phone: "0912-3456789"}
  townships:
    - code: "610802101"
      name: 鱼河镇
      contacts:
        - {role: 网格员, name: 高峰, phone: "13900002222"}
      villages:
        - code: "610802101001"
          name: 鱼河村
          contacts:
            - {role: 网格长, name: 刘红, phone: "13900003333", office_phone: "0912-3000001"}
            - {role: 网格员, name: 张伟, phone: "13900004444"}
"""

CSV_GRID = """层级,代码,名称,上级代码,角色,姓名,手机,办公电话
区县,610802,榆阳区,,网格长,李明,13900001111,0912-3456789
乡镇,610802101,鱼河镇,610802,网格员,高峰,13900002222,
村,610802101001,鱼河村,610802101,网格长,刘红,13900003333,0912-3000001
村,610802101001,鱼河村,610802101,网格员,张伟,13900004444,
"""


@pytest.mark.parametrize("name, text", [("grid.yaml", YAML_GRID), ("grid.csv", CSV_GRID)])
def test_both_formats_give_the_same_grid(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    store = LocalStore(tmp_path / "data")
    assert grid.import_file(store, path) == 3
    loaded = grid.load(store)
    assert loaded.villages_under("610802") == ["610802101001"]
    village = loaded.get("610802101001")
    assert [c["name"] for c in village["contacts"]] == ["刘红", "张伟"]
    assert loaded.path_names("610802101001") == ["榆阳区", "鱼河镇", "鱼河村"]


def test_csv_with_bom_from_excel_is_read(tmp_path):
    path = tmp_path / "grid.csv"
    path.write_bytes("\ufeff".encode() + CSV_GRID.encode("utf-8"))
    assert len(grid.parse_file(path)) == 3


def test_every_problem_is_listed_and_nothing_changes(tmp_path):
    store = LocalStore(tmp_path / "data")
    good = tmp_path / "good.yaml"
    good.write_text(YAML_GRID, encoding="utf-8")
    grid.import_file(store, good)
    before = store.fingerprint(Store.GRID)
    bad = tmp_path / "bad.csv"
    bad.write_text("层级,代码,名称,上级代码,角色,姓名,手机,办公电话\n"
                   "区县,6108,榆阳区,,网格长,李明,1390000,\n"
                   "村,610802101009,,610802999,队长,王五,,12345\n", encoding="utf-8")
    with pytest.raises(grid.GridError) as err:
        grid.import_file(store, bad)
    problems = "\n".join(err.value.problems)
    for expected in ("代码应为6位", "手机号码应为11位", "缺少名称", "上级代码 610802999 不存在",
                     "角色应为", "办公电话应带区号"):
        assert expected in problems
    assert store.fingerprint(Store.GRID) == before


def test_reimport_updates_units_without_dropping_others(tmp_path):
    store = LocalStore(tmp_path / "data")
    path = tmp_path / "grid.yaml"
    path.write_text(YAML_GRID, encoding="utf-8")
    grid.import_file(store, path)
    path.write_text(YAML_GRID.replace("鱼河村", "鱼河社区"), encoding="utf-8")
    grid.import_file(store, path)
    assert grid.load(store).get("610802101001")["name"] == "鱼河社区"
    assert len(grid.load(store).units) == 3


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "grid.csv"
    path.write_text("代码,名称\n610802,榆阳区\n", encoding="utf-8")
    with pytest.raises(grid.GridError, match="层级"):
        grid.parse_file(path)


# --- a township's service window (受理窗口), published by the portal's dispute guide ---------------

WINDOW = "鱼河镇便民服务中心　一楼3号窗口"  # with the full-width space people type
YAML_WINDOW = YAML_GRID.replace("      name: 鱼河镇\n", f"      name: 鱼河镇\n      window: {WINDOW}\n")
JSON_WINDOW = json.dumps({"district": {"code": "610802", "name": "榆阳区", "townships": [
    {"code": "610802101", "name": "鱼河镇", "window": WINDOW,
     "villages": [{"code": "610802101001", "name": "鱼河村"}]}]}}, ensure_ascii=False)
CSV_WINDOW = f"""层级,代码,名称,上级代码,角色,姓名,手机,办公电话,受理窗口
区县,610802,榆阳区,,网格长,李明,13900001111,0912-3456789,
乡镇,610802101,鱼河镇,610802,网格员,高峰,13900002222,,{WINDOW}
乡镇,610802101,鱼河镇,610802,网格长,白云,,0912-3000002,
村,610802101001,鱼河村,610802101,网格长,刘红,13900003333,0912-3000001,
"""


@pytest.mark.parametrize("name, text", [("grid.yaml", YAML_WINDOW), ("grid.json", JSON_WINDOW),
                                        ("grid.csv", CSV_WINDOW)])
def test_a_townships_window_round_trips_through_every_format(tmp_path, name, text):
    assert WINDOW in text
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    store = LocalStore(tmp_path / "data")
    grid.import_file(store, path)
    loaded = grid.load(store)
    assert loaded.get("610802101")["window"] == WINDOW
    # Units without a window keep their shape: no empty key.
    assert "window" not in loaded.get("610802") and "window" not in loaded.get("610802101001")


def test_a_window_removed_from_the_file_is_removed_on_reimport(tmp_path):
    store = LocalStore(tmp_path / "data")
    path = tmp_path / "grid.yaml"
    path.write_text(YAML_WINDOW, encoding="utf-8")
    grid.import_file(store, path)
    path.write_text(YAML_GRID, encoding="utf-8")
    grid.import_file(store, path)
    assert "window" not in grid.load(store).get("610802101")


@pytest.mark.parametrize("window, message", [
    ("便民服务中心" * 11, "受理窗口最多写60个字"),
    ('"一楼\\n3号窗口"', "受理窗口只能写一行文字"),
    ('"一楼\\t3号窗口"', "受理窗口只能写一行文字"),
    ("[一楼, 二楼]", "受理窗口只能写一行文字"),
    ("一楼 找王主任 139-0000-4444", "不要写手机号"),
])
def test_a_bad_window_is_refused_in_chinese_and_nothing_changes(tmp_path, window, message):
    store = LocalStore(tmp_path / "data")
    good = tmp_path / "good.yaml"
    good.write_text(YAML_WINDOW, encoding="utf-8")
    grid.import_file(store, good)
    before = store.fingerprint(Store.GRID)
    bad = tmp_path / "bad.yaml"
    bad.write_text(YAML_WINDOW.replace(f"window: {WINDOW}", f"window: {window}"), encoding="utf-8")
    with pytest.raises(grid.GridError) as err:
        grid.import_file(store, bad)
    assert any(p.startswith("鱼河镇（610802101）：") and message in p for p in err.value.problems), \
        err.value.problems
    assert store.fingerprint(Store.GRID) == before
    assert grid.load(store).get("610802101")["window"] == WINDOW


def test_a_window_on_a_village_or_two_different_windows_in_csv_are_refused(tmp_path):
    text = CSV_WINDOW.replace("0912-3000002,", "0912-3000002,另一个窗口").replace(
        "0912-3000001,", "0912-3000001,村委会一楼")
    path = tmp_path / "grid.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(grid.GridError) as err:
        grid.parse_file(path)
    assert err.value.problems == ["鱼河镇（610802101）：受理窗口前后两行写得不一样",
                                  "鱼河村（610802101001）：只有乡镇/街道填写受理窗口"]
