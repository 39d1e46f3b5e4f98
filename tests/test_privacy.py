"""The one masking rule, and logs that never keep a full ID or mobile number."""

from __future__ import annotations

import logging

import pytest

from survey_app.privacy import mask_id, mask_name, scrub


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
