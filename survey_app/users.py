"""Accounts, their areas, server-side sessions and the failed-login throttle.

Sessions are rows in the store, not just signed cookies, so that logging out
really ends a session and every login gets a fresh session id; only a hash of
each session token is stored.  Sessions and the throttle live in small
bucketed shards of their own, so a request looks its session up without
reading every account, and the throttle holds across all server processes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from .grid import Grid
from .store import Store

ROLES = {
    "city_admin": "市级管理员",
    "district_admin": "区县管理员",
    "township_staff": "乡镇（街道）工作人员",
    "enumerator": "入户调查员（网格员）",
}


ROLE_LEVEL = {"city_admin": "city", "district_admin": "district", "township_staff": "township",
              "enumerator": "village"}
STAFF_ROLES = ("city_admin", "district_admin", "township_staff")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    display_name: str
    area: tuple[str, ...]  # unit codes: city, district, township, or villages
    session_token: str = ""

    # Flask-Login protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token

    @property
    def role_name(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def villages(self, grid: Grid) -> frozenset[str]:
        """Every village this account may read or write — the whole of its scope."""
        return grid.villages_of_area(self.area)


def _account(record: dict[str, Any], token: str = "") -> Account:
    return Account(record["username"], record["role"], record.get("display_name", ""),
                   tuple(record["area"]), token)


def add_user(store: Store, grid: Grid, *, username: str, password: str, role: str,
             area: list[str], display_name: str = "") -> Account:
    problems = _user_problems(grid, username, password, role, area)
    if problems:
        raise AccountError("；".join(problems))
    record = {
        "username": username, "role": role, "area": list(area),
        "display_name": display_name or username,
        "password_hash": generate_password_hash(password),
    }
    with store.transaction(Store.USERS) as shards:
        shards[Store.USERS].upsert("users", record, username=username)
    return _account(record)


def _user_problems(grid: Grid, username: str, password: str, role: str,
                   area: list[str]) -> list[str]:
    problems = []
    if not username or not username.replace("_", "").replace("-", "").isalnum():
        problems.append("用户名只能用字母、数字、下划线和连字符")
    if len(password) < 8:
        problems.append("密码至少8位")
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


def list_users(store: Store) -> list[Account]:
    return [_account(r) for r in store.read(Store.USERS).all("users")]


# -- login, sessions, throttle --------------------------------------------------
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_user(store: Store, username: str) -> dict[str, Any] | None:
    return store.read(Store.USERS).find_one("users", username=username)


def failed_recently(store: Store, keys: list[str], window: int, now: float) -> int:
    return max((len([f for f in store.read(Store.throttle(k)).find("failures", key=k)
                     if now - f["at"] < window]) for k in keys), default=0)


def authenticate(store: Store, username: str, password: str, *, keys: list[str],
                 window: int, hours: int) -> Account | None:
    """A new session for good credentials; None otherwise (and the failure counted).

    Unknown users and wrong passwords are indistinguishable to the caller, and
    both are counted, so probing usernames costs the same as guessing passwords.
    """
    now = time.time()
    record = find_user(store, username)
    throttles = sorted({Store.throttle(k) for k in keys})
    if record is None or not check_password_hash(record["password_hash"], password):
        with store.transaction(*throttles) as shards:
            for key in keys:
                shard = shards[Store.throttle(key)]
                shard.insert("failures", {"key": key, "at": now})
                _forget_old_failures(shard, now, window)
        return None
    token = secrets.token_urlsafe(32)
    hashed = token_hash(token)
    with store.transaction(Store.sessions(hashed), *throttles) as shards:
        sessions = shards[Store.sessions(hashed)]
        # Expired sessions of this bucket go at each login, so no bucket grows for ever.
        sessions.remove_ids("sessions", [s["doc_id"] for s in sessions.all("sessions")
                                         if s["expires"] < now])
        sessions.insert("sessions", {"token_hash": hashed, "username": username,
                                     "expires": now + hours * 3600})
        for key in keys:
            shards[Store.throttle(key)].remove("failures", key=key)
    return _account(record, token)


def _forget_old_failures(shard, now: float, window: int) -> None:
    shard.remove_ids("failures", [f["doc_id"] for f in shard.all("failures")
                                  if now - f["at"] >= window])


def account_for_session(store: Store, token: str) -> Account | None:
    hashed = token_hash(token)
    session = store.read(Store.sessions(hashed)).find_one("sessions", token_hash=hashed)
    if session is None or session["expires"] < time.time():
        return None
    record = find_user(store, session["username"])
    return _account(record, token) if record else None


def end_session(store: Store, token: str) -> None:
    hashed = token_hash(token)
    with store.transaction(Store.sessions(hashed)) as shards:
        shards[Store.sessions(hashed)].remove("sessions", token_hash=hashed)
