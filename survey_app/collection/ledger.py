"""Payments: recorded once, corrected by new rows, never deleted.

Each village's shard holds its ``payments`` table.  A row is one scheme's
money for one person from one payer (the person, or the government for a
special group's share).  A correction is a new row naming the row it
corrects (``corrects``) and why; the corrected row stays, so the history of
every yuan can be read back.  The rows in force are those nobody corrected.

Beside the rows, each person carries ``collection`` — per scheme what is in
force (paid by the person, by the government, on which days) and the line it
paid (:attr:`rates.Line.key`).  It is written in the same transaction as the
rows, so the coverage rows (coverage.py) count payments from persons alone,
with the same deltas as everything else; :func:`settlement` rebuilds it from
the rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import clock
from .. import coverage as coverage_rows
from ..formdef import Result
from ..i18n import lazy
from ..registry import (
    Conflict,
    Invalid,
    NotFound,
    Scope,
    check_uuid,
    content_digest,
    make_ref,
    parse_ref,
    write_audit,
)
from ..store import Shard, Store
from .rates import SCHEME_SHORT, Line, Rates, fen_to_yuan, lines, yuan_to_fen

TABLE = "payments"
PAYERS = ("person", "government")
GOVERNMENT_CHANNEL = "government"        # 财政代缴/资助: never typed by a person at the door
CASH_CHANNEL = "village_agent"           # cash taken by the village agent: a receipt book number
RECEIPT = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-]{3,31}$")
NOTE_LONGEST = 200


@dataclass
class Recorded:
    refs: list[str]           # one payment row per scheme
    person: str
    amount: int               # fen
    replayed: bool = False


def refuse(**errors: Any) -> Invalid:
    return Invalid(Result(errors=errors))


# -- what is owed and what is in force ---------------------------------------------------------
def in_force(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows no later row corrects (a voided row's correction itself is in force, at zero)."""
    rows = [dict(r) for r in rows]
    corrected = {r["corrects"] for r in rows if r.get("corrects")}
    return [r for r in rows if r["doc_id"] not in corrected]


def settlement(rows: Iterable[Mapping[str, Any]], person_lines: list[Line]) -> dict[str, Any]:
    """What a person's rows in force add up to, per scheme: the person's ``collection``."""
    keys = {line.scheme: line.key for line in person_lines}
    result: dict[str, dict[str, Any]] = {}
    for row in in_force(rows):
        if row.get("void") or not row.get("amount"):
            continue
        entry = result.setdefault(row["scheme"], {"person": 0, "government": 0, "days": {},
                                                  "key": row.get("line_key", "")})
        entry[row["payer"]] += row["amount"]
        if row["payer"] == "person":
            entry["days"][row["paid_on"]] = entry["days"].get(row["paid_on"], 0) + row["amount"]
        entry["key"] = keys.get(row["scheme"], row.get("line_key", ""))
    for scheme, entry in result.items():
        line = next((x for x in person_lines if x.scheme == scheme), None)
        entry["due_person"] = line.person if line else 0
        entry["due_government"] = line.government if line else 0
    return result


def outstanding(line: Line, paid: Mapping[str, Any] | None, payer: str) -> int:
    """Fen still owed on ``line`` by ``payer`` (a line whose tier or group changed since it was
    paid counts what was paid against the new amount)."""
    due = line.person if payer == "person" else line.government
    return max(0, due - int((paid or {}).get(payer, 0)))


def settled(line: Line, paid: Mapping[str, Any] | None) -> bool:
    return outstanding(line, paid, "person") == 0 and outstanding(line, paid, "government") == 0


def person_lines(person: Mapping[str, Any], rates: Rates) -> list[Line]:
    return lines(person.get("answers", {}), rates, person.get("status", ""))


# -- recording ----------------------------------------------------------------------------------
def record(store: Store, scope: Scope, rates: Rates, channels: Iterable[str],
           payload: Mapping[str, Any], *, source: str = "field", may_record_government: bool = False
           ) -> Recorded:
    """One payment at the door or the office: a person, one or more schemes, the total amount.

    Idempotent on the client's ``uuid`` (the phone's outbox retries); refused with a message per
    field when the person does not owe that scheme, the amount is not what is owed, the channel
    is unknown, or a cash payment lacks its receipt number.  Raises NotFound outside the area.
    """
    uuid = check_uuid(payload.get("uuid"))
    village, doc_id = parse_ref(payload.get("person"))
    scope.require(village)
    digest = content_digest({k: payload.get(k) for k in sorted(payload) if k != "uuid"})
    with coverage_rows.transaction(store, [village]) as shards:
        shard = shards[Store.village(village)]
        earlier = shard.find(TABLE, uuid=uuid)
        if earlier:
            if earlier[0].get("digest") != digest:
                raise Conflict(make_ref(village, earlier[0]["doc_id"]))
            return Recorded([make_ref(village, r["doc_id"]) for r in earlier], make_ref(village, doc_id),
                            sum(r["amount"] for r in earlier), replayed=True)
        person = shard.get("persons", doc_id)
        if person is None:
            raise NotFound(payload.get("person"))
        entry = _checked_entry(shard, person, rates, set(channels), payload, may_record_government)
        refs = _write_rows(shard, scope, person, entry, uuid=uuid, digest=digest, source=source)
        _settle(shard, person, rates)
        write_audit(shard, scope, "payment", make_ref(village, doc_id), amount=entry["amount"],
                    schemes=[line.scheme for line, _ in entry["parts"]], channel=entry["channel"])
    return Recorded([make_ref(village, i) for i in refs], make_ref(village, doc_id), entry["amount"])


def _checked_entry(shard: Shard, person: Mapping[str, Any], rates: Rates, channels: set[str],
                   payload: Mapping[str, Any], may_record_government: bool) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    payer = str(payload.get("payer") or "person")
    if payer not in PAYERS or (payer == "government" and not may_record_government):
        errors["payer"] = lazy("政府代缴、资助的款项由乡镇（街道）工作人员按税务部门的数据记录。")
    channel = GOVERNMENT_CHANNEL if payer == "government" else str(payload.get("channel") or "")
    if payer == "person" and channel not in channels:
        errors["channel"] = lazy("请选择缴费方式。")
    receipt = str(payload.get("receipt_no") or "").strip().upper()
    if receipt and not RECEIPT.match(receipt):
        errors["receipt_no"] = lazy("票据号只能是4到32位字母、数字或短横线。")
    elif channel == CASH_CHANNEL and not receipt:
        errors["receipt_no"] = lazy("代办员收取现金时必须填写统一收款票据的号码。")
    elif receipt and _receipt_used_by_another(shard, receipt, person["doc_id"]):
        errors["receipt_no"] = lazy("这个票据号已开给本村其他人，请核对票据。")
    paid_on = _paid_on(payload.get("paid_on"), errors)
    parts = _parts(person, rates, payload.get("schemes"), payer, errors)
    amount = _amount(payload.get("amount"), parts, errors) if parts else 0
    if errors:
        raise refuse(**errors)
    return {"payer": payer, "channel": channel, "receipt_no": receipt, "paid_on": paid_on,
            "parts": parts, "amount": amount,
            "note": " ".join(str(payload.get("note") or "").split())[:NOTE_LONGEST]}


def _receipt_used_by_another(shard: Shard, receipt: str, person_id: int) -> bool:
    return any(r["person"] != person_id for r in in_force(shard.find(TABLE, receipt_no=receipt))
               if not r.get("void"))


def _paid_on(raw: Any, errors: dict[str, Any]) -> str:
    today = clock.today()
    if raw in (None, ""):
        return today.isoformat()
    try:
        day = dt.date.fromisoformat(str(raw))
    except ValueError:
        errors["paid_on"] = lazy("缴费日期应为“年-月-日”，如 2026-11-03。")
        return ""
    if day > today:
        errors["paid_on"] = lazy("缴费日期不能晚于今天。")
    return day.isoformat()


def _parts(person: Mapping[str, Any], rates: Rates, schemes: Any, payer: str,
           errors: dict[str, Any]) -> list[tuple[Line, int]]:
    """Each chosen scheme's line with what ``payer`` still owes on it."""
    if not rates.configured:
        errors["schemes"] = lazy("本年度缴费标准尚未设置，暂不能记录缴费。")
        return []
    chosen = [schemes] if isinstance(schemes, str) else list(schemes or [])
    if not chosen:
        errors["schemes"] = lazy("请选择缴费的险种。")
        return []
    owed = {line.scheme: line for line in person_lines(person, rates)}
    if not owed:
        errors["schemes"] = lazy("此人没有本年度应缴的城乡居民保险（登记未完成、未参加或不在本地）。")
        return []
    paid = person.get("collection") or {}
    parts = []
    for scheme in dict.fromkeys(str(s) for s in chosen):
        line = owed.get(scheme)
        if line is None:
            errors["schemes"] = lazy("此人没有参加“%(s)s”，不能为该险种缴费。",
                                     s=SCHEME_SHORT.get(scheme, scheme))
            return []
        left = outstanding(line, paid.get(scheme), payer)
        if left == 0:
            errors["schemes"] = lazy("“%(s)s”本年度已经缴清，不能重复缴费。", s=SCHEME_SHORT[scheme])
            return []
        parts.append((line, left))
    return parts


def _amount(raw: Any, parts: list[tuple[Line, int]], errors: dict[str, Any]) -> int:
    due = sum(left for _, left in parts)
    try:
        amount = yuan_to_fen(raw)
    except ValueError:
        errors["amount"] = lazy("请填写金额（元），如 400 或 400.00。")
        return 0
    if amount > due:
        errors["amount"] = lazy("金额 %(a)s 元超过应缴的 %(d)s 元，多收的钱不能入账，请核对。",
                                a=fen_to_yuan(amount), d=fen_to_yuan(due))
    elif amount < due:
        errors["amount"] = lazy("金额 %(a)s 元少于应缴的 %(d)s 元：每个险种须按所选档次一次缴清。",
                                a=fen_to_yuan(amount), d=fen_to_yuan(due))
    return amount


def _write_rows(shard: Shard, scope: Scope, person: Mapping[str, Any], entry: Mapping[str, Any],
                **extra: Any) -> list[int]:
    stamp = clock.now_iso()
    return [shard.insert(TABLE, {
        "person": person["doc_id"], "household": person["household"], "scheme": line.scheme,
        "line_key": line.key, "payer": entry["payer"], "amount": left, "channel": entry["channel"],
        "receipt_no": entry["receipt_no"], "tax_ticket": entry.get("tax_ticket", ""),
        "paid_on": entry["paid_on"], "note": entry["note"], "recorded_by": scope.username,
        "recorded_at": stamp, "corrects": None, "void": False, **extra,
    }) for line, left in entry["parts"]]


def _settle(shard: Shard, person: Mapping[str, Any], rates: Rates) -> None:
    """Write the person's ``collection`` from their rows in force (same transaction)."""
    current = shard.get("persons", person["doc_id"])
    rows = shard.find(TABLE, person=person["doc_id"])
    record = {k: v for k, v in current.items() if k != "doc_id"}
    record["collection"] = settlement(rows, person_lines(current, rates))
    shard.replace("persons", person["doc_id"], record)


# -- corrections ----------------------------------------------------------------------------------
def correct(store: Store, scope: Scope, rates: Rates, channels: Iterable[str], ref: str,
            changes: Mapping[str, Any]) -> str:
    """A new row in place of payment ``ref``: cancelled (``void``) or with another channel,
    receipt number or date; ``reason`` is required.  The amount is not edited: a wrong amount
    is cancelled and recorded again, so each receipt's sum stays readable."""
    village, doc_id = parse_ref(ref)
    scope.require(village)
    reason = " ".join(str(changes.get("reason") or "").split())[:NOTE_LONGEST]
    with coverage_rows.transaction(store, [village]) as shards:
        shard = shards[Store.village(village)]
        row = shard.get(TABLE, doc_id)
        if row is None:
            raise NotFound(ref)
        if shard.find(TABLE, corrects=doc_id):
            raise refuse(payment=lazy("这笔缴费已经更正过，请更正最新的那一条。"))
        if not reason:
            raise refuse(reason=lazy("更正缴费必须写明原因。"))
        new = _corrected(shard, row, rates, set(channels), changes, reason, scope)
        new_id = shard.insert(TABLE, new)
        person = shard.get("persons", row["person"])
        if person is not None:
            _settle(shard, person, rates)
        write_audit(shard, scope, "payment_void" if new["void"] else "payment_correct",
                    make_ref(village, row["person"]), payment=make_ref(village, doc_id))
    return make_ref(village, new_id)


def _corrected(shard: Shard, row: Mapping[str, Any], rates: Rates, channels: set[str],
               changes: Mapping[str, Any], reason: str, scope: Scope) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    void = changes.get("void") in (True, "1", "true", "on", "yes")
    new = {k: v for k, v in row.items() if k not in ("doc_id", "uuid", "digest")}
    if "channel" in changes and not void and row["payer"] == "person":
        if changes["channel"] not in channels:
            errors["channel"] = lazy("请选择缴费方式。")
        new["channel"] = str(changes["channel"])
    if "receipt_no" in changes:
        receipt = str(changes["receipt_no"] or "").strip().upper()
        if receipt and not RECEIPT.match(receipt):
            errors["receipt_no"] = lazy("票据号只能是4到32位字母、数字或短横线。")
        new["receipt_no"] = receipt
    if not void and new["channel"] == CASH_CHANNEL and not new["receipt_no"]:
        errors["receipt_no"] = lazy("代办员收取现金时必须填写统一收款票据的号码。")
    if "paid_on" in changes:
        new["paid_on"] = _paid_on(changes["paid_on"], errors)
    if errors:
        raise refuse(**errors)
    return {**new, "corrects": row["doc_id"], "void": void, "amount": 0 if void else row["amount"],
            "reason": reason, "recorded_by": scope.username, "recorded_at": clock.now_iso(),
            "source": "correction"}


# -- the tax office's file -------------------------------------------------------------------------
@dataclass(frozen=True)
class Imported:
    """One checked row of the tax office's file (collection.taxfile): a new payment with its
    ticket, or the ticket of a payment recorded at the door (``confirms`` that row's doc_id)."""

    person: int
    scheme: str
    payer: str
    amount: int          # fen
    channel: str
    paid_on: str
    tax_ticket: str
    note: str = ""
    confirms: int | None = None


CONFIRMED_REASON = "税务部门数据核对，补记税票号"  # kept in the record as written, in any reader's language


def write_imported(store: Store, scope: Scope, rates: Rates, village: str,
                   recheck: Callable[[Shard], list[Imported]]) -> list[str]:
    """One village's rows of a tax file in one transaction.  ``recheck`` judges the file's rows
    again against the locked shard and raises to write nothing (a door payment may have come in
    since the dry run).  A confirmation is a correction row: the door row stays, as history."""
    scope.require(village)
    with coverage_rows.transaction(store, [village]) as shards:
        shard = shards[Store.village(village)]
        refs: list[str] = []
        touched: dict[int, Mapping[str, Any]] = {}
        for entry in recheck(shard):
            person = shard.get("persons", entry.person)
            if person is None:
                raise NotFound(make_ref(village, entry.person))
            doc_id = (_insert_confirmation(shard, scope, entry) if entry.confirms is not None
                      else _insert_imported(shard, scope, rates, person, entry))
            refs.append(make_ref(village, doc_id))
            write_audit(shard, scope, "payment_import" if entry.confirms is None else "payment_confirm",
                        make_ref(village, entry.person), payment=refs[-1], amount=entry.amount,
                        scheme=entry.scheme, payer=entry.payer, tax_ticket=entry.tax_ticket)
            touched[entry.person] = person
        for person in touched.values():
            _settle(shard, person, rates)
    return refs


def _insert_imported(shard: Shard, scope: Scope, rates: Rates, person: Mapping[str, Any],
                     entry: Imported) -> int:
    line = next(x for x in person_lines(person, rates) if x.scheme == entry.scheme)
    return shard.insert(TABLE, {
        "person": entry.person, "household": person["household"], "scheme": entry.scheme,
        "line_key": line.key, "payer": entry.payer, "amount": entry.amount, "channel": entry.channel,
        "receipt_no": "", "tax_ticket": entry.tax_ticket, "paid_on": entry.paid_on, "note": entry.note,
        "recorded_by": scope.username, "recorded_at": clock.now_iso(), "corrects": None, "void": False,
        "source": "import"})


def _insert_confirmation(shard: Shard, scope: Scope, entry: Imported) -> int:
    row = shard.get(TABLE, entry.confirms)
    kept = {k: v for k, v in row.items() if k not in ("doc_id", "uuid", "digest")}
    return shard.insert(TABLE, {
        **kept, "tax_ticket": entry.tax_ticket, "corrects": row["doc_id"], "void": False,
        "reason": CONFIRMED_REASON, "recorded_by": scope.username,
        "recorded_at": clock.now_iso(), "source": "import"})


# -- reading ------------------------------------------------------------------------------------
def history(store: Store, scope: Scope, person_ref: str) -> list[dict[str, Any]]:
    """Every payment row of a person, corrections included, oldest first, with whether it is in
    force (what the person page and the dispute ledger show)."""
    village, doc_id = parse_ref(person_ref)
    scope.require(village)
    rows = store.read(Store.village(village)).find(TABLE, person=doc_id)
    live = {r["doc_id"] for r in in_force(rows)}
    return [{**r, "ref": make_ref(village, r["doc_id"]), "in_force": r["doc_id"] in live}
            for r in sorted(rows, key=lambda r: r["doc_id"])]


def payments_in(store: Store, scope: Scope, village: str) -> list[dict[str, Any]]:
    """A village's rows (all of them: remittance sheets and audits read the corrections too)."""
    scope.require(village)
    return [{**r, "ref": make_ref(village, r["doc_id"])}
            for r in store.read(Store.village(village)).all(TABLE)]
