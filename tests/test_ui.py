"""What a phone on a poor signal gets: light pages, own assets, right keyboards, safe headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import VILLAGE_A, first_household

import survey_app

PAGE_BUDGET = 50 * 1024


def assets_of(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_registration_page_with_everything_it_loads_is_within_budget(auth, client, store):
    """First visit: the page, its assets, the manifest and its icons, the service worker and all
    it keeps for working offline, each as sent compressed."""
    auth.login("e001001")
    gzip = {"Accept-Encoding": "gzip"}

    def sent(url: str) -> bytes:
        response = client.get(url, headers=gzip)
        assert response.status_code == 200, url
        return response.get_data()

    page = client.get(f"/e/h/{first_household(store, VILLAGE_A)['ref']}/register", headers=gzip)
    assert page.headers.get("Content-Encoding") == "gzip"
    html = client.get(page.request.path).get_data(as_text=True)
    assets = assets_of(html)
    assert "/e/manifest.webmanifest" in html and any("field.js" in a for a in assets)
    manifest = json.loads(client.get("/e/manifest.webmanifest").get_data())
    worker = client.get("/e/sw.js").get_data(as_text=True)
    cached = re.findall(r'"(/static/[^"]+)"', worker)
    shells = [f"/e/shell/{k}" for k in json.loads(re.search(r"var SHELLS = (\[.*?\]);", worker).group(1))]
    urls = [*assets, "/e/manifest.webmanifest", *(i["src"] for i in manifest["icons"]), "/e/sw.js",
            *cached, *shells]
    # The worker keeps the same versioned files the page loaded: from the browser's cache, once.
    once = {u.split("?")[0]: u for u in urls}
    total = len(page.get_data()) + sum(len(sent(u)) for u in once.values())
    assert total <= PAGE_BUDGET, f"{total} bytes"


def test_id_and_phone_fields_bring_up_numeric_keyboards(auth, client, store):
    auth.login("e001001")
    html = client.get(f"/e/h/{first_household(store, VILLAGE_A)['ref']}/register").get_data(as_text=True)
    assert re.search(r'<input id="in-id_number"[^>]*inputmode="numeric"', html)
    assert re.search(r'<input id="in-phone"[^>]*type="tel"[^>]*inputmode="tel"', html)
    assert "<label for=\"in-name\">姓名" in html
    assert "<label for=\"in-id_number\">公民身份号码" in html
    assert "<label for=\"in-phone\">联系电话" in html


@pytest.mark.parametrize("path", ["/login", "/e/", "/api/v1/session", "/nowhere"])
def test_security_headers_on_every_response(auth, client, path):
    auth.login("e001001")
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_no_external_assets_or_inline_scripts_in_templates():
    root = Path(survey_app.__file__).parent
    served = [p for p in (root / "templates").rglob("*.html") if "documents" not in p.parts]
    for path in served + list((root / "static").rglob("*.*")):  # documents/ are PDF-only
        text = path.read_text(encoding="utf-8", errors="ignore")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        # a JSON data block is never run (the texts field.js shows); any other inline script would be
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", text), path
        assert "style=\"" not in text, path


def test_pages_are_chinese_first(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "登录" in html


def test_english_catalogue_switches_the_interface(auth, client):
    auth.login("e001001")
    page = client.get("/e/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/lang/en", data={"csrf_token": token, "next": "/e/"})
    english = client.get("/e/").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Log out" in english


def test_every_marked_string_has_an_english_translation(tmp_path):
    from babel.messages.frontend import CommandLineInterface
    from babel.messages.pofile import read_po
    root = Path(survey_app.__file__).parent.parent
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(root / "babel.cfg"), "-k", "lazy",
                                "-o", str(pot), str(root)])
    with open(pot, "rb") as handle:
        marked = {m.id for m in read_po(handle) if m.id}
    catalogue = root / "survey_app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with open(catalogue, "rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id and m.string}
    assert len(marked) > 50
    assert marked - translated == set()


CHINESE = re.compile(r"[\u3400-\u9fff]")


def form_definitions():
    from survey_app import formdef
    forms_dir = Path(survey_app.__file__).parent.parent / "forms"
    return [formdef.load(str(forms_dir), path.stem) for path in sorted(forms_dir.glob("*.toml"))]


def test_every_form_definition_text_has_english():
    """The form definitions are translated in the TOML itself, not the catalogue: every Chinese
    title, section, field label, choice and hint needs its _en twin."""
    missing = []
    for definition in form_definitions():
        if CHINESE.search(definition.title) and not definition.title_en:
            missing.append(f"{definition.id}: title")
        for section in definition.sections:
            if CHINESE.search(section.label) and not section.label_en:
                missing.append(f"{definition.id}.{section.name}: label_en")
            for f in section.fields:
                where = f"{definition.id}.{f.name}"
                if CHINESE.search(f.label) and not f.label_en:
                    missing.append(f"{where}: label_en")
                if f.hint and not f.hint_en:
                    missing.append(f"{where}: hint_en")
                missing += [f"{where}={c.value} ({c.label}): label_en" for c in f.choices
                            if CHINESE.search(c.label) and not c.label_en]
    assert len(form_definitions()) >= 2
    assert missing == []


def test_english_interface_shows_form_hints_and_choices_in_english(auth, client, store):
    auth.login("e001001")
    url = f"/e/h/{first_household(store, VILLAGE_A)['ref']}/register"
    chinese = client.get(url).get_data(as_text=True)
    assert "蒙古族" in chinese and "末位可为X" in chinese
    token = re.search(r'name="csrf_token" value="([^"]+)"', chinese).group(1)
    client.post("/lang/en", data={"csrf_token": token, "next": url})
    english = client.get(url).get_data(as_text=True)
    assert ">Mongol</option>" in english and "the last may be X" in english
    assert "蒙古族" not in english and "末位可为X" not in english
