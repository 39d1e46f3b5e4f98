"""Working days across weekends, official holidays and adjusted working days (调休)."""

from __future__ import annotations

import datetime as dt

import pytest

from survey_app.campaign import load_campaign
from survey_app.workdays import CalendarError, WorkCalendar, parse_calendar

D = dt.date
# 2026: National Day 10-01..10-07 off, Saturday 10-10 worked (the campaign file's own figures)
NATIONAL_DAY = WorkCalendar(frozenset(D(2026, 10, d) for d in range(1, 8)), frozenset({D(2026, 10, 10)}))


def test_a_weekend_is_skipped():
    friday = D(2026, 11, 20)
    assert NATIONAL_DAY.add(friday, 1) == D(2026, 11, 23)
    assert NATIONAL_DAY.add(friday, 5) == D(2026, 11, 27)
    assert NATIONAL_DAY.between(friday, D(2026, 11, 23)) == 1


def test_holidays_are_skipped_and_an_adjusted_saturday_counts():
    received = D(2026, 9, 30)  # Wednesday before the holiday
    # 10-01..07 off, 10-08 Thu (1), 10-09 Fri (2), 10-10 Sat worked (3), 10-12 Mon (4)
    assert NATIONAL_DAY.add(received, 3) == D(2026, 10, 10)
    assert NATIONAL_DAY.add(received, 4) == D(2026, 10, 12)
    assert not NATIONAL_DAY.is_workday(D(2026, 10, 5))
    assert NATIONAL_DAY.is_workday(D(2026, 10, 10))


def test_days_left_turn_negative_after_the_due_date():
    due = D(2026, 11, 27)
    assert NATIONAL_DAY.between(D(2026, 11, 27), due) == 0          # due today: not yet late
    assert NATIONAL_DAY.between(D(2026, 11, 30), due) == -1         # the next working day: one late
    assert NATIONAL_DAY.between(D(2026, 11, 28), due) == 0          # the Saturday after adds nothing


def test_the_campaign_file_carries_the_calendar():
    calendar = load_campaign("content/data/campaign.toml").workdays
    assert D(2026, 10, 1) in calendar.holidays
    assert calendar.is_workday(D(2026, 10, 10))
    assert calendar.covers(D(2026, 12, 31)) and not calendar.covers(D(2027, 1, 1))


def test_a_bad_calendar_is_refused_with_its_reason():
    with pytest.raises(CalendarError, match="不是日期"):
        parse_calendar({"holidays": ["10月1日"]})
    with pytest.raises(CalendarError, match="既是假日又是调休上班日"):
        parse_calendar({"holidays": [D(2026, 10, 10)], "workdays": [D(2026, 10, 10)]})
