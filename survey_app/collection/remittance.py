"""Daily remittance (按日报解): what each village agent collected on a day, and the cash handed in.

Seed 001 asks village agents (村居代办员) to pay the cash they take at the door into
the tax office's account the same day and report it (日清日结、按日报解).  The sheet of
a day is read from the village's payment rows in force (ledger.py), by the person who
took each payment — the recorder of the payment's first row, since a correction is
recorded by whoever corrected it — and by channel: only cash (``village_agent``) is
the agent's to hand in; money paid by WeChat, Alipay or at a bank went to the tax
office directly and is listed so the receipts add up.

Each remittance is a row of the village's append-only ``remittances`` table: whose
cash of which day, the amount, the bank slip's number (缴款凭证号).  The amount must
be exactly the cash of that agent and day not yet handed in, so a sheet never shows
a day half-settled by a typing error; a wrong row is cancelled by a new row giving
the reason, and stays readable.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .. import clock
from ..formdef import Result
from ..i18n import lazy
from ..registry import Invalid, NotFound, Scope, make_ref, parse_ref, write_audit
from ..store import Shard, Store
from . import ledger
from .rates import fen_to_yuan, yuan_to_fen

TABLE = "remittances"
SLIP = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-]{3,39}$")
REASON_LONGEST = 200
IMPORTED = "import"   # a payment row's ``source`` when the tax office's file brought it (taxfile.py)


def refuse(**errors: Any) -> Invalid:
    return Invalid(Result(errors=errors))


# -- what was collected ---------------------------------------------------------------------------
def collected(payments: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The persons' payment rows in force with money, each with ``collector``: who took it.
    A payment first known from the tax office's file was taken by nobody here."""
    rows = [dict(r) for r in payments]
    by_id = {r["doc_id"]: r for r in rows}
    found = []
    for row in ledger.in_force(rows):
        if row.get("payer") != "person" or row.get("void") or not row.get("amount"):
            continue
        first = row
        while first.get("corrects") in by_id:   # back to the row written when the money was taken
            first = by_id[first["corrects"]]
        if first.get("source") == IMPORTED:
            continue  # read from the tax office's file: the money is in its account already
        found.append({**row, "collector": str(first.get("recorded_by") or "")})
    return found


def in_force(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Remittances nobody cancelled (a cancellation is a row naming the row it cancels)."""
    rows = [dict(r) for r in rows]
    cancelled = {r["cancels"] for r in rows if r.get("cancels")}
    return [r for r in rows if not r.get("cancels") and r["doc_id"] not in cancelled]


def _cash(rows: Iterable[Mapping[str, Any]]) -> Counter:
    """Cash taken per (agent, day)."""
    cash: Counter = Counter()
    for r in rows:
        if r["channel"] == ledger.CASH_CHANNEL:
            cash[(r["collector"], r["paid_on"])] += r["amount"]
    return cash


def _remitted(rows: Iterable[Mapping[str, Any]]) -> Counter:
    """Cash handed in per (agent, day), cancelled rows left out."""
    remitted: Counter = Counter()
    for r in in_force(rows):
        remitted[(r["agent"], r["day"])] += r["amount"]
    return remitted


def _unremitted(shard: Shard, agent: str, day: str) -> int:
    cash = _cash(collected(shard.all(ledger.TABLE)))[(agent, day)]
    return cash - _remitted(shard.all(TABLE))[(agent, day)]


# -- the sheets -----------------------------------------------------------------------------------
def village_sheet(store: Store, scope: Scope, village: str, day: str,
                  agent: str | None = None) -> dict[str, Any]:
    """A village's sheet for ``day``: per agent (only ``agent`` when given) the receipts issued,
    the amounts per channel, the cash to remit, remitted and still to remit; and the totals.
    Raises NotFound outside the area."""
    scope.require(village)
    shard = store.read(Store.village(village))
    rows = [r for r in collected(shard.all(ledger.TABLE)) if r["paid_on"] == day]
    handed = [{**r, "ref": make_ref(village, r["doc_id"])} for r in shard.all(TABLE) if r["day"] == day]
    agents = sorted({r["collector"] for r in rows} | {r["agent"] for r in handed})
    if agent is not None:
        agents = [a for a in agents if a == agent]
    sheets = [_agent_sheet(a, [r for r in rows if r["collector"] == a],
                           [r for r in handed if r["agent"] == a]) for a in agents]
    return {"village": village, "day": day, "agents": sheets, "totals": _totals(sheets)}


def _agent_sheet(agent: str, rows: list[dict[str, Any]], handed: list[dict[str, Any]]) -> dict[str, Any]:
    by_channel: Counter = Counter()
    for r in rows:
        by_channel[r["channel"]] += r["amount"]
    receipts = sorted({r["receipt_no"] for r in rows if r.get("receipt_no")})
    cash = by_channel.get(ledger.CASH_CHANNEL, 0)
    remitted = sum(r["amount"] for r in in_force(handed))
    live = {r["doc_id"] for r in in_force(handed)}
    cancelled_by = {r["cancels"]: r for r in handed if r.get("cancels")}
    history = [{**r, "in_force": r["doc_id"] in live, "cancelled_by": cancelled_by.get(r["doc_id"])}
               for r in sorted(handed, key=lambda r: r["doc_id"]) if not r.get("cancels")]
    return {"agent": agent, "receipts": receipts, "receipt_count": len(receipts),
            "by_channel": dict(by_channel), "total": sum(by_channel.values()), "cash": cash,
            "remitted": remitted, "unremitted": cash - remitted, "remittances": history}


def _totals(sheets: list[dict[str, Any]]) -> dict[str, Any]:
    by_channel: Counter = Counter()
    for s in sheets:
        by_channel.update(s["by_channel"])
    return {"receipt_count": sum(s["receipt_count"] for s in sheets), "by_channel": dict(by_channel),
            **{k: sum(s[k] for s in sheets) for k in ("total", "cash", "remitted", "unremitted")}}


def outstanding(store: Store, scope: Scope, villages: Iterable[str],
                agent: str | None = None) -> list[dict[str, Any]]:
    """Every (village, day, agent) whose cash and remittances differ — still to remit, or
    remitted more than is now in force (a payment voided after it was handed in) — oldest
    first.  One village's shard read at a time."""
    found = []
    for village in villages:
        scope.require(village)
        shard = store.read(Store.village(village))
        cash = _cash(collected(shard.all(ledger.TABLE)))
        remitted = _remitted(shard.all(TABLE))
        for key in set(cash) | set(remitted):
            if cash[key] != remitted[key] and (agent is None or key[0] == agent):
                found.append({"village": village, "agent": key[0], "day": key[1], "cash": cash[key],
                              "remitted": remitted[key], "unremitted": cash[key] - remitted[key]})
    return sorted(found, key=lambda r: (r["day"], r["village"], r["agent"]))


def by_village(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Fen still to remit per village (the township page's subtotals)."""
    total: Counter = Counter()
    for e in entries:
        total[e["village"]] += e["unremitted"]
    return dict(total)


# -- recording ------------------------------------------------------------------------------------
def remit(store: Store, scope: Scope, village: str, payload: Mapping[str, Any], *,
          for_others: bool = False) -> str:
    """Record that ``agent`` handed in the cash of ``day``: the amount must equal what is still
    to remit, the bank slip's number is required.  An agent records only their own cash
    (``for_others``: township staff).  Raises Invalid (nothing written) or NotFound."""
    scope.require(village)
    errors: dict[str, Any] = {}
    agent = str(payload.get("agent") or "").strip()
    if not agent:
        errors["agent"] = lazy("请选择代收人。")
    elif not for_others and agent != scope.username:
        errors["agent"] = lazy("只能登记本人代收现金的解缴。")
    day = _day(payload.get("day"), errors)
    slip = str(payload.get("slip_no") or "").strip().upper()
    if not SLIP.match(slip):
        errors["slip_no"] = lazy("请填写银行缴款凭证号（4到40位字母、数字或短横线）。")
    try:
        amount = yuan_to_fen(payload.get("amount"))
    except ValueError:
        errors["amount"] = lazy("请填写解缴金额（元），如 400 或 400.00。")
        amount = 0
    if errors:
        raise refuse(**errors)
    name = Store.village(village)
    with store.transaction(name) as shards:
        shard = shards[name]
        due = _unremitted(shard, agent, day)
        if due <= 0:
            raise refuse(amount=lazy("%(a)s %(d)s 没有待解缴的现金。", a=agent, d=day))
        if amount != due:
            raise refuse(amount=lazy("解缴金额 %(a)s 元与当日未解缴现金 %(d)s 元不符，请核对后重新填写。",
                                     a=fen_to_yuan(amount), d=fen_to_yuan(due)))
        doc_id = shard.insert(TABLE, {"agent": agent, "day": day, "amount": amount, "slip_no": slip,
                                      "by": scope.username, "at": clock.now_iso(), "cancels": None,
                                      "reason": ""})
        ref = make_ref(village, doc_id)
        write_audit(shard, scope, "remittance", ref, agent=agent, day=day, amount=amount, slip_no=slip)
    return ref


def cancel(store: Store, scope: Scope, ref: str, reason: Any) -> str:
    """Cancel remittance ``ref`` by a new row with the reason; the cancelled row stays."""
    village, doc_id = parse_ref(ref)
    scope.require(village)
    reason = " ".join(str(reason or "").split())[:REASON_LONGEST]
    name = Store.village(village)
    with store.transaction(name) as shards:
        shard = shards[name]
        row = shard.get(TABLE, doc_id)
        if row is None or row.get("cancels"):
            raise NotFound(ref)
        if shard.find(TABLE, cancels=doc_id):
            raise refuse(remittance=lazy("这笔解缴已经撤销过。"))
        if not reason:
            raise refuse(reason=lazy("撤销解缴必须写明原因。"))
        new_id = shard.insert(TABLE, {"agent": row["agent"], "day": row["day"], "amount": 0,
                                      "slip_no": row["slip_no"], "by": scope.username,
                                      "at": clock.now_iso(), "cancels": doc_id, "reason": reason})
        write_audit(shard, scope, "remittance_cancel", ref, agent=row["agent"], day=row["day"],
                    amount=row["amount"])
    return make_ref(village, new_id)


def _day(raw: Any, errors: dict[str, Any]) -> str:
    try:
        day = dt.date.fromisoformat(str(raw or ""))
    except ValueError:
        errors["day"] = lazy("日期应为“年-月-日”，如 2026-11-03。")
        return ""
    if day > clock.today():
        errors["day"] = lazy("日期不能晚于今天。")
    return day.isoformat()


def parse_day(raw: Any) -> str | None:
    """A sheet's ``?day=``: today when absent, None when unreadable (the page says so)."""
    if raw in (None, ""):
        return clock.today().isoformat()
    try:
        return dt.date.fromisoformat(str(raw)).isoformat()
    except ValueError:
        return None
