"""The one masking rule, and logs that never keep a full ID or mobile number."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from conftest import TOWNSHIP_A, VILLAGE_A

from survey_app import audit, documents
from survey_app.privacy import mask_id, mask_name, scrub
from survey_app.registry import Scope
from survey_app.store import Store


@pytest.mark.parametrize("name, masked", [
    ("张三", "张*"), ("张三丰", "张*丰"), ("欧阳娜娜", "欧**娜"), ("李", "李"), ("", ""),
])
def test_names(name, masked):
    assert mask_name(name) == masked


def test_id_keeps_area_code_and_last_four():
    assert mask_id("610802199001011234") == "610802********1234"
    assert mask_id("61080219900101123x") == "610802********123X"


def test_scrub_masks_ids_and_mobiles_in_free_text():
    text = scrub("号码 370403199001011234，电话 13812345678，办公 0632-4412345")
    assert "370403********1234" in text and "*******5678" in text
    assert "0632-4412345" in text  # office landlines are public


def test_app_logs_are_scrubbed_even_in_tracebacks(app, caplog):
    with caplog.at_level(logging.ERROR):
        app.logger.error("bad value %s from %s", "370403199001011234", "13812345678")
        try:
            raise ValueError("370403199001011234")
        except ValueError:
            app.logger.exception("failed")
    assert "370403199001011234" not in caplog.text
    assert "13812345678" not in caplog.text
    assert "370403********1234" in caplog.text


def test_the_access_log_keeps_paths_and_sizes_but_never_a_query_string(data_dir, tmp_path):
    import urllib.request

    from live_server import server_process
    log = tmp_path / "access.log"
    with server_process(data_dir, workers=1, environment={"CANBAO_ACCESS_LOG": str(log)}) as (base, _p):
        with urllib.request.urlopen(f"{base}/login?next=/e/&q=370403199001011234&tel=13812345678") as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"{base}/static/favicon.svg") as answer:
            size = len(answer.read())
    lines = log.read_text(encoding="utf-8").splitlines()
    assert any(" GET /login 200 " in line for line in lines)
    assert any(" GET /static/favicon.svg 200 " in line and f" {size} " in line for line in lines)
    text = log.read_text(encoding="utf-8")
    assert "370403199001011234" not in text and "13812345678" not in text and "next=" not in text


def test_read_audit_entries_never_hold_an_id_or_phone_number(auth, client, store, app):
    """Every read on record names the person by reference, whatever the person's answers are."""
    people = [p for p in store.read(Store.village(VILLAGE_A)).all("persons") if p["answers"].get("id_number")]
    auth.login("e001001")
    for person in people[:3]:
        ref = f"{VILLAGE_A}.{person['doc_id']}"
        assert client.get(f"/api/v1/persons/{ref}").status_code == 200
        assert client.get(f"/e/h/{VILLAGE_A}.{person['household']}/register",
                          query_string={"person": ref}).status_code == 200
    auth.logout()
    auth.login("township")
    assert client.get(f"/s/v/{VILLAGE_A}").status_code == 200
    entries = audit.entries(store, VILLAGE_A)
    assert len(entries) == 7
    text = json.dumps(entries, ensure_ascii=False)
    for person in people:
        assert person["answers"]["id_number"] not in text
        assert not person["answers"].get("phone") or person["answers"]["phone"] not in text
        assert person["answers"]["name"] not in text
    assert scrub(text) == text  # nothing the log scrubber would mask either


def test_printed_pdfs_and_their_folders_are_private_whatever_the_umask(app):
    """Forms carry full ID numbers: only the server's own account may read them (0600, in 0700)."""
    old = os.umask(0o022)  # the usual default, which makes files readable by every local user
    try:
        with app.app_context():
            scope = Scope(frozenset({VILLAGE_A}), "township")
            made = documents.print_notice(scope, "roster", village=VILLAGE_A)
    finally:
        os.umask(old)
    exports = Path(app.config["EXPORTS_DIR"])
    for path in (made.pdf, made.pdf.with_suffix(".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (exports, exports / TOWNSHIP_A, made.pdf.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert not [p for p in made.pdf.parent.iterdir() if p.name.startswith(".")]  # no temporary left
