"""The password policy (ASVS 2.1.1, 2.1.7): every path that sets a password asks it first.

At least ten characters; not one character or a short unit repeated; not a run
of neighbouring characters (alphabet or keyboard); not containing the user name;
not one of the most common passwords (a bundled list, Chinese favourites
included), nor one of those with digits and signs added at the end.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common_passwords.txt"
# Runs of neighbouring characters: a password lying inside one (or its reverse) is a "sequence".
_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
         "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
         "qazwsxedcrfvtgbyhnujmikolp", "1q2w3e4r5t6y7u8i9o0p")


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str = "") -> list[str]:
    """Why a password would be easy to guess (empty: acceptable).  Every path that sets one asks."""
    problems = []
    lowered = password.lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少{MIN_PASSWORD_LENGTH}位")
    if not password.strip() or len(set(password)) == 1:
        problems.append("密码不能全是空格或同一个字符")
    elif _repeats_short_unit(lowered):
        problems.append("密码不能是几个字符的简单重复（如 abcabcabc）")
    elif _is_sequence(lowered):
        problems.append("密码不能是连续的或键盘上挨着的字符（如 123456、abcdef、qwerty）")
    if username and len(username) >= 3 and username.lower() in lowered:
        problems.append("密码不能包含用户名")
    stem = re.sub(r"[\d\W_]+$", "", lowered)  # "password2026!" is still "password"
    if lowered.strip() in common_passwords() or (len(stem) >= 6 and stem in common_passwords()):
        problems.append("密码太常见，很容易被猜中，请换一个")
    return problems


def _repeats_short_unit(text: str) -> bool:
    return any(len(text) >= 2 * n and (text[:n] * len(text))[:len(text)] == text for n in range(1, 5))


def _is_sequence(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    if len(steps) == 1 and abs(next(iter(steps))) <= 2:
        return True
    return any(text in run * 3 or text in run[::-1] * 3 for run in _RUNS)
