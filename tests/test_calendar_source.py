"""One campaign calendar: change the file and the portal page, the .ics and the PDF notice all follow."""

from __future__ import annotations

import subprocess
from pathlib import Path

import icalendar
import pytest

from survey_app import create_app
from survey_app.settings import defaults

MOVED = {"2026-10-21": "2027-03-02", "2026-10-27": "2027-03-09", "2026-10-28": "2027-03-10",
         "2026-11-30": "2027-04-15", "2026-12-01": "2027-04-16", "2026-12-20": "2027-05-06"}


@pytest.fixture
def moved_app(tmp_path, data_dir):
    source = Path(defaults()["CAMPAIGN_FILE"]).read_text(encoding="utf-8")
    for old, new in MOVED.items():
        assert old in source, f"the shipped calendar no longer has {old}; update this test"
        source = source.replace(old, new)
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(source, encoding="utf-8")
    return create_app({"TESTING": True, "SECRET_KEY": "t", "DATA": str(data_dir),
                       "CAMPAIGN_FILE": str(campaign), "EXPORTS_DIR": str(tmp_path / "exports"),
                       "PORTAL_OUTPUT": str(tmp_path / "portal")})


def test_portal_calendar_ics_and_collection_notice_follow_the_one_file(moved_app):
    runner = moved_app.test_cli_runner()
    assert runner.invoke(args=["portal", "build"]).exit_code == 0
    assert runner.invoke(args=["print", "notice", "collection", "--village",
                               "370403001001"]).exit_code == 0
    out = Path(moved_app.config["PORTAL_OUTPUT"])

    calendar_page = (out / "calendar.html").read_text(encoding="utf-8")
    assert "3月2日" in calendar_page and "4月15日" in calendar_page
    assert "10月28日" not in calendar_page

    events = icalendar.Calendar.from_ical((out / "campaign.ics").read_bytes()).walk("VEVENT")
    starts = sorted(str(e.decoded("DTSTART")) for e in events)
    assert starts == ["2027-03-02", "2027-03-10", "2027-04-16"]

    pdf = next(Path(moved_app.config["EXPORTS_DIR"]).rglob("collection-*.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "3月10日" in text and "4月15日" in text
    assert "10月28日" not in text
