"""Accounts, their areas, passwords, server-side sessions and the failed-login throttle.

Sessions are rows in the store, not just signed cookies, so that logging out
really ends a session and every login gets a fresh session id; only a hash of
each session token is stored.  Sessions and the throttle live in small
bucketed shards of their own, so a request looks its session up without
reading every account, and the throttle holds across all server processes.

**Ending sessions.**  Each account record carries a random ``generation``;
every session row copies it at login and is honoured only while the two
agree.  Disabling an account, changing its password or saving it again with
``canbao user add`` draws a new generation, so all of that account's sessions
end at once with no scan of the session shards; removing an account ends them
too (no record, no session), and an account added again later under the same
name gets a new generation, so old sessions never come back.  A session also
ends ``SESSION_HOURS`` after login (absolute lifetime) and after
``SESSION_IDLE_MINUTES`` without a request (``SESSION_IDLE_MINUTES_STAFF`` for
office staff); "last seen" is written at most once a minute, not on every request.

Failed logins are slowed, never locked: see :mod:`survey_app.throttle`.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from .grid import Grid
from .passwords import password_problems
from .registry import Scope, write_audit
from .store import Store
from .throttle import LoginKeys, Throttle, reserve

clock = time.time  # the one clock of this module: tests replace it instead of sleeping

ROLES = {
    "city_admin": "市级管理员",
    "district_admin": "区县管理员",
    "township_staff": "乡镇（街道）工作人员",
    "enumerator": "入户调查员（网格员）",
    "department": "部门经办人员",
}


ROLE_LEVEL = {"city_admin": "city", "district_admin": "district", "township_staff": "township",
              "enumerator": "village", "department": "district"}
STAFF_ROLES = ("city_admin", "district_admin", "township_staff")
# A department's people (税务, 人社, 医保 …) work on the dispute items routed to their department in
# their district: office users, but not staff (no registration data, no coverage pages).
DEPARTMENT_ROLE = "department"
MAX_NAME_LENGTH = 32
# A mobile number or an ID number (18 or 15 digits): never a username or display name (the audit
# keeps both).  A 12-digit village code is neither: e610802101001 names the enumerator of a village.
_NUMBER_RUN = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dXx]|\d{15})(?![\dXx])")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    display_name: str
    area: tuple[str, ...]  # unit codes: city, district, township, or villages
    session_token: str = ""
    disabled: bool = False
    must_change: bool = False  # a password someone else set: changed before anything else
    department: str = ""  # the department key (campaign file, [[disputes.departments]]) of that role

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return not self.disabled

    def get_id(self) -> str:
        return self.session_token

    @property
    def role_name(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_department(self) -> bool:
        return self.role == DEPARTMENT_ROLE

    @property
    def is_office(self) -> bool:
        """Works at a desk, not at doors: the office's shorter idle limit applies."""
        return self.is_staff or self.is_department

    def villages(self, grid: Grid) -> frozenset[str]:
        """Every village whose registrations this account may read or write.  None for a
        department's people: their area bounds the dispute items they see, nothing more."""
        return frozenset() if self.is_department else grid.villages_of_area(self.area)

    def dispute_villages(self, grid: Grid) -> frozenset[str]:
        """The villages whose dispute items this account may see (with the ledger's own rules)."""
        return grid.villages_of_area(self.area)


def _account(record: dict[str, Any], token: str = "") -> Account:
    return Account(record["username"], record["role"], record.get("display_name", ""),
                   tuple(record["area"]), token, bool(record.get("disabled")),
                   bool(record.get("must_change")), str(record.get("department") or ""))


def add_user(store: Store, grid: Grid, *, username: str, password: str, role: str,
             area: list[str], display_name: str = "", actor: str = "", new: bool = False,
             must_change: bool = False, department: str = "",
             departments: Collection[str] = ()) -> Account:
    """Save an account (``canbao user add`` replaces one of the same name).

    ``new``: refuse a name already taken (a manager in the browser creates, never overwrites).
    ``actor``: put the creation on the system audit under that name.  ``must_change``: the
    password was chosen by someone else, so its owner changes it at first login.
    ``department``: a department account's department, one of ``departments`` (the campaign's).
    """
    problems = _user_problems(grid, username, password, role, area)
    problems += department_problems(role, department, departments)
    if display_name and (len(display_name) > MAX_NAME_LENGTH or _NUMBER_RUN.search(display_name)
                         or not display_name.isprintable()):
        problems.append(f"姓名最多{MAX_NAME_LENGTH}个字，且不能含手机号或身份证号")
    if problems:
        raise AccountError("；".join(problems))
    record = {
        "username": username, "role": role, "area": list(area),
        "display_name": display_name or username,
        "password_hash": generate_password_hash(password),
        "generation": _new_generation(),  # saving an account again ends its sessions
        "must_change": must_change,
        **({"department": department} if role == DEPARTMENT_ROLE else {}),
    }
    with store.transaction(Store.USERS, *([Store.SYSTEM] if actor else [])) as shards:
        if new and shards[Store.USERS].find_one("users", username=username) is not None:
            raise AccountError(f"用户名“{username}”已被使用，请换一个")
        shards[Store.USERS].upsert("users", record, username=username)
        if actor:
            write_audit(shards[Store.SYSTEM], Scope(frozenset(), actor), "user_added", username,
                        role=role, area=",".join(area), **({"department": department} if department else {}))
    return _account(record)


def _user_problems(grid: Grid, username: str, password: str, role: str,
                   area: list[str]) -> list[str]:
    problems = []
    if not username or not username.replace("_", "").replace("-", "").isalnum() \
            or len(username) > MAX_NAME_LENGTH:
        problems.append(f"用户名只能用字母、数字、下划线和连字符，最多{MAX_NAME_LENGTH}位")
    elif _NUMBER_RUN.search(username):
        problems.append("用户名不能用手机号或身份证号")
    problems.extend(password_problems(password, username))
    return problems + _area_problems(grid, role, area)


def _area_problems(grid: Grid, role: str, area: list[str]) -> list[str]:
    problems = []
    if role not in ROLES:
        problems.append(f"角色应为 {'、'.join(ROLES)} 之一")
    expected_level = ROLE_LEVEL.get(role)
    if not area:
        problems.append("需要指定负责的区域代码")
    for code in area:
        unit = grid.get(code)
        if unit is None:
            problems.append(f"区域代码 {code} 不在网格中")
        elif unit["level"] != expected_level:
            problems.append(f"{unit['name']}（{code}）不是该角色对应的层级")
    return problems


def department_problems(role: str, department: str, departments: Collection[str]) -> list[str]:
    if role != DEPARTMENT_ROLE:
        return ["只有部门经办人员账号属于部门"] if department else []
    if department not in departments:
        return [f"部门应为 {'、'.join(departments) or '（争议台账未设部门）'} 之一"]
    return []


def list_users(store: Store) -> list[Account]:
    return [_account(r) for r in store.read(Store.USERS).all("users")]


# -- managing accounts (canbao user ...) -----------------------------------------------------
def _new_generation() -> str:
    return secrets.token_hex(8)


def _change_user(store: Store, username: str, actor: str, action: str,
                 change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """Apply ``change`` to one account (None: remove it) and put it on the system audit.

    The entry carries the account's area (codes, never anything personal), so the audit
    view can show it to the administrators of that area even once the account is gone.
    """
    with store.transaction(Store.USERS, Store.SYSTEM) as shards:
        _change_user_in(shards, username, actor, action, change)


def _change_user_in(shards, username: str, actor: str, action: str,
                    change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    table = shards[Store.USERS]
    record = table.find_one("users", username=username)
    if record is None:
        raise AccountError(f"账号“{username}”不存在")
    fields = change(record)
    if fields is None:
        table.remove_ids("users", [record["doc_id"]])
    else:
        table.update("users", record["doc_id"], fields)
    area = (fields or {}).get("area", record["area"])
    write_audit(shards[Store.SYSTEM], Scope(frozenset(), actor), action, username, area=",".join(area))


def _new_password(username: str, password: str, **fields: Any) -> dict[str, Any]:
    """The fields of a password that passed the policy: a new generation ends every session."""
    problems = password_problems(password, username)
    if problems:
        raise AccountError("；".join(problems))
    return {"password_hash": generate_password_hash(password), "generation": _new_generation(),
            **fields}


def set_password(store: Store, username: str, password: str, *, actor: str) -> None:
    """A new password, and every session of the account ends (a new generation)."""
    fields = _new_password(username, password, must_change=False)
    _change_user(store, username, actor, "password_changed", lambda _r: fields)


def reset_password(store: Store, username: str, password: str, *, actor: str) -> None:
    """A temporary password a manager chose: sessions end and the owner must change it at login."""
    fields = _new_password(username, password, must_change=True)
    _change_user(store, username, actor, "password_reset", lambda _r: fields)


def change_own_password(store: Store, username: str, token: str, current: str, password: str) -> None:
    """The logged-in owner's new password: every *other* session ends, this one goes on.

    The current password is asked again (ASVS 2.1.6), and the new one must differ from it.
    """
    record = find_user(store, username)
    if record is None or not check_password_hash(record["password_hash"], current):
        raise AccountError("当前密码不正确")
    if password == current:
        raise AccountError("新密码不能与当前密码相同")
    fields = _new_password(username, password, must_change=False)
    hashed = token_hash(token)

    def change(now: dict[str, Any]) -> dict[str, Any]:
        # The hash was checked outside the lock: anything changed since ends this attempt.
        if (now["password_hash"], now.get("generation")) != (record["password_hash"],
                                                             record.get("generation")) \
                or now.get("disabled"):
            raise AccountError("账号刚被他人修改，请重新登录后再试")
        return fields

    with store.transaction(Store.USERS, Store.SYSTEM, Store.sessions(hashed)) as shards:
        _change_user_in(shards, username, username, "password_changed", change)
        sessions = shards[Store.sessions(hashed)]
        for row in sessions.find("sessions", token_hash=hashed):  # this session keeps going
            sessions.update("sessions", row["doc_id"], {"generation": fields["generation"]})


def set_area(store: Store, grid: Grid, username: str, area: list[str], *, actor: str) -> None:
    """A new area for the account, at the level of its role.

    Sessions go on: each request loads the account's area from this record, so a narrowed
    area holds from the very next request, with no session to end.
    """
    record = find_user(store, username)
    if record is None:
        raise AccountError(f"账号“{username}”不存在")
    problems = _area_problems(grid, record["role"], area)
    if problems:
        raise AccountError("；".join(problems))
    _change_user(store, username, actor, "user_area_changed", lambda _r: {"area": list(area)})


def disable_user(store: Store, username: str, *, actor: str) -> None:
    """The account can no longer log in, and its sessions end at once."""
    _change_user(store, username, actor, "user_disabled",
                 lambda _r: {"disabled": True, "generation": _new_generation()})


def enable_user(store: Store, username: str, *, actor: str) -> None:
    _change_user(store, username, actor, "user_enabled", lambda _r: {"disabled": False})


def remove_user(store: Store, username: str, *, actor: str) -> None:
    """The account goes; with no record, none of its sessions loads any more."""
    _change_user(store, username, actor, "user_removed", lambda _r: None)


# -- login, sessions, throttle --------------------------------------------------
SEEN_EVERY = 60  # seconds: a session's "last seen" is written at most this often


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_user(store: Store, username: str) -> dict[str, Any] | None:
    return store.read(Store.USERS).find_one("users", username=username)


def get_account(store: Store, username: str) -> Account | None:
    """The account of that name as it is now (no session), or None."""
    record = find_user(store, username)
    return _account(record) if record else None


@functools.cache
def dummy_hash() -> str:
    """What an unknown username's password is checked against: the same method and cost as a
    real account's, so a wrong name takes as long as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(store: Store, username: str, password: str, *, keys: LoginKeys,
                 throttle: Throttle, hours: float) -> Account | None:
    """A new session for good credentials of an enabled account; None otherwise (the failure
    counted); LoginDelayed while the throttle says wait.

    Unknown users, wrong passwords and disabled accounts are indistinguishable to
    the caller and cost the same, so probing usernames is no cheaper than guessing.
    """
    at = clock()
    reserve(store, keys, throttle, at)
    record = find_user(store, username)
    right = check_password_hash(record["password_hash"] if record else dummy_hash(), password)
    if record is None or not right or record.get("disabled"):
        return None  # the reservation stays, as this attempt's failure
    token = secrets.token_urlsafe(32)
    hashed = token_hash(token)
    with store.transaction(Store.sessions(hashed), *(Store.throttle(k) for k in keys)) as shards:
        sessions = shards[Store.sessions(hashed)]
        # Expired sessions of this bucket go at each login, so no bucket grows for ever.
        sessions.remove_ids("sessions", [s["doc_id"] for s in sessions.all("sessions")
                                         if s["expires"] < at])
        sessions.insert("sessions", {"token_hash": hashed, "username": record["username"],
                                     "generation": record.get("generation"), "created": at,
                                     "seen": at, "expires": at + hours * 3600})
        for name in {Store.throttle(k) for k in keys}:  # this pair's failures, this one included
            shards[name].remove("failures", pair=keys.pair)
    return _account(record, token)


def account_for_session(store: Store, token: str, *, idle_minutes: float = 0,
                        staff_idle_minutes: float | None = None) -> Account | None:
    """The account of a live session; None once it was ended, passed its absolute lifetime,
    stayed idle too long (0: no idle limit), or its account was disabled, removed or given a
    new generation (password changed)."""
    at = clock()
    hashed = token_hash(token)
    name = Store.sessions(hashed)
    session = store.read(name).find_one("sessions", token_hash=hashed)
    if session is None or session["expires"] < at:
        return None
    record = find_user(store, session["username"])
    if record is None or record.get("disabled") or record.get("generation") != session.get("generation"):
        return None
    account = _account(record, token)
    idle = staff_idle_minutes if account.is_office and staff_idle_minutes is not None else idle_minutes
    seen = session.get("seen", at)
    if idle and at - seen > idle * 60:
        return None
    if at - seen >= SEEN_EVERY:  # not a write on every request: once a minute is enough
        _note_seen(store, name, hashed, at)
    return account


def _note_seen(store: Store, name: str, hashed: str, at: float) -> None:
    """Best effort: with the disk full, the user can still read pages (the idle clock only
    runs from the last time it could be written)."""
    try:
        with store.transaction(name) as shards:
            for row in shards[name].find("sessions", token_hash=hashed):
                shards[name].update("sessions", row["doc_id"], {"seen": max(at, row.get("seen", at))})
    except Exception as error:
        from .diskfull import is_disk_full  # it builds on this module: imported when needed
        if not is_disk_full(error):
            raise


def end_session(store: Store, token: str) -> None:
    hashed = token_hash(token)
    with store.transaction(Store.sessions(hashed)) as shards:
        shards[Store.sessions(hashed)].remove("sessions", token_hash=hashed)


# -- the audit of logins ------------------------------------------------------------------------
def name_for_audit(typed: str) -> str:
    """A username as typed, fit for the audit: printable, at most 32 characters, and masked
    (first 3 and last 2 kept) when it holds 7 or more digits — an ID or phone number typed
    into the wrong field must not land in the audit whole."""
    text = "".join(ch for ch in typed if ch.isprintable()).strip()[:32]
    if sum(ch.isdigit() for ch in text) >= 7:
        return text[:3] + "*" * (len(text) - 5) + text[-2:]
    return text


def audit_login(store: Store, action: str, username: str, *, address: str, **details: Any) -> None:
    """Logins, failed logins and logouts on the system audit: who, what, when, from which
    address.  Never a password; ``username`` is what ``name_for_audit`` made of the typing
    unless the account exists."""
    with store.transaction(Store.SYSTEM) as shards:
        write_audit(shards[Store.SYSTEM], Scope(frozenset(), username), action, username,
                    address=address or "", **details)
