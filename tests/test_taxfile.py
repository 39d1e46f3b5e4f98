"""The tax office's payment detail imported: matched by ID number, all or nothing, idempotent.

Village A starts with nobody registered; each test registers the people it needs, so every
amount the file carries is known to the fen (medical 400, a pension tier's own amount, the
dibao group's medical 280 paid by the government and 120 by the person).
"""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from conftest import PASSWORD, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, csrf_from, first_household
from helpers import new_id_number
from openpyxl import Workbook
from payers import ApiClient, born_on

from survey_app import clock, coverage, users
from survey_app.collection import ledger, taxfile
from survey_app.registry import Scope
from survey_app.store import Store

HEADER = ["公民身份号码", "征收项目", "实缴金额（元）", "入库日期", "电子税票号码", "缴费方式"]
PENSION, MEDICAL = "城乡居民基本养老保险", "城乡居民基本医疗保险"


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC))


class Phone(ApiClient):
    default_channel = "wechat"


@pytest.fixture
def people(app, store):
    """ID numbers of village A's registered people (and one of village B, another township)."""
    phone = Phone(app, "e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    refs = {
        "general": phone.register(house, name="王建国", pension_tier="500"),
        "student": phone.register(house, name="王学文", id_number=born_on(dt.date(2009, 5, 4)),
                                  person_category="student", resident_pension="", pension_tier=""),
        "dibao": phone.register(house, name="张特丙", person_category="special", special_group="dibao",
                                pension_tier="200"),
        "door": phone.register(house, name="王小宝", id_number=born_on(dt.date(2026, 9, 1)),
                               person_category="newborn", relationship="grandchild", resident_pension="",
                               pension_tier=""),
        "employee": phone.register(house, name="王工人", employee_pension="enrolled",
                                   employee_medical="enrolled", resident_pension="", resident_medical="",
                                   pension_tier="", payment_channel=""),
    }
    phone.pay(refs["door"], ["resident_medical"], "400", channel="alipay")
    refs["elsewhere"] = Phone(app, "e002001").register(first_household(store, VILLAGE_B)["ref"], name="常远")
    ids = {key: id_of(store, ref) for key, ref in refs.items()}
    return {"refs": refs, "ids": ids}


def id_of(store, ref: str) -> str:
    village, doc_id = ref.split(".")
    return store.read(Store.village(village)).get("persons", int(doc_id))["answers"]["id_number"]


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> bytes:
    lines = [header, *rows]
    return "\r\n".join(",".join(cells) for cells in lines).encode(encoding)


def run(app, store, content: bytes, filename: str = "detail.csv", user: str = "township"):
    with app.app_context():
        from survey_app import state
        scope = Scope(state.current_grid().villages_of_area([TOWNSHIP_A]), user)
        return taxfile.import_file(store, scope, state.rates(), state.payment_channels(), filename, content)


def outcomes(report) -> dict[int, tuple[str, str]]:
    return {row.line: (row.outcome, row.message) for row in report.rows}


def good_rows(ids: dict[str, str]) -> list[list[str]]:
    return [
        [ids["general"], PENSION, "500.00", "2026-11-03", "T0001", "微信"],
        [ids["general"], "城乡居民基本医疗保险费", "400", "2026/11/3 10:22:31", "T0002", "爱山东APP"],
        [ids["dibao"], "居民医保", "120", "2026年11月5日", "T0003", "农商银行柜台"],
        [ids["dibao"], "居民养老", "200", "20261105", "T0004", "政府代缴"],
        [ids["dibao"], MEDICAL, "280.00", "2026-11-05", "T0005", "财政代缴"],
        [ids["door"], MEDICAL, "400.00", "2026-11-06", "T0006", "支付宝"],
        [ids["general"], PENSION, "500.00", "2026-11-03", "T0001", "微信"],  # the same row twice
    ]


def test_a_correct_file_records_each_payment_and_again_changes_nothing(app, store, people):
    ids, refs = people["ids"], people["refs"]
    door_rows = ledger.history(store, Scope(frozenset({VILLAGE_A})), refs["door"])
    report = run(app, store, csv_bytes(good_rows(ids)))
    assert report.applied, [(r.line, r.message) for r in report.errors]
    assert report.counts == {"rows": 7, "new": 5, "confirmed": 1, "unchanged": 1, "error": 0}
    assert outcomes(report)[7] == ("confirmed", "已核对，补记税票号。")
    assert outcomes(report)[8] == ("unchanged", "与第2行相同，只记一次。")
    payments = store.read(Store.village(VILLAGE_A)).all(ledger.TABLE)
    imported = {p["tax_ticket"]: p for p in payments if p.get("source") == "import"}
    assert {t: (p["scheme"], p["payer"], p["amount"], p["channel"], p["paid_on"], p["receipt_no"])
            for t, p in imported.items()} == {
        "T0001": ("resident_pension", "person", 50000, "wechat", "2026-11-03", ""),
        "T0002": ("resident_medical", "person", 40000, "gov_app", "2026-11-03", ""),
        "T0003": ("resident_medical", "person", 12000, "bank", "2026-11-05", ""),
        "T0004": ("resident_pension", "government", 20000, "government", "2026-11-05", ""),
        "T0005": ("resident_medical", "government", 28000, "government", "2026-11-05", ""),
        # the door payment kept its channel and day: the ticket is added by a correction row
        "T0006": ("resident_medical", "person", 40000, "alipay", "2026-11-21", ""),
    }
    assert imported["T0006"]["corrects"] == door_rows[0]["doc_id"]
    row = coverage.village_row(store, VILLAGE_A)
    assert row["raised"] == {"resident_pension|person": 50000, "resident_medical|person": 40000 * 2 + 12000,
                             "resident_pension|government": 20000, "resident_medical|government": 28000}
    assert (row["persons_paid"], row["special_paid"]) == (2, 1)  # 王建国, 王小宝; 张特丙
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []
    history = ledger.history(store, Scope(frozenset({VILLAGE_A})), refs["door"])
    assert [(h["tax_ticket"], h["in_force"]) for h in history] == [("", False), ("T0006", True)]

    before = store.digest()
    again = run(app, store, csv_bytes(good_rows(ids)))
    assert again.applied
    assert again.counts == {"rows": 7, "new": 0, "confirmed": 0, "unchanged": 7, "error": 0}
    assert store.digest() == before


def test_every_kind_of_row_error_is_listed_and_nothing_is_written(app, store, people):
    ids = people["ids"]
    first = run(app, store, csv_bytes([[ids["dibao"], MEDICAL, "280", "2026-11-05", "G0001", "政府代缴"]]))
    assert first.applied and first.counts["new"] == 1
    bad_check = ids["general"][:-1] + ("0" if ids["general"][-1] != "0" else "1")
    rows = [
        [bad_check, MEDICAL, "400", "2026-11-03", "E0002", "微信"],
        [new_id_number(), MEDICAL, "400", "2026-11-03", "E0003", "微信"],
        [ids["elsewhere"], MEDICAL, "400", "2026-11-03", "E0004", "微信"],
        [ids["general"], "职工基本养老保险", "400", "2026-11-03", "E0005", "微信"],
        [ids["general"], MEDICAL, "四百", "2026-11-03", "E0006", "微信"],
        [ids["general"], MEDICAL, "400", "2026-11-22", "E0007", "微信"],
        [ids["general"], MEDICAL, "400", "11月3日", "E0008", "微信"],
        [ids["general"], MEDICAL, "400", "2026-11-03", "", "微信"],
        [ids["employee"], MEDICAL, "400", "2026-11-03", "E0010", "微信"],
        [ids["general"], MEDICAL, "300", "2026-11-03", "E0011", "微信"],
        [ids["student"], MEDICAL, "400", "2026-11-03", "E0012", "微信"],
        [ids["general"], PENSION, "500", "2026-11-03", "E0012", "微信"],
        [ids["general"], MEDICAL, "400", "2026-11-03", "G0001", "微信"],
        [ids["general"], MEDICAL, "400", "2026-11-03", "E0015", "政府资助"],
        [ids["dibao"], MEDICAL, "280", "2026-11-06", "E0016", "政府代缴"],
        ["3.70403E+17", MEDICAL, "400", "2026-11-03", "E0017", "微信"],
    ]
    before = store.digest()
    report = run(app, store, csv_bytes(rows))
    assert not report.applied
    assert store.digest() == before
    errors = {line: message for line, (outcome, message) in outcomes(report).items() if outcome == "error"}
    expected = {
        2: "校验位不正确", 3: "本系统中没有这个公民身份号码的登记", 4: "此人不在本辖区",
        5: "不是城乡居民基本养老保险或城乡居民基本医疗保险", 6: "金额“四百”不是大于0的金额", 7: "晚于今天",
        8: "缴费日期“11月3日”无法识别", 9: "缺少税票号", 10: "没有参加“居民医疗”",
        11: "金额 300.00 元与本系统应缴的 400.00 元不符", 13: "税票号与第12行相同，但内容不同",
        14: "税票号已记录在其他人名下", 15: "没有政府代缴、资助的部分", 16: "已经缴清",
        17: "科学计数法",
    }
    assert sorted(errors) == sorted(expected)
    for line, text in expected.items():
        assert text in errors[line], (line, errors[line])
    assert outcomes(report)[12][0] == "new"  # a right row, not written either
    assert report.counts["error"] == len(expected)
    assert all(ids["elsewhere"] not in row.as_problem()["id"] for row in report.errors)


def test_missing_columns_are_named_in_one_error(app, store, people):
    content = csv_bytes([[people["ids"]["general"], "400"]], header=["身份证号码", "缴费金额"])
    with pytest.raises(taxfile.TaxFileError) as caught:
        run(app, store, content)
    assert len(caught.value.problems) == 1
    message = caught.value.problems[0]
    for name in ("险种", "缴费日期", "票据号"):
        assert name in message
    assert "公民身份号码" not in message and "实缴金额" not in message  # present as 身份证号码, 缴费金额


def xlsx_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号码", "险种", "缴费金额", "缴款日期", "票证号码", "缴款方式"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_and_gbk_csv_are_both_read(app, store, people):
    ids = people["ids"]
    paid_at = dt.datetime(2026, 11, 2, 9, 30)  # a date cell, as the tax system writes it
    workbook = xlsx_bytes([[ids["student"], "医疗", 400, paid_at, "X0001", "银行代扣"]])
    report = run(app, store, workbook, filename="明细.xlsx")
    assert report.applied and report.counts["new"] == 1, [r.message for r in report.errors]
    payment = store.read(Store.village(VILLAGE_A)).find(ledger.TABLE, tax_ticket="X0001")[0]
    assert (payment["paid_on"], payment["channel"], payment["amount"]) == ("2026-11-02", "bank", 40000)
    gbk = csv_bytes([[ids["student"], "居民医疗", "400.00", "2026-11-02", "x0001", "银行代扣"]],
                    header=["证件号码", "险种", "金额", "缴费日期", "票据号", "缴费渠道"], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    before = store.digest()
    again = run(app, store, gbk, filename="明细.csv")
    assert again.counts == {"rows": 1, "new": 0, "confirmed": 0, "unchanged": 1, "error": 0}
    assert store.digest() == before


def wait_for(client, url: str):
    for _ in range(100):
        response = client.get(url)
        if response.status_code != 202:
            return response
        time.sleep(0.1)
    raise AssertionError("the import job did not finish")


def upload(client, content: bytes, filename: str):
    token = csrf_from(client.get("/s/collection/import").get_data(as_text=True))
    return client.post("/s/collection/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(content), filename)})


def test_the_web_upload_reports_each_row_and_offers_the_error_list(app, store, people):
    ids = people["ids"]
    client = app.test_client()
    assert Auth(client).login("township").status_code == 302
    bad = csv_bytes([[ids["general"], "=HYPERLINK(\"x\")", "400", "2026-11-03", "W0001", "微信"],
                     [ids["student"], MEDICAL, "400", "2026-11-03", "W0002", "微信"]])
    before = store.digest(), store.read(Store.village(VILLAGE_A)).all(ledger.TABLE)
    posted = upload(client, bad, "bad.csv")
    assert posted.status_code == 302
    job_url = posted.headers["Location"]
    page = wait_for(client, job_url)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "整份文件未导入任何数据" in html and "不是城乡居民基本养老保险" in html
    assert ids["general"] not in html and ids["general"][:6] + "********" + ids["general"][-4:] in html
    assert store.read(Store.village(VILLAGE_A)).all(ledger.TABLE) == before[1]
    listing = client.get(f"{job_url}/errors.csv")
    assert listing.status_code == 200
    text = listing.get_data().decode("utf-8-sig")
    assert text.splitlines()[1].startswith("2,")
    assert "'=HYPERLINK" in text and ids["general"] not in text
    assert client.get(f"{job_url}/errors.xlsx").status_code == 200

    good = csv_bytes([[ids["student"], MEDICAL, "400", "2026-11-03", "W0002", "微信"]])
    done = wait_for(client, upload(client, good, "good.csv").headers["Location"])
    assert done.status_code == 200
    assert "已导入：共 1 行" in done.get_data(as_text=True)
    assert coverage.village_row(store, VILLAGE_A)["raised"]["resident_medical|person"] == 80000
    listed = client.get("/s/collection/import").get_data(as_text=True)
    assert "good.csv" in listed and "bad.csv" in listed


def test_the_job_is_not_found_for_anyone_else(app, store, people):
    with app.app_context():
        from survey_app import state
        users.add_user(store, state.current_grid(), username="changzhuang", password=PASSWORD,
                       role="township_staff", area=["370403002"])
    client = app.test_client()
    Auth(client).login("township")
    content = csv_bytes([[people["ids"]["student"], MEDICAL, "400", "2026-11-03", "N0001", "微信"]])
    job_url = upload(client, content, "mine.csv").headers["Location"]
    assert wait_for(client, job_url).status_code == 200
    for username in ("changzhuang", "admin"):
        other = app.test_client()
        assert Auth(other).login(username).status_code == 302
        assert other.get(job_url).status_code == 404
        assert other.get(f"{job_url}/errors.csv").status_code == 404
    enumerator = app.test_client()
    Auth(enumerator).login("e001001")
    assert enumerator.get("/s/collection/import").status_code == 404


def test_the_command_line_imports_as_a_staff_member(app, store, people, tmp_path):
    path = tmp_path / "detail.csv"
    path.write_bytes(csv_bytes([[people["ids"]["student"], MEDICAL, "400", "2026-11-03", "C0001", "微信"]]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["collection", "import", str(path), "--user", "township"])
    assert result.exit_code == 0, result.output
    assert "新增缴费 1" in result.output
    again = runner.invoke(args=["collection", "import", str(path), "--user", "township"])
    assert again.exit_code == 0 and "无变化 1" in again.output
    refused = runner.invoke(args=["collection", "import", str(path), "--user", "e001001"])
    assert refused.exit_code != 0


def test_a_door_payment_between_the_check_and_the_write_stops_that_village(app, store, people):
    ids = people["ids"]
    content = csv_bytes([[ids["student"], MEDICAL, "400", "2026-11-03", "M0001", "微信"]])
    phone = Phone(app, "e001001")  # logged in outside the app context the check runs in
    with app.app_context():
        from survey_app import state
        scope = Scope(state.current_grid().villages_of_area([TOWNSHIP_A]), "township")
        rows = taxfile.read("detail.csv", content, state.payment_channels())
        by_village = taxfile.check(store, scope, state.rates(), rows)
        assert [row.outcome for row in rows] == ["new"]
    phone.pay(people["refs"]["student"], ["resident_medical"], "400")
    with app.app_context():
        before = store.digest()
        with pytest.raises(taxfile.TaxFileError) as caught:
            taxfile.write(store, scope, state.rates(), by_village)
    assert "已写入 0 个村" in caught.value.problems[0]
    assert store.digest() == before
    again = run(app, store, content)  # imported again, the ticket now confirms the door payment
    assert again.applied and again.counts["confirmed"] == 1


@pytest.mark.parametrize("url", ["/s/collection/import", "/s/compare"])
def test_a_large_upload_without_its_csrf_token_is_refused_and_nothing_starts(app, store, url):
    """Both uploads read their body under a larger limit and check the token themselves."""
    client = app.test_client()
    assert Auth(client).login("township").status_code == 302
    before = store.digest()
    refused = client.post(url, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(b"a,b\n"), "x.csv")})
    assert refused.status_code == 400
    assert "页面已过期或来源不明" in refused.get_data(as_text=True)
    assert store.digest() == before
