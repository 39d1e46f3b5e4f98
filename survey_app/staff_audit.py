"""审计 page of the staff area: who did what, when — for district and city administrators.

Routes on ``staff.bp`` (its login and staff checks apply); township staff and enumerators
get a 404, as for a page that does not exist.  Three sources, a tab each:

* the system audit (``Store.SYSTEM``): logins, accounts, exports, comparisons, duplicate hits;
* the monthly read logs of ``audit.py`` (``audit/<yyyymm>/<code>``): who opened which
  household, person list or printed file;
* the dispute ledgers (``disputes/<township>``): each step an item took and who took it (the
  item's own timeline holds the notes; the entry names the item by its number only).

An administrator sees an entry when the units it names (its ref, or the ``area`` an account
change records) all lie in the administrator's area, or when its actor's account does; an
administrator over the whole grid sees every entry.  Newest first, a page at a time: the
system shard is read once per request (the store reads a shard whole), but only one page is
rendered, and the read logs are read month by month only until the page is full.  Entries name
records by reference and hold masked numbers only; the page shows them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from flask import abort, render_template, request
from flask_login import current_user

from . import audit, state, users
from .i18n import lazy
from .staff import bp
from .store import Store

ADMINS = ("district_admin", "city_admin")
PAGE_SIZE = 50
SHOWN_KEYS = ("at", "user", "action", "ref", "doc_id")
_MONTH_SHARD = re.compile(r"^audit/(?P<month>\d{6})/(?P<code>[0-9a-z]+)$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

ACTIONS = {
    "login": lazy("登录"), "login_failed": lazy("登录失败"), "logout": lazy("退出登录"),
    "user_added": lazy("新建账号"), "user_area_changed": lazy("修改负责区域"),
    "password_reset": lazy("重置密码"), "password_changed": lazy("修改密码"),
    "user_disabled": lazy("停用账号"), "user_enabled": lazy("启用账号"), "user_removed": lazy("删除账号"),
    "export_csv": lazy("导出 CSV"), "export_xlsx": lazy("导出 Excel"),
    "stats_csv": lazy("导出未参保统计表 CSV"), "stats_xlsx": lazy("导出未参保统计表 Excel"),
    "compare": lazy("信息比对"), "compare_rosters": lazy("比对结果生成入户名单"),
    "duplicate_id_number": lazy("录入已登记的身份号码"), "print_progress": lazy("打印进度通报"),
    "read_village": lazy("查看村（社区）人员名单"), "read_household": lazy("查看家庭户"),
    "read_person": lazy("查看人员登记表"), "api_bundle": lazy("手机下载本村数据"),
    "api_read_household": lazy("手机查看家庭户"), "api_read_person": lazy("手机查看人员"),
    "download_forms": lazy("下载登记表"), "download_collection": lazy("下载信息采集公告"),
    "download_roster": lazy("下载名单公示"), "download_progress": lazy("下载进度通报"),
    "review_list": lazy("查看审核列表"), "review_read_person": lazy("审核时查看人员"),
    "read_roll": lazy("查看征收清册"), "api_read_payments": lazy("手机查看缴费记录"),
    "download_roll": lazy("下载征收清册"), "download_reminders": lazy("下载缴费提醒单"),
    "collection_csv": lazy("导出征缴进度 CSV"), "collection_xlsx": lazy("导出征缴进度 Excel"),
    "remittance_csv": lazy("导出报解单 CSV"), "remittance_xlsx": lazy("导出报解单 Excel"),
    "dispute_stats_csv": lazy("导出争议统计 CSV"), "dispute_stats_xlsx": lazy("导出争议统计 Excel"),
    "dispute_ledger_csv": lazy("导出争议台账 CSV"), "dispute_ledger_xlsx": lazy("导出争议台账 Excel"),
    "dispute_read_item": lazy("查看争议事项"), "dispute_read_payments": lazy("争议事项中查看缴费记录"),
    "dispute_intake": lazy("受理争议"), "dispute_classify": lazy("争议分类定级"),
    "dispute_transfer": lazy("争议转办"), "dispute_joint": lazy("争议联合处理"),
    "dispute_escalate": lazy("争议上报"), "dispute_reply": lazy("争议答复"),
    "dispute_rate": lazy("记录争议满意度"), "dispute_reopen": lazy("重新打开争议"),
}
SYSTEM_ACTIONS = ("login", "login_failed", "logout", "user_added", "user_area_changed", "password_reset",
                  "password_changed", "user_disabled", "user_enabled", "user_removed", "export_csv",
                  "export_xlsx", "stats_csv", "stats_xlsx", "compare", "compare_rosters",
                  "duplicate_id_number", "print_progress", "collection_csv", "collection_xlsx",
                  "remittance_csv", "remittance_xlsx", "dispute_stats_csv", "dispute_stats_xlsx",
                  "dispute_ledger_csv", "dispute_ledger_xlsx")
READ_ACTIONS = ("read_village", "read_household", "read_person", "api_bundle", "api_read_household",
                "api_read_person", "download_forms", "download_collection", "download_roster",
                "download_progress", "review_list", "review_read_person", "read_roll",
                "api_read_payments", "download_roll", "download_reminders", "dispute_read_item",
                "dispute_read_payments")
DISPUTE_ACTIONS = ("dispute_intake", "dispute_classify", "dispute_transfer", "dispute_joint",
                   "dispute_escalate", "dispute_reply", "dispute_rate", "dispute_reopen")
SOURCES = {"system": SYSTEM_ACTIONS, "reads": READ_ACTIONS, "disputes": DISPUTE_ACTIONS}
_LEDGER_SHARD = re.compile(r"^disputes/(?P<code>[0-9a-z]+)$")


class Visibility:
    """Which entries an administrator may see (see the module docstring)."""

    def __init__(self, store: Store, area: Iterable[str]):
        self.grid = state.current_grid()
        self.area = tuple(area)
        self.everything = all(self.grid.covers(self.area, u["code"]) for u in self.grid.children(None))
        self._accounts: dict[str, bool] | None = None
        self._store = store
        self._covered: dict[str, bool] = {}

    def covers(self, code: str) -> bool:
        if code not in self._covered:
            self._covered[code] = self.grid.get(code) is not None and self.grid.covers(self.area, code)
        return self._covered[code]

    def account_inside(self, username: Any) -> bool:
        if self._accounts is None:
            self._accounts = {a.username: bool(a.area) and all(self.covers(c) for c in a.area)
                              for a in users.list_users(self._store)}
        return self._accounts.get(str(username), False)

    def codes(self, entry: dict[str, Any]) -> list[str]:
        """The units an entry names: an account change's area, or its ref's codes and villages."""
        if entry.get("area"):
            return str(entry["area"]).split(",")
        parts = [p.split(".", 1)[0] for p in re.split(r"[,_]", str(entry.get("ref") or ""))]
        return parts if parts and all(self.grid.get(p) for p in parts) else []

    def __call__(self, entry: dict[str, Any]) -> bool:
        if self.everything:
            return True
        codes = self.codes(entry)
        if codes and all(self.covers(c) for c in codes):
            return True
        return self.account_inside(entry.get("user")) or (not codes and self.account_inside(entry.get("ref")))


class Filters:
    def __init__(self, args):
        self.user = args.get("user", "").strip()[:64]
        self.action = args.get("action", "").strip()[:64]
        self.since = args.get("since", "") if _DAY.match(args.get("since", "")) else ""
        self.until = args.get("until", "") if _DAY.match(args.get("until", "")) else ""
        self.unit = args.get("unit", "").strip()[:12]

    def __call__(self, entry: dict[str, Any]) -> bool:
        day = str(entry.get("at", ""))[:10]
        return ((not self.user or self.user in str(entry.get("user", "")))
                and (not self.action or entry.get("action") == self.action)
                and (not self.since or day >= self.since) and (not self.until or day <= self.until))

    def months(self, available: Iterable[str]) -> list[str]:
        """The read-log months the dates allow, newest first."""
        low = self.since[:7].replace("-", "") if self.since else ""
        high = self.until[:7].replace("-", "") if self.until else "999999"
        return sorted((m for m in set(available) if low <= m <= high), reverse=True)


def _system_entries(store: Store) -> Iterator[dict[str, Any]]:
    yield from reversed(store.read(Store.SYSTEM, cache=False).all(audit.TABLE))


def _read_entries(store: Store, visible: Visibility, filters: Filters) -> Iterator[dict[str, Any]]:
    """The read logs of the administrator's units (or of the chosen unit), a month at a time."""
    by_month: dict[str, list[str]] = {}
    for name in store.names("audit/"):
        found = _MONTH_SHARD.match(name)
        if found and visible.covers(found["code"]) and (
                not filters.unit or visible.grid.covers([filters.unit], found["code"])):
            by_month.setdefault(found["month"], []).append(name)
    for month in filters.months(by_month):
        rows = [row for name in by_month[month] for row in store.read(name, cache=False).all(audit.TABLE)]
        rows.sort(key=lambda r: str(r.get("at", "")), reverse=True)
        yield from rows


def _dispute_entries(store: Store, visible: Visibility, filters: Filters) -> Iterator[dict[str, Any]]:
    """The step entries of the ledgers of the administrator's townships (or of the chosen unit's:
    a ledger is a township's, so the unit list stops at townships).  Newest first; steps within
    one second keep their order, reversed, as the sort is stable."""
    rows = []
    for name in store.names("disputes/"):
        found = _LEDGER_SHARD.match(name)
        township = found and visible.grid.get(found["code"])
        if township and visible.covers(township["code"]) and (
                not filters.unit or visible.grid.covers([filters.unit], township["code"])):
            rows.extend(reversed(store.read(name, cache=False).all(audit.TABLE)))
    rows.sort(key=lambda r: str(r.get("at", "")), reverse=True)
    yield from rows


def _page(entries: Iterator[dict[str, Any]], keep, page: int) -> tuple[list[dict[str, Any]], bool]:
    """The entries of one page, and whether another follows: reading stops there."""
    skip, shown = (page - 1) * PAGE_SIZE, []
    for entry in entries:
        if not keep(entry):
            continue
        if skip:
            skip -= 1
            continue
        if len(shown) == PAGE_SIZE:
            return shown, True
        shown.append(entry)
    return shown, False


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    grid = state.current_grid()
    ref = str(entry.get("ref") or "")
    unit = grid.get(re.split(r"[.-]", ref, maxsplit=1)[0]) if ref else None  # a person, or a dispute item
    action = str(entry.get("action", ""))
    return {"at": str(entry.get("at", ""))[:19].replace("T", " "), "user": entry.get("user", ""),
            "action": str(ACTIONS.get(action, action)), "ref": ref,
            "item": ref if action in DISPUTE_ACTIONS else "",
            "place": unit["name"] if unit else "",
            "details": [(k, v) for k, v in entry.items() if k not in SHOWN_KEYS]}


@bp.route("/audit")
def audit_log():
    if current_user.role not in ADMINS:
        abort(404)
    store = state.store()
    source = request.args.get("source") if request.args.get("source") in SOURCES else "system"
    filters = Filters(request.args)
    try:
        page = max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        page = 1
    visible = Visibility(store, current_user.area)
    if filters.unit and not visible.covers(filters.unit):
        filters.unit = ""
    if source == "system":
        shown, more = _page(_system_entries(store), lambda e: filters(e) and visible(e), page)
    elif source == "reads":
        shown, more = _page(_read_entries(store, visible, filters), filters, page)
    else:
        shown, more = _page(_dispute_entries(store, visible, filters), filters, page)
    grid = state.current_grid()
    levels = ("district", "township") if source == "disputes" else ("district", "township", "village")
    units = [u for level in levels for u in grid.children_of_level(level) if visible.covers(u["code"])]
    actions = SOURCES[source]
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("staff/audit.html", rows=[_row(e) for e in shown], page=page, more=more,
                           source=source, filters=filters, actions=[(a, ACTIONS[a]) for a in actions],
                           units=units, args=args)
