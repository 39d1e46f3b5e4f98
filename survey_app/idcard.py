"""Citizen ID numbers (公民身份号码, GB 11643-1999).

python-stdnum supplies the ISO 7064 MOD 11-2 check character and the county
table, but its ``validate`` rejects a number whose county code was created after
the birth year.  Numbers carry the code of the office that issued them and are
reissued when a county is renamed or split, so real adults hold such codes (anyone
born before 1999 with a 榆阳区 610802 number): a known code is never questioned,
whatever the birth year, and only a code the table does not know is a warning.
Nothing about the county is ever a refusal.

Ages (the form's ``age`` terms) are counted from the birth date in the number
against :func:`current_date`, the campaign's one clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric

from . import clock, textnorm
from .i18n import lazy

ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
LEGACY_PATTERN = re.compile(r"^\d{15}$")
EARLIEST_BIRTH_YEAR = 1890


def current_date() -> dt.date:
    """Today in China: the one clock ID numbers and ages are judged by (tests replace it)."""
    return clock.today()


class IdNumberError(ValueError):
    """The number cannot be accepted; the message is for the enumerator."""


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: dt.date
    sex: str  # "male" | "female"
    county: str | None
    warnings: tuple[str, ...] = field(default=())


def normalise(raw: str) -> str:
    """Full-width digits, spaces and a lower-case x, as input methods type them, folded away."""
    return textnorm.fold_code(raw or "")


def upgrade_legacy(number: str) -> str:
    """15 digits (pre-1999) → 18: insert the century 19 and add the check character."""
    body = number[:6] + "19" + number[6:]
    return body + ric.calc_check_digit(body + "0")


def parse(raw: str, today: dt.date | None = None, *, upgrade_confirmed: bool = False) -> IdNumber:
    today = today or current_date()
    number = normalise(raw)
    if LEGACY_PATTERN.match(number):
        if not upgrade_confirmed:
            raise IdNumberError(
                lazy("这是旧的15位号码，升级后为 %(new)s；请与证件核对后勾选“确认升级”再保存。",
                     new=upgrade_legacy(number))
            )
        number = upgrade_legacy(number)
    if len(number) != 18:
        raise IdNumberError(lazy("公民身份号码应为18位，现在是%(n)d位。", n=len(number)))
    if not ID_PATTERN.match(number):
        raise IdNumberError(lazy("公民身份号码前17位应为数字，最后一位为数字或X。"))
    if ric.calc_check_digit(number) != number[-1]:
        raise IdNumberError(lazy("公民身份号码校验位不正确，请逐位核对。"))
    birth = _birth_date(number)
    if birth > today:
        raise IdNumberError(lazy("号码中的出生日期 %(d)s 晚于今天。", d=birth.isoformat()))
    if birth.year < EARLIEST_BIRTH_YEAR:
        raise IdNumberError(lazy("号码中的出生年份 %(y)d 不合理。", y=birth.year))
    county, warnings = _county(number, birth.year)
    sex = "male" if int(number[16]) % 2 else "female"
    return IdNumber(number, birth, sex, county, tuple(warnings))


def birth_date_of(raw: object, today: dt.date | None = None) -> dt.date | None:
    """The birth date a typed number shows, or None while it cannot be read yet.

    What the form's age terms count from, on the server and (static/app.js) in the
    browser alike: an 18-digit number with a correct check character, or a 15-digit
    legacy number (born 19yy) before its upgrade is confirmed; a date that exists,
    is not after today and not before 1890.  Never an error: ``parse`` says what is wrong.
    """
    number = normalise(str(raw)) if raw is not None else ""
    if LEGACY_PATTERN.match(number):
        number = upgrade_legacy(number)
    if not ID_PATTERN.match(number) or ric.calc_check_digit(number) != number[-1]:
        return None
    try:
        birth = _birth_date(number)
    except IdNumberError:
        return None
    if birth > (today or current_date()) or birth.year < EARLIEST_BIRTH_YEAR:
        return None
    return birth


def _birth_date(number: str) -> dt.date:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(
            lazy("号码中的出生日期 %(d)s 不存在。", d=number[6:14])
        ) from None


def _county(number: str, birth_year: int) -> tuple[str | None, list[str]]:
    county, warnings = _county_in(number[:6], birth_year)
    return county, list(warnings)


@lru_cache(maxsize=8192)
def _county_in(code: str, birth_year: int) -> tuple[str | None, tuple]:
    """The county a code names, as named in the birth year where the table says (remembered).

    A known code is never a warning, even one set up after the birth year: numbers
    are reissued under the current code, so most elderly people hold such numbers.
    """
    results = numdb.get("cn/loc").info(code)
    names = {k: v for _part, props in results for k, v in props.items()}.get("county")
    if not names:  # neither the code nor its county (a known province is not enough)
        return None, (lazy("行政区划代码 %(c)s 未收录，请核对证件（不影响保存）。", c=code),)
    return _name_in(names, birth_year), ()


_PERIOD = re.compile(r"^\[(\d*)-(\d*)\](.*)$")


def _name_in(names: str, year: int) -> str:
    """'[-1991]东郊区,[1992-]东丽区' → the name in force in ``year``, else the latest one."""
    latest = ""
    for entry in names.split(","):
        period = _PERIOD.match(entry)
        if not period:
            return entry
        start, end, latest = period.groups()
        if (not start or int(start) <= year) and (not end or year <= int(end)):
            return latest
    return latest
