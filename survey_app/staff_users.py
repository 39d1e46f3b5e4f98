"""账号 pages of the staff area: managers create the accounts below them and look after them.

Routes on ``staff.bp`` (its login and staff checks apply).  Who manages whom:

* a city administrator: the district administrators of its districts;
* a district administrator: the township staff of its townships, the enumerators of its villages
  and the departments' people (部门经办人员: 税务, 人社, 医保 …) who handle dispute items there;
* township staff: the enumerators of their villages.

An account is the manager's when its role is one of those and every unit of its area lies in
the manager's area; any other account, existing or not, is a plain 404 here.  Areas are
ticked from the manager's own units, never typed.  A password a manager sets (at creation or
a reset) is temporary: its owner must change it at the next login (``auth.change_password``).
Every change goes on the system audit under the manager's name (``users.py`` writes it).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from . import state, users
from .i18n import _
from .passwords import password_problems
from .staff import bp

MANAGES = {"city_admin": ("district_admin",),
           "district_admin": ("township_staff", "enumerator", "department"),
           "township_staff": ("enumerator",)}
# Temporary passwords are read out or written down: no look-alike characters (as tokens.ALPHABET).
TEMPORARY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def _roles() -> tuple[str, ...]:
    return MANAGES.get(current_user.role, ())


def _manageable(account: users.Account) -> bool:
    grid = state.current_grid()
    return (account.role in _roles() and account.username != current_user.username and bool(account.area)
            and all(grid.covers(current_user.area, code) for code in account.area))


def _accounts() -> list[users.Account]:
    order = {role: i for i, role in enumerate(users.ROLES)}
    return sorted((a for a in users.list_users(state.store()) if _manageable(a)),
                  key=lambda a: (order.get(a.role, 9), a.area, a.username))


def _target(username: str) -> users.Account:
    account = users.get_account(state.store(), username)
    if account is None or not _manageable(account):
        abort(404)  # another area's account reads the same as none
    return account


def _units(role: str) -> list[dict[str, Any]]:
    """The units of the role's level inside the manager's area: what may be ticked."""
    grid = state.current_grid()
    level = users.ROLE_LEVEL[role]
    if level == "village":
        return [grid.get(code) for code in sorted(current_user.villages(grid))]
    return [u for u in grid.children_of_level(level) if grid.covers(current_user.area, u["code"])]


def _picker(role: str, ticked: list[str], query: str) -> list[dict[str, Any]]:
    """The tick boxes, grouped under their parent unit; a search keeps the ticked ones in view."""
    grid = state.current_grid()
    groups: dict[str, dict[str, Any]] = {}
    for unit in _units(role):
        parent = grid.get(unit["parent"]) if unit["parent"] else None
        group_name = parent["name"] if parent else ""
        checked = unit["code"] in ticked
        if query and not checked and query not in unit["name"] and query not in group_name:
            continue
        group = groups.setdefault(group_name, {"name": group_name, "units": []})
        group["units"].append({**unit, "checked": checked})
    return list(groups.values())


def role_label(account: users.Account) -> str:
    """The role as lists show it: a department's people with their department's name."""
    if account.department:
        return f"{account.role_name}（{state.campaign().disputes.department_name(account.department)}）"
    return account.role_name


def area_names(codes) -> str:
    grid = state.current_grid()
    return "、".join((grid.get(c) or {"name": c})["name"] for c in codes)


def _chosen_area(role: str) -> tuple[list[str], list[str]]:
    """The ticked units and what is wrong with them (nothing ticked, or not the manager's)."""
    allowed = {u["code"] for u in _units(role)}
    chosen = list(dict.fromkeys(request.form.getlist("area")))
    problems = []
    if not chosen:
        problems.append(_("请勾选该账号负责的%(l)s。", l=LEVEL_LABELS[users.ROLE_LEVEL[role]]))
    elif not set(chosen) <= allowed:
        problems.append(_("所选区域不在您的管辖范围内。"))
    return chosen, problems


LEVEL_LABELS = {"district": "区县", "township": "乡镇（街道）", "village": "村（社区）"}


def temporary_password(username: str = "") -> str:
    """12 characters in three groups of four, drawn until the policy has nothing against them."""
    while True:
        text = "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(12))
        password = f"{text[:4]}-{text[4:8]}-{text[8:]}"
        if not password_problems(password, username):
            return password


def _password_given(username: str) -> tuple[str, bool]:
    """The password the manager typed, or a generated one (True: show it once on the next page)."""
    typed = request.form.get("password", "")
    return (typed, False) if typed else (temporary_password(username), True)


# -- pages --------------------------------------------------------------------------------------
@bp.route("/users")
def users_list():
    if not _roles():
        abort(404)
    query = request.args.get("q", "").strip()
    accounts = [a for a in _accounts()
                if not query or query in a.username or query in a.display_name or query in area_names(a.area)]
    return render_template("staff/users.html", accounts=accounts, q=query, roles=_roles(),
                           role_names=users.ROLES, area_names=area_names, role_label=role_label,
                           manages="、".join(users.ROLES[r] for r in _roles()))


@bp.route("/users/new", methods=("GET", "POST"))
def users_new():
    role = request.values.get("role") or (_roles() or ("",))[0]
    if role not in _roles():
        abort(404)
    form = request.form
    query = form.get("q", request.args.get("q", "")).strip()
    if request.method == "GET" or form.get("action") == "filter":
        return _new_form(role, query, [])
    area, problems = _chosen_area(role)
    username = form.get("username", "").strip()
    if username == "new":  # /s/users/new is this page, so that account could never be opened
        problems.append(_("用户名“new”不能使用，请换一个。"))
    password, generated = _password_given(username)
    if not problems:
        try:
            users.add_user(state.store(), state.current_grid(), username=username, password=password,
                           role=role, area=area, display_name=form.get("display_name", "").strip(),
                           actor=current_user.username, new=True, must_change=True,
                           **_department_given(role))
        except users.AccountError as exc:
            problems = str(exc).split("；")
    if problems:
        return _new_form(role, query, problems, 422)
    return render_template("staff/users_done.html", username=username, password=password,
                           generated=generated, created=True)


def _department_given(role: str) -> dict[str, Any]:
    if role != users.DEPARTMENT_ROLE:
        return {}
    return {"department": request.form.get("department", ""),
            "departments": [key for key, _name in state.campaign().disputes.departments]}


def _new_form(role: str, query: str, problems: list[str], status: int = 200):
    ticked = request.form.getlist("area")
    return render_template("staff/users_new.html", role=role, roles=_roles(), role_names=users.ROLES,
                           departments=state.campaign().disputes.departments,
                           groups=_picker(role, ticked, query), q=query, problems=problems,
                           values=request.form, level_label=LEVEL_LABELS[users.ROLE_LEVEL[role]]), status


@bp.route("/users/<username>", methods=("GET", "POST"))
def users_detail(username: str):
    """One account: its area (ticked again to change it), a password reset, disable or enable."""
    account = _target(username)
    if request.method == "GET" or request.form.get("action") == "filter":
        return _detail_page(account)
    area, problems = _chosen_area(account.role)
    if not problems:
        try:
            users.set_area(state.store(), state.current_grid(), username, area, actor=current_user.username)
        except users.AccountError as exc:
            problems = str(exc).split("；")
    if problems:
        return _detail_page(account, area_problems=problems)
    flash(_("已更新 %(u)s 负责的区域：%(a)s。", u=username, a=area_names(area)), "success")
    return redirect(url_for(".users_detail", username=username))


def _detail_page(account: users.Account, area_problems: list[str] = (),
                 reset_problems: list[str] = ()):
    form = request.form
    query = form.get("q", request.args.get("q", "")).strip()
    ticked = form.getlist("area") if "area_form" in form else list(account.area)
    return render_template("staff/users_detail.html", account=account, role_names=users.ROLES,
                           groups=_picker(account.role, ticked, query), q=query,
                           area_problems=area_problems, reset_problems=reset_problems,
                           area_names=area_names, role_label=role_label,
                           level_label=LEVEL_LABELS[users.ROLE_LEVEL[account.role]]), \
        422 if area_problems or reset_problems else 200


@bp.route("/users/<username>/password", methods=("POST",))
def users_password(username: str):
    account = _target(username)
    password, generated = _password_given(username)
    try:
        users.reset_password(state.store(), account.username, password, actor=current_user.username)
    except users.AccountError as exc:
        return _detail_page(account, reset_problems=str(exc).split("；"))
    return render_template("staff/users_done.html", username=username, password=password,
                           generated=generated, created=False)


@bp.route("/users/<username>/<any(disable, enable):change>", methods=("POST",))
def users_status(username: str, change: str):
    account = _target(username)
    if change == "disable":
        users.disable_user(state.store(), account.username, actor=current_user.username)
        flash(_("已停用账号 %(u)s，其所有登录均已结束。", u=username), "success")
    else:
        users.enable_user(state.store(), account.username, actor=current_user.username)
        flash(_("已启用账号 %(u)s。", u=username), "success")
    return redirect(url_for(".users_detail", username=username))
