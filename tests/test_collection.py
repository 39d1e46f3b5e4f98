"""Collection (征缴): the roll from the registrations, payments recorded and corrected, the counts.

The demo villages start with nobody registered, so village A's roll is exactly the people
each test registers: its rows and amounts are known to the fen.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from conftest import VILLAGE_A, VILLAGE_B, first_household
from helpers import new_id_number, submission
from payers import ApiClient, born_on

from survey_app import clock, coverage
from survey_app.collection import ledger, rates, roll
from survey_app.registry import Scope
from survey_app.store import Store

TODAY = dt.date(2026, 11, 21)
GROUPS = ("destitute", "orphan", "dibao", "disabled", "low_income", "family_planning", "veteran_care")


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC))


class Phone(ApiClient):
    default_channel = "wechat"
    pay = ApiClient.payment  # these tests read every answer, refusals included


@pytest.fixture
def phone(app):
    return Phone(app, "e001001")


@pytest.fixture
def known_village(phone, store):
    """One of each kind of person in village A's first household."""
    house = first_household(store, VILLAGE_A)["ref"]
    refs = {"general": phone.register(house, name="王建国", pension_tier="500")}
    refs["newborn"] = phone.register(
        house, name="王小宝", id_number=born_on(dt.date(2026, 9, 1)), person_category="newborn",
        relationship="grandchild", resident_pension="", pension_tier="")
    refs["student"] = phone.register(
        house, name="王学文", id_number=born_on(dt.date(2009, 5, 4)), person_category="student",
        resident_pension="", pension_tier="")
    refs["employee"] = phone.register(
        house, name="王工人", employee_pension="enrolled", employee_medical="enrolled",
        resident_pension="", resident_medical="", pension_tier="", payment_channel="")
    for number, group in enumerate(GROUPS):
        refs[group] = phone.register(house, name=f"张特{'甲乙丙丁戊己庚'[number]}",
                                     person_category="special", special_group=group,
                                     pension_tier="200")
    return refs


def village_roll(app, store):
    with app.app_context():
        from survey_app import state
        return roll.village_roll(store, Scope(frozenset({VILLAGE_A})), state.rates(), VILLAGE_A)


def test_the_roll_of_a_known_village_has_exact_rows_and_amounts(app, store, known_village):
    entries = {e["name"]: e for e in village_roll(app, store)}
    pension, medical = "resident_pension", "resident_medical"
    lines = {name: [(p["line"].scheme, p["line"].tier, p["line"].standard, p["line"].government,
                     p["line"].person) for p in e["lines"]] for name, e in entries.items()}
    assert lines == {
        "王建国": [(pension, "500", 50000, 0, 50000), (medical, "", 40000, 0, 40000)],
        "王小宝": [(medical, "", 40000, 0, 40000)],
        "王学文": [(medical, "", 40000, 0, 40000)],
        # 特困 and 孤儿: medical paid whole by the government, the lowest pension tier too
        "张特甲": [(pension, "200", 20000, 20000, 0), (medical, "", 40000, 40000, 0)],
        "张特乙": [(pension, "200", 20000, 20000, 0), (medical, "", 40000, 40000, 0)],
        "张特丙": [(pension, "200", 20000, 20000, 0), (medical, "", 40000, 28000, 12000)],
        "张特丁": [(pension, "200", 20000, 20000, 0), (medical, "", 40000, 28000, 12000)],
        "张特戊": [(pension, "200", 20000, 20000, 0), (medical, "", 40000, 20000, 20000)],
        "张特己": [(pension, "200", 20000, 0, 20000), (medical, "", 40000, 10000, 30000)],
        "张特庚": [(pension, "200", 20000, 0, 20000), (medical, "", 40000, 10000, 30000)],
    }
    assert "王工人" not in entries  # in the employees' schemes: owes nothing here
    assert {e["state"] for e in entries.values()} == {"unpaid"}
    total = roll.totals(entries.values())
    assert (total["persons"], total["special_persons"], total["lines"]) == (10, 7, 18)
    assert total["due_person"] == 50000 + 40000 * 3 + 12000 * 2 + 20000 + (20000 + 30000) * 2
    assert total["due_government"] == (20000 + 40000) * 2 + (20000 + 28000) * 2 + 40000 + 10000 * 2


def test_the_roll_file_has_one_row_per_line(app, store, known_village):
    labels = {"person_category": {"general": "一般城乡居民"}, "special_group": {"dibao": "低保对象"}}
    rows = list(roll.file_rows(village_roll(app, store), labels))
    assert len(rows) == 18
    general = [r for r in rows if r[3] == "王建国"]
    assert [r[7:] for r in general] == [
        ["城乡居民基本养老保险", 500, 500, 0, 500, 0, 0, "未缴"],
        ["城乡居民基本医疗保险", "", 400, 0, 400, 0, 0, "未缴"],
    ]
    assert [r[6] for r in rows if r[3] == "张特丙"] == ["低保对象", "低保对象"]


def test_a_payment_settles_the_lines_and_counts_in_the_coverage_row(app, store, phone, known_village):
    general = known_village["general"]
    response = phone.pay(general, ["resident_pension", "resident_medical"], "900.00")
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["ids"]) == 2
    entries = {e["name"]: e for e in village_roll(app, store)}
    assert entries["王建国"]["state"] == "paid"
    row = coverage.village_row(store, VILLAGE_A)
    assert (row["persons_due"], row["persons_paid"], row["special_due"], row["special_paid"]) == (3, 1, 7, 0)
    assert row["raised"] == {"resident_pension|person": 50000, "resident_medical|person": 40000}
    assert row["raised_by_day"] == {"2026-11-21": 90000}
    assert row["paid_by_day"] == {"2026-11-21": 1}
    assert row["roll"]["resident_medical||dibao"] == 1
    with app.app_context():
        from survey_app import state
        due = rates.amounts_due(row["roll"], state.rates())
    assert due["person"] == roll.totals(entries.values())["due_person"]
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []


def test_over_under_and_wrong_scheme_are_refused_and_change_nothing(store, phone, known_village):
    before = store.digest()
    too_much = phone.pay(known_village["general"], ["resident_medical"], "500")
    assert too_much.status_code == 422
    assert "超过应缴的 400.00 元" in too_much.get_json()["errors"]["amount"]
    too_little = phone.pay(known_village["general"], ["resident_medical"], "399.99")
    assert "少于应缴的 400.00 元" in too_little.get_json()["errors"]["amount"]
    wrong = phone.pay(known_village["student"], ["resident_pension"], "200")
    assert wrong.status_code == 422
    assert "没有参加“居民养老”" in wrong.get_json()["errors"]["schemes"]
    nothing = phone.pay(known_village["employee"], ["resident_medical"], "400")
    assert "没有本年度应缴" in nothing.get_json()["errors"]["schemes"]
    cash = phone.pay(known_village["newborn"], ["resident_medical"], "400", channel="village_agent")
    assert "票据的号码" in cash.get_json()["errors"]["receipt_no"]
    future = phone.pay(known_village["newborn"], ["resident_medical"], "400", paid_on="2026-11-22")
    assert "不能晚于今天" in future.get_json()["errors"]["paid_on"]
    government = phone.pay(known_village["destitute"], ["resident_medical"], "400", payer="government")
    assert "乡镇（街道）工作人员" in government.get_json()["errors"]["payer"]
    assert store.digest() == before


def test_paying_twice_is_refused_and_a_retry_is_a_replay(store, phone, known_village):
    body = {"uuid": str(uuid.uuid4()), "person": known_village["newborn"],
            "schemes": ["resident_medical"], "amount": "400", "channel": "village_agent",
            "receipt_no": "AH-0001"}
    first = phone.post("/api/v1/payments", body)
    assert first.status_code == 201
    again = phone.post("/api/v1/payments", body)
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert again.get_json()["ids"] == first.get_json()["ids"]
    changed = phone.post("/api/v1/payments", {**body, "amount": "401"})
    assert changed.status_code == 409
    second = phone.pay(known_village["newborn"], ["resident_medical"], "400")
    assert "已经缴清" in second.get_json()["errors"]["schemes"]
    reused = phone.pay(known_village["student"], ["resident_medical"], "400", channel="village_agent",
                       receipt_no="ah-0001")
    assert "已开给本村其他人" in reused.get_json()["errors"]["receipt_no"]


def test_payments_outside_the_area_are_not_found(app, store, known_village):
    other = Phone(app, "e002001")
    before = store.digest()
    response = other.pay(known_village["general"], ["resident_medical"], "400")
    assert response.status_code == 404
    assert other.client.get(f"/api/v1/persons/{known_village['general']}/payments").status_code == 404
    assert store.digest() == before
    house_b = first_household(store, VILLAGE_B)["ref"]
    assert house_b.startswith(VILLAGE_B)


def test_a_correction_keeps_the_history_and_a_void_reopens_the_line(app, store, phone, known_village):
    ref = known_village["student"]
    paid = phone.pay(ref, ["resident_medical"], "400", channel="alipay").get_json()["ids"][0]
    refused = phone.post(f"/api/v1/payments/{paid}/corrections", {"void": True})
    assert "必须写明原因" in refused.get_json()["errors"]["reason"]
    fixed = phone.post(f"/api/v1/payments/{paid}/corrections",
                       {"reason": "记错了渠道", "channel": "wechat"})
    assert fixed.status_code == 201
    again = phone.post(f"/api/v1/payments/{paid}/corrections", {"reason": "再改", "void": True})
    assert "已经更正过" in again.get_json()["errors"]["payment"]
    voided = phone.post(f"/api/v1/payments/{fixed.get_json()['id']}/corrections",
                        {"reason": "交给了别人，退回", "void": True})
    assert voided.status_code == 201
    history = phone.client.get(f"/api/v1/persons/{ref}/payments").get_json()
    assert [(p["channel"], p["amount"], p["in_force"], p["void"]) for p in history["payments"]] == [
        ("alipay", "400.00", False, False), ("wechat", "400.00", False, False),
        ("wechat", "0.00", True, True)]
    assert history["state"] == "unpaid"
    assert history["lines"][0]["owed_person"] == "400.00"
    rows = store.read(Store.village(VILLAGE_A)).all(ledger.TABLE)
    assert len(rows) == 3  # nothing deleted
    assert coverage.village_row(store, VILLAGE_A)["raised"] == {}


def test_a_changed_tier_reopens_what_was_paid_for_the_old_one(app, store, phone, known_village):
    ref = known_village["general"]
    assert phone.pay(ref, ["resident_pension"], "500").status_code == 201
    house = first_household(store, VILLAGE_A)["ref"]
    body = submission(house, name="王建国", pension_tier="800",
                      id_number=store.read(Store.village(VILLAGE_A)).get("persons", int(ref.split(".")[1]))
                      ["answers"]["id_number"])
    edited = phone.post("/api/v1/submissions", {**body, "person": ref})
    assert edited.status_code == 201 and edited.get_json()["id"] == ref
    entries = {e["name"]: e for e in village_roll(app, store)}
    pension = entries["王建国"]["lines"][0]
    assert (pension["paid_person"], pension["owed_person"], pension["settled"]) == (50000, 30000, False)
    assert phone.pay(ref, ["resident_pension"], "300").status_code == 201
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []


def test_amounts_are_read_exactly():
    assert rates.yuan_to_fen("1,500.5") == 150050
    assert rates.fen_to_yuan(150050) == "1500.50"
    for bad in ("-1", "1.001", "abc", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            rates.yuan_to_fen(bad)
    assert new_id_number()  # the helpers' numbers stay valid beside born_on's
