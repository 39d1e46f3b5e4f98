"""What Chinese input methods type, folded to one spelling before anything is checked or stored.

A pinyin keyboard in full-width mode types ``１２３`` and ``Ｘ``, an ideographic
space ``\\u3000`` and one of several middle dots in a minority name.  Left as
typed, ``１１０１０５…`` and ``110105…`` are two people to every look-up, and
the duplicate check misses the second.  Every path a value enters by (web
form, API, roster and comparison files, outbox import) calls these
functions, through :meth:`FormDefinition.validate` or directly.

Only digits, Latin letters and spaces are folded in free text: full-width
punctuation (，。：) is how Chinese is written and stays as typed.
"""

from __future__ import annotations

import re

FULL_WIDTH_OFFSET = 0xFEE0  # U+FF01..U+FF5E are U+0021..U+007E moved up by this much
_ALNUM = {cp: cp - FULL_WIDTH_OFFSET for start, end in (("０", "９"), ("Ａ", "Ｚ"), ("ａ", "ｚ"))
          for cp in range(ord(start), ord(end) + 1)}
_ASCII = {cp: cp - FULL_WIDTH_OFFSET for cp in range(0xFF01, 0xFF5F)}
_SPACES = {0x3000: " ", 0x00A0: " ", 0x2002: " ", 0x2003: " ", 0x2009: " ", 0x200B: None, 0xFEFF: None}

# The separator of a transliterated name (GB 18030 / 国家民委 2016 姓名采集应用规范) is U+00B7.
# Input methods and old systems produce all of these for it.
NAME_SEPARATOR = "\u00b7"
_DOTS = "\u2022\u30fb\uff0e\u2027\uff65\u2219\u22c5\u0387\u2e31\u00b7.\u16eb\u2027\u2981\u2e33"
_DOT_RUN = re.compile(f"\\s*[{re.escape(_DOTS)}]+\\s*")
_WHITESPACE = re.compile(r"\s+")
_NON_LATIN_SPACE = re.compile(r"(?<![A-Za-z]) | (?![A-Za-z])")


def fold_text(value: str) -> str:
    """Free text (addresses, remarks): full-width digits and letters to ASCII, odd spaces to one."""
    return value.translate(_ALNUM).translate(_SPACES).strip()


def fold_code(value: str) -> str:
    """A number typed on any keyboard (ID, phone, codes): all full-width ASCII folded, no spaces."""
    return _WHITESPACE.sub("", value.translate(_ASCII).translate(_SPACES)).upper()


def person_name(value: str) -> str:
    """A name: folded, one U+00B7 between parts, single spaces only between Latin words."""
    folded = _WHITESPACE.sub(" ", fold_text(value))
    folded = _NON_LATIN_SPACE.sub("", folded)  # 张 三 is 张三; John Smith keeps its space
    return _DOT_RUN.sub(NAME_SEPARATOR, folded).strip(NAME_SEPARATOR + " ")


def phone(value: str) -> str:
    return fold_code(value)
