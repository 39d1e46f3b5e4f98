"""每日到期提醒 (``/d/digest``): the user's overdue items, those due today and those due within the
next two working days — staff by village, a department's people by who holds the item now.

The same computation (``disputes.digest``) writes the files of ``canbao disputes digest``.
"""

from __future__ import annotations

from flask import render_template

from . import desk_view, state
from .desk import bp
from .disputes import digest
from .i18n import lazy

BUCKET_LABELS = {"overdue": lazy("逾期"), "today": lazy("今日到期"),
                 "soon": lazy("%(n)d个工作日内到期", n=digest.HORIZON)}


@bp.route("/digest")
def digest_page():
    ctx = desk_view.context()
    day = desk_view.today()
    items = desk_view.visible_items(ctx)
    mine = desk_view.own_department()
    if mine:  # a department's digest: what it holds now
        items = [i for i in items if mine in i.get("holders", ())]
        group_of = digest.by_holders(ctx.rules.departments)
    else:
        group_of = digest.by_village(village_names(items))
    found = digest.build(items, ctx.calendar, day, group_of, village_names=village_names(items),
                         department_name=ctx.rules.department_name)
    return render_template("desk/digest.html", digest=found, counts=found.counts, today=day,
                           titles=BUCKET_LABELS, unheld=digest.UNHELD)


def village_names(items) -> dict[str, str]:
    grid = state.current_grid()
    return {i["village"]: (grid.get(i["village"]) or {}).get("name", i["village"]) for i in items}
