"""What every dispute-desk page shows of an item: its labels, days left and where it belongs.

No routes here: the list, the item page, the digest and the staff dashboard's panel all read
items through :func:`visible_items` and show them through :func:`row`, so a deadline or a class
reads the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from flask_login import current_user

from . import clock, state
from .disputes import digest, ledger
from .disputes.rules import CLASSES
from .i18n import lazy
from .registry import Scope

CLASS_LABELS = {"routine": lazy("日常"), "difficult": lazy("疑难"), "major": lazy("重大")}
STATE_LABELS = {"open": lazy("办理中"), "closed": lazy("已办结")}
STATE_FILTER_LABELS = {"open": lazy("待办"), "closed": lazy("已办结"), "all": lazy("全部")}
ACTION_LABELS = {
    "intake": lazy("受理登记"), "classify": lazy("分类定级"), "transfer": lazy("转办"),
    "joint": lazy("联合处理"), "escalate": lazy("上报"), "reply": lazy("答复"),
    "rate": lazy("记录满意度"), "reopen": lazy("重新打开"),
}
REPLY_WAYS = {"phone": lazy("电话"), "in_person": lazy("当面"), "letter": lazy("书面（信函）"),
              "online": lazy("网上")}
SATISFACTION_LABELS = {"satisfied": lazy("满意"), "basically": lazy("基本满意"),
                       "dissatisfied": lazy("不满意")}
assert set(CLASS_LABELS) == set(CLASSES) and set(REPLY_WAYS) == set(ledger.REPLY_WAYS)
assert set(SATISFACTION_LABELS) == set(ledger.SATISFACTION)


def context() -> ledger.Context:
    return state.dispute_context()


def townships(ctx: ledger.Context) -> list[str]:
    """The ledgers worth reading: the townships of the viewer's villages (no other ledger can hold
    an item the viewer may see)."""
    return sorted({village[:9] for village in ctx.viewer.villages})


def visible_items(ctx: ledger.Context, villages: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The items the viewer may see, only of ``villages`` when given."""
    if villages is None:
        return ledger.visible(ctx, townships(ctx))
    wanted = set(villages) & ctx.viewer.villages
    found = ledger.visible(ctx, sorted({v[:9] for v in wanted}))
    return [item for item in found if item["village"] in wanted]


def audit_scope(ctx: ledger.Context) -> Scope:
    return Scope(ctx.viewer.villages, ctx.viewer.username)


def today() -> dt.date:
    return clock.today()


def row(item: Mapping[str, Any], ctx: ledger.Context, day: dt.date) -> dict[str, Any]:
    """An item with what a list shows beside it: days left and their bucket, names, labels."""
    grid, rules = state.current_grid(), ctx.rules
    days = digest.days_left(item, ctx.calendar, day)
    is_open = item["state"] == "open"
    return {
        **item, "days": days, "is_open": is_open,
        "bucket": digest.bucket(days) if is_open else None,
        "overdue": is_open and days < 0,
        "village_name": (grid.get(item["village"]) or {}).get("name", item["village"]),
        "township_name": (grid.get(item["village"][:9]) or {}).get("name", ""),
        "holder_names": [rules.department_name(k) for k in item.get("holders", ())],
        "class_label": CLASS_LABELS.get(item["level"], item["level"]),
        "reply_state": reply_state(item),
        "received_on": str(item.get("received_at", ""))[:10],
        # the due date's year has no holidays in the campaign file yet: counted on weekends alone
        "calendar_gap": not ctx.calendar.covers(dt.date.fromisoformat(item["due"])),
    }


def reply_state(item: Mapping[str, Any]) -> str:
    if item.get("reply") is None:
        return str(lazy("未答复"))
    if item["state"] == "open":
        return str(lazy("已答复，重新打开"))
    return str(lazy("已答复"))


def order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open items first, by due date (so the overdue lead), then closed ones, latest closed first."""
    def ref_number(r: Mapping[str, Any]) -> tuple[str, int]:
        township, _, number = r["ref"].partition("-")
        return township, int(number)
    open_rows = sorted((r for r in rows if r["is_open"]), key=lambda r: (r["due"], ref_number(r)))
    closed = sorted((r for r in rows if not r["is_open"]),
                    key=lambda r: (str(r.get("closed_at") or ""), ref_number(r)), reverse=True)
    return open_rows + closed


def counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    rows = list(rows)
    return {"open": sum(r["is_open"] for r in rows), "overdue": sum(r["overdue"] for r in rows),
            "today": sum(r["bucket"] == "today" for r in rows)}


def display_names() -> dict[str, str]:
    from . import users
    return {a.username: a.display_name for a in users.list_users(state.store())}


def own_department() -> str:
    return current_user.department if current_user.is_department else ""
