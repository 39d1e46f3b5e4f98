"""The failed-login throttle: growing delays, never a lock-out.

Following OWASP ASVS 4.0.3 2.2.1 and the OWASP Authentication Cheat Sheet (like
django-axes' per-(user, address) lock-out, but with delays).  A hard lock lets anyone lock any account, and an
address-only key locks out a whole township office behind one NAT address.
Each attempt is counted under three keys:

* the (account, address) pair: ``LOGIN_MAX_FAILURES`` failures cost nothing,
  then each further attempt waits ``LOGIN_DELAY_SECONDS``, doubling each time,
  up to ``LOGIN_DELAY_MAX_SECONDS``;
* the account from any address: the same free failures and doubling, but never
  more than ``LOGIN_ACCOUNT_DELAY_MAX_SECONDS`` (a minute).  This is what slows
  guessing spread over many addresses (about 60 guesses an hour per account
  with the defaults; ASVS 2.2.1 allows 100), while the owner, whose own pair
  has no failures, waits at most that minute however hard others are guessing;
* the address alone: ``LOGIN_ADDRESS_MAX_FAILURES`` free failures (a whole
  office mistyping), then doubling up to ``LOGIN_DELAY_MAX_SECONDS``.

A key's failures are forgotten once it has had none for ``LOGIN_WINDOW_SECONDS``
beyond the longest delay, so a delay stays at its longest for as long as the
guessing goes on (a sliding count would let old failures expire together and
free a burst of guesses).
With the defaults one address guessing at one account gets about 4 guesses an
hour once past the first few, many addresses together about 60 an hour per
account, and one address spraying many accounts its 100 and then about 4 an
hour; nobody is ever refused for longer than the longest delay.

A login that succeeds forgets the failures of its own (account, address) pair,
under all three keys, never those from other addresses (a lucky owner must
not reset an attacker's count).  The attempt is *reserved* — written as a
failure under all three keys in one store transaction — before the password is
checked, and forgotten with the rest if the password was right (``users.authenticate``), so concurrent
guesses can never get more password checks than the budget.  An attempt that must wait
writes nothing (hammering does not lengthen the wait) and is answered 429 with
the seconds to wait.  Unknown usernames are counted the same way and cost one
password hash too, against a dummy hash, so neither the time taken nor the
throttle tells which usernames exist.  Throttle keys are HMACs of the username
and address, so an ID number typed as a username is never stored in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .store import Store


@dataclass(frozen=True)
class LoginKeys:
    """The three throttle keys of one attempt (see the module docstring)."""

    account: str
    pair: str
    address: str

    @classmethod
    def of(cls, username: str, address: str, secret: str | bytes) -> LoginKeys:
        """HMACs under the app's secret, so a mistyped ID number is never kept in clear."""
        key = secret.encode("utf-8") if isinstance(secret, str) else secret

        def mac(kind: str, *parts: str) -> str:
            text = "\0".join((kind, *parts)).encode("utf-8")
            return f"{kind}_{hmac.new(key, text, hashlib.sha256).hexdigest()[:32]}"

        name = username.strip().lower()
        address = address or "-"
        return cls(mac("user", name), mac("pair", name, address), mac("addr", address))

    def __iter__(self) -> Iterator[str]:
        return iter((self.account, self.pair, self.address))


@dataclass(frozen=True)
class Throttle:
    """The throttle's numbers, as the LOGIN_* settings give them."""

    free: int = 5
    window: float = 900
    delay: float = 2
    max_delay: float = 900
    account_max_delay: float = 60
    address_free: int = 100

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Throttle:
        return cls(free=int(config["LOGIN_MAX_FAILURES"]), window=float(config["LOGIN_WINDOW_SECONDS"]),
                   delay=float(config["LOGIN_DELAY_SECONDS"]),
                   max_delay=float(config["LOGIN_DELAY_MAX_SECONDS"]),
                   account_max_delay=float(config["LOGIN_ACCOUNT_DELAY_MAX_SECONDS"]),
                   address_free=int(config["LOGIN_ADDRESS_MAX_FAILURES"]))

    @property
    def memory(self) -> float:
        """How long a key must stay quiet for its failures to be forgotten."""
        return self.window + self.max_delay

    def _delay(self, failures: int, free: int, cap: float) -> float:
        if failures < free:
            return 0.0
        return min(self.delay * 2.0 ** min(failures - free, 40), cap)

    def wait(self, keys: LoginKeys, failures: Mapping[str, list[float]], at: float) -> float:
        """Seconds the next attempt under ``keys`` must still wait (0: it may go ahead)."""
        rules = ((keys.pair, self.free, self.max_delay),
                 (keys.account, self.free, self.account_max_delay),
                 (keys.address, self.address_free, self.max_delay))
        # A key under its free failures makes no one wait, even if a concurrent attempt that
        # started a moment later reserved its failure first (its time is then after ``at``).
        waits = [max(times) + delay - at for key, free, cap in rules
                 if (times := failures.get(key)) and (delay := self._delay(len(times), free, cap)) > 0]
        return max([0.0, *waits])


class LoginDelayed(Exception):
    """Too many recent failures under one of the attempt's keys: try again in ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds = max(1, math.ceil(seconds))
        super().__init__(self.seconds)


def reserve(store: Store, keys: LoginKeys, throttle: Throttle, at: float) -> None:
    """Count the attempt as a failure before the password is checked, or raise LoginDelayed.

    One transaction over the keys' shards: concurrent attempts see each other's
    reservations, so they cannot all slip under the budget at once.
    """
    names = {key: Store.throttle(key) for key in keys}
    with store.transaction(*names.values()) as shards:
        failures = {key: _live([f["at"] for f in shards[names[key]].find("failures", key=key)],
                               at, throttle.memory) for key in keys}
        wait = throttle.wait(keys, failures, at)
        if wait > 0:
            raise LoginDelayed(wait)  # nothing written: waiting out a delay never lengthens it
        for key in keys:
            shards[names[key]].insert("failures", {"key": key, "at": at, "pair": keys.pair})
        # Past free + 40 failures the delay is at its cap whatever the count: keep no more rows.
        keep = {keys.pair: throttle.free + 40, keys.account: throttle.free + 40,
                keys.address: throttle.address_free + 40}
        for name in set(names.values()):
            _forget_old_failures(shards[name], at, throttle.memory, keep)


def _live(times: list[float], at: float, memory: float) -> list[float]:
    """A key's failures: all of them while the newest is younger than ``memory``, else none."""
    return times if times and at - max(times) < memory else []


def _forget_old_failures(shard, at: float, memory: float, keep: Mapping[str, int]) -> None:
    """Drop the failures of keys quiet for ``memory`` seconds, and the oldest beyond ``keep``."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for failure in shard.all("failures"):
        by_key.setdefault(failure.get("key"), []).append(failure)
    gone = []
    for key, rows in by_key.items():
        rows.sort(key=lambda f: f["at"])
        if at - rows[-1]["at"] >= memory:
            gone.extend(rows)
        elif len(rows) > keep.get(key, len(rows)):
            gone.extend(rows[:len(rows) - keep[key]])
    shard.remove_ids("failures", [f["doc_id"] for f in gone])
