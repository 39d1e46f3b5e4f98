"""Citizen ID numbers (公民身份号码, GB 11643-1999).

python-stdnum supplies the ISO 7064 MOD 11-2 check character and the county
table, but its ``validate`` rejects a number whose county code was created after
the birth year.  Numbers carry the code of the office that issued them, so real
adults hold such codes (anyone born before 1999 with a 榆阳区 610802 number):
here an unknown or newer county is a warning, never a refusal.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric

from .i18n import lazy

ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
LEGACY_PATTERN = re.compile(r"^\d{15}$")


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
    return re.sub(r"\s+", "", raw or "").upper()


def upgrade_legacy(number: str) -> str:
    """15 digits (pre-1999) → 18: insert the century 19 and add the check character."""
    body = number[:6] + "19" + number[6:]
    return body + ric.calc_check_digit(body + "0")


def parse(raw: str, today: dt.date | None = None, *, upgrade_confirmed: bool = False) -> IdNumber:
    today = today or dt.date.today()
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
    if birth.year < 1890:
        raise IdNumberError(lazy("号码中的出生年份 %(y)d 不合理。", y=birth.year))
    county, warnings = _county(number, birth.year)
    sex = "male" if int(number[16]) % 2 else "female"
    return IdNumber(number, birth, sex, county, tuple(warnings))


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
    """The county a code named in a birth year (stdnum's table lookup is slow: remembered)."""
    number = f"{code}{birth_year:04d}0101000"
    number += ric.calc_check_digit(number + "0")
    results = numdb.get("cn/loc").info(code)
    info = {k: v for _part, props in results for k, v in props.items()}
    if not info:
        return None, (lazy("行政区划代码 %(c)s 未收录，请核对证件（不影响保存）。", c=code),)
    try:
        place = ric.get_birth_place(number)
    except ric.InvalidComponent:
        latest = info["county"].split(",")[-1].split("]")[-1]
        return latest, (
            lazy("行政区划代码 %(c)s 晚于出生年份设立，多为后来换发的证件，可以保存。", c=code),
        )
    return place.get("county"), ()
