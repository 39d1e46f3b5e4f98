"""The portal's dispute guide (有问题找谁): the ledger's flow from the public's side, its time
limits and departments from the campaign file, and each township's window and office phone
from the grid -- all at build time, so changing the data changes the page."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from faker import Faker
from test_portal import CAMPAIGN, GRID, PRIVATE_NUMBERS, build

from survey_app import demo
from survey_app.campaign import load_campaign
from survey_app.formdef import load as load_form
from survey_app.portal import FORMS_DIR, PortalError
from survey_app.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"


class Cells(HTMLParser):
    """The rows of every table, as text per cell, and each cell's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def cells(page: Path) -> Cells:
    parser = Cells()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def row_of(page: Path, first: str) -> list[str]:
    return next(r for r in cells(page).rows if r and r[0] == first)


@pytest.fixture(scope="module")
def demo_units() -> list[dict]:
    fake = Faker("zh_CN")
    fake.seed_instance(2026)
    return demo.build_units(fake)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory, demo_units) -> Path:
    return build(tmp_path_factory.mktemp("disputes") / "out", grid=demo_units)


def office_phone(unit: dict) -> str:
    return next(c["office_phone"] for c in unit["contacts"] if c["office_phone"])


# --- the windows table ---------------------------------------------------------------------------


def test_every_demo_township_has_its_window_and_office_phone(demo_site, demo_units):
    page = demo_site / "problems.html"
    townships = [u for u in demo_units if u["level"] == "township"]
    assert len(townships) == len(demo.TOWNSHIPS)
    for unit in townships:
        assert unit["window"], unit["name"]
        assert row_of(page, unit["name"]) == [unit["name"], unit["window"], office_phone(unit)]
        assert f'href="tel:{office_phone(unit).replace("-", "")}"' in page.read_text(encoding="utf-8")
        assert f"contacts/{unit['code']}.html" in cells(page).links


def test_no_private_mobile_of_any_contact_is_published(demo_site, demo_units):
    mobiles = [c["phone"] for u in demo_units for c in u["contacts"]]
    assert len(mobiles) > 40
    for path in (demo_site / "problems.html", demo_site / "search.json"):
        text = path.read_text(encoding="utf-8")
        compact = re.sub(r"[\s-]", "", text)
        assert not re.search(r"1[3-9]\d{9}", compact), path
        assert not any(m in text for m in mobiles)


def test_a_township_without_office_line_shows_the_districts_and_one_without_window_says_so(tmp_path):
    units = [dict(u, window="临城街道便民服务中心　一楼2号窗口") if u["code"] == "370403001" else u
             for u in GRID]
    page = build(tmp_path / "out", grid=units) / "problems.html"
    assert row_of(page, "临城街道") == ["临城街道", "临城街道便民服务中心　一楼2号窗口", "0632-4412345"]
    # 陶庄镇: no window, and nobody there has an office line (孙立's mobile is never shown).
    assert row_of(page, "陶庄镇") == ["陶庄镇", "陶庄镇便民服务中心（具体窗口请先打电话问）",
                                   "0632-4410001（薛城区）"]
    text = page.read_text(encoding="utf-8")
    for number in PRIVATE_NUMBERS:
        assert number not in text


def test_a_mobile_in_a_hand_edited_window_is_not_published_and_markup_is_escaped(tmp_path, caplog):
    units = [dict(u, window="窗口 138 1234 5678") if u["code"] == "370403001" else
             dict(u, window='<b>陶庄</b> "服务大厅"') if u["code"] == "370403002" else u for u in GRID]
    page = build(tmp_path / "out", grid=units) / "problems.html"
    text = page.read_text(encoding="utf-8")
    assert "138 1234 5678" not in text and "13812345678" not in re.sub(r"\s", "", text)
    assert "手机号" in caplog.text
    assert row_of(page, "临城街道")[1] == "临城街道便民服务中心（具体窗口请先打电话问）"
    assert "&lt;b&gt;陶庄&lt;/b&gt;" in text and "<b>陶庄" not in text
    assert row_of(page, "陶庄镇")[1] == '<b>陶庄</b> "服务大厅"'


def test_windows_are_grouped_by_district_when_there_are_several(tmp_path):
    other = [{"code": "370404", "level": "district", "name": "峄城区", "parent": None, "contacts": []},
             {"code": "370404001", "level": "township", "name": "坛山街道", "parent": "370404",
              "contacts": [], "window": "坛山街道便民服务中心"}]
    text = (build(tmp_path / "out", grid=GRID + other) / "problems.html").read_text(encoding="utf-8")
    assert "<h3>薛城区</h3>" in text and "<h3>峄城区</h3>" in text
    assert text.index("陶庄镇") < text.index("<h3>峄城区</h3>") < text.index("坛山街道便民服务中心")
    assert re.search(r"坛山街道</a></td>\s*<td>坛山街道便民服务中心</td>\s*<td>—</td>", text)


# --- limits, departments, channels, categories --------------------------------------------------


def test_limits_departments_channels_and_categories_come_from_the_data(demo_site):
    page = demo_site / "problems.html"
    text = page.read_text(encoding="utf-8")
    rules = load_campaign(CAMPAIGN).disputes
    for label, level in (("日常", "routine"), ("疑难", "difficult"), ("重大", "major")):
        assert row_of(page, label)[-1] == f"{rules.limits[level]} 个工作日"
    for key, name in rules.departments:
        assert name in text, key
    form = load_form(str(FORMS_DIR), "dispute")
    for field in ("channel", "category"):
        for choice in form.field(field).choices:
            assert choice.label in text, choice.label
    assert text.count("<li>", text.index('class="kinds"')) >= 7
    assert "%disputes." not in text and "%payment." not in text
    description = re.search(r'<meta name="description" content="([^"]+)"', text).group(1)
    assert f"日常的事 {rules.limits['routine']} 个工作日内办完" in description


UNION_BEFORE_COURT = 'key = "union"\nname = "总工会"\n[[disputes.departments]]\nkey = "court"'


def test_changing_the_campaign_file_changes_the_guide(tmp_path):
    raw = CAMPAIGN.read_text(encoding="utf-8")
    changed = (raw.replace("routine = 5", "routine = 7").replace("major = 30", "major = 25")
               .replace('name = "法院"', 'name = "县人民法院"')
               .replace('key = "court"', UNION_BEFORE_COURT))
    assert changed.count("总工会") == 1 and "routine = 7" in changed
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(changed, encoding="utf-8")
    assert load_campaign(campaign).disputes.limits["routine"] == 7

    page = build(tmp_path / "out", campaign=campaign) / "problems.html"
    assert row_of(page, "日常")[-1] == "7 个工作日"
    assert row_of(page, "疑难")[-1] == "15 个工作日"
    assert row_of(page, "重大")[-1] == "25 个工作日"
    text = page.read_text(encoding="utf-8")
    assert "信访、总工会、县人民法院" in text
    assert not re.search(r"(?<!\d)5 个工作日", text)


def test_changing_the_intake_form_changes_the_categories(tmp_path):
    forms = tmp_path / "forms"
    shutil.copytree(FORMS_DIR, forms)
    definition = forms / "dispute.toml"
    definition.write_text(definition.read_text(encoding="utf-8").replace(
        'label = "服务投诉"', 'label = "对经办服务不满意"'), encoding="utf-8")
    text = (build(tmp_path / "out", forms_dir=forms) / "problems.html").read_text(encoding="utf-8")
    assert "<li>对经办服务不满意</li>" in text and "服务投诉" not in text


# --- search and failures -------------------------------------------------------------------------


def test_the_search_index_holds_the_rewritten_guide(demo_site, demo_units):
    entries = json.loads((demo_site / "search.json").read_text(encoding="utf-8"))
    guide = next(e for e in entries if e["url"] == "problems.html")
    assert guide["title"] == "有问题找谁"
    first = next(u for u in demo_units if u["level"] == "township")
    for expected in ("首接负责", "统一答复", "5 个工作日", "领导小组办公室", first["window"],
                     office_phone(first), "单位未登记或未缴费"):
        assert expected in guide["text"], expected


@pytest.mark.parametrize("token", ["%disputes.nothing%", "正文里的 %disputes.windows% 不单独成段",
                                   "%disputes.limit%"])
def test_a_token_the_data_does_not_have_fails_the_build(tmp_path, token):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    page = content / "pages" / "problems.md"
    page.write_text(page.read_text(encoding="utf-8") + f"\n{token}\n", encoding="utf-8")
    with pytest.raises(PortalError, match="problems.md"):
        build(tmp_path / "out", settings_override={"PATH": str(content)})
    assert not (tmp_path / "out").exists()


# --- the served portal ---------------------------------------------------------------------------


def test_the_served_guide_shows_the_grids_windows_without_mobiles(app, client, store):
    from survey_app import grid
    assert app.test_cli_runner().invoke(args=["portal", "build"]).exit_code == 0
    text = client.get("/portal/problems.html").get_data(as_text=True)
    loaded = grid.load(store)
    for township in loaded.townships:
        assert township["window"] in text
        assert office_phone(township) in text
    for unit in loaded.units.values():
        for contact in unit["contacts"]:
            assert contact["phone"] not in text
