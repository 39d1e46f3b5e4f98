"""Rare characters in names (生僻字, CJK extensions A–H) print with real glyphs, not boxes.

WenQuanYi Micro Hei has none of the extension blocks, and WeasyPrint draws a
character no font has as an empty box without a word.  print.css names
HanaMinA, HanaMinB (fonts-hanazono) and BabelStone Han (fonts-babelstone-han)
after it.  Each PDF is read back with poppler: ``pdftohtml -xml`` tells which
embedded font drew each character (through its ToUnicode map), fontconfig which
installed fonts really cover that character, and fontTools that the font's glyph
for it has an outline.  Pango would pick *some* covering font by itself when one
is installed; the test also holds the order print.css asks for, so that a name
is drawn the same way on every machine set up by scripts/dev.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import VILLAGE_A, Auth, first_household
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from helpers import new_id_number, submission

from survey_app import create_app, documents, registry, roster_load, state
from survey_app import printed as print_room
from survey_app.collection import ledger
from survey_app.registry import Scope
from survey_app.store import Store

# The fallbacks in print.css, in its order.
FALLBACKS = ("HanaMinA", "HanaMinB", "BabelStone Han")

# Registered through the form: one rare character per block, last so the roster's mask keeps it.
REGISTERED = {
    "刘晓䶮": "\u4dae",        # extension A
    "吴承𠮷": "\U00020bb7",    # B
    "钱多𪚥": "\U0002a6a5",    # B
    "张一𠀣": "\U00020023",    # B, in HanaMinB only (BabelStone Han has a third of B)
    "郑思𫖮": "\U0002b5ae",    # C
    "陈思𫝀": "\U0002b740",    # D
    "李子𬌗": "\U0002c317",    # E
    "赵明𬺰": "\U0002ceb0",    # F
    "孙立𰀀": "\U00030000",    # G
    "周文𱍐": "\U00031350",    # H
}
# Loaded with the expected roster: a household head and a member, never registered.
IMPORTED_HEAD, IMPORTED_MEMBER = "𠮷田𪚥", "䶮𬌗"
RARE = sorted(set(REGISTERED.values()) | set(IMPORTED_HEAD + IMPORTED_MEMBER) - set("田"))
NOT_IN_ANY_FONT = "\U0002ebf0"  # extension I (Unicode 15.1): none of our fonts has it yet


# -- reading a PDF back --------------------------------------------------------------------
@functools.cache
def fonts_covering(char: str) -> dict[str, tuple[str, int]]:
    """Every family name (each alias) of an installed font with this character -> (file, index)."""
    listing = subprocess.run(["fc-list", f":charset={ord(char):x}", "--format",
                              "%{file}\t%{index}\t%{family}\n"],
                             check=True, capture_output=True, text=True).stdout
    return {family: (path, int(index)) for line in listing.splitlines() if "\t" in line
            for path, index, families in [line.split("\t")] for family in families.split(",")}


def drawn_with(pdf: Path) -> dict[str, set[str]]:
    """Character -> the embedded fonts that drew it, e.g. {"𠮷": {"HanaMinA Medium"}}."""
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", str(pdf)], check=True,
                         capture_output=True, text=True).stdout
    root = ET.fromstring(xml)
    fonts = {spec.get("id"): re.sub(r"^[A-Z]{6}\+", "", spec.get("family")).replace("-", " ")
             for spec in root.iter("fontspec")}
    drawn: dict[str, set[str]] = {}
    for run in root.iter("text"):
        for char in "".join(run.itertext()):
            drawn.setdefault(char, set()).add(fonts[run.get("font")])
    return drawn


def family_of(font: str, char: str) -> str | None:
    """The covering family an embedded font's name ("HanaMinA Medium") stands for, if any."""
    return next((f for f in fonts_covering(char) if font == f or font.startswith(f + " ")), None)


@functools.cache
def _font(path: str, index: int) -> TTFont:
    return TTFont(path, fontNumber=index, lazy=True)


def has_outline(font_file: tuple[str, int], char: str) -> bool:
    font = _font(*font_file)
    name = font.getBestCmap().get(ord(char))
    if name in (None, ".notdef"):
        return False
    glyphs = font.getGlyphSet()
    pen = BoundsPen(glyphs)
    glyphs[name].draw(pen)
    return pen.bounds is not None


def wrongly_drawn(pdf: Path, chars) -> dict[str, str]:
    """Each character that is missing, or drawn by a font without it (a box), with why."""
    drawn = drawn_with(pdf)
    wrong = {}
    for char in chars:
        for font in drawn.get(char) or {"(not in the text)"}:
            family = family_of(font, char)
            if family is None:
                wrong[char] = f"U+{ord(char):X} drawn with {font}, which has no glyph for it"
            elif not has_outline(fonts_covering(char)[family], char):
                wrong[char] = f"U+{ord(char):X}: {family}'s glyph is empty"
    return wrong


def preferred(char: str) -> str:
    return next(f for f in FALLBACKS if f in fonts_covering(char))


# -- the documents -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pdfs(tmp_path_factory, demo_template):
    """Forms from the print room and the public roster of a village with rare names in it."""
    missing = [f for f in FALLBACKS if not subprocess.run(["fc-list", f], capture_output=True,
                                                          text=True).stdout]
    assert not missing, f"fonts missing ({missing}): scripts/dev installs fonts-hanazono fonts-babelstone-han"
    root = tmp_path_factory.mktemp("fonts")
    shutil.copytree(demo_template, root / "data", ignore=shutil.ignore_patterns("locks"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATA": str(root / "data"),
                      "EXPORTS_DIR": str(root / "exports"), "PUBLIC_URL": "https://canbao.example"})
    with app.app_context():
        store = state.store()
        scope = Scope(frozenset(state.current_grid().villages_under("370403")), "tester")
        home = first_household(store, VILLAGE_A)["ref"]
        for name in REGISTERED:
            ref = registry.submit(store, scope, state.registration_form(), submission(home, name=name)).ref
            # the public roster lists those who paid: tier 300 + medical 400 each
            ledger.record(store, scope, state.rates(), state.payment_channels(), {
                "uuid": str(uuid.uuid4()), "person": ref, "amount": "700", "channel": "alipay",
                "schemes": ["resident_pension", "resident_medical"]})
        members = [{"name": name, "id_number": new_id_number(1970), "sex": "male", "relationship": rel}
                   for name, rel in ((IMPORTED_HEAD, "head"), (IMPORTED_MEMBER, "child"))]
        roster_load.import_roster(store, VILLAGE_A, [{"head_name": IMPORTED_HEAD, "address": "临山村9组1号",
                                                   "members_count": 2, "members": members}])
        names = {p["answers"]["name"] for p in store.read(Store.village(VILLAGE_A)).all("persons")}
        assert set(REGISTERED) | {IMPORTED_HEAD, IMPORTED_MEMBER} <= names
        roster = documents.print_notice(scope, "roster", village=VILLAGE_A).pdf

    client = app.test_client()
    Auth(client).login("township")
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/s/print/").get_data(as_text=True)).group(1)
    response = client.post("/s/print/forms", data={"csrf_token": token, "village": VILLAGE_A,
                                                   "blank": "0"})
    assert response.status_code == 302
    with app.app_context():
        assert print_room.wait_for_jobs(state.store(), 300)
    listing = client.get("/s/print/").get_data(as_text=True)
    link = re.search(r'href="(/s/print/files/[^"]*forms[^"]*)"', listing)
    assert link, re.sub(r"<[^>]+>", " ", listing[listing.find("<main"):])  # the print room says why
    forms = root / "forms.pdf"
    forms.write_bytes(client.get(link.group(1)).data)
    return {"forms": forms, "roster": roster}


def test_forms_print_every_rare_name_whole(pdfs):
    text = subprocess.run(["pdftotext", str(pdfs["forms"]), "-"], check=True, capture_output=True,
                          text=True).stdout
    for name in [*REGISTERED, IMPORTED_HEAD, IMPORTED_MEMBER]:
        assert name in text, name
    assert f"户主：{IMPORTED_HEAD}" in text


def test_roster_keeps_the_rare_last_characters(pdfs):
    text = subprocess.run(["pdftotext", str(pdfs["roster"]), "-"], check=True, capture_output=True,
                          text=True).stdout
    for name in REGISTERED:
        assert f"{name[0]}*{name[-1]}" in text, name


@pytest.mark.parametrize("kind", ["forms", "roster"])
def test_every_rare_character_has_a_real_glyph(pdfs, kind):
    chars = RARE if kind == "forms" else sorted(set(REGISTERED.values()))
    assert wrongly_drawn(pdfs[kind], chars) == {}


@pytest.mark.parametrize("kind", ["forms", "roster"])
def test_rare_characters_use_the_fallbacks_in_print_css_order(pdfs, kind):
    drawn = drawn_with(pdfs[kind])
    chars = RARE if kind == "forms" else sorted(set(REGISTERED.values()))
    used = {char: {family_of(font, char) for font in drawn[char]} for char in chars}
    assert used == {char: {preferred(char)} for char in chars}
    assert {preferred(char) for char in chars} == set(FALLBACKS)  # each fallback is needed


@pytest.mark.parametrize("kind", ["forms", "roster"])
def test_fallback_fonts_are_embedded(pdfs, kind):
    fonts = subprocess.run(["pdffonts", str(pdfs[kind])], check=True, capture_output=True,
                           text=True).stdout
    for family in FALLBACKS:
        rows = [line for line in fonts.splitlines()
                if re.match(rf"[A-Z]{{6}}\+{family.replace(' ', '-')}\b", line)]
        assert rows and all(" yes yes yes " in row for row in rows), (family, fonts)


def test_a_box_is_caught(app, tmp_path):
    """The check above fails on a character no font has: WeasyPrint still prints a box."""
    assert not fonts_covering(NOT_IN_ANY_FONT), "pick another character no installed font has"
    html = f'<link rel="stylesheet" href="canbao:static/print/print.css"><p>王{NOT_IN_ANY_FONT}</p>'
    with app.app_context():
        documents.render_pdf(html, tmp_path / "box.pdf")
    assert NOT_IN_ANY_FONT in subprocess.run(["pdftotext", str(tmp_path / "box.pdf"), "-"],
                                             capture_output=True, text=True, check=True).stdout
    assert NOT_IN_ANY_FONT in wrongly_drawn(tmp_path / "box.pdf", [NOT_IN_ANY_FONT, "王"])
    assert "王" not in wrongly_drawn(tmp_path / "box.pdf", ["王"])
