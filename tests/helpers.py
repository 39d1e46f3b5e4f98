"""Answers and payloads shared by the web and API tests."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from stdnum.cn import ric

_sequence = itertools.count(100)


def new_id_number(year: int = 1988, county: str = "370403", male: bool = True) -> str:
    """A valid ID number never handed out before in this run (500 a day, then the next day)."""
    number = next(_sequence)
    born = dt.date(year, 3, 15) + dt.timedelta(days=number // 500)
    sequence = number % 500 * 2 + (1 if male else 0)
    body = f"{county}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def answers(**overrides) -> dict:
    base = {
        "name": "王秀英", "id_number": new_id_number(), "sex": "male", "ethnicity": "01",
        "phone": "13912345678", "relationship": "child", "hukou_type": "local_rural",
        "hukou_address": "临山村2组8号", "residence": "临山村2组8号", "person_category": "general",
        "resident_pension": "enrolled", "resident_medical": "enrolled",
        "employee_pension": "not_enrolled", "employee_medical": "not_enrolled",
        "pension_tier": "300", "payment_channel": "alipay",
    }
    base.update(overrides)
    return base


def submission(household: str, **overrides) -> dict:
    return {"uuid": str(uuid.uuid4()), "household": household, **answers(**overrides)}


class Instant:
    """The campaign clock (``clock.utc_now``) at 10:00 Beijing time of ``day``; move ``day`` to
    let working days pass without waiting."""

    def __init__(self, day: dt.date = dt.date(2026, 9, 1)):
        self.day = day

    def __call__(self) -> dt.datetime:
        return dt.datetime(self.day.year, self.day.month, self.day.day, 2, 0, tzinfo=dt.UTC)
