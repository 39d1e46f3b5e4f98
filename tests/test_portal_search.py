"""Portal search ranking (the real search.js under node), folder index pages and
the payment settings of campaign.toml, all checked on a built site."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from test_portal import CAMPAIGN, build, html_files, local_target, notice_pdfs, parse

from survey_app.portal import PortalError
from survey_app.settings import PROJECT_ROOT

SEARCH_JS = PROJECT_ROOT / "portal" / "theme" / "static" / "js" / "search.js"
RANK = """
const api = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {};
for (const q of input.queries) {
  out[q] = api.rank(input.entries, q, input.synonyms).map(h => h.entry.url);
}
process.stdout.write(JSON.stringify(out));
"""


__all__ = ["notice_pdfs"]  # test_portal's fixture, used here too


@pytest.fixture(scope="module")
def site(tmp_path_factory, notice_pdfs) -> Path:  # noqa: F811
    """The standard site with two notices, built once."""
    return build(tmp_path_factory.mktemp("portal") / "output", notices=notice_pdfs)


def rank(site: Path, *queries: str) -> dict[str, list[str]]:
    """Run the page's own search.js on the built index and synonyms, as a phone would."""
    node = shutil.which("node")
    assert node, "node is needed (Debian's nodejs)"
    status = next(p for p in parse_attrs(site / "search.html") if p.get("id") == "search-status")
    payload = {
        "entries": json.loads((site / "search.json").read_text(encoding="utf-8")),
        "synonyms": json.loads(status["data-synonyms"]),
        "queries": list(queries),
    }
    result = subprocess.run([node, "-e", RANK, str(site / "theme" / "js" / "search.js")],
                            input=json.dumps(payload), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def parse_attrs(path: Path) -> list[dict[str, str]]:
    from html.parser import HTMLParser

    found: list[dict[str, str]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append(dict(attrs))

    Collect().feed(path.read_text(encoding="utf-8"))
    return found


# --- search ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("怎么交", "how-to-pay.html"),  # the placeholder's own example; the guide says 怎么缴费
        ("外出务工", "faq.html"),  # the FAQ's 「我在外地打工，怎么办？」
        ("死亡", "household-visit.html"),  # 「已经去世」 under who need not enrol
        ("新生儿", "newborns.html"),
        ("日历", "calendar.html"),
    ],
)
def test_search_finds_what_people_type_first(site, query, first):
    assert rank(site, query)[query][:1] == [first]


def test_search_ranks_a_title_match_above_body_mentions(site):
    # 缴费 is in the body of many guides but in the title of one.
    assert rank(site, "缴费")["缴费"][0] == "how-to-pay.html"


def test_search_one_character_and_unknown_words(site):
    found = rank(site, "钱", "火星人")
    assert "how-to-pay.html" in found["钱"]
    assert found["火星人"] == []


def test_search_ships_the_synonyms_file_and_a_help_block(site):
    groups = tomllib.loads((PROJECT_ROOT / "content" / "data" / "search_synonyms.toml")
                           .read_text(encoding="utf-8"))["groups"]
    status = next(p for p in parse_attrs(site / "search.html") if p.get("id") == "search-status")
    assert json.loads(status["data-synonyms"]) == groups
    help_block = next(p for p in parse_attrs(site / "search.html") if p.get("id") == "search-help")
    assert "hidden" in help_block
    page = (site / "search.html").read_text(encoding="utf-8")
    assert 'href="./faq.html"' in page and "tel:06324410001" in page  # the district office


def test_search_script_and_index_stay_small(site):
    assert SEARCH_JS.stat().st_size < 12 * 1024
    assert (site / "search.json").stat().st_size < 60 * 1024


# --- folders -----------------------------------------------------------------


def test_every_folder_a_page_links_into_has_an_index_page(site):
    missing = set()
    for page in html_files(site):
        for url in parse(page).links + parse(page).assets:
            target = local_target(page, url)
            if target is None or url.startswith(("tel:", "mailto:")):
                continue
            path = target[0]
            folder = path if url.split("#")[0].endswith("/") else path.parent
            while folder != site and site in folder.parents:
                if folder.name != "theme" and site / "theme" not in (folder, *folder.parents):
                    if not (folder / "index.html").is_file():
                        missing.add(folder.relative_to(site).as_posix())
                folder = folder.parent
    assert not missing, missing
    assert "临山村2026年度缴费名单公示" in (site / "notices" / "index.html").read_text(encoding="utf-8")
    assert "临城街道" in (site / "contacts" / "index.html").read_text(encoding="utf-8")


# --- payment settings ----------------------------------------------------------


def all_text(site: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in html_files(site)) + \
        (site / "search.json").read_text(encoding="utf-8")


def test_payment_names_come_from_the_campaign_file(site):
    text = all_text(site)
    assert "皖事通" not in text
    assert "%payment." not in text
    pay = (site / "how-to-pay.html").read_text(encoding="utf-8")
    assert "<strong>爱山东</strong>" in pay and "山东的是" in pay
    assert "农商银行、邮储银行" in pay
    assert "爱山东App" in (site / "faq.html").read_text(encoding="utf-8")
    assert "爱山东App" in (site / "grid.html").read_text(encoding="utf-8")


def test_changing_the_payment_settings_changes_every_page(tmp_path):
    raw = CAMPAIGN.read_text(encoding="utf-8")
    changed = raw.replace('province = "山东"', 'province = "安徽"').replace(
        'app = "爱山东"', 'app = "皖事通"').replace('"农商银行", ', '"徽商银行", ')
    assert changed != raw
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(changed, encoding="utf-8")
    site = build(tmp_path / "out", campaign=campaign)
    text = all_text(site)
    assert "爱山东" not in text and "农商银行" not in text
    pay = (site / "how-to-pay.html").read_text(encoding="utf-8")
    assert "安徽的是<strong>皖事通</strong>" in pay and "徽商银行" in pay
    assert "皖事通App" in pay  # the channel list in the description


def test_an_unknown_payment_setting_in_a_guide_fails_the_build(tmp_path, monkeypatch):
    from survey_app import portal

    monkeypatch.setattr(portal, "payment_view", lambda campaign: {"app": "爱山东"})
    with pytest.raises(PortalError, match="门户生成出错"):
        build(tmp_path / "out")
