"""A few weeks of the demo district's dispute ledger, played through the ledger's own steps.

``canbao demo`` calls :func:`load` after the registrations, so the desk, the digest and the
analysis open on something real: an item replied on time, one overdue at a department, one
escalated to the working group and replied, one reopened after an unsatisfied party, a party
who came back, and today's intake.  Each step runs at its day in the past (the ledger stamps
``clock.now``), so due dates, days left and handling times are what they would have been.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

from faker import Faker

from .. import clock, formdef
from ..campaign import Campaign
from ..grid import Grid
from ..store import Store
from ..workdays import ONE_DAY, WorkCalendar
from . import ledger

# (working days ago, who, step, arguments): who is a demo account; "intake" takes the item's answers.
Script = list[tuple[int, str, str, tuple[Any, ...]]]


def load(store: Store, grid: Grid, campaign: Campaign, forms_dir: str, *, seed: int = 2026) -> int:
    """Play the demo scripts into the first township's ledger; the number of items written
    (none when that ledger already holds items: a demo loaded twice keeps its first history)."""
    township = grid.townships[0]["code"]
    if store.read(Store.disputes(township)).all(ledger.TABLE):
        return 0
    villages = [v["code"] for v in grid.children(township)]
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    definition = formdef.load(forms_dir, "dispute")
    people = _people(store, villages)
    regular = _party(fake)  # comes back about the same payment
    for number, (village, house, script) in enumerate(_scripts(villages, regular, fake)):
        ref = None
        for ago, who, step, args in script:
            ctx = _context(store, grid, campaign, who)
            with _at(_working_days_ago(campaign.workdays, ago)):
                if step == "intake":
                    household, person = _linked(people.get(village, []), house)
                    ref = ledger.intake(ctx, definition, village, {**args[0], "uuid": _uuid(seed, number)},
                                        household=household, person=person)
                else:
                    getattr(ledger, step)(ctx, ref, *args)
    return number + 1


def _scripts(villages: list[str], regular: dict[str, str],
             fake: Faker) -> list[tuple[str, int | None, Script]]:
    """(village, which of its households the item concerns — None when taken at a window with no
    registration to link —, the steps)."""
    first, second = villages[0], villages[-1]
    return [
        (first, 0, [(14, "e001001", "intake", (_answers(regular, "visit", "records",
                  "去年在村里交了医保，今年名单上显示未缴。", "收据在手，建议税务核实入库。"),)),
                 (13, "township", "transfer", ("tax", "需核实入库记录")),
                 (10, "tax", "reply", ("已入库，系银行批量扣款延迟，名单已更正。", "phone")),
                 (10, "township", "rate", ("satisfied",))]),
        (first, 0, [(3, "e001001", "intake", (_answers(regular, "visit", "records",
                  "要一份去年的缴费证明，村里开不了。", "已解释凭证由税务出具，转税务。"),)),
                 (3, "township", "transfer", ("tax", "出具缴费凭证"))]),
        (second, 1, [(9, "township", "intake", (_answers(_party(fake), "window", "base",
                   "养老选了500元档次，想改成1000元。", "按规定可在缴费前变更，转人社。"),)),
                  (8, "township", "transfer", ("hrss", "变更缴费档次"))]),
        (first, None, [(22, "township", "intake", (_answers(_party(fake), "phone", "employer",
                   "在镇上厂里干了三年，厂里一直没给交社保。", "涉及单位参保，转人社、税务。"),)),
                  (21, "township", "joint", (["hrss", "tax"], "单位未登记，需联合核查")),
                  (15, "township", "escalate", ("单位拒不配合，期限内无法办结", )),
                  (4, "task_force", "reply", ("专班约谈企业，已补登记并补缴三年。", "in_person")),
                  (4, "township", "rate", ("basically",))]),
        (second, 2, [(12, "township", "intake", (_answers(_party(fake),
                   "window", "special", "去年多交了一次，要退费。", "重复缴费，转税务办理退费。"),)),
                  (11, "township", "transfer", ("tax", "重复缴费退费")),
                  (7, "tax", "reply", ("已受理退费，款项原路退回。", "phone")),
                  (6, "township", "rate", ("dissatisfied",)),
                  (6, "township", "reopen", ("当事人称十个工作日仍未到账", )),
                  (5, "township", "transfer", ("finance", "催办退费到账"))]),
        (first, None, [(1, "township", "intake", (_answers(_party(fake), "window", "service",
                   "代办员收钱不给收据。", "已核对收据本，约谈代办员。"),))]),
        (first, 2, [(0, "e001001", "intake", (_answers(_party(fake), "visit", "special",
                   "为什么补缴要交滞纳金？", "已解释城乡居民保险不收滞纳金，当事人所说为职工补缴。"),))]),
    ]


def _answers(party: dict[str, str], channel: str, category: str, content: str,
             opinion: str) -> dict[str, str]:
    return {**party, "channel": channel, "category": category, "content": content, "first_opinion": opinion}


def _party(fake: Faker) -> dict[str, str]:
    return {"party_name": fake.name(), "party_phone": f"13{fake.numerify('#########')}"}


def _people(store: Store, villages: list[str]) -> dict[str, list[tuple[str, str | None]]]:
    """Each village's households, each with its first person: what the demo's items concern."""
    found = {}
    for village in villages:
        shard = store.read(Store.village(village))
        first_person = {}
        for person in shard.all("persons"):
            first_person.setdefault(person.get("household"), f"{village}.{person['doc_id']}")
        found[village] = [(f"{village}.{house['doc_id']}", first_person.get(house["doc_id"]))
                          for house in shard.all("households")]
    return found


def _linked(households: list[tuple[str, str | None]], index: int | None) -> tuple[str | None, str | None]:
    if index is None or index >= len(households):
        return None, None
    return households[index]


def _context(store: Store, grid: Grid, campaign: Campaign, username: str) -> ledger.Context:
    from ..users import get_account
    account = get_account(store, username)
    viewer = ledger.Viewer(account.dispute_villages(grid), username,
                           frozenset([account.department]) if account.department else frozenset(),
                           staff=account.is_staff)
    return ledger.Context(store, viewer, campaign.disputes, campaign.workdays)


def _working_days_ago(calendar: WorkCalendar, days: int) -> dt.date:
    day, left = clock.today(), days
    while left > 0:
        day -= ONE_DAY
        left -= calendar.is_workday(day)
    return day


@contextlib.contextmanager
def _at(day: dt.date) -> Iterator[None]:
    """The ledger's clock at 10:00 of that day (Beijing time), for the script's steps."""
    real = clock.utc_now
    moment = dt.datetime(day.year, day.month, day.day, 2, 0, tzinfo=dt.UTC)
    clock.utc_now = lambda: moment
    try:
        yield
    finally:
        clock.utc_now = real


def _uuid(seed: int, number: int) -> str:
    return str(uuid.UUID(int=(seed << 32) + number))
