"""Coverage village by village: right figures, kept fresh while they are reused between requests."""

from __future__ import annotations

import re

from conftest import TOWNSHIP_A, VILLAGE_A, first_household
from helpers import answers, submission

from survey_app import formdef, registry
from survey_app.registry import Scope
from survey_app.settings import defaults
from survey_app.store import LocalStore, Store

SCOPE_A = Scope(username="tester", villages=frozenset({VILLAGE_A}))


def village_row(page: str, village: str) -> list[int]:
    """The figures of one village's row on the staff dashboard."""
    row = re.search(rf'<tr>\s*<td><a href="/s/v/{village}">.*?</tr>', page, re.S).group(0)
    return [int(n) for n in re.findall(r"<td>(\d+)</td>", row)]


def expected_row(store: Store, village: str) -> list[int]:
    shard = store.read(Store.village(village))
    persons = shard.all("persons")
    registered = [p for p in persons if p["status"] == "registered"]
    households = shard.all("households")
    visited = {p["household"] for p in registered}
    listed = {h["doc_id"]: sum(1 for p in persons if p["household"] == h["doc_id"]) for h in households}
    # 户不漏人: a household's declared members count as expected even before anyone lists them
    expected = sum(max(listed[h["doc_id"]], h["members_count"]) for h in households)
    return [len(households), sum(1 for h in households if h["doc_id"] in visited), expected,
            len(registered), sum(1 for p in registered if p["answers"].get("not_enrolled_reason"))]


def register(store: Store, village: str, **overrides) -> None:
    house = first_household(store, village)
    registry.submit(store, SCOPE_A, _form(), submission(house["ref"], **overrides))


def _form():
    return formdef.load(defaults()["FORMS_DIR"], "registration")


def test_dashboard_rows_match_the_village_files(auth, client, store):
    register(store, VILLAGE_A, resident_pension="not_enrolled", resident_medical="not_enrolled",
             not_enrolled_reason="student")
    auth.login("township")
    page = client.get("/s/").get_data(as_text=True)
    villages = re.findall(r'<a href="/s/v/(\d+)">', page)
    assert villages and all(v.startswith(TOWNSHIP_A) for v in villages)
    for village in villages:
        assert village_row(page, village) == expected_row(store, village)
    assert expected_row(store, VILLAGE_A)[-1] == 1


def test_a_submission_shows_on_the_next_dashboard_view(auth, client, store):
    auth.login("township")
    before = village_row(client.get("/s/").get_data(as_text=True), VILLAGE_A)
    auth.logout()
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)
    response = client.post("/api/v1/submissions", json=submission(house["ref"]),
                           headers={"X-CSRFToken": auth.api_token()})
    assert response.status_code == 201
    auth.logout()
    auth.login("township")
    after = village_row(client.get("/s/").get_data(as_text=True), VILLAGE_A)
    assert after[3] == before[3] + 1


def test_a_write_by_another_process_is_seen(store, data_dir):
    first = registry.village_coverage(store, VILLAGE_A)
    other_process = LocalStore(data_dir)  # its own cache, its own writes: only the file is shared
    register(other_process, VILLAGE_A)
    assert registry.village_coverage(store, VILLAGE_A)["persons_registered"] == \
        first["persons_registered"] + 1


def test_an_unchanged_village_is_not_parsed_again(store):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    name = Store.village(VILLAGE_A)
    assert store.derived(name, "probe", compute) == store.derived(name, "probe", compute)
    assert len(calls) == 1
    register(store, VILLAGE_A, name="李四", id_number=answers()["id_number"])
    assert store.derived(name, "probe", compute) == {"n": 2}


def test_callers_cannot_spoil_the_cached_row(store):
    row = registry.village_coverage(store, VILLAGE_A)
    row["not_enrolled"]["student"] = 999
    row["persons_registered"] = -1
    again = registry.village_coverage(store, VILLAGE_A)
    assert again["not_enrolled"].get("student") != 999 and again["persons_registered"] >= 0


def test_kept_rows_follow_every_kind_of_write(app, store):
    """Roster imports, new households, registrations and edits: the rows kept as writes happen
    equal the rows computed from the records, and a damaged row is found and repaired."""
    from survey_app import coverage, state
    with app.app_context():
        form, houses = state.registration_form(), state.household_form()
        ref, _ = registry.add_household(store, SCOPE_A, houses, VILLAGE_A, {
            "head_name": "周八", "address": "临山村3组5号", "members_count": "2"})
        saved = registry.submit(store, SCOPE_A, form, submission(ref, name="周八"))
        registry.submit(store, SCOPE_A, form, {**submission(ref, name="周八", relationship="head",
                                                              resident_pension="not_enrolled",
                                                              not_enrolled_reason="migrant_work"),
                                               "person": saved.ref})
        roster_person = store.read(Store.village(VILLAGE_A)).find_one("persons", status="expected")
        registry.submit(store, SCOPE_A, form, {
            **submission(f"{VILLAGE_A}.{roster_person['household']}",
                         **{k: roster_person["answers"][k] for k in ("name", "id_number", "sex")}),
            "person": f"{VILLAGE_A}.{roster_person['doc_id']}"})
    assert coverage.rebuild(store, [VILLAGE_A]) == []
    row = coverage.village_row(store, VILLAGE_A)
    assert row == coverage.computed_row(store.read(Store.village(VILLAGE_A)), VILLAGE_A)
    assert row["not_enrolled"] == {"migrant_work": 1}
    with store.transaction(Store.summary(VILLAGE_A)) as shards:  # as a crash between two appends would
        shards[Store.summary(VILLAGE_A)].replace(coverage.ROWS, int(VILLAGE_A), {**row, "households": 0})
    assert coverage.rebuild(store, [VILLAGE_A]) == [VILLAGE_A]
    assert coverage.village_row(store, VILLAGE_A) == row


def _strip_new_counts(store: Store, village: str) -> None:
    """Rows as a version before the nested dashboard counts kept them (village, copy and total)."""
    from survey_app import coverage
    new = ("persons_uninsured", "uninsured", "by_day", "by_user", "reviews")
    summary = Store.summary(village)
    with store.transaction(Store.village(village), summary) as shards:
        for shard, table, doc_id in ((shards[Store.village(village)], coverage.SUMMARY, 1),
                                     (shards[summary], coverage.ROWS, int(village)),
                                     (shards[summary], coverage.TOTALS, 1)):
            row = shard.get(table, doc_id)
            shard.replace(table, doc_id, {k: v for k, v in row.items() if k not in new})


def test_rows_kept_before_the_dashboard_counts_read_zero_and_are_recomputed(store):
    """An old row reads its missing counts as zero; ``canbao check`` finds it; the village's next
    write recomputes it whole (and its township's total from the rows); --repair sets it right."""
    from survey_app import coverage
    register(store, VILLAGE_A, resident_pension="not_enrolled", not_enrolled_reason="migrant_work")
    computed = coverage.village_row(store, VILLAGE_A)
    assert computed["persons_uninsured"] == 1 and computed["by_user"] == {
        "tester": {"households": 1, "registered": 1}}
    _strip_new_counts(store, VILLAGE_A)
    old = coverage.village_row(store, VILLAGE_A)
    assert (old["persons_uninsured"], old["uninsured"], old["by_day"], old["by_user"], old["reviews"]) == \
        (0, {}, {}, {}, {})
    assert old["persons_registered"] == computed["persons_registered"]
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == [VILLAGE_A]
    register(store, VILLAGE_A, name="李四", id_number=answers()["id_number"])
    shard = store.read(Store.village(VILLAGE_A))
    assert coverage.village_row(store, VILLAGE_A) == coverage.computed_row(shard, VILLAGE_A)
    assert coverage.village_row(store, VILLAGE_A)["by_user"]["tester"]["registered"] == 2
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []
    summary = store.read(Store.summary(VILLAGE_A))
    assert coverage._normal(summary.get(coverage.TOTALS, 1), "") == \
        {**coverage.totals(summary.all(coverage.ROWS)), "village": ""}
    _strip_new_counts(store, VILLAGE_A)
    assert coverage.rebuild(store, [VILLAGE_A]) == [VILLAGE_A]  # canbao check --repair
    assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []
    assert coverage.village_row(store, VILLAGE_A)["persons_uninsured"] == 1


def test_review_states_and_registration_days_follow_each_change(store):
    """The nested counts are state-based: a review decided, changed, or a record returned and
    approved again moves one count and leaves no empty entry behind."""
    from survey_app import coverage
    register(store, VILLAGE_A)
    person = max(store.read(Store.village(VILLAGE_A)).find("persons", status="registered"),
                 key=lambda p: p["doc_id"])

    def change(**fields):
        with coverage.transaction(store, [VILLAGE_A]) as shards:
            shards[Store.village(VILLAGE_A)].update("persons", person["doc_id"], fields)
        assert coverage.rebuild(store, [VILLAGE_A], repair=False) == []
        return coverage.village_row(store, VILLAGE_A)

    row = change(registered_at="2026-11-20T09:00:00+08:00")
    assert row["reviews"] == {"pending": 1} and row["by_day"] == {"2026-11-20": 1}
    row = change(review={"state": "returned", "by": "township"})
    assert row["reviews"] == {"returned": 1} and row["by_user"]["tester"]["returned"] == 1
    row = change(review={"state": "approved"}, audit={"state": "questioned"})
    assert row["reviews"] == {"approved": 1, "questioned": 1}
    assert row["by_user"] == {"tester": {"households": 1, "registered": 1}}
    row = change(status="expected", registered_by=None, review=None, audit=None)
    assert (row["by_user"], row["reviews"], row["by_day"]) == ({}, {}, {})


def test_add_drops_zero_and_empty_nested_counts():
    from survey_app import coverage
    row = coverage.add(coverage.empty_row("1"), {"by_user": {"a": {"registered": 1}}, "households": 1})
    back = coverage.add(row, {"by_user": {"a": {"registered": 1}}, "households": 1}, -1)
    assert back == coverage.empty_row("1")
    part = {"by_user": {"a": {"registered": 1}}}
    total = coverage.add(row, part)
    total["by_user"]["a"]["registered"] = 99  # a sum shares no dict with its terms
    assert part == {"by_user": {"a": {"registered": 1}}} and row["by_user"] == {"a": {"registered": 1}}
