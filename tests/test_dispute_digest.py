"""每日到期提醒: the pure digest on a small known set of items (exact text), the command that writes
one file per recipient, and the page — with no party phone anywhere."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from conftest import Auth

from survey_app import clock, formdef
from survey_app.campaign import load_campaign
from survey_app.disputes import digest, ledger

CAMPAIGN = load_campaign("content/data/campaign.toml")
PHONE = "13698765432"
NAMES = {"370403001": "临城街道", "370403001001": "临山村", "370403001002": "沙河崖社区"}
MONDAY = dt.date(2026, 10, 12)  # after National Day; Saturday 10-10 was worked (调休)


def item(n: int, village: str, name: str, due: str, holders: list[str], state: str = "open") -> dict:
    return {"ref": f"370403001-{n}", "village": village, "due": due, "holders": holders, "state": state,
            "answers": {"party_name": name, "party_phone": PHONE}}


ITEMS = [
    item(1, "370403001001", "李秀兰", "2026-10-09", ["tax"]),               # Fri: 2 working days late
    item(2, "370403001002", "王强", "2026-10-12", ["tax", "medical"]),      # due today
    item(3, "370403001001", "欧阳明月", "2026-10-14", []),                  # 2 working days left
    item(4, "370403001001", "赵四", "2026-10-15", ["tax"]),                 # 3 left: not yet
    item(5, "370403001002", "钱五", "2026-09-30", ["tax"], state="closed"),  # closed: never
    item(6, "370403001002", "孙六", "2026-10-08", ["medical", "tax"]),      # Thu: 3 late
]

TOWNSHIP_TEXT = """每日到期提醒 · 2026-10-12
临城街道（乡镇工作人员）
逾期 2 件 · 今日到期 1 件 · 2个工作日内到期 1 件

【临山村】
逾期：
  370403001-1  李*兰  逾期 2 个工作日  临山村 · 税务
2个工作日内到期：
  370403001-3  欧**月  剩 2 个工作日  临山村 · 未分派（待分类转办）

【沙河崖社区】
逾期：
  370403001-6  孙*  逾期 3 个工作日  沙河崖社区 · 医保、税务
今日到期：
  370403001-2  王*  今日到期  沙河崖社区 · 税务、医保
"""

TAX_TEXT = """每日到期提醒 · 2026-10-12
税务（部门经办人员）
逾期 2 件 · 今日到期 1 件 · 2个工作日内到期 0 件

【税务】
逾期：
  370403001-1  李*兰  逾期 2 个工作日  临山村 · 税务

【税务、医保】
逾期：
  370403001-6  孙*  逾期 3 个工作日  沙河崖社区 · 医保、税务
今日到期：
  370403001-2  王*  今日到期  沙河崖社区 · 税务、医保
"""


def test_the_digest_of_a_known_set_of_items_word_for_word():
    found = digest.for_everyone({"370403001": ITEMS}, CAMPAIGN.workdays, MONDAY, unit_names=NAMES,
                                departments=CAMPAIGN.disputes.departments)
    assert [(stem, recipient) for stem, recipient, _ in found] == [
        ("township-370403001", "临城街道（乡镇工作人员）"), ("department-tax", "税务（部门经办人员）"),
        ("department-medical", "医保（部门经办人员）")]  # no other department holds anything due
    texts = {stem: digest.render_text(result, recipient) for stem, recipient, result in found}
    assert texts["township-370403001"] == TOWNSHIP_TEXT
    assert texts["department-tax"] == TAX_TEXT
    assert found[0][2].counts == {"overdue": 2, "today": 1, "soon": 1}
    assert all(PHONE not in text and "李秀兰" not in text for text in texts.values())


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2026, 10, 9), ("today", "今日到期")),
    (dt.date(2026, 10, 8), ("soon", "剩 1 个工作日")),
    (dt.date(2026, 9, 30), ("soon", "剩 2 个工作日")),   # 09-30, holidays, 10-08, 10-09
    (dt.date(2026, 9, 29), (None, "剩 3 个工作日")),
    (dt.date(2026, 10, 10), ("overdue", "逾期 1 个工作日")),  # the worked Saturday counts
    (dt.date(2026, 10, 11), ("overdue", "逾期 1 个工作日")),  # Sunday: still one working day late
])
def test_buckets_at_the_boundary(day, expected):
    days = digest.days_left(ITEMS[0], CAMPAIGN.workdays, day)
    assert (digest.bucket(days), digest.days_text(days)) == expected


# -- through the app: the command and the page --------------------------------------------------------
@pytest.fixture
def items_in_store(app, store, monkeypatch):
    """Two items of 临山村 received on 2026-09-29 (due 10-12): one routed to tax, one to no one."""
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 9, 29, 2, 0, tzinfo=dt.UTC))
    staff = ledger.Context(store, ledger.Viewer(frozenset({"370403001001"}), "township", staff=True),
                           CAMPAIGN.disputes, CAMPAIGN.workdays)
    definition = formdef.load("forms", "dispute")
    body = {"party_phone": PHONE, "channel": "window", "category": "records",
            "content": "名单显示未缴。", "first_opinion": "转税务核实。"}
    first = ledger.intake(staff, definition, "370403001001",
                          {**body, "party_name": "李秀兰", "uuid": str(uuid.uuid4())})
    ledger.transfer(staff, first, "tax", "需核实")
    second = ledger.intake(staff, definition, "370403001001",
                           {**body, "party_name": "王强", "uuid": str(uuid.uuid4())})
    return first, second


def test_the_command_writes_one_file_per_recipient(app, items_in_store, tmp_path):
    first, second = items_in_store
    out = tmp_path / "digest"
    result = app.test_cli_runner().invoke(args=["disputes", "digest", "--date", "2026-10-13",
                                                "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["department-tax.txt", "township-370403001.txt"]
    assert (out / "department-tax.txt").read_text(encoding="utf-8") == (
        "每日到期提醒 · 2026-10-13\n税务（部门经办人员）\n"
        "逾期 1 件 · 今日到期 0 件 · 2个工作日内到期 0 件\n\n"
        f"【税务】\n逾期：\n  {first}  李*兰  逾期 1 个工作日  临山村 · 税务\n")
    township = (out / "township-370403001.txt").read_text(encoding="utf-8")
    assert f"{first}  李*兰  逾期 1 个工作日" in township and f"{second}  王*  逾期 1 个工作日" in township
    assert "township-370403001 临城街道（乡镇工作人员）：逾期 2 件" in result.output
    assert "共 2 个收件方" in result.output
    for text in (result.output, township, (out / "department-tax.txt").read_text(encoding="utf-8")):
        assert PHONE not in text and "李秀兰" not in text


def test_the_command_on_a_quiet_day_and_a_bad_date(app, items_in_store):
    quiet = app.test_cli_runner().invoke(args=["disputes", "digest", "--date", "2026-09-29"])
    assert quiet.exit_code == 0 and "共 0 个收件方" in quiet.output
    bad = app.test_cli_runner().invoke(args=["disputes", "digest", "--date", "10/13"])
    assert bad.exit_code != 0 and "不是日期" in bad.output


def test_the_page_for_staff_by_village_and_for_a_department_by_holder(app, items_in_store, monkeypatch):
    first, second = items_in_store
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 10, 12, 2, 0, tzinfo=dt.UTC))
    staff = app.test_client()
    Auth(staff).login("township")
    page = staff.get("/d/digest").get_data(as_text=True)
    assert 'data-group="临山村"' in page and first in page and second in page
    assert "⏰ 今日到期" in page and PHONE not in page
    tax = app.test_client()
    Auth(tax).login("tax")
    page = tax.get("/d/digest").get_data(as_text=True)
    assert 'data-group="税务"' in page and first in page and second not in page
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 10, 13, 2, 0, tzinfo=dt.UTC))
    page = tax.get("/d/digest").get_data(as_text=True)
    assert "⚠ 逾期 1 个工作日" in page and "data-overdue" in page
