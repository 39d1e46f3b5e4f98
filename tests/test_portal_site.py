"""The demo server serves the built portal at /portal/ (publishing is copying the folder)."""

from __future__ import annotations


def test_portal_build_command_then_served_under_portal(app, client):
    result = app.test_cli_runner().invoke(args=["portal", "build"])
    assert result.exit_code == 0, result.output
    home = client.get("/portal/")
    assert home.status_code == 200
    assert 'lang="zh-CN"' in home.get_data(as_text=True)
    assert client.get("/portal/../../pyproject.toml").status_code == 404


def test_portal_contacts_come_from_the_grid_without_mobiles(app, client, store):
    app.test_cli_runner().invoke(args=["portal", "build"])
    from survey_app import grid
    units = grid.load(store)
    village = units.get("370403001001")
    import pathlib
    out = pathlib.Path(app.config["PORTAL_OUTPUT"])
    text = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    assert village["name"] in text
    for contact in village["contacts"]:
        assert contact["name"] in text
        assert contact["phone"] not in text


def test_no_portal_built_yet_is_a_plain_404(client):
    assert client.get("/portal/").status_code == 404


def test_printed_public_notices_are_published_on_the_portal(app, client):
    runner = app.test_cli_runner()
    for kind in ("roster", "roster", "collection"):
        result = runner.invoke(args=["print", "notice", kind, "--village", "370403001001"])
        assert result.exit_code == 0, result.output
    assert runner.invoke(args=["portal", "build"]).exit_code == 0
    import pathlib
    out = pathlib.Path(app.config["PORTAL_OUTPUT"])
    pdfs = list(out.rglob("*.pdf"))
    assert len(pdfs) == 2  # the reprinted roster replaced the first one
    index = client.get("/portal/notices.html").get_data(as_text=True)
    assert "临山村" in index


def test_a_printed_public_notice_is_on_the_served_portal_without_a_manual_build(app, client):
    result = app.test_cli_runner().invoke(args=["print", "notice", "roster", "--village", "370403001001"])
    assert result.exit_code == 0, result.output
    index = client.get("/portal/notices.html")
    assert index.status_code == 200 and "临山村" in index.get_data(as_text=True)


def test_the_served_portal_is_rebuilt_on_a_new_day(app, client):
    import datetime as dt
    import pathlib

    from survey_app.portal import OUTPUT_MARKER, built_on
    assert app.test_cli_runner().invoke(args=["portal", "build"]).exit_code == 0
    out = pathlib.Path(app.config["PORTAL_OUTPUT"])
    marker = out / OUTPUT_MARKER
    marker.write_text(marker.read_text(encoding="utf-8").replace(
        dt.date.today().isoformat(), "2026-10-01"), encoding="utf-8")
    assert built_on(out) == dt.date(2026, 10, 1)
    assert client.get("/portal/").status_code == 200
    assert built_on(out) == dt.date.today()


def test_a_failed_rebuild_keeps_serving_the_old_site(app, client, tmp_path, caplog):
    import pathlib

    from survey_app.portal import OUTPUT_MARKER
    assert app.test_cli_runner().invoke(args=["portal", "build"]).exit_code == 0
    out = pathlib.Path(app.config["PORTAL_OUTPUT"])
    marker = out / OUTPUT_MARKER
    marker.write_text("built by survey_app.portal\nbuilt_on = 2026-10-01\n", encoding="utf-8")
    broken = tmp_path / "campaign.toml"
    broken.write_text("title = [unclosed", encoding="utf-8")
    app.config["CAMPAIGN_FILE"] = str(broken)
    home = client.get("/portal/")
    assert home.status_code == 200 and 'lang="zh-CN"' in home.get_data(as_text=True)
    assert "built_on = 2026-10-01" in marker.read_text(encoding="utf-8")
    assert "portal rebuild failed" in caplog.text
    caplog.clear()
    client.get("/portal/")
    assert "portal rebuild failed" not in caplog.text  # not retried on every request
