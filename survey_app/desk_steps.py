"""The steps of an item's life from its page: each form posts to ``/d/i/<ref>/<step>``.

The ledger decides whether the user may take the step and whether the input is right; a refusal
(``Invalid``) shows the item page again with the messages beside the form that was sent (422),
and nothing is written.  Success goes back to the item page with a message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, redirect, request, url_for

from . import desk_items
from .desk import bp
from .desk_view import context
from .disputes import ledger
from .i18n import _
from .registry import Invalid


def _classify(ctx, ref, form):
    return ledger.classify(ctx, ref, form.get("level", ""), form.get("note", ""))


def _transfer(ctx, ref, form):
    return ledger.transfer(ctx, ref, form.get("department", ""), form.get("note", ""))


def _joint(ctx, ref, form):
    return ledger.joint(ctx, ref, form.getlist("departments"), form.get("note", ""))


def _escalate(ctx, ref, form):
    return ledger.escalate(ctx, ref, form.get("note", ""))


def _reply(ctx, ref, form):
    return ledger.reply(ctx, ref, form.get("text", ""), form.get("how", ""))


def _rate(ctx, ref, form):
    return ledger.rate(ctx, ref, form.get("satisfaction", ""))


def _reopen(ctx, ref, form):
    return ledger.reopen(ctx, ref, form.get("note", ""))


STEPS: dict[str, tuple[Callable[..., dict[str, Any]], Any]] = {
    "classify": (_classify, lambda: _("已分类定级，办结期限已按新的类别重新计算。")),
    "transfer": (_transfer, lambda: _("已转办。")),
    "joint": (_joint, lambda: _("已交多个部门联合处理。")),
    "escalate": (_escalate, lambda: _("已上报。")),
    "reply": (_reply, lambda: _("已记录答复，事项办结。")),
    "rate": (_rate, lambda: _("已记录当事人的满意度。")),
    "reopen": (_reopen, lambda: _("已重新打开，办结期限从今天重新计算。")),
}


@bp.route("/i/<ref>/<any(classify, transfer, joint, escalate, reply, rate, reopen):step>",
          methods=("POST",))
def step(ref: str, step: str):
    take, done = STEPS[step]
    try:
        item = take(context(), ref, request.form)
    except Invalid as exc:
        return desk_items.render_item(ref, step=step, errors=_messages(exc.errors), values=request.form,
                                      status=422)
    flash(done(), "success")
    return redirect(url_for(".item", ref=item["ref"]))


def _messages(errors: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(message) for key, message in errors.items()}
