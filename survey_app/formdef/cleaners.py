"""Answer types and named constraints: each cleans one raw answer or refuses it with a FieldError."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .. import idcard, textnorm
from ..i18n import lazy
from .errors import FieldError
from .model import Field

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3})-?(\d{7,8})$")


def _clean_text(raw: Any, limit: int) -> str:
    text = textnorm.fold_text(str(raw))
    if len(text) > limit:
        raise FieldError(lazy("不能超过%(n)d个字。", n=limit))
    return text


def _clean_select(raw: Any, fld: Field, _answers: Mapping) -> str:
    value = str(raw).strip()
    if value not in {c.value for c in fld.choices}:
        raise FieldError(lazy("请从选项中选择。"))
    return value


def _clean_phone(raw: Any, _fld: Field, _answers: Mapping) -> str:
    compact = re.sub(r"[()]", "", textnorm.phone(str(raw)))
    if MOBILE.match(compact):
        return compact
    landline = LANDLINE.match(compact)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise FieldError(lazy("请填写11位手机号码，或带区号的固定电话（如0632-4412345）。"))


def _clean_id(raw: Any, _fld: Field, answers: Mapping) -> idcard.IdNumber:
    try:
        return idcard.parse(str(raw), upgrade_confirmed=bool(answers.get("confirm_id_upgrade")))
    except idcard.IdNumberError as exc:
        raise FieldError(exc.args[0]) from None


def _clean_date(raw: Any, _fld: Field, _answers: Mapping) -> str:
    try:
        return dt.date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise FieldError(lazy("日期格式应为 年-月-日，如 1990-01-31。")) from None


def _clean_integer(raw: Any, _fld: Field, _answers: Mapping) -> int:
    text = str(raw).strip()
    if not re.fullmatch(r"-?\d{1,6}", text):
        raise FieldError(lazy("请填写整数。"))
    return int(text)


def _clean_confirm(raw: Any, _fld: Field, _answers: Mapping) -> bool:
    return raw in (True, "1", "on", "true", "yes", "y")


TYPES: Mapping[str, Callable[[Any, Field, Mapping], Any]] = MappingProxyType({
    "text": lambda raw, _f, _a: _clean_text(raw, 100),
    "textarea": lambda raw, _f, _a: _clean_text(raw, 500),
    "select_one": _clean_select,
    "id_number": _clean_id,
    "phone": _clean_phone,
    "date": _clean_date,
    "integer": _clean_integer,
    "confirm": _clean_confirm,
})

# Every CJK ideograph a name may hold (GB 18030-2022): the basic block, extension A, the
# compatibility ideographs, 〇, and the supplementary planes' extensions B to H.
IDEOGRAPHS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
NAME_CHARS = re.compile(f"^[{IDEOGRAPHS}A-Za-z·' -]+$")
NAME_LONGEST = 50  # the norm's minimum field length for a name in government systems


def _person_name(value: str) -> str:
    name = textnorm.person_name(value)
    if not 2 <= len(name) <= NAME_LONGEST or not NAME_CHARS.match(name):
        raise FieldError(lazy("姓名应为2到%(n)d个汉字或字母，少数民族姓名各部分之间用“·”分隔。",
                              n=NAME_LONGEST))
    return name


def _address(value: str) -> None:
    if len(value) < 4:
        raise FieldError(lazy("地址太短，请写到门牌号。"))


def _household_size(value: int) -> None:
    if not 1 <= value <= 50:
        raise FieldError(lazy("家庭人口数应在1到50之间。"))


# A check raises FieldError; one that also tidies the answer (a name's separators) returns it.
CONSTRAINTS: Mapping[str, Callable[[Any], Any]] = MappingProxyType({
    "person_name": _person_name,
    "address": _address,
    "remark": lambda value: None,  # the type's length limit is the rule
    "household_size": _household_size,
})
