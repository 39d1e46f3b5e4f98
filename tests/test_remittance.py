"""Daily remittance (按日报解): a village's sheet of a day, recording and cancelling a remittance,
the township's list of cash not handed in, and the agent's own page.

Today is 2026-11-21 (Beijing).  In 临山村 (370403001001) the agent e001001 takes::

    11-20  李大    medical 400 in cash, receipt A-0001
    11-21  王建国  pension 500 + medical 400 by WeChat (no receipt)
    11-21  张特丙  (低保) medical 120 in cash, receipt A-0002; the township records the
                   government's 480, which is no agent's cash
    11-21  孙三    medical 400 in cash, receipt A-0003

so on 11-21 e001001 issued 2 receipts, WeChat 900, cash 520, 1420 in all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from conftest import TOWNSHIP_A, VILLAGE_A, first_household
from payers import ApiClient

from survey_app import clock
from survey_app.collection import remittance
from survey_app.registry import Scope
from survey_app.store import Store

OTHER_TOWNSHIP, OTHER_VILLAGE = "370403002001"[:9], "370403002001"
SHEET = f"/s/v/{VILLAGE_A}/collection/remittance"


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC))


Client = ApiClient


@pytest.fixture
def cash(app, store):
    agent = Client(app, "e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    li = agent.register(house, name="李大")
    wang = agent.register(house, name="王建国", pension_tier="500")
    zhang = agent.register(house, name="张特丙", person_category="special", special_group="dibao",
                           pension_tier="200")
    sun = agent.register(house, name="孙三", resident_pension="not_enrolled", pension_tier="",
                         not_enrolled_reason="migrant_work")
    agent.pay(li, ["resident_medical"], "400", channel="village_agent", receipt_no="A-0001",
              paid_on="2026-11-20")
    agent.pay(wang, ["resident_pension", "resident_medical"], "900", channel="wechat")
    agent.pay(zhang, ["resident_medical"], "120", channel="village_agent", receipt_no="A-0002")
    Client(app, "township").pay(zhang, ["resident_pension", "resident_medical"], "480", payer="government")
    agent.pay(sun, ["resident_medical"], "400", channel="village_agent", receipt_no="a-0003")
    return {"agent": agent, "li": li, "sun": sun}


def sheet_of(app, store, day: str) -> dict:
    with app.test_request_context():
        return remittance.village_sheet(store, Scope(frozenset({VILLAGE_A})), VILLAGE_A, day)


def figure(html: str, name: str, within: str | None = None) -> str:
    """The number shown for ``data-figure="name"`` (inside the section of agent ``within``)."""
    if within is not None:
        html = re.search(rf'<section class="card" data-agent="{within}">(.*?)</section>', html, re.S).group(1)
    cells = r'<th scope="row">[^<]*</th><td class="n">([^<]*)</td>'
    found = re.search(rf'data-figure="{name}"[^>]*>{cells}', html)
    return found.group(1)


def test_the_sheet_of_a_day_adds_up_by_channel_and_cash(app, store, cash):
    sheet = sheet_of(app, store, "2026-11-21")
    assert [a["agent"] for a in sheet["agents"]] == ["e001001"]   # the government's money is nobody's
    agent = sheet["agents"][0]
    assert agent["receipts"] == ["A-0002", "A-0003"] and agent["receipt_count"] == 2
    assert agent["by_channel"] == {"wechat": 90000, "village_agent": 52000}
    assert (agent["total"], agent["cash"]) == (142000, 52000)
    assert (agent["remitted"], agent["unremitted"]) == (0, 52000)
    assert sheet["totals"] == {"receipt_count": 2, "by_channel": {"wechat": 90000, "village_agent": 52000},
                               "total": 142000, "cash": 52000, "remitted": 0, "unremitted": 52000}
    earlier = sheet_of(app, store, "2026-11-20")["agents"][0]
    assert (earlier["receipts"], earlier["cash"]) == (["A-0001"], 40000)


def test_the_sheet_page_and_its_file(app, store, cash):
    town = Client(app, "township")
    html = town.get(f"{SHEET}?day=2026-11-21").get_data(as_text=True)
    assert "A-0002、A-0003" in html
    assert figure(html, "cash", "e001001") == "520.00"
    assert figure(html, "unremitted") == "520.00"
    assert re.search(r'data-channel="wechat"><th scope="row">微信</th><td class="n">900.00</td>', html)
    assert 'inputmode="decimal"' in html
    rows = list(csv.reader(io.StringIO(town.get(f"{SHEET}.csv?day=2026-11-21").get_data()
                                       .decode("utf-8-sig"))))
    header = rows[0]
    by_name = dict(zip(header, rows[1], strict=True))
    assert by_name["代收人"] == "临山村网格员（e001001）"
    assert (by_name["票据张数"], by_name["票据号"]) == ("2", "A-0002、A-0003")
    channels = ("微信（元）", "村居代办员代收（元）", "合计（元）")
    assert [by_name[k] for k in channels] == ["900", "520", "1420"]
    assert [by_name[k] for k in ("应解缴现金（元）", "已解缴（元）", "未解缴（元）")] == ["520", "0", "520"]
    assert rows[-1][1] == "合计"
    audit = [e for e in store.read(Store.SYSTEM).all("audit") if e["action"] == "remittance_csv"]
    assert audit and audit[0]["ref"] == VILLAGE_A
    assert town.get(f"{SHEET}.csv?day=21.11.2026").status_code == 422


def receipt(store, number: str) -> dict:
    return next(r for r in store.read(Store.village(VILLAGE_A)).all("payments") if r["receipt_no"] == number)


def remit(client: Client, amount: str, slip: str = "YH20261121001", day: str = "2026-11-21"):
    return client.form(f"{SHEET}?day={day}", SHEET,
                       {"agent": "e001001", "day": day, "amount": amount, "slip_no": slip})


def test_a_wrong_amount_or_no_slip_is_refused_and_changes_nothing(app, store, cash):
    town = Client(app, "township")
    before = store.digest()
    wrong = remit(town, "500")
    assert wrong.status_code == 422
    assert "解缴金额 500.00 元与当日未解缴现金 520.00 元不符" in wrong.get_data(as_text=True)
    no_slip = remit(town, "520", slip="")
    assert no_slip.status_code == 422 and "缴款凭证号" in no_slip.get_data(as_text=True)
    not_money = remit(town, "五百")
    assert "请填写解缴金额" in not_money.get_data(as_text=True)
    nothing_due = remit(town, "10", day="2026-11-19")
    assert "没有待解缴的现金" in nothing_due.get_data(as_text=True)
    future = remit(town, "520", day="2026-11-22")
    assert future.status_code == 422
    assert store.digest() == before


def test_the_right_amount_is_accepted_and_leaves_the_township_list(app, store, cash):
    town = Client(app, "township")
    area = f"/s/a/{TOWNSHIP_A}/collection/remittance"
    html = town.get(area).get_data(as_text=True)
    days = re.findall(r'data-village="(\d+)" data-day="([\d-]+)" data-agent="(\w+)"', html)
    assert days == [(VILLAGE_A, "2026-11-20", "e001001"), (VILLAGE_A, "2026-11-21", "e001001")]
    assert "未解缴现金合计 920.00 元" in html
    done = remit(town, "520.00", slip="yh20261121001")
    assert done.status_code == 302
    sheet = sheet_of(app, store, "2026-11-21")["agents"][0]
    assert (sheet["remitted"], sheet["unremitted"]) == (52000, 0)
    assert sheet["remittances"][0]["slip_no"] == "YH20261121001"
    html = town.get(area).get_data(as_text=True)
    assert re.findall(r'data-day="([\d-]+)"', html) == ["2026-11-20"]
    assert "未解缴现金合计 400.00 元" in html
    again = remit(town, "520")
    assert "没有待解缴的现金" in again.get_data(as_text=True)
    entry = [e for e in store.read(Store.village(VILLAGE_A)).all("audit") if e["action"] == "remittance"]
    assert entry[0]["amount"] == 52000 and entry[0]["user"] == "township"


def test_a_cancellation_keeps_the_history(app, store, cash):
    town = Client(app, "township")
    assert remit(town, "520").status_code == 302
    row = store.read(Store.village(VILLAGE_A)).all(remittance.TABLE)[0]
    cancel = f"{SHEET}/{row['doc_id']}/cancel"
    before = store.digest()
    refused = town.form(SHEET, cancel, {"reason": "  ", "day": "2026-11-21"})
    assert refused.status_code == 302 and store.digest() == before
    assert "必须写明原因" in town.get(f"{SHEET}?day=2026-11-21").get_data(as_text=True)
    assert town.form(SHEET, cancel, {"reason": "凭证号写错", "day": "2026-11-21"}).status_code == 302
    rows = store.read(Store.village(VILLAGE_A)).all(remittance.TABLE)
    assert len(rows) == 2 and rows[1]["cancels"] == row["doc_id"] and rows[0]["amount"] == 52000
    sheet = sheet_of(app, store, "2026-11-21")["agents"][0]
    assert (sheet["remitted"], sheet["unremitted"]) == (0, 52000)
    assert [(r["slip_no"], r["in_force"], r["cancelled_by"]["reason"]) for r in sheet["remittances"]] == \
        [("YH20261121001", False, "凭证号写错")]
    html = town.get(f"{SHEET}?day=2026-11-21").get_data(as_text=True)
    assert "已撤销" in html and "凭证号写错" in html
    twice = town.form(SHEET, cancel, {"reason": "再撤", "day": "2026-11-21"})
    assert twice.status_code == 302 and len(store.read(Store.village(VILLAGE_A)).all(remittance.TABLE)) == 2
    assert remit(town, "520", slip="YH20261121002").status_code == 302


def test_a_payment_voided_after_remitting_shows_as_remitted_too_much(app, store, cash):
    town = Client(app, "township")
    assert remit(town, "520").status_code == 302
    payment = receipt(store, "A-0003")
    voided = cash["agent"].post_json(f"/api/v1/payments/{VILLAGE_A}.{payment['doc_id']}/corrections",
                                     {"reason": "收错了人，已退款", "void": True})
    assert voided.status_code == 201
    listed = remittance.outstanding(store, Scope(frozenset({VILLAGE_A})), [VILLAGE_A])
    assert [(e["day"], e["unremitted"]) for e in listed] == [("2026-11-20", 40000), ("2026-11-21", -40000)]


def test_a_correction_by_the_township_stays_the_agents_cash(app, store, cash):
    payment = receipt(store, "A-0001")
    fixed = Client(app, "township").post_json(
        f"/api/v1/payments/{VILLAGE_A}.{payment['doc_id']}/corrections",
        {"reason": "票据号抄错", "receipt_no": "A-0009"})
    assert fixed.status_code == 201
    agent = sheet_of(app, store, "2026-11-20")["agents"]
    assert [(a["agent"], a["receipts"], a["cash"]) for a in agent] == [("e001001", ["A-0009"], 40000)]


def test_the_agent_records_their_own_remittance(app, store, cash):
    agent = cash["agent"]
    page = agent.get("/e/remittance?day=2026-11-21")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert figure(html, "cash", "e001001") == "520.00"
    assert re.findall(r'href="/e/remittance\?day=([\d-]+)"', html) == ["2026-11-20", "2026-11-21"]
    data = {"village": VILLAGE_A, "agent": "township", "day": "2026-11-20", "amount": "400",
            "slip_no": "NS-7788"}
    done = agent.form("/e/remittance", "/e/remittance", data)
    assert done.status_code == 302
    rows = store.read(Store.village(VILLAGE_A)).all(remittance.TABLE)
    assert [(r["agent"], r["by"], r["amount"], r["slip_no"]) for r in rows] == \
        [("e001001", "e001001", 40000, "NS-7788")]   # their own cash, whatever the form said
    wrong = agent.form("/e/remittance", "/e/remittance", {**data, "day": "2026-11-21", "amount": "400"})
    assert wrong.status_code == 422 and "与当日未解缴现金 520.00 元不符" in wrong.get_data(as_text=True)
    before = store.digest()
    outside = agent.form("/e/remittance", "/e/remittance", {**data, "village": OTHER_VILLAGE})
    assert outside.status_code == 404 and store.digest() == before
    other = Client(app, "e001002").get("/e/remittance?day=2026-11-21").get_data(as_text=True)
    assert 'data-agent="e001001"' not in other and "没有代收或登记的缴费" in other


def test_an_agent_may_not_remit_for_another(app, store, cash):
    with app.test_request_context():
        with pytest.raises(remittance.Invalid) as refused:
            remittance.remit(store, Scope(frozenset({VILLAGE_A}), "e009999"), VILLAGE_A,
                             {"agent": "e001001", "day": "2026-11-21", "amount": "520", "slip_no": "X-1234"})
    assert "本人" in str(refused.value.errors["agent"])


OUTSIDE = [("get", f"/s/v/{OTHER_VILLAGE}/collection/remittance"),
           ("post", f"/s/v/{OTHER_VILLAGE}/collection/remittance"),
           ("post", f"/s/v/{OTHER_VILLAGE}/collection/remittance/1/cancel"),
           ("get", f"/s/v/{OTHER_VILLAGE}/collection/remittance.csv"),
           ("get", f"/s/v/{OTHER_VILLAGE}/collection/remittance.xlsx"),
           ("get", f"/s/a/{OTHER_TOWNSHIP}/collection/remittance"),
           ("get", "/s/a/370403/collection/remittance"),
           ("post", f"{SHEET}/999/cancel")]


@pytest.mark.parametrize(("method", "path"), OUTSIDE)
def test_outside_the_area_is_not_found(app, store, method, path):
    town = Client(app, "township")
    before = store.digest()
    if method == "get":
        assert town.get(path).status_code == 404
    else:
        response = town.form(SHEET, path, {"agent": "e002001", "day": "2026-11-21", "amount": "1",
                                           "slip_no": "X-1234", "reason": "试"})
        assert response.status_code == 404
    assert store.digest() == before


def test_enumerators_do_not_reach_the_townships_pages(app):
    agent = Client(app, "e001001")
    assert agent.get(SHEET).status_code == 404
    assert agent.get(f"/s/a/{TOWNSHIP_A}/collection/remittance").status_code == 404


def test_payments_from_the_tax_office_file_are_nobodys_cash():
    door = {"doc_id": 1, "payer": "person", "amount": 40000, "channel": "village_agent",
            "paid_on": "2026-11-20", "recorded_by": "e001001", "receipt_no": "A-0001", "corrects": None,
            "void": False, "source": "field"}
    confirmed = {**door, "doc_id": 2, "corrects": 1, "recorded_by": "township", "source": "import"}
    imported = {**door, "doc_id": 3, "recorded_by": "township", "receipt_no": "", "source": "import"}
    government = {**door, "doc_id": 4, "payer": "government", "channel": "government", "source": "field"}
    found = remittance.collected([door, confirmed, imported, government])
    assert [(r["doc_id"], r["collector"]) for r in found] == [(2, "e001001")]
