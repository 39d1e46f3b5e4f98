"""The public portal: built from Python into a temporary folder, checked as files."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import icalendar
import pytest
from pelican.settings import DEFAULT_CONFIG
from pelican.utils import slugify
from pypinyin import lazy_pinyin

from survey_app.portal import PortalError, build_portal
from survey_app.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"
CAMPAIGN = CONTENT / "data" / "campaign.toml"
TODAY = dt.date(2026, 11, 5)  # inside the 集中征缴 phase of the shipped calendar

PRIVATE_MOBILES = ["13812345678", "15987654321", "18600001111", "13700002222", "17744445555"]
# A mobile typed into the office field: must be treated as private too.
MISPLACED_MOBILE = "19911112222"

GRID = [
    {
        "code": "370403",
        "level": "district",
        "name": "薛城区",
        "parent": None,
        "contacts": [
            {"role": "网格长", "name": "马明", "phone": PRIVATE_MOBILES[0], "office_phone": "0632-4410001"}
        ],
    },
    {
        "code": "370403001",
        "level": "township",
        "name": "临城街道",
        "parent": "370403",
        "contacts": [
            {"role": "网格长", "name": "李庆", "phone": PRIVATE_MOBILES[1], "office_phone": "0632-4412345"}
        ],
    },
    {
        "code": "370403002",
        "level": "township",
        "name": "陶庄镇",
        "parent": "370403",
        "contacts": [{"role": "网格长", "name": "孙立", "phone": PRIVATE_MOBILES[2], "office_phone": ""}],
    },
    {
        "code": "370403001001",
        "level": "village",
        "name": "临山村",
        "parent": "370403001",
        "contacts": [
            {"role": "网格长", "name": "王芳", "phone": PRIVATE_MOBILES[3], "office_phone": ""},
            {"role": "网格员", "name": "赵强", "phone": PRIVATE_MOBILES[4], "office_phone": "0632-4419999"},
        ],
    },
    {
        "code": "370403001002",
        "level": "village",
        "name": "东湖社区",
        "parent": "370403001",
        "contacts": [{"role": "网格员", "name": "钱红", "phone": "", "office_phone": MISPLACED_MOBILE}],
    },
    {
        "code": "370403002001",
        "level": "village",
        "name": "北庄村",
        "parent": "370403002",
        "contacts": [{"role": "网格员", "name": "周兰", "phone": "13900003333", "office_phone": ""}],
    },
]
CONTACT_NAMES = [c["name"] for u in GRID for c in u["contacts"]]
PRIVATE_NUMBERS = [c["phone"] for u in GRID for c in u["contacts"] if c["phone"]] + [MISPLACED_MOBILE]


# --- helpers ---------------------------------------------------------------


class PageParser(HTMLParser):
    """Collect what the checks need from one HTML file."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.meta: dict[str, str] = {}
        self.title = ""
        self.links: list[str] = []
        self.assets: list[str] = []
        self.ids: set[str] = set()
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content", "")
        elif tag == "title":
            self._in_title = True
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "link" and "href" in a:
            self.assets.append(a["href"])
        elif tag in {"script", "img"} and "src" in a:
            self.assets.append(a["src"])
        elif tag == "form" and "action" in a:
            self.links.append(a["action"])

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def text_files(site: Path) -> list[Path]:
    return [p for p in site.rglob("*") if p.is_file() and p.suffix != ".pdf"]


def local_target(page: Path, url: str) -> tuple[Path, str] | None:
    """The file a link points to and its fragment, or None for off-site links."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:
        return page, parts.fragment
    return (page.parent / unquote(parts.path)).resolve(), parts.fragment


def build(out: Path, *, campaign=CAMPAIGN, notices=(), today=TODAY, grid=GRID, **kw) -> Path:
    return build_portal(out, grid_units=grid, campaign_file=campaign, notices=notices, today=today, **kw)


def content_pages() -> list[dict[str, str]]:
    """Metadata of every Markdown page, read the way Pelican reads it (Key: value)."""
    pages = []
    for path in sorted((CONTENT / "pages").glob("*.md")):
        head = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
        meta = dict(line.split(": ", 1) for line in head.splitlines())
        pages.append({k.lower(): v for k, v in meta.items()})
    return pages


# --- fixtures --------------------------------------------------------------


@pytest.fixture(scope="module")
def notice_pdfs(tmp_path_factory) -> list[dict]:
    """Two notices as the documents feature hands them over, PDFs included."""
    folder = tmp_path_factory.mktemp("pdfs")
    notices = []
    for kind, title, day in [
        ("collection", "临山村2026年度城乡居民社会保险费缴费通知", dt.date(2026, 10, 21)),
        ("roster", "临山村2026年度缴费名单公示", dt.date(2026, 12, 10)),
    ]:
        pdf = folder / f"{kind}.pdf"
        pdf.write_bytes(b"%PDF-1.4\n% " + kind.encode() + b"\n%%EOF\n")
        notices.append(
            {
                "title": title,
                "kind": kind,
                "village_name": "临山村",
                "township_name": "临城街道",
                "pdf": pdf,
                "published": day,
            }
        )
    return notices


@pytest.fixture(scope="module")
def site(tmp_path_factory, notice_pdfs) -> Path:
    """The standard site, built once for the read-only checks."""
    return build(tmp_path_factory.mktemp("portal") / "output", notices=notice_pdfs)


# --- structure and links ---------------------------------------------------


def test_every_internal_link_and_asset_resolves(site):
    broken = []
    for page in html_files(site):
        parsed = parse(page)
        for url in parsed.links + parsed.assets:
            if url.startswith(("tel:", "mailto:")):
                continue
            target = local_target(page, url)
            if target is None:
                broken.append(f"{page.name}: off-site link {url}")
                continue
            path, fragment = target
            if not path.is_file() or site not in path.parents:
                broken.append(f"{page.relative_to(site)}: {url}")
            elif fragment and path.suffix == ".html" and fragment not in parse(path).ids:
                broken.append(f"{page.relative_to(site)}: {url} (no such anchor)")
    assert not broken, broken


def test_every_page_has_lang_viewport_title_and_description(site):
    for page in html_files(site):
        parsed = parse(page)
        where = page.relative_to(site)
        assert parsed.lang == "zh-CN", where
        assert "width=device-width" in parsed.meta.get("viewport", ""), where
        assert parsed.title.strip(), where
        assert len(parsed.meta.get("description", "").strip()) >= 10, where


def test_no_page_with_its_css_and_js_exceeds_100_kb(site):
    for page in html_files(site):
        total = page.stat().st_size
        for url in parse(page).assets:
            path, _ = local_target(page, url)
            total += path.stat().st_size
        assert total <= 100 * 1024, (page.relative_to(site), total)


def test_site_uses_no_remote_assets_or_inline_script(site):
    for page in html_files(site):
        text = page.read_text(encoding="utf-8")
        assert all(local_target(page, u) for u in parse(page).assets), page.name
        # Scripts are static files, so a strict Content-Security-Policy works.
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), page.name
        assert "@font-face" not in text


def test_build_leaves_the_repository_content_untouched(tmp_path):
    before = sorted(p.relative_to(CONTENT) for p in CONTENT.rglob("*"))
    build(tmp_path / "out")
    assert sorted(p.relative_to(CONTENT) for p in CONTENT.rglob("*")) == before


# --- calendar --------------------------------------------------------------


def ics_events(site: Path) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical((site / "campaign.ics").read_bytes())
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_ics_holds_the_three_phases_as_all_day_events(site):
    events = ics_events(site)
    dates = {uid: (e.decoded("dtstart"), e.decoded("dtend")) for uid, e in events.items()}
    assert dates == {
        "2026-publicity@canbao": (dt.date(2026, 10, 21), dt.date(2026, 10, 28)),
        "2026-collection@canbao": (dt.date(2026, 10, 28), dt.date(2026, 12, 1)),
        "2026-processing@canbao": (dt.date(2026, 12, 1), dt.date(2026, 12, 21)),
    }
    assert all(not isinstance(s, dt.datetime) for s, _ in dates.values())
    assert "集中征缴" in str(events["2026-collection@canbao"]["summary"])


def test_calendar_page_links_the_ics_and_marks_today(site):
    page = site / "calendar.html"
    text = page.read_text(encoding="utf-8")
    targets = {local_target(page, u)[0] for u in parse(page).links if not u.startswith("#")}
    assert (site / "campaign.ics").resolve() in targets
    assert text.count('aria-current="date"') == 1
    assert re.search(r'class="p2 today" aria-current="date">5<', text)
    for month in ("2026年10月", "2026年11月", "2026年12月"):
        assert month in text
    assert "10月21日" in text and "12月20日" in text


def test_changing_the_campaign_file_changes_calendar_and_ics(tmp_path):
    toml = CAMPAIGN.read_text(encoding="utf-8")
    moved = (
        toml.replace("2026-10-21", "2026-09-01")
        .replace("2026-10-27", "2026-09-10")
        .replace("2026-10-28", "2026-09-11")
        .replace("2026-11-30", "2026-10-31")
        .replace("2026-12-01", "2026-11-01")
        .replace("2026-12-20", "2026-11-15")
    )
    assert moved != toml
    changed = tmp_path / "campaign.toml"
    changed.write_text(moved, encoding="utf-8")

    site = build(tmp_path / "out", campaign=changed, today=dt.date(2026, 9, 5))

    calendar = (site / "calendar.html").read_text(encoding="utf-8")
    assert "9月1日" in calendar and "11月15日" in calendar
    assert "10月21日" not in calendar and "12月20日" not in calendar
    assert "2026年9月" in calendar and "2026年12月" not in calendar
    dates = {uid: e.decoded("dtend") for uid, e in ics_events(site).items()}
    assert dates["2026-collection@canbao"] == dt.date(2026, 11, 1)
    assert dates["2026-processing@canbao"] == dt.date(2026, 11, 16)
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "宣传发动</strong>阶段" in home


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 10, 1), "集中征缴还没开始"),
        (dt.date(2026, 10, 21), "宣传发动</strong>阶段"),
        (dt.date(2026, 11, 30), "集中征缴</strong>阶段"),
        (dt.date(2026, 12, 21), "集中征缴已经结束"),
    ],
)
def test_home_page_shows_the_phase_on_the_build_day(tmp_path, today, expected):
    site = build(tmp_path / "out", today=today)
    assert expected in (site / "index.html").read_text(encoding="utf-8")


# --- contact directory and privacy ------------------------------------------


def directory_text(site: Path) -> str:
    pages = [site / "contacts.html", *sorted((site / "contacts").glob("*.html"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


def test_contact_directory_lists_every_unit_and_contact(site):
    text = directory_text(site)
    for unit in GRID:
        assert unit["name"] in text, unit["name"]
    for name in CONTACT_NAMES:
        assert name in text, name
    for code in ("370403001", "370403002"):
        assert (site / "contacts" / f"{code}.html").is_file()
    village_page = (site / "contacts" / "370403001.html").read_text(encoding="utf-8")
    assert 'id="v370403001001"' in village_page
    # 王芳 has no office line: her township's is shown, and says whose it is.
    expected = r'王芳</td>\s*<td><a href="tel:06324412345">0632-4412345</a><small>（临城街道）'
    assert re.search(expected, village_page)
    # Nobody in 陶庄镇 has an office line: a dash, not a private number.
    assert re.search(r"周兰</td>\s*<td>—</td>", directory_text(site))


def test_contact_directory_shows_no_private_number(site):
    text = directory_text(site)
    for number in PRIVATE_NUMBERS:
        assert number not in text


def test_no_id_number_or_mobile_number_anywhere_in_the_output(site):
    for path in text_files(site):
        text = path.read_text(encoding="utf-8")
        compact = re.sub(r"[\s-]", "", text)
        assert not re.search(r"\d{17}[\dXx]", compact), path
        assert not re.search(r"1[3-9]\d{9}", compact), path
        for number in PRIVATE_NUMBERS:
            assert number not in text, path


def test_broken_grid_data_fails_loudly(tmp_path):
    orphan = [*GRID, {"code": "9", "level": "village", "name": "无主村", "parent": "8", "contacts": []}]
    with pytest.raises(PortalError, match="上级"):
        build(tmp_path / "a", grid=orphan)
    wrong_level = [dict(GRID[0], level="province")]
    with pytest.raises(PortalError, match="层级"):
        build(tmp_path / "b", grid=wrong_level)


def test_a_city_above_the_districts_is_left_out_of_the_directory(tmp_path):
    city = {"code": "610800", "level": "city", "name": "榆林市", "parent": None, "contacts": []}
    under_city = [city] + [dict(u, parent="610800") if u["level"] == "district" else u for u in GRID]
    site = build(tmp_path / "c", grid=under_city)
    assert (site / "contacts.html").read_text(encoding="utf-8") == \
        (build(tmp_path / "d", grid=GRID) / "contacts.html").read_text(encoding="utf-8")


# --- slugs and search ------------------------------------------------------


def test_every_guide_has_slug_and_summary_and_is_built_under_its_slug(site):
    pages = content_pages()
    assert len(pages) >= 8
    for meta in pages:
        assert re.fullmatch(r"[a-z0-9-]+", meta["slug"]), meta
        assert meta["summary"].strip(), meta
        assert (site / f"{meta['slug']}.html").is_file(), meta["slug"]


def pinyin_slugs(title: str) -> set[str]:
    """What a Chinese title would wrongly become without our settings."""
    default = slugify(title, regex_subs=DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"])
    return {default, "-".join(lazy_pinyin(title)), "".join(lazy_pinyin(title))}


def test_slugs_are_never_the_pinyin_of_a_chinese_title(tmp_path):
    # A page someone added without a Slug: it must keep its Chinese title.
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    (content / "pages" / "了解参保.md").write_text(
        "Title: 了解参保\nSummary: 没写 Slug 的页面。\nOrder: 99\n\n正文。\n", encoding="utf-8"
    )
    site = build(tmp_path / "out", settings_override={"PATH": str(content)})

    stems = {p.stem for p in site.rglob("*.html")}
    assert "了解参保" in stems
    titles = [m["title"] for m in content_pages()] + ["了解参保"]
    for title in titles:
        assert not pinyin_slugs(title) & stems, title
    for stem in stems:
        assert stem.isascii() or re.search(r"[\u4e00-\u9fff]", stem), stem


def test_search_index_is_json_with_every_page_title(site):
    entries = json.loads((site / "search.json").read_text(encoding="utf-8"))
    titles = {e["title"] for e in entries}
    for meta in content_pages():
        assert meta["title"] in titles
    assert {"征缴日历", "临城街道 网格员联系表", "临山村2026年度缴费名单公示"} <= titles
    for entry in entries:
        path, fragment = local_target(site / "search.html", entry["url"])
        assert path.is_file(), entry["url"]
        assert not fragment or fragment in parse(path).ids, entry["url"]
        assert entry["text"].strip(), entry["title"]
    township = next(e for e in entries if "北庄村" in e["text"])
    assert township["url"] == "contacts/370403002.html"
    assert "周兰" in township["text"]
    search_page = parse(site / "search.html")
    assert "theme/js/search.js" in " ".join(search_page.assets)


# --- notices ---------------------------------------------------------------


def test_each_notice_has_a_page_and_its_pdf(site, notice_pdfs):
    index = (site / "notices.html").read_text(encoding="utf-8")
    links = [u for u in parse(site / "notices.html").links if "notices/" in u]
    assert len(links) == len(notice_pdfs)
    for notice in notice_pdfs:
        assert notice["title"] in index
    pdf_bytes = sorted(p.read_bytes() for p in (site / "notices").glob("*.pdf"))
    assert pdf_bytes == sorted(n["pdf"].read_bytes() for n in notice_pdfs)
    # Newest first: the roster (12-10) before the collection notice (10-21).
    assert index.index("缴费名单公示</a>") < index.index("缴费通知</a>")


def test_with_no_notices_the_index_says_none_yet(tmp_path):
    site = build(tmp_path / "out")
    assert "还没有发布公告" in (site / "notices.html").read_text(encoding="utf-8")
    assert not (site / "notices").exists()


# --- the output folder -----------------------------------------------------


def test_rebuild_replaces_its_own_output_but_not_a_foreign_folder(tmp_path, notice_pdfs):
    out = build(tmp_path / "out", notices=notice_pdfs)
    assert list((out / "notices").glob("*.pdf"))
    build(out)  # notices withdrawn: the old PDFs must go too
    assert not (out / "notices").exists()

    foreign = tmp_path / "someone-elses"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(PortalError):
        build(foreign)
    assert (foreign / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "someone-elses"]


def test_a_page_pelican_cannot_read_fails_the_build(tmp_path):
    # Pelican only logs a page it skips; a guide silently missing is worse.
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    (content / "pages" / "broken.md").write_text("Slug: broken\n\n没有标题。\n", encoding="utf-8")
    with pytest.raises(PortalError, match="broken.md"):
        build(tmp_path / "out", settings_override={"PATH": str(content)})
    assert not (tmp_path / "out").exists()
