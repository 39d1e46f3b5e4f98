"""The last resort: forms exported from a phone's outbox, loaded on the server.

A phone that cannot upload (broken, no signal for weeks) exports its outbox to a
file.  Loading it applies the same rules as the API: each form by its uuid (a form
already received is a replay, the same uuid with other content a conflict),
households before the people registered in them, and only inside the area of
the account the forms belong to.  Payments and disputes heard at the door (征缴争议)
go through the same checks as their API calls, the account as their receiver.
Drafts in the file are kept too: a person's draft is saved as 暂存 (visited,
incomplete, finished later from any phone), a household's or a dispute's draft
only when it is complete.  Nothing is changed by a form that
is refused; the report says, form by form, what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from . import api_disputes, registry, state
from .collection import ledger
from .disputes import ledger as dispute_ledger
from .formdef import FormDefinition
from .registry import Conflict, Duplicate, Invalid, NotFound, Scope
from .store import Store


class ImportFileError(ValueError):
    pass


@dataclass
class Outcome:
    label: str
    kind: str
    result: str        # 已导入 / 已有（重复提交） / 未导入：…
    ref: str = ""
    receipt: str = ""

    @property
    def ok(self) -> bool:
        return not self.result.startswith("未导入")


def read(raw: bytes) -> dict[str, Any]:
    try:
        # orjson, as the store writes: it refuses lone surrogates a hand-edited file could carry,
        # which would otherwise pass here and fail when the record is written
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ImportFileError("不是导出的待上传文件（JSON 格式错误或含有无法保存的字符）。") from None
    if not isinstance(data, dict) or data.get("format") != "canbao-outbox" \
            or not isinstance(data.get("outbox"), list):
        raise ImportFileError("不是本系统从手机导出的待上传文件。")
    return data


def load(store: Store, scope: Scope, data: dict[str, Any]) -> list[Outcome]:
    """Apply every unsent form and draft of an exported outbox, oldest first, households before people."""
    forms = [i for i in data["outbox"] if isinstance(i, dict) and i.get("state") != "done"]
    queued = {i.get("uuid") for i in forms}
    drafts = data.get("drafts") if isinstance(data.get("drafts"), list) else []
    forms += [_as_item(d) for d in drafts if isinstance(d, dict) and d.get("uuid") not in queued]
    forms.sort(key=lambda i: (i.get("kind") != "household", i.get("created", 0)))
    new_households: dict[str, str] = {}
    return [_one(store, scope, item, new_households) for item in forms]


def _as_item(draft: dict[str, Any]) -> dict[str, Any]:
    """A draft in the shape of an outbox item; a person's draft goes in as 暂存."""
    values = draft.get("values") if isinstance(draft.get("values"), dict) else {}
    payload = {**values, "uuid": draft.get("uuid")}
    if draft.get("kind") == "person":
        payload.update(household=draft.get("household"), incomplete=True)
    if draft.get("kind") == "dispute":  # a dispute has no 暂存: a draft complete enough goes in
        payload.update(village=draft.get("village"), household=draft.get("household"))
    if draft.get("kind") in ("person", "dispute") and draft.get("person"):
        payload["person"] = draft["person"]
    name = values.get("name") or values.get("head_name") or "（未填姓名）"
    if draft.get("kind") == "dispute":
        name = f"争议登记 · 当事人 {values.get('party_name') or '（未填姓名）'}"
    return {"kind": draft.get("kind"), "village": draft.get("village"), "household": draft.get("household"),
            "payload": payload, "label": f"{name}（草稿）", "created": draft.get("updated", 0)}


def _one(store: Store, scope: Scope, item: dict[str, Any], new_households: dict[str, str]) -> Outcome:
    label, kind = str(item.get("label") or "（未填姓名）"), item.get("kind")
    payload = dict(item.get("payload") or {})
    try:
        if kind == "household":
            ref, created = registry.add_household(store, scope, state.household_form(),
                                                  str(item.get("village", "")), payload)
            new_households[f"new-{payload.get('uuid')}"] = ref
            return Outcome(label, kind, "已导入" if created else "已有（重复提交）", ref)
        if kind == "payment":
            done = ledger.record(store, scope, state.rates(), state.payment_channels(), payload,
                                 source="field")
            return Outcome(label, kind, "已有（重复提交）" if done.replayed else "已导入", done.person)
        if kind == "dispute":
            return _dispute(store, scope, label, payload)
        if kind != "person":
            return Outcome(label, str(kind), "未导入：未知的表单类型")
        home = str(item.get("household") or payload.get("household") or "")
        if home.startswith("new-"):
            if home not in new_households:
                return Outcome(label, kind, "未导入：所在的新家庭户没有导入成功")
            home = new_households[home]
        saved = registry.submit(store, scope, _form(), {**payload, "household": home})
        result = "已有（重复提交）" if saved.replayed else "已导入"
        return Outcome(label, kind, result, saved.ref, saved.receipt)
    except Invalid as exc:
        fields = "、".join(f"{k}：{v}" for k, v in exc.errors.items())
        return Outcome(label, str(kind), f"未导入：表单有错误（{fields}）")
    except Duplicate as exc:
        return Outcome(label, str(kind), f"未导入：公民身份号码已登记（{exc.ref}）")
    except Conflict:
        return Outcome(label, str(kind), "未导入：该 uuid 已用于内容不同的提交")
    except NotFound:
        return Outcome(label, str(kind), "未导入：家庭户不存在或不在该账号的范围内")


def _dispute(store: Store, scope: Scope, label: str, payload: dict[str, Any]) -> Outcome:
    """A dispute heard at the door, taken in as ``POST /api/v1/disputes`` does, the file's account
    as its first receiver (首接)."""
    campaign = state.campaign()
    ctx = dispute_ledger.Context(store, dispute_ledger.Viewer(scope.villages, scope.username),
                                 campaign.disputes, campaign.workdays)
    ref, replayed = api_disputes.take_in(ctx, state.dispute_form(), scope, payload)
    return Outcome(label, "dispute", "已有（重复提交）" if replayed else "已导入", ref)


def _form() -> FormDefinition:
    return state.registration_form()
