"""Importing the expected roster from Excel/WPS or CSV: clean files load, bad files change nothing."""

from __future__ import annotations

import io
import time

from conftest import VILLAGE_A, VILLAGE_B, csrf_from
from helpers import new_id_number
from openpyxl import Workbook

from survey_app.store import Store

HEADER = ["户编号", "户主姓名", "门牌地址", "姓名", "公民身份号码", "与户主关系", "联系电话"]


def xlsx(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, village, filename, content, seconds=60):
    """Send a roster file and follow its job to the end: the final response is the redirect to the
    village's page (loaded), or the page listing the file's problems (422, nothing imported)."""
    page = client.get(f"/s/v/{village}/roster").get_data(as_text=True)
    sent = client.post(f"/s/v/{village}/roster", content_type="multipart/form-data",
                       data={"csrf_token": csrf_from(page), "file": (io.BytesIO(content), filename)})
    if sent.status_code != 302 or "/roster/" not in sent.headers["Location"]:
        return sent  # refused before any reading
    return follow_job(client, sent.headers["Location"], seconds)


def follow_job(client, location, seconds=60):
    """The job's page once the job is done (it answers 202 while running)."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(location)
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_excel_roster_loads_households_and_people(auth, client, store):
    auth.login("township")
    before = len(store.read(Store.village(VILLAGE_A)).all("persons"))
    head, wife = new_id_number(1970), new_id_number(1972, male=False)
    content = xlsx([[1, "陈国强", "临山村8组3号", "陈国强", head, "户主", "13611112222"],
                    [1, "陈国强", "临山村8组3号", "林美华", wife, "配偶", ""]])
    response = upload(client, VILLAGE_A, "名单.xlsx", content)
    assert response.status_code == 302
    people = store.read(Store.village(VILLAGE_A)).all("persons")
    assert len(people) == before + 2
    added = {p["answers"]["id_number"]: p for p in people}
    assert added[wife]["answers"]["sex"] == "female" and added[wife]["status"] == "expected"
    assert "新增 1 户 2 人" in client.get(f"/s/v/{VILLAGE_A}").get_data(as_text=True)


def test_id_stored_by_excel_as_a_number_is_refused_with_a_clear_reason(auth, client, store):
    auth.login("township")
    before = store.fingerprint(Store.village(VILLAGE_A))
    content = xlsx([[1, "黄磊", "临山村9组1号", "黄磊", 370403198003152036, "户主", ""]])
    response = upload(client, VILLAGE_A, "a.xlsx", content)
    assert response.status_code == 422
    assert "第2行：公民身份号码被存成了数字" in response.get_data(as_text=True)
    assert store.fingerprint(Store.village(VILLAGE_A)) == before


def test_every_problem_is_listed_with_its_row_and_nothing_is_imported(auth, client, store):
    auth.login("township")
    before = store.fingerprint(Store.village(VILLAGE_A))
    good = new_id_number(1960)
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    content = xlsx([[1, "何平", "临山村1组1号", "何平", good, "户主", ""],
                    [1, "何平", "临山村1组1号", "", "123", "老伴", ""],
                    [2, "吴军", "临山村1组2号", "吴军", good, "户主", ""],
                    [3, "郑洁", "临山村1组3号", "郑洁", wrong_check, "户主", ""]])
    response = upload(client, VILLAGE_A, "bad.xlsx", content)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第3行：缺少姓名" in page
    assert "第4行：公民身份号码与第2行重复" in page
    assert "第5行：公民身份号码校验位不正确" in page
    assert store.fingerprint(Store.village(VILLAGE_A)) == before


def test_gbk_csv_from_wps_is_read(auth, client, store):
    auth.login("township")
    number = new_id_number(1990)
    text = ",".join(HEADER) + f"\n1,马丽,临山村2组5号,马丽,{number},户主,\n"
    assert upload(client, VILLAGE_A, "名单.csv", text.encode("gb18030")).status_code == 302
    ids = [p["answers"]["id_number"] for p in store.read(Store.village(VILLAGE_A)).all("persons")]
    assert number in ids


def test_wrong_file_type_and_foreign_village_are_refused(auth, client):
    auth.login("township")
    assert "不支持的文件类型" in upload(client, VILLAGE_A, "a.pdf", b"%PDF").get_data(as_text=True)
    assert "无法读取" in upload(client, VILLAGE_A, "a.xlsx", b"not a zip").get_data(as_text=True)
    assert client.get(f"/s/v/{VILLAGE_B}/roster").status_code == 404


def test_cli_import_and_its_error_list(app, tmp_path, store):
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([[1, "高云", "临山村3组9号", "高云", new_id_number(1966), "户主", ""]]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["roster", "import", str(good), "--village", VILLAGE_A])
    assert result.exit_code == 0, result.output
    assert "1 个村（社区）" in result.output and "新增 1 户 1 人" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(HEADER) + "\n1,高云,临山村3组9号,高云,123,户主,\n", encoding="utf-8")
    failed = runner.invoke(args=["roster", "import", str(bad), "--village", VILLAGE_A])
    assert failed.exit_code == 1 and "第2行" in failed.output
    unknown = runner.invoke(args=["roster", "import", str(good), "--village", "370403001"])
    assert unknown.exit_code != 0 and "不是网格中的村" in unknown.output


def test_one_file_for_many_villages_by_its_village_column(app, tmp_path, store):
    """A county's office loads one list for all its villages (the 村（社区）代码 column)."""
    header = ["村（社区）代码", *HEADER]
    first, second = new_id_number(1961), new_id_number(1962, male=False)
    rows = [[VILLAGE_A, 7, "吕大山", "临山村7组1号", "吕大山", first, "户主", ""],
            [VILLAGE_B, 7, "吕小红", "常庄社区7号", "吕小红", second, "户主", ""]]
    path = tmp_path / "county.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n", encoding="utf-8")
    before = {v: store.read(Store.village(v)).count("households") for v in (VILLAGE_A, VILLAGE_B)}
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 个村（社区）" in result.output and "新增 2 户 2 人" in result.output
    for village, number in ((VILLAGE_A, first), (VILLAGE_B, second)):
        assert store.read(Store.village(village)).count("households") == before[village] + 1
        entry = store.read(Store.index("idnum", number)).find_one("entries", key=number)
        assert entry["village"] == village
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, ["999999999999", *rows[0][1:5],
                                                                        new_id_number(1963), "户主", ""]]),
                    encoding="utf-8")
    refused = app.test_cli_runner().invoke(args=["roster", "import", str(path)])
    assert refused.exit_code == 1 and "第2行：村（社区）代码“999999999999”不在网格中" in refused.output
    no_column = tmp_path / "plain.csv"
    no_column.write_text(",".join(HEADER) + f"\n1,高云,临山村3组9号,高云,{new_id_number(1967)},户主,\n",
                         encoding="utf-8")
    missing = app.test_cli_runner().invoke(args=["roster", "import", str(no_column)])
    assert missing.exit_code == 1 and "缺少列：村（社区）代码" in missing.output


def test_a_name_that_is_not_a_name_is_refused_with_its_row(auth, client, store):
    auth.login("township")
    before = len(store.read(Store.village(VILLAGE_A)).all("persons"))
    # CSV: a spreadsheet would keep the text as a formula and hand back only its (empty) value
    row = ["1", '=HYPERLINK("x")', "临山村8组3号", '=HYPERLINK("x")', new_id_number(1970), "户主", ""]
    content = ",".join(HEADER) + "\n" + ",".join(row) + "\n"
    response = upload(client, VILLAGE_A, "名单.csv", content.encode("utf-8"))
    assert response.status_code == 422
    assert "第2行：姓名应为2到50个汉字或字母" in response.get_data(as_text=True)
    assert len(store.read(Store.village(VILLAGE_A)).all("persons")) == before
