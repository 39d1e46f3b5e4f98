"""The tax office's own roll or payment detail (XLSX/CSV from its system), matched by ID number.

Since 2019 the tax office collects residents' contributions (seeds 000, 001): what it
received is the truth the village's records are checked against.  Staff upload its
detail — one payment a row: ID number, scheme, amount, date, ticket number, channel.

Every row is checked first against the store as it is (a dry run); if any row is
wrong, nothing is written and the report lists every row with its number.  Otherwise
each village's rows are written in one transaction (ledger.write_imported), checked
again there under the lock.  A row is:

- *unchanged*: its ticket is already recorded for that person, scheme, payer and amount
  (importing the same file again changes nothing, not even the store's digest);
- *confirmed*: the enumerator recorded this payment at the door without a ticket: a
  correction row adds the tax ticket (已核对，补记税票号);
- *new*: a payment the person made elsewhere (an app, a bank), recorded with its ticket.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import clock, idcard, privacy, sheets, textnorm
from ..i18n import lazy
from ..registry import Scope, locate_id_number
from ..store import Shard, Store
from . import ledger
from .rates import SCHEME_SHORT, Rates, fen_to_yuan, yuan_to_fen

MAX_ROWS = 60_000     # one upload: a township's year (two schemes for ~30,000 people)
COLUMNS = {           # field: the headers tax systems use for it, the first one named in messages
    "id_number": ("公民身份号码", "身份证号码", "身份证号", "公民身份证号码", "证件号码", "身份号码"),
    "scheme": ("险种", "征收项目", "险种名称", "征收品目"),
    "amount": ("金额", "缴费金额", "实缴金额"),
    "paid_on": ("缴费日期", "入库日期", "缴款日期", "缴费时间", "入库时间"),
    "ticket": ("票据号", "电子税票号码", "税票号码", "票证号码", "票据号码", "税票号"),
    "channel": ("缴费渠道", "缴费方式", "缴款方式"),
}
REQUIRED = ("id_number", "scheme", "amount", "paid_on", "ticket")
GOVERNMENT_WORDS = ("政府代缴", "财政代缴", "政府资助")
# Channel words of the tax office's files → the registration form's payment_channel values;
# checked in order: "村居代收" is the agent's, "村镇银行" a bank's.
CHANNEL_WORDS = (
    ("微信", "wechat"), ("支付宝", "alipay"), ("爱山东", "gov_app"), ("政务", "gov_app"),
    ("代办", "village_agent"), ("代收", "village_agent"), ("银行", "bank"), ("柜台", "bank"),
    ("网银", "bank"), ("办税", "tax_hall"), ("税务", "tax_hall"), ("村", "village_agent"),
)
FALLBACK_CHANNEL = "tax_hall"  # a channel the file does not name: the tax office received it
TICKET = re.compile(r"^[0-9A-Z][0-9A-Z\-]{3,39}$")
DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # a date cell without a date format arrives as its day number
OUTCOMES = ("new", "confirmed", "unchanged", "error")
IMPORT_NOTE = "税务部门数据导入"  # the payment's note, data kept as written (the channel as the file says it)


class TaxFileError(sheets.SheetError):
    """The file as a whole cannot be used (unreadable, a column missing); nothing was written."""


class ChangedMeanwhile(Exception):
    """A row checked in the dry run no longer holds under the village's lock."""


@dataclass
class Row:
    """One row of the file as read, then where it matched and what becomes of it."""

    line: int                 # the row's number in the file (the header is row 1)
    id_number: str            # folded; shown masked only
    scheme_text: str
    amount_text: str
    ticket: str
    scheme: str = ""
    payer: str = "person"
    amount: int = 0
    paid_on: str = ""
    channel: str = ""
    channel_text: str = ""
    village: str = ""
    person: int = 0
    outcome: str = ""         # one of OUTCOMES once judged
    message: str = ""

    def fail(self, message: Any) -> None:
        if not self.outcome:  # the first problem found is the one worth fixing first
            self.outcome, self.message = "error", str(message)

    def as_problem(self) -> dict[str, Any]:
        """What a job record and the error list keep of the row: no full ID number."""
        return {"line": self.line, "id": privacy.mask_id(self.id_number), "scheme": self.scheme_text,
                "amount": self.amount_text, "ticket": self.ticket, "message": self.message}


@dataclass
class Report:
    rows: list[Row]
    applied: bool             # False: some row is wrong and nothing was written

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for row in self.rows:
            counts[row.outcome] += 1
        return {"rows": len(self.rows), **counts}

    @property
    def errors(self) -> list[Row]:
        return [row for row in self.rows if row.outcome == "error"]


# -- reading --------------------------------------------------------------------------------------
def read(filename: str, content: bytes | Path, channels: Iterable[str], *, max_rows: int | None = MAX_ROWS,
         progress: Callable[[str, int], None] | None = None) -> list[Row]:
    """The file's rows, each with what is wrong with its own cells; TaxFileError for the file."""
    channels = set(channels)
    found: dict[str, str] | None = None
    rows: list[Row] = []
    for number, raw in enumerate(sheets.iter_rows(filename, content, max_rows=max_rows), start=2):
        if found is None:
            found = columns(raw.keys())
        rows.append(parse_row(number, raw, found, channels))
        if progress and len(rows) % sheets.PROGRESS_ROWS == 0:
            progress("reading", len(rows))
    if not rows:
        raise TaxFileError([str(lazy("文件中没有数据行（第一行应为表头）。"))])
    return rows


def _header_key(text: str) -> str:
    key = textnorm.fold_text(text).replace(" ", "").replace("(", "（").replace(")", "）")
    return key.removesuffix("（元）")


def columns(header: Iterable[str]) -> dict[str, str]:
    """Which header names each field; one TaxFileError naming every required column missing."""
    present = {_header_key(h): h for h in header if h}
    found = {field: next(present[_header_key(n)] for n in names if _header_key(n) in present)
             for field, names in COLUMNS.items() if any(_header_key(n) in present for n in names)}
    missing = [field for field in REQUIRED if field not in found]
    if missing:
        named = "；".join(f"{COLUMNS[f][0]}（或{'、'.join(COLUMNS[f][1:])}）" for f in missing)
        raise TaxFileError([str(lazy("缺少列：%(c)s。第一行应为表头，未导入任何数据。", c=named))])
    return found


def parse_row(line: int, raw: Mapping[str, str], found: Mapping[str, str], channels: set[str]) -> Row:
    cell = {field: (raw.get(header) or "").strip() for field, header in found.items()}
    row = Row(line, idcard.normalise(cell["id_number"]), cell["scheme"], cell["amount"],
              textnorm.fold_code(cell["ticket"]), channel_text=cell.get("channel", ""))
    _check_id(row, cell["id_number"])
    row.scheme = scheme_of(row.scheme_text)
    if not row.scheme:
        row.fail(lazy("险种“%(s)s”不是城乡居民基本养老保险或城乡居民基本医疗保险。", s=row.scheme_text))
    row.amount = _amount(row)
    row.paid_on = _date(row, cell["paid_on"])
    if not row.ticket:
        row.fail(lazy("缺少税票号（票据号）。"))
    elif not TICKET.match(row.ticket):
        row.fail(lazy("税票号“%(t)s”应为4到40位字母、数字或短横线。", t=row.ticket))
    row.payer, row.channel = channel_of(row.channel_text, channels)
    return row


def _check_id(row: Row, raw: str) -> None:
    if not row.id_number:
        row.fail(lazy("缺少公民身份号码。"))
    elif re.search(r"[Ee]\+", raw):
        row.fail(lazy("公民身份号码被存成了数字（科学计数法），末几位已丢失；请把该列设为“文本”格式后重新导出。"))
    elif idcard.LEGACY_PATTERN.match(row.id_number):
        row.fail(lazy("15位旧号码，须与证件核对后改为18位。"))
    else:
        try:
            idcard.parse(row.id_number)
        except idcard.IdNumberError as exc:
            row.fail(exc.args[0])


def scheme_of(text: str) -> str:
    """城乡居民基本养老保险(费)/居民养老/养老 → resident_pension; …医疗…/居民医保 → resident_medical;
    employees' schemes and anything else → ""."""
    folded = textnorm.fold_text(text).replace(" ", "")
    if folded in SCHEME_SHORT:
        return folded
    if not folded or "职工" in folded or "企业" in folded:
        return ""
    if "养老" in folded:
        return "resident_pension"
    if "医疗" in folded or "医保" in folded:
        return "resident_medical"
    return ""


def channel_of(text: str, channels: set[str]) -> tuple[str, str]:
    """(payer, channel): 政府代缴/财政代缴/政府资助 is the government's money; other words map to
    the form's channels, and what none names was received by the tax office."""
    folded = textnorm.fold_text(text).replace(" ", "")
    if any(word in folded for word in GOVERNMENT_WORDS):
        return "government", ledger.GOVERNMENT_CHANNEL
    if folded in channels:
        return "person", folded
    channel = next((value for word, value in CHANNEL_WORDS if word in folded), FALLBACK_CHANNEL)
    return "person", channel if channel in channels else FALLBACK_CHANNEL


def _amount(row: Row) -> int:
    text = row.amount_text.replace("￥", "").replace("¥", "").removesuffix("元").strip()
    try:
        amount = yuan_to_fen(text)
    except ValueError:
        amount = 0
    if amount <= 0:
        row.fail(lazy("金额“%(a)s”不是大于0的金额（元），如 400 或 400.00。", a=row.amount_text))
    return amount


def _date(row: Row, text: str) -> str:
    day = parse_date(text)
    if day is None:
        row.fail(lazy("缴费日期“%(d)s”无法识别，应为 2026-11-03 这样的日期。", d=text))
        return ""
    if day > clock.today():
        row.fail(lazy("缴费日期 %(d)s 晚于今天。", d=day.isoformat()))
    return day.isoformat()


def parse_date(text: str) -> dt.date | None:
    """2026-11-03, 2026/11/3, 2026.11.03, 2026年11月3日, 20261103, with or without a time after
    it, or an Excel day number (a date cell that lost its format)."""
    text = textnorm.fold_text(text)
    try:
        if match := DATE.match(text) or COMPACT_DATE.match(text):
            return dt.date(*(int(part) for part in match.groups()))
        if text.isdigit() and 20000 <= int(text) <= 80000:
            return EXCEL_EPOCH + dt.timedelta(days=int(text))
    except ValueError:
        return None
    return None


# -- matching ------------------------------------------------------------------------------------
def locate(store: Store, scope: Scope, rows: list[Row]) -> None:
    """Each readable row's village and person, by the ID number index; outside the user's area is
    an error that does not say where the person is."""
    for row in rows:
        if row.outcome:
            continue
        found = locate_id_number(store, row.id_number)
        if found is None:
            row.fail(lazy("本系统中没有这个公民身份号码的登记，请先入户登记。"))
        elif found[0] not in scope.villages:
            row.fail(lazy("此人不在本辖区。"))
        else:
            row.village, row.person = found


def mark_repeats(rows: list[Row]) -> None:
    """A ticket twice in the file: the same payment again is counted once; different content is
    an error on the later row."""
    first: dict[str, Row] = {}
    for row in rows:
        if not row.ticket or (row.outcome and row.outcome != "error"):
            continue
        earlier = first.setdefault(row.ticket, row)
        if earlier is row:
            continue
        if _content(earlier) == _content(row) and not row.outcome:
            row.outcome, row.message = "unchanged", str(lazy("与第%(n)d行相同，只记一次。", n=earlier.line))
        else:
            row.fail(lazy("税票号与第%(n)d行相同，但内容不同。", n=earlier.line))


def _content(row: Row) -> tuple[Any, ...]:
    return (row.id_number, row.scheme, row.payer, row.amount, row.paid_on, row.channel)


@dataclass
class Verdict:
    outcome: str
    message: str
    entry: ledger.Imported | None = None


class _Village:
    """One village's payments as the judge reads them: in force, by person and by ticket."""

    def __init__(self, shard: Shard, elsewhere: set[str]):
        self.shard = shard
        self.by_person: dict[int, list[dict[str, Any]]] = {}
        self.by_ticket: dict[str, list[dict[str, Any]]] = {}
        for payment in ledger.in_force(shard.all(ledger.TABLE)):
            self.by_person.setdefault(payment["person"], []).append(payment)
            if payment.get("tax_ticket"):
                self.by_ticket.setdefault(payment["tax_ticket"], []).append(payment)
        self.elsewhere = elsewhere                     # tickets recorded in the file's other villages
        self.planned: dict[tuple[int, str, str], int] = {}  # fen the file's earlier rows add
        self.confirmed: set[int] = set()               # door payments an earlier row confirmed


def tickets_in(shard: Shard) -> set[str]:
    return {p["tax_ticket"] for p in ledger.in_force(shard.all(ledger.TABLE)) if p.get("tax_ticket")}


def judge(shard: Shard, rows: list[Row], rates: Rates, elsewhere: set[str]) -> list[Verdict]:
    """What becomes of each of a village's rows, read against ``shard`` (a read-only view in the
    dry run, the locked shard when writing)."""
    village = _Village(shard, elsewhere)
    return [_verdict(village, row, rates) for row in rows]


def _verdict(village: _Village, row: Row, rates: Rates) -> Verdict:
    if row.ticket in village.by_ticket or row.ticket in village.elsewhere:
        return _recorded(village, row)
    person = village.shard.get("persons", row.person) or {}
    if person.get("status") != "registered":
        return _error(lazy("此人尚未完成入户登记（暂存或待登记），请先完成登记。"))
    line = next((x for x in ledger.person_lines(person, rates) if x.scheme == row.scheme), None)
    scheme = SCHEME_SHORT[row.scheme]
    if line is None:
        return _error(lazy("此人本年度没有参加“%(s)s”，不应缴费。", s=scheme))
    if row.payer == "government" and line.government == 0:
        return _error(lazy("此人的“%(s)s”没有政府代缴、资助的部分。", s=scheme))
    door = next((p for p in village.by_person.get(row.person, [])
                 if _what(p) == (row.scheme, row.payer, row.amount)
                 and not p.get("void") and not p.get("tax_ticket") and p["doc_id"] not in village.confirmed),
                None)
    if door is not None:
        village.confirmed.add(door["doc_id"])
        return Verdict("confirmed", str(lazy("已核对，补记税票号。")), _entry(row, confirms=door["doc_id"]))
    key = (row.person, row.scheme, row.payer)
    paid = dict((person.get("collection") or {}).get(row.scheme) or {})
    paid[row.payer] = int(paid.get(row.payer, 0)) + village.planned.get(key, 0)
    left = ledger.outstanding(line, paid, row.payer)
    if left == 0:
        return _error(lazy("“%(s)s”本年度在本系统中已经缴清，这笔缴费与已记录的金额或缴费人不符，"
                           "请核对是否重复缴费。", s=scheme))
    if row.amount != left:
        return _error(lazy("金额 %(a)s 元与本系统应缴的 %(d)s 元不符，请核对档次或身份。",
                           a=fen_to_yuan(row.amount), d=fen_to_yuan(left)))
    village.planned[key] = village.planned.get(key, 0) + row.amount
    return Verdict("new", str(lazy("新增缴费。")), _entry(row))


def _recorded(village: _Village, row: Row) -> Verdict:
    same = [p for p in village.by_ticket.get(row.ticket, []) if p["person"] == row.person]
    if row.ticket not in village.elsewhere and any(
            _what(p) == (row.scheme, row.payer, row.amount) and not p.get("void") for p in same):
        return Verdict("unchanged", str(lazy("已导入过，无变化。")))
    if any(p.get("void") for p in same):
        return _error(lazy("这张税票的缴费已被更正作废，请核对后在此人的缴费记录中处理。"))
    return _error(lazy("税票号已记录在其他人名下或金额、险种不同，请核对。"))


def _what(payment: Mapping[str, Any]) -> tuple[str, str, int]:
    return payment["scheme"], payment["payer"], payment["amount"]


def _error(message: Any) -> Verdict:
    return Verdict("error", str(message))


def _entry(row: Row, confirms: int | None = None) -> ledger.Imported:
    note = IMPORT_NOTE + (f"（{row.channel_text}）" if row.channel_text else "")
    return ledger.Imported(person=row.person, scheme=row.scheme, payer=row.payer, amount=row.amount,
                           channel=row.channel, paid_on=row.paid_on, tax_ticket=row.ticket,
                           note=note[:ledger.NOTE_LONGEST], confirms=confirms)


# -- the whole file --------------------------------------------------------------------------------
def import_file(store: Store, scope: Scope, rates: Rates, channels: Iterable[str], filename: str,
                content: bytes | Path, *, max_rows: int | None = MAX_ROWS,
                progress: Callable[[str, int], None] | None = None) -> Report:
    """Read, check every row, and write only if every row is right (TaxFileError for the file)."""
    if not rates.configured:
        raise TaxFileError([str(lazy("本年度缴费标准尚未设置，暂不能导入缴费数据。"))])
    rows = read(filename, content, channels, max_rows=max_rows, progress=progress)
    if progress:
        progress("checking", len(rows))
    by_village = check(store, scope, rates, rows)
    if any(row.outcome == "error" for row in rows):
        return Report(rows, applied=False)
    if progress:
        progress("saving", len(rows))
    write(store, scope, rates, by_village)
    return Report(rows, applied=True)


def check(store: Store, scope: Scope, rates: Rates, rows: list[Row]) -> dict[str, list[Row]]:
    """The dry run: every row judged against the store as it is; nothing is written."""
    locate(store, scope, rows)
    mark_repeats(rows)
    by_village: dict[str, list[Row]] = {}
    for row in rows:
        if row.village and not row.outcome:
            by_village.setdefault(row.village, []).append(row)
    tickets = {code: tickets_in(store.read(Store.village(code))) for code in by_village}
    for code, village_rows in by_village.items():
        shard = store.read(Store.village(code))
        for row, verdict in zip(village_rows, judge(shard, village_rows, rates, _elsewhere(tickets, code)),
                                strict=True):
            row.outcome, row.message = verdict.outcome, verdict.message
    return by_village


def _elsewhere(tickets: Mapping[str, set[str]], village: str) -> set[str]:
    return set().union(*(found for code, found in tickets.items() if code != village))


def write(store: Store, scope: Scope, rates: Rates, by_village: Mapping[str, list[Row]]) -> None:
    """Each village in its own transaction, its rows judged again under the lock: a payment
    recorded at the door since the dry run makes that village's write fail whole."""
    written = 0
    for code, rows in by_village.items():
        def recheck(shard: Shard, rows: list[Row] = rows) -> list[ledger.Imported]:
            # other villages' tickets were checked in the dry run; the file's own tickets
            # differ from village to village (mark_repeats)
            verdicts = judge(shard, rows, rates, set())
            changed = [(row, v) for row, v in zip(rows, verdicts, strict=True) if v.outcome != row.outcome]
            if changed:
                row, verdict = changed[0]
                raise ChangedMeanwhile(str(lazy("第%(n)d行：%(m)s", n=row.line, m=verdict.message)))
            return [v.entry for v in verdicts if v.entry is not None]
        try:
            ledger.write_imported(store, scope, rates, code, recheck)
        except ChangedMeanwhile as exc:
            raise TaxFileError([str(lazy(
                "导入过程中数据有变化（%(d)s）：已写入 %(w)d 个村（社区），其余未写入。请重新导入同一文件："
                "已写入的行会显示为“无变化”。", d=exc.args[0], w=written))]) from None
        written += 1
