"""信息比对: the police extract against the insured lists, counted per village, kept, and turned into
visit lists; 附件1 as Excel and PDF; bad files refused with Chinese reasons and nothing changed."""

from __future__ import annotations

import io
import json
import re
import subprocess

import pytest
from conftest import VILLAGE_A, VILLAGE_B, Auth, csrf_from
from helpers import new_id_number
from openpyxl import load_workbook
from test_roster import xlsx as roster_xlsx

from survey_app import comparison, comparison_report, staff_compare, state
from survey_app.store import Store

VILLAGE_A2 = "370403001002"  # 临城街道 沙河崖社区
VILLAGE_A3 = "370403001003"  # 临城街道 于庄村
HUKOU_HEADER = ["村（社区）代码", "村（社区）名称", "户号", "户主姓名", "门牌地址", "姓名", "公民身份号码",
                "与户主关系", "联系电话"]


def xlsx(header, rows) -> bytes:
    return roster_xlsx(rows, header)


def csv_bytes(header, rows, encoding="utf-8") -> bytes:
    lines = [",".join(header)] + [",".join(map(str, r)) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def full_width(number: str) -> str:
    """As a pinyin keyboard in full-width mode types it."""
    return "".join(chr(ord(c) + 0xFEE0) for c in number)


def wrong_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def post(client, hukou=None, **insured):
    """POST the comparison form: ``hukou=(bytes, filename)``, ``resident_pension=[(bytes, filename)]``."""
    data = {"csrf_token": csrf_from(client.get("/s/compare").get_data(as_text=True))}
    if hukou:
        data["hukou"] = (io.BytesIO(hukou[0]), hukou[1])
    for scheme, files in insured.items():
        data[f"insured_{scheme}"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/s/compare", data=data, content_type="multipart/form-data")


def comparison_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/s/compare/(\d+)$", response.headers["Location"]).group(1))


def page_rows(html: str) -> dict[tuple[str, str], list[int]]:
    """The village table as (kind, code) → [户籍人口, 已参保确认, 需核实, 未参保]."""
    rows = {}
    for kind, code, body in re.findall(r'<tr data-kind="(\w+)" data-code="(\d*)">(.*?)</tr>', html, re.S):
        rows[(kind, code)] = [int(n) for n in re.findall(r"<td>(\d+)</td>", body)]
    return rows


@pytest.fixture
def people():
    """Every kind of match and mismatch, by role."""
    return {key: new_id_number(year) for key, year in (
        ("zhang", 1960), ("li", 1962), ("xiao", 1990), ("wang", 1955), ("zhao", 1970), ("qian", 1966),
        ("sun", 1992), ("zhou_b", 1980), ("zhou9", 1975), ("wu", 1985), ("zheng", 1987))}


@pytest.fixture
def files(people):
    """A township's 户籍 extract (.xlsx), a GBK CSV list and an .xlsx list with a 险种 column."""
    p = people
    # row 2 confirmed; 3 name differs; 4 and 5 uninsured; 6 duplicates 5; 7 wrong check digit;
    # 8 lacks its address; 9 confirmed; 10 is a village outside the area; 11 an unknown village
    a1, a2 = "临山村1组1号", "临山村1组2号"
    hukou = xlsx(HUKOU_HEADER, [
        [VILLAGE_A, "", "1", "张三", a1, "张三", p["zhang"], "户主", "13900000001"],
        [VILLAGE_A, "", "1", "张三", a1, "李四", p["li"], "妻", ""],
        [VILLAGE_A, "", "1", "张三", a1, "张小", p["xiao"], "长子", ""],
        [VILLAGE_A, "", "2", "王五", a2, "王五", p["wang"], "户主", "13900000002"],
        [VILLAGE_A, "", "2", "王五", a2, "王五", p["wang"], "户主", ""],
        ["", "沙河崖社区", "3", "赵六", "沙河崖社区3号", "赵六", wrong_check(p["zhao"]), "户主", ""],
        ["", "沙河崖社区", "4", "", "", "钱七", p["qian"], "户主", ""],
        ["", "沙河崖社区", "4", "", "沙河崖社区4号", "孙八", p["sun"], "子女", ""],
        [VILLAGE_B, "", "5", "周大", "常庄社区5号", "周大", p["zhou_b"], "户主", ""],
        ["", "不存在村", "6", "冯某", "某地", "冯某", new_id_number(1950), "户主", ""],
    ])
    pension = csv_bytes(["姓名", "公民身份号码"], [
        ["张三", p["zhang"]], ["李思", p["li"]], ["钱七", p["qian"]], ["孙 八", full_width(p["sun"])],
        ["周九", p["zhou9"]], ["坏号", "12345"]], encoding="gbk")
    medical = xlsx(["姓名", "公民身份号码", "险种", "村（社区）代码"], [
        ["吴十", p["wu"], "城乡居民医疗保险", VILLAGE_A], ["郑外", p["zheng"], "职工医疗保险", VILLAGE_B],
        ["张三", p["zhang"], "城乡居民医疗保险", VILLAGE_A]])
    return {"hukou": (hukou, "户籍.xlsx"), "resident_pension": [(pension, "居民养老.csv")],
            "mixed": [(medical, "医疗.xlsx")]}


def run(client, files):
    return post(client, files["hukou"], resident_pension=files["resident_pension"], mixed=files["mixed"])


EXPECTED_VILLAGES = {
    VILLAGE_A: {"confirmed": 1, "name_differs": 1, "incomplete": 0, "invalid_id": 0, "insured_only": 1,
                "uninsured": 2},
    VILLAGE_A2: {"confirmed": 1, "name_differs": 0, "incomplete": 1, "invalid_id": 1, "insured_only": 0,
                 "uninsured": 0},
    VILLAGE_A3: dict.fromkeys(comparison.COUNT_KEYS, 0),
    "": {"confirmed": 0, "name_differs": 0, "incomplete": 0, "invalid_id": 0, "insured_only": 1,
         "uninsured": 0},
}


def test_every_kind_of_match_is_counted_per_village_township_and_total(auth, client, app, store, files,
                                                                      people):
    auth.login("township")
    doc_id = comparison_id(run(client, files))
    with app.app_context():
        record = comparison_report.get(store, state.current_grid(), ["370403001"], doc_id)
    assert record["counts"] == EXPECTED_VILLAGES
    assert record["notes"] == {"insured_outside": 1}
    html = client.get(f"/s/compare/{doc_id}").get_data(as_text=True)
    assert page_rows(html) == {
        # 户籍人口, 已参保确认, 需核实, 未参保
        ("village", VILLAGE_A): [4, 1, 2, 2],
        ("village", VILLAGE_A2): [3, 1, 2, 0],
        ("village", VILLAGE_A3): [0, 0, 0, 0],
        ("township", "370403001"): [7, 2, 4, 2],
        ("unassigned", ""): [0, 0, 1, 0],
        ("total", ""): [7, 2, 5, 2],
    }
    assert "户籍人口 7 人：已参保确认 2 人，需核实 5 人，未参保 2 人。" in html
    assert "参保名单中另有 1 人属于辖区外的村（社区），未计入。" in html
    problems = {kind: record["problems"][kind]["items"] for kind in record["problems"]}
    assert problems["duplicate"] == [["户籍文件“户籍.xlsx”", 6, "公民身份号码与第5行重复，只计一次"]]
    assert problems["invalid"] == [["户籍文件“户籍.xlsx”", 7, "公民身份号码校验位不正确，请逐位核对。"],
                                   ["参保名单1“居民养老.csv”", 7, "公民身份号码应为18位，现在是5位。"]]
    assert problems["incomplete"] == [["户籍文件“户籍.xlsx”", 8, "缺少门牌地址"]]
    assert [line for _f, line, _t in problems["place"]] == [10, 11]
    assert "户籍文件“户籍.xlsx” 第6行：公民身份号码与第5行重复，只计一次" in html
    assert f"户籍文件“户籍.xlsx” 第10行：村（社区）代码“{VILLAGE_B}”不在网格中，或不在您的管辖范围内" in html
    assert "户籍文件“户籍.xlsx” 第11行：村（社区）名称“不存在村”不在您的管辖范围内" in html
    assert "参保名单1“居民养老.csv” 第7行：公民身份号码应为18位" in html
    assert people["zhou_b"] not in json.dumps(record, ensure_ascii=False)  # outside: never loaded
    # kept: the upload page lists it, and the result reads the same on a later visit
    assert f"/s/compare/{doc_id}" in client.get("/s/compare").get_data(as_text=True)
    assert client.get(f"/s/compare/{doc_id}").get_data(as_text=True).count('data-kind="village"') == 3


def test_audit_entry_has_counts_only(auth, client, store, files, people):
    auth.login("township")
    comparison_id(run(client, files))
    entry = [a for a in store.read(Store.SYSTEM).all("audit") if a["action"] == "compare"][-1]
    assert entry["hukou"] == 7 and entry["confirmed"] == 2 and entry["uninsured"] == 2
    assert entry["problems_duplicate"] == 1 and entry["problems_invalid"] == 2
    text = json.dumps(entry, ensure_ascii=False)
    assert not any(number in text for number in people.values())
    assert not re.search(r"\d{17}[\dX]|1[3-9]\d{9}", text)


def test_stats_table_of_annex_1_on_the_page_in_excel_and_in_pdf(auth, client, files, tmp_path):
    auth.login("township")
    doc_id = comparison_id(run(client, files))
    html = client.get(f"/s/compare/{doc_id}").get_data(as_text=True)
    stats = re.findall(r'<tr data-level="(\w+)"><t[dh]>(?:　)?([^<]+)</t[dh]><t[dh]>(\d+)</t[dh]></tr>', html)
    assert stats == [("township", "临城街道", "2"), ("total", "合计", "2")]
    response = client.get(f"/s/compare/{doc_id}/stats.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["区县", "乡镇（街道）", "未参保户籍人口数"], ["薛城区", "临城街道", 2], ["合计", None, 2]]
    pdf = client.get(f"/s/compare/{doc_id}/stats.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    path = tmp_path / "stats.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "临城街道全民参保登记未参保人员统计表" in text and "附件1" in text
    assert re.search(r"临城街道\s+2\n", text) and re.search(r"合\s*计\s+2\n", text)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts  # real glyphs, not empty boxes


def test_district_stats_list_the_district_its_townships_and_the_total(client, app, files):
    """A district's staff compare the whole district: 附件1 lists the district, then each township."""
    Auth(client).login("admin")
    hukou = csv_bytes(HUKOU_HEADER, [
        [VILLAGE_A, "", "1", "甲一", "临山村1号", "甲一", new_id_number(1961), "户主", ""],
        [VILLAGE_A, "", "1", "甲一", "临山村1号", "甲二", new_id_number(1963), "配偶", ""],
        [VILLAGE_B, "", "9", "乙一", "常庄社区9号", "乙一", new_id_number(1964), "户主", ""]], encoding="gbk")
    insured = csv_bytes(["姓名", "公民身份号码"], [["丙一", new_id_number(1970)]])
    doc_id = comparison_id(post(client, (hukou, "区.csv"), employee_pension=[(insured, "职工.csv")]))
    sheet = load_workbook(io.BytesIO(client.get(f"/s/compare/{doc_id}/stats.xlsx").data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[:4] == [["区县", "乡镇（街道）", "未参保户籍人口数"], ["薛城区", "小计", 3],
                        ["薛城区", "临城街道", 2], ["薛城区", "常庄街道", 1]]
    assert [r[2] for r in rows[4:-1]] == [0] * 5  # the other five townships
    assert rows[-1] == ["合计", None, 3]
    # the township's staff cannot open the district's comparison, nor its downloads
    Auth(client).logout()
    Auth(client).login("township")
    for path in (f"/s/compare/{doc_id}", f"/s/compare/{doc_id}/stats.xlsx", f"/s/compare/{doc_id}/stats.pdf"):
        assert client.get(path).status_code == 404
    page = client.get("/s/compare").get_data(as_text=True)
    assert f"/s/compare/{doc_id}" not in page
    assert client.post(f"/s/compare/{doc_id}/roster", data={"csrf_token": csrf_from(page)}).status_code == 404


def test_one_action_makes_the_visit_lists_without_the_confirmed(auth, client, store, files, people):
    auth.login("township")
    doc_id = comparison_id(run(client, files))
    before = {v: store.read(Store.village(v)).count("households") for v in (VILLAGE_A, VILLAGE_A2)}
    page = client.get(f"/s/compare/{doc_id}").get_data(as_text=True)
    assert "需核实和未参保的户籍人口 4 人（3 户）" in page
    response = client.post(f"/s/compare/{doc_id}/roster", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    page = client.get(f"/s/compare/{doc_id}").get_data(as_text=True)
    assert "已生成 2 个村（社区）的入户调查名单：新增 3 户 4 人" in page
    created = {}
    for village in (VILLAGE_A, VILLAGE_A2):
        shard = store.read(Store.village(village))
        assert shard.count("households") == before[village] + (2 if village == VILLAGE_A else 1)
        houses = {h["doc_id"]: h for h in shard.all("households")}
        for person in shard.all("persons"):
            if person["answers"]["id_number"] in people.values():
                assert person["status"] == "expected"
                assert set(person["answers"]) == {"name", "id_number", "sex", "birth_date", "relationship"}
                house = houses[person["household"]]
                created[person["answers"]["name"]] = (village, house["number"], house["head_name"],
                                                      house["address"], house["phone"],
                                                      house["members_count"],
                                                      person["answers"]["relationship"])
    assert created == {
        "李四": (VILLAGE_A, "1", "张三", "临山村1组1号", "13900000001", 2, "spouse"),
        "张小": (VILLAGE_A, "1", "张三", "临山村1组1号", "13900000001", 2, "child"),
        "王五": (VILLAGE_A, "2", "王五", "临山村1组2号", "13900000002", 1, "head"),
        "钱七": (VILLAGE_A2, "4", "钱七", "沙河崖社区4号", "", 1, "head"),
    }
    # confirmed people, the unreadable number and the insured-only people were not put on any list
    for key in ("zhang", "sun", "zhao", "zhou9", "wu", "zhou_b"):
        assert store.read(Store.index("idnum", people[key])).find_one("entries", key=people[key]) is None
    # a second press changes nothing
    digest = store.digest()
    again = client.post(f"/s/compare/{doc_id}/roster", data={"csrf_token": csrf_from(page)},
                        follow_redirects=True)
    assert "本次比对已生成过入户调查名单，未重复导入。" in again.get_data(as_text=True)
    assert store.digest() == digest


def test_a_newer_comparison_replaces_the_older_visit_list(auth, client, store, files):
    auth.login("township")
    first = comparison_id(run(client, files))
    second = comparison_id(run(client, files))
    old = store.read(comparison_report.SHARD).get(comparison_report.TABLE, first)
    assert old["superseded_by"] == second
    assert all(store.read(name).count(comparison_report.HOUSES) == 0 for name in old["shards"])
    digest = store.digest()
    page = client.get(f"/s/compare/{first}").get_data(as_text=True)
    assert "查看最新结果" in page
    refused = client.post(f"/s/compare/{first}/roster", data={"csrf_token": csrf_from(page)},
                          follow_redirects=True)
    assert "此后又做过同一范围的比对" in refused.get_data(as_text=True)
    assert store.digest() == digest


def bad(client, store, expected: str, hukou=None, status=422, **insured):
    digest = store.digest()
    response = post(client, hukou, **insured)
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert expected in html
    assert "未做比对，未保存任何数据" in html
    assert store.digest() == digest


def test_bad_files_are_refused_in_chinese_and_change_nothing(auth, client, store, people):
    auth.login("township")
    good_list = [(csv_bytes(["姓名", "公民身份号码"], [["张三", people["zhang"]]]), "list.csv")]
    good_hukou = (csv_bytes(HUKOU_HEADER, [[VILLAGE_A, "", "1", "张三", "临山村1号", "张三",
                                           people["zhang"], "户主", ""]]), "hk.csv")
    bad(client, store, "不支持的文件类型", (b"%PDF-1.4", "户籍.pdf"),
        resident_pension=good_list)
    bad(client, store, "无法读取该 Excel 文件", (b"not a zip", "户籍.xlsx"), resident_pension=good_list)
    no_house = csv_bytes([h for h in HUKOU_HEADER if h != "户号"],
                         [[VILLAGE_A, "", "张三", "临山村1号", "张三", people["zhang"], "户主", ""]])
    bad(client, store, "户籍文件“hk.csv”：缺少列：户号（第一行应为表头）", (no_house, "hk.csv"),
        resident_pension=good_list)
    no_place = csv_bytes(HUKOU_HEADER[2:], [["1", "张三", "临山村1号", "张三", people["zhang"], "户主", ""]])
    bad(client, store, "缺少列：村（社区）代码或村（社区）名称", (no_place, "hk.csv"),
        resident_pension=good_list)
    bad(client, store, "户籍文件“empty.csv”：文件中没有数据行", (csv_bytes(HUKOU_HEADER, []), "empty.csv"),
        resident_pension=good_list)
    bad(client, store, "文件中没有数据行", (b"", "empty.csv"), resident_pension=good_list)
    numeric = xlsx(HUKOU_HEADER, [[VILLAGE_A, "", "1", "张三", "临山村1号", "张三", 370403196003150011,
                                   "户主", ""]])
    bad(client, store, "第2行：公民身份号码被存成了数字", (numeric, "n.xlsx"), resident_pension=good_list)
    renamed = csv_bytes(["姓名", "身份证号码"], [["张三", people["zhang"]]])
    bad(client, store, "请把表头“身份证号码”改为“公民身份号码”", good_hukou,
        resident_medical=[(renamed, "医疗.csv")])
    bad(client, store, "参保名单1“a.doc”：不支持的文件类型", good_hukou, resident_pension=[(b"x", "a.doc")])
    bad(client, store, "请至少选择一个参保名单文件。", good_hukou)
    bad(client, store, "请选择一个户籍信息文件。", None, resident_pension=good_list)
    # several files wrong at once: every problem is listed
    html = post(client, (b"", "e.csv"), resident_pension=[(b"x", "a.doc")]).get_data(as_text=True)
    assert "户籍文件“e.csv”：文件中没有数据行" in html and "参保名单1“a.doc”：不支持的文件类型" in html


def test_row_and_size_limits_are_said_in_chinese(auth, client, store, people, monkeypatch):
    auth.login("township")
    rows = [[VILLAGE_A, "", str(n), "某", "临山村", f"张{'一二三'[n]}", new_id_number(1970), "户主", ""]
            for n in range(3)]
    hukou = (csv_bytes(HUKOU_HEADER, rows), "big.csv")
    good_list = [(csv_bytes(["姓名", "公民身份号码"], [["张三", people["zhang"]]]), "list.csv")]
    monkeypatch.setattr(comparison, "MAX_ROWS", 2)
    bad(client, store, "户籍文件“big.csv”：有 3 行，一次最多比对 2 行；请按乡镇（街道）拆分文件", hukou,
        resident_pension=good_list)
    monkeypatch.setattr(comparison, "MAX_ROWS", 300_000)
    monkeypatch.setattr(staff_compare, "MAX_UPLOAD_MB", 0)
    bad(client, store, "上传的文件合计超过 0 MB", hukou, status=413, resident_pension=good_list)


def test_only_staff_reach_the_comparison_and_the_upload_needs_its_token(client, auth, store, files):
    auth.login("e001001")  # an enumerator
    assert client.get("/s/compare").status_code == 404
    Auth(client).logout()
    auth.login("township")
    assert "/s/compare" in client.get("/s/").get_data(as_text=True)  # linked from the area page
    digest = store.digest()
    forged = client.post("/s/compare", content_type="multipart/form-data", data={
        "hukou": (io.BytesIO(files["hukou"][0]), "户籍.xlsx"),
        "insured_resident_pension": (io.BytesIO(files["resident_pension"][0][0]), "a.csv")})
    assert forged.status_code == 400 and "页面已过期" in forged.get_data(as_text=True)
    assert client.get("/s/compare/999").status_code == 404
    assert store.digest() == digest


def test_a_file_above_the_apps_2_mb_limit_is_compared(auth, client, store):
    """A county's extract is far above the 2 MB every other form may send: this upload may."""
    auth.login("township")
    remark = "x" * 1200
    rows = [[VILLAGE_A3, "", str(n), "某某", "于庄村", "某某", new_id_number(1950 + n % 50), "户主", "",
             remark] for n in range(2000)]
    hukou = csv_bytes([*HUKOU_HEADER, "备注"], rows)
    assert len(hukou) > 2 * 1024 * 1024
    listed = csv_bytes(["姓名", "公民身份号码"], [["某某", rows[0][6]]])
    doc_id = comparison_id(post(client, (hukou, "大.csv"), resident_medical=[(listed, "医疗.csv")]))
    html = client.get(f"/s/compare/{doc_id}").get_data(as_text=True)
    assert page_rows(html)[("village", VILLAGE_A3)] == [2000, 1, 0, 1999]


def test_an_unreadable_csv_cell_is_bad_input_not_a_fault(auth, client, store, people):
    auth.login("township")
    huge_cell = csv_bytes(HUKOU_HEADER, [[VILLAGE_A, "", "1", "张三", "y" * 200_000, "张三", people["zhang"],
                                          "户主", ""]])
    good_list = [(csv_bytes(["姓名", "公民身份号码"], [["张三", people["zhang"]]]), "list.csv")]
    bad(client, store, "户籍文件“cell.csv”：无法读取该文件", (huge_cell, "cell.csv"),
        resident_pension=good_list)
