"""The dispute ledger's core (seed 003): an item's whole life, its deadlines in working days,
and who may see or act on it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from helpers import Instant

from survey_app import clock, formdef
from survey_app.campaign import load_campaign
from survey_app.disputes import ledger
from survey_app.registry import Conflict, Invalid, NotFound
from survey_app.store import LocalStore

VILLAGE = "370403001001"
OTHER_VILLAGE = "370403002001"
CAMPAIGN = load_campaign("content/data/campaign.toml")
INTAKE = {"party_name": "李秀兰", "party_phone": "13912345678", "channel": "visit",
          "category": "records", "content": "去年已经在村里交过钱，名单上却显示未缴。",
          "first_opinion": "收据在手，建议转税务核实入库情况。"}


@pytest.fixture
def today(monkeypatch):
    instant = Instant(dt.date(2026, 9, 29))  # a Tuesday before National Day
    monkeypatch.setattr(clock, "utc_now", instant)
    return instant


@pytest.fixture
def people(tmp_path):
    store = LocalStore(tmp_path / "data")

    def ctx(username: str, *, villages=(VILLAGE,), departments=(), staff=False) -> ledger.Context:
        viewer = ledger.Viewer(frozenset(villages), username, frozenset(departments), staff)
        return ledger.Context(store, viewer, CAMPAIGN.disputes, CAMPAIGN.workdays)
    return {"enumerator": ctx("e001001"), "township": ctx("township", staff=True),
            "tax": ctx("tax1", departments=("tax",)),
            "medical": ctx("med1", departments=("medical",)),
            "task_force": ctx("tf1", departments=("task_force",)),
            "tax_elsewhere": ctx("tax2", villages=(OTHER_VILLAGE,), departments=("tax",)),
            "stranger": ctx("e002001", villages=(OTHER_VILLAGE,)),
            "other_township": ctx("township2", villages=(OTHER_VILLAGE,), staff=True)}


def definition():
    return formdef.load("forms", "dispute")


def take_in(ctx) -> str:
    return ledger.intake(ctx, definition(), VILLAGE, {**INTAKE, "uuid": str(uuid.uuid4())},
                         household=f"{VILLAGE}.1", person=f"{VILLAGE}.3")


def test_one_uuid_for_other_content_is_refused_inside_the_ledger(people, today, tmp_path):
    """The ledger decides, in its own transaction: a second body with the first one's uuid (two
    phones racing past any earlier read) is a Conflict, never answered with the first's number."""
    body = {**INTAKE, "uuid": str(uuid.uuid4())}
    place = {"household": f"{VILLAGE}.1", "person": f"{VILLAGE}.3"}
    first = ledger.intake(people["enumerator"], definition(), VILLAGE, body, **place)
    assert ledger.intake(people["enumerator"], definition(), VILLAGE, dict(body), **place) == first
    changed = [({**body, "content": "另一件事。"}, place), (body, {**place, "person": f"{VILLAGE}.4"}),
               (body, {"household": None, "person": None})]
    for other, where in changed:
        with pytest.raises(Conflict):
            ledger.intake(people["enumerator"], definition(), VILLAGE, other, **where)
    with pytest.raises(Conflict):  # someone who may not see the first item learns nothing of it
        ledger.intake(people["tax"], definition(), VILLAGE, body, **place)
    assert len(ledger.visible(people["township"])) == 1


def test_the_whole_life_of_an_item(people, today):
    ref = take_in(people["enumerator"])
    item = ledger.get(people["township"], ref)
    assert (item["level"], item["due"], item["state"]) == ("routine", "2026-10-12", "open")
    ledger.classify(people["township"], ref, "routine", "材料齐全，按日常事项办理")
    ledger.transfer(people["township"], ref, "tax", "需核实入库记录")
    assert ledger.get(people["tax"], ref)["holders"] == ["tax"]
    ledger.joint(people["tax"], ref, ["tax", "medical"], "医保待遇也受影响，联合处理")
    today.day = dt.date(2026, 10, 14)
    assert ledger.overdue(ledger.get(people["medical"], ref), CAMPAIGN.workdays)
    escalated = ledger.escalate(people["medical"], ref, "期限内未能办结，转工作专班")
    assert (escalated["level"], escalated["holders"]) == ("difficult", ["tax", "medical", "task_force"])
    assert escalated["due"] == CAMPAIGN.workdays.add(dt.date(2026, 10, 14), 15).isoformat()
    closed = ledger.reply(people["task_force"], ref, "经核实已入库，名单已更正。", "phone")
    assert closed["state"] == "closed" and closed["reply"]["by"] == "tf1"
    ledger.rate(people["township"], ref, "dissatisfied")
    reopened = ledger.reopen(people["township"], ref, "当事人要求出具缴费证明")
    assert reopened["state"] == "open" and reopened["reply"]["text"] == "经核实已入库，名单已更正。"
    again = ledger.reply(people["township"], ref, "已出具缴费证明。", "in_person")
    assert again["reply"]["text"] == "经核实已入库，名单已更正。"  # the first reply stays
    assert [r["text"] for r in again["replies"]] == ["已出具缴费证明。"]
    assert [e["action"] for e in again["events"]] == [
        "intake", "classify", "transfer", "joint", "escalate", "reply", "rate", "reopen", "reply"]
    assert "13912345678" not in str(again["events"])


def test_deadlines_across_a_weekend_a_holiday_and_an_adjusted_working_day(people, today):
    calendar, rules = CAMPAIGN.workdays, CAMPAIGN.disputes
    tuesday = dt.date(2026, 9, 29)
    # 09-30 Wed (1), 10-01..07 holiday, 10-08 Thu (2), 10-09 Fri (3), Sat 10-10 worked (4),
    # Sun 10-11 off, 10-12 Mon (5)
    assert rules.due(calendar, "routine", tuesday) == dt.date(2026, 10, 12)
    friday = dt.date(2026, 11, 20)
    assert rules.due(calendar, "routine", friday) == dt.date(2026, 11, 27)
    ref = take_in(people["enumerator"])
    item = ledger.get(people["township"], ref)
    assert item["due"] == "2026-10-12"
    assert ledger.days_left(item, calendar, dt.date(2026, 10, 12)) == 0
    assert not ledger.overdue(item, calendar, dt.date(2026, 10, 12))
    assert ledger.overdue(item, calendar, dt.date(2026, 10, 13))
    assert ledger.days_left(item, calendar, dt.date(2026, 10, 13)) == -1


def test_who_may_see_and_act(people, today):
    ref = take_in(people["enumerator"])
    for outsider in ("stranger", "other_township", "tax"):
        with pytest.raises(NotFound):
            ledger.get(people[outsider], ref)
        with pytest.raises(NotFound):
            ledger.transfer(people[outsider], ref, "tax", "试图转办")
    with pytest.raises(Invalid) as refused:
        ledger.transfer(people["enumerator"], ref, "tax", "网格员不能转办")
    assert "只能查看" in str(refused.value.errors["item"])
    ledger.transfer(people["township"], ref, "tax", "需核实")
    with pytest.raises(NotFound):  # the same department in another county: not its item
        ledger.get(people["tax_elsewhere"], ref)
    ledger.transfer(people["tax"], ref, "medical", "属医保职责")
    with pytest.raises(Invalid):  # tax handed it on: it may still read it, no longer act
        ledger.reply(people["tax"], ref, "答复", "phone")
    assert ledger.get(people["tax"], ref)["holders"] == ["medical"]
    assert [i["ref"] for i in ledger.visible(people["enumerator"])] == [ref]
    assert ledger.visible(people["stranger"]) == []
    with pytest.raises(NotFound):
        ledger.intake(people["stranger"], definition(), VILLAGE, {**INTAKE, "uuid": str(uuid.uuid4())})


def test_bad_steps_are_refused_with_messages(people, today):
    ref = take_in(people["enumerator"])
    township = people["township"]
    cases = [
        (lambda: ledger.classify(township, ref, "urgent"), "level"),
        (lambda: ledger.transfer(township, ref, "police", "x"), "departments"),
        (lambda: ledger.transfer(township, ref, "tax", " "), "note"),
        (lambda: ledger.joint(township, ref, ["tax"], "x"), "departments"),
        (lambda: ledger.reply(township, ref, "", "phone"), "text"),
        (lambda: ledger.rate(township, ref, "satisfied"), "satisfaction"),
        (lambda: ledger.reopen(township, ref, "x"), "note"),
    ]
    for step, field in cases:
        with pytest.raises(Invalid) as refused:
            step()
        assert field in refused.value.errors
    with pytest.raises(Invalid) as bad:
        ledger.intake(people["enumerator"], definition(), VILLAGE,
                      {**INTAKE, "party_phone": "123", "uuid": str(uuid.uuid4())})
    assert "party_phone" in bad.value.errors
    ledger.escalate(township, ref, "复杂")
    ledger.escalate(township, ref, "部门处理后仍未解决")
    with pytest.raises(Invalid):
        ledger.escalate(township, ref, "再上报")


def test_intake_is_idempotent_on_its_uuid(people, today):
    body = {**INTAKE, "uuid": str(uuid.uuid4())}
    first = ledger.intake(people["enumerator"], definition(), VILLAGE, body)
    assert ledger.intake(people["enumerator"], definition(), VILLAGE, body) == first
    assert len(ledger.visible(people["township"])) == 1
