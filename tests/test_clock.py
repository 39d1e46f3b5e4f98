"""One clock: at a fixed instant either side of Beijing's midnight, every date agrees."""

from __future__ import annotations

import datetime as dt

import pytest
from test_portal import build

from survey_app import clock, create_app, documents, idcard, registry
from survey_app.portal import built_on

BEFORE_MIDNIGHT = dt.datetime(2026, 11, 21, 15, 59, tzinfo=dt.UTC)  # 23:59 on the 21st in Beijing
AFTER_MIDNIGHT = dt.datetime(2026, 11, 21, 16, 1, tzinfo=dt.UTC)    # 00:01 on the 22nd; UTC says 21st


@pytest.fixture
def at(monkeypatch):
    def fix(instant: dt.datetime) -> None:
        monkeypatch.setattr(clock, "utc_now", lambda: instant)
    return fix


@pytest.mark.parametrize(("instant", "day"), [(BEFORE_MIDNIGHT, 21), (AFTER_MIDNIGHT, 22)])
def test_every_date_is_the_campaigns_either_side_of_midnight(at, instant, day):
    at(instant)
    expected = dt.date(2026, 11, day)
    assert clock.today() == idcard.current_date() == documents.today() == expected
    stamp = dt.datetime.fromisoformat(registry.now_iso())
    assert stamp.date() == expected and stamp.utcoffset() == dt.timedelta(hours=8)


def test_the_portal_marks_beijings_today_not_the_servers(at, tmp_path):
    at(dt.datetime(2027, 1, 14, 16, 1, tzinfo=dt.UTC))  # 00:01 on the 15th in Beijing, the 14th in UTC
    site = build(tmp_path / "site", today=None)
    assert built_on(site) == dt.date(2027, 1, 15)


def test_the_time_zone_is_a_setting(at, data_dir):
    at(dt.datetime(2026, 11, 21, 17, 30, tzinfo=dt.UTC))  # 01:30 in Beijing, 23:30 in Ürümqi
    assert clock.today() == dt.date(2026, 11, 22)
    app = create_app({"TESTING": True, "DATA": str(data_dir), "TIME_ZONE": "Asia/Urumqi"})
    with app.app_context():
        assert clock.today() == dt.date(2026, 11, 21)
        assert registry.now_iso().endswith("+06:00")
