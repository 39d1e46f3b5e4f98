"""The one masking rule for anything the public, a log or an audit entry sees (PIPL).

Names keep their first character and, from three characters on, their last;
ID numbers keep the 6-digit area code and the last 4 characters, hiding the
8 birth-date digits; phone numbers are never published, and masked to their
last 4 digits where an operator needs to recognise one.
"""

from __future__ import annotations

import logging
import re
import traceback

FULL_ID = re.compile(r"\d{17}[\dXx]|\d{15}")
MOBILE_ANYWHERE = re.compile(r"1[3-9]\d{9}")


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id(number: str) -> str:
    number = (number or "").strip().upper()
    if len(number) != 18:
        return "*" * len(number)
    return number[:6] + "*" * 8 + number[-4:]


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return "*" * 7 + digits[-4:] if len(digits) >= 7 else "*" * len(digits)


def scrub(text: str) -> str:
    """Mask any full ID or mobile number inside free text bound for a log."""
    text = FULL_ID.sub(lambda m: mask_id(m.group(0)) if len(m.group(0)) == 18 else "*" * 15, text)
    return MOBILE_ANYWHERE.sub(lambda m: mask_phone(m.group(0)), text)


class ScrubPersonalNumbers(logging.Filter):
    """A logging filter that masks ID and mobile numbers, tracebacks included.

    Views never log personal numbers on purpose; this catches the accidents,
    such as a form value quoted in an exception message.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        if record.exc_info:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def scrub_logs(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if not any(isinstance(f, ScrubPersonalNumbers) for f in logger.filters):
            logger.addFilter(ScrubPersonalNumbers())
