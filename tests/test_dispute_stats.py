"""综合分析 on a small known ledger: seven items built step by step under a fixed clock, and
every figure of ``disputes.stats`` checked against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from helpers import Instant

from survey_app import clock, formdef
from survey_app.campaign import load_campaign
from survey_app.disputes import ledger, stats
from survey_app.store import LocalStore

CAMPAIGN = load_campaign("content/data/campaign.toml")
CALENDAR = CAMPAIGN.workdays
VILLAGE_A = "370403001001"   # 临山村
VILLAGE_C = "370403001002"   # 沙河崖社区, the same township
NAMES = {VILLAGE_A: "临山村", VILLAGE_C: "沙河崖社区"}
TODAY = dt.date(2026, 11, 20)  # a Friday


@pytest.fixture
def instant(monkeypatch):
    found = Instant()
    monkeypatch.setattr(clock, "utc_now", found)
    return found


def definition():
    return formdef.load("forms", "dispute")


@pytest.fixture
def ledger_items(tmp_path, instant):
    """Seven items (refs …-1 to …-7), each step on a known day.  Worked out by hand, with the
    campaign's 2026 calendar (09-25 and 10-01..07 off, Sunday 09-20 and Saturday 10-10 worked):

    1 A  09-01 records  李秀兰 139…5678  → tax 09-02, replied 09-07 (4 days), satisfied
    2 A  09-15 base     王建国           → tax, joint tax+medical, escalated 09-23 (疑难) and
                                           09-30 (重大), replied 10-09 (13 days), unrated
    3 C  10-08 records  "李 秀兰" 139 1234 5678 (the same person as 1)  replied 10-09 (1 day),
                                           dissatisfied, reopened 10-12 (due 10-19), replied
                                           again 10-14: closed in time, first reply kept
    4 C  10-20 special  张伟     due 10-27, replied 10-29 (7 days): closed late; basically
    5 A  11-02 employer 赵敏     classed 重大 directly: open, due far off
    6 A  11-10 service  钱多多   → medical 11-11, due 11-17: open and overdue on 11-20
    7 C  11-19 enrolment 李秀兰 134…: another person of the same name; open, due 11-26
    Households: A.1 has items 1 and 2, A.2 items 5 and 6.
    """
    store = LocalStore(tmp_path / "data")

    def ctx(username, villages=(VILLAGE_A, VILLAGE_C), departments=(), staff=False):
        viewer = ledger.Viewer(frozenset(villages), username, frozenset(departments), staff)
        return ledger.Context(store, viewer, CAMPAIGN.disputes, CALENDAR)
    staff, tax = ctx("township", staff=True), ctx("tax1", departments=("tax",))
    refs = {}

    def on(month, day):
        instant.day = dt.date(2026, month, day)

    def take_in(n, village, name, phone, category, household=None):
        answers = {"party_name": name, "party_phone": phone, "channel": "visit", "category": category,
                   "content": "反映的问题", "first_opinion": "初步意见", "uuid": str(uuid.uuid4())}
        refs[n] = ledger.intake(staff, definition(), village, answers, household=household)

    on(9, 1)
    take_in(1, VILLAGE_A, "李秀兰", "13912345678", "records", household=f"{VILLAGE_A}.1")
    on(9, 2)
    ledger.transfer(staff, refs[1], "tax", "核实入库")
    on(9, 7)
    ledger.reply(tax, refs[1], "已核实入库。", "phone")
    ledger.rate(staff, refs[1], "satisfied")
    on(9, 15)
    take_in(2, VILLAGE_A, "王建国", "13800001111", "base", household=f"{VILLAGE_A}.1")
    on(9, 16)
    ledger.transfer(staff, refs[2], "tax", "基数问题")
    on(9, 17)
    ledger.joint(tax, refs[2], ["tax", "medical"], "联合处理")
    on(9, 23)
    ledger.escalate(staff, refs[2], "转工作专班")
    on(9, 30)
    ledger.escalate(staff, refs[2], "报领导小组办公室")
    on(10, 9)
    ledger.reply(staff, refs[2], "已答复。", "letter")
    on(10, 8)
    take_in(3, VILLAGE_C, "李 秀兰", "139 1234 5678", "records")
    on(10, 9)
    ledger.reply(staff, refs[3], "已解释。", "in_person")
    ledger.rate(staff, refs[3], "dissatisfied")
    on(10, 12)
    ledger.reopen(staff, refs[3], "当事人仍有疑问")
    on(10, 14)
    ledger.reply(staff, refs[3], "已出具证明。", "in_person")
    on(10, 20)
    take_in(4, VILLAGE_C, "张伟", "13700002222", "special")
    on(10, 29)
    ledger.reply(staff, refs[4], "已退费。", "phone")
    ledger.rate(staff, refs[4], "basically")
    on(11, 2)
    take_in(5, VILLAGE_A, "赵敏", "13600003333", "employer", household=f"{VILLAGE_A}.2")
    ledger.classify(staff, refs[5], "major", "涉及多家单位")
    on(11, 10)
    take_in(6, VILLAGE_A, "钱多多", "13500004444", "service", household=f"{VILLAGE_A}.2")
    on(11, 11)
    ledger.transfer(staff, refs[6], "medical", "医保服务")
    on(11, 19)
    take_in(7, VILLAGE_C, "李秀兰", "13400005555", "enrolment")
    return refs, ledger.visible(staff)


def summary(items, **period):
    return stats.summarise(items, definition=definition(), rules=CAMPAIGN.disputes, calendar=CALENDAR,
                           village_names=NAMES, today=TODAY, **period)


def test_the_dataset_is_what_the_docstring_says(ledger_items):
    refs, items = ledger_items
    assert [i["ref"] for i in sorted(items, key=stats.by_ref)] == [refs[n] for n in range(1, 8)]
    by = {i["ref"]: i for i in items}
    assert by[refs[4]]["due"] == "2026-10-27" and by[refs[6]]["due"] == "2026-11-17"
    assert by[refs[3]]["due"] == "2026-10-19" and by[refs[3]]["reply"]["at"][:10] == "2026-10-09"
    days = {n: stats.handling_days(by[refs[n]], CALENDAR) for n in (1, 2, 3, 4)}
    assert days == {1: 4, 2: 13, 3: 1, 4: 7}


def test_headline_figures(ledger_items):
    refs, items = ledger_items
    s = summary(items)
    assert (s["total"], s["open"], s["closed"], s["overdue"]) == (7, 3, 4, 1)
    # late: item 4 (closed 10-29, due 10-27) and item 6 (open, due 11-17); item 3's first reply
    # was in time and its second round closed in time
    assert (s["late"], s["overdue_rate_text"]) == (2, "28.6%")
    assert s["overdue_rate"] == pytest.approx(2 / 7)
    # 4 + 13 + 1 + 7 = 25 working days over 4 closed items: 6.25, half up → 6.3 (not 6.2)
    assert s["handling"] == {"count": 4, "average": 6.3, "worst": 13, "worst_ref": refs[2]}
    assert s["escalated"] == 1


def test_breakdowns(ledger_items):
    refs, items = ledger_items
    s = summary(items)
    assert [(r["key"], r["name"], r["count"]) for r in s["by_category"]] == [
        ("enrolment", "参保登记", 1), ("records", "申报、未申报、欠缴、已缴数据及缴费凭证", 2),
        ("base", "缴费基数或金额", 1), ("special", "特殊缴费、退费、滞纳金", 1),
        ("employer", "单位未登记或未缴费", 1), ("service", "服务投诉", 1), ("other", "其他", 0)]
    assert [(r["name"], r["current"], r["escalated"]) for r in s["by_class"]] == [
        ("日常", 5, 0), ("疑难", 0, 1), ("重大", 2, 1)]
    departments = {r["key"]: (r["routed"], r["holding"]) for r in s["by_department"]}
    assert departments == {"tax": (2, 0), "hrss": (0, 0), "medical": (2, 1), "civil": (0, 0),
                           "finance": (0, 0), "disabled": (0, 0), "education": (0, 0),
                           "petition": (0, 0), "court": (0, 0), "task_force": (1, 0),
                           "leading_group": (1, 0)}
    assert [r["key"] for r in s["by_department"]] == [k for k, _ in CAMPAIGN.disputes.departments]
    assert s["by_village"] == [
        {"code": VILLAGE_A, "name": "临山村", "count": 4, "open": 2, "overdue": 1},
        {"code": VILLAGE_C, "name": "沙河崖社区", "count": 3, "open": 1, "overdue": 0}]
    assert s["by_month"] == [{"month": "2026-09", "count": 2}, {"month": "2026-10", "count": 2},
                             {"month": "2026-11", "count": 3}]
    assert [(r["name"], r["count"]) for r in s["satisfaction"]] == [
        ("满意", 1), ("基本满意", 1), ("不满意", 1), ("未评价", 1)]


def test_repeat_parties_and_households(ledger_items):
    refs, items = ledger_items
    s = summary(items)
    # 1 and 3 are one person (the name and phone fold alike); 7 has the name but another phone
    assert s["repeat_parties"] == [{"name": "李*兰", "count": 2, "refs": [refs[1], refs[3]]}]
    assert "139" not in str(s["repeat_parties"])
    assert s["repeat_households"] == [
        {"household": f"{VILLAGE_A}.1", "village": VILLAGE_A, "village_name": "临山村", "count": 2,
         "refs": [refs[1], refs[2]]},
        {"household": f"{VILLAGE_A}.2", "village": VILLAGE_A, "village_name": "临山村", "count": 2,
         "refs": [refs[5], refs[6]]}]


def test_a_period_of_months(ledger_items):
    refs, items = ledger_items
    october = stats.in_period(items, "2026-10", "2026-10")
    assert sorted(i["ref"] for i in october) == sorted([refs[3], refs[4]])
    s = summary(october, first="2026-08", last="2026-12")
    assert [(r["month"], r["count"]) for r in s["by_month"]] == [
        ("2026-08", 0), ("2026-09", 0), ("2026-10", 2), ("2026-11", 0), ("2026-12", 0)]
    assert (s["total"], s["late"], s["overdue_rate_text"]) == (2, 1, "50.0%")
    assert s["handling"] == {"count": 2, "average": 4.0, "worst": 7, "worst_ref": refs[4]}
    assert s["repeat_parties"] == [] and s["repeat_households"] == []
    assert len(stats.in_period(items, "2026-11", None)) == 3
    assert len(stats.in_period(items, None, "2026-09")) == 2


def test_nothing_to_count():
    s = summary([])
    assert (s["total"], s["overdue_rate"], s["overdue_rate_text"]) == (0, None, "—")
    assert s["handling"] == {"count": 0, "average": None, "worst": None, "worst_ref": None}
    assert [r["count"] for r in s["by_category"]] == [0] * 7 and s["by_month"] == []


def test_the_boundary_of_late(ledger_items):
    """Closed on its due date is in time; open on the due date is not overdue yet."""
    refs, items = ledger_items
    item6 = next(i for i in items if i["ref"] == refs[6])
    assert not stats.is_late(item6, CALENDAR, dt.date(2026, 11, 17))
    assert stats.is_late(item6, CALENDAR, dt.date(2026, 11, 18))
    item4 = next(i for i in items if i["ref"] == refs[4])
    assert stats.is_late(item4, CALENDAR, TODAY)
    assert not stats.is_late({**item4, "closed_at": "2026-10-27T16:00:00+08:00"}, CALENDAR, TODAY)


@pytest.mark.parametrize("raw, month", [("2026-09", "2026-09"), (" 2026-12 ", "2026-12"), ("2026-13", None),
                                        ("2026-9", None), ("九月", None), ("", None), (None, None)])
def test_months_as_typed(raw, month):
    assert stats.parse_month(raw) == month


@pytest.mark.parametrize("late, of, text",
                         [(1, 8, "12.5%"), (1, 16, "6.3%"), (0, 3, "0.0%"), (3, 3, "100.0%")])
def test_rate_text_rounds_half_up(late, of, text):
    assert stats.rate_text(late, of) == text
