"""The demo's dispute ledger: played through the ledger's own steps, at their days in the past."""

from __future__ import annotations

from survey_app import clock, grid
from survey_app.campaign import load_campaign
from survey_app.disputes import demo, ledger
from survey_app.store import Store

CAMPAIGN = load_campaign("content/data/campaign.toml")


def test_the_demo_ledger_holds_items_at_every_stage(store, monkeypatch):
    loaded = grid.load(store)
    assert demo.load(store, loaded, CAMPAIGN, "forms") == 7
    items = store.read(Store.disputes(loaded.townships[0]["code"])).all(ledger.TABLE)
    assert len(items) == 7
    today = clock.today()
    states = {(i["answers"]["category"], i["state"]) for i in items}
    assert ("employer", "closed") in states and ("service", "open") in states
    assert any(ledger.overdue(i, CAMPAIGN.workdays, today) for i in items)
    escalated = next(i for i in items if i["answers"]["category"] == "employer")
    assert escalated["level"] == "difficult" and "task_force" in escalated["holders"]
    reopened = next(i for i in items if i["answers"]["category"] == "special" and i["replies"] == []
                    and i["reply"] is not None)
    assert reopened["state"] == "open" and reopened["holders"] == ["finance"]
    assert {i["received_at"][:10] for i in items} > {today.isoformat()}  # spread over the weeks
    assert demo.load(store, loaded, CAMPAIGN, "forms") == 0  # loaded twice: the first history stays
    assert len(store.read(Store.disputes(loaded.townships[0]["code"])).all(ledger.TABLE)) == 7
