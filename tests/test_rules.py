"""Who is asked what, from the policy (seeds 001, 000, 002), as data in forms/registration.toml.

Ages are counted from the ID number's birth date against one clock,
``idcard.current_date``, fixed here at 2026-11-21 (China): exactly 16 today is
born 2010-11-21, one day short of 16 is born 2010-11-22; exactly six months old is
born 2026-05-21, six months and a day is born 2026-05-20.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_phone import CHROMIUM_ARGS, open_new_member_form
from conftest import VILLAGE_A, first_household
from helpers import answers, submission
from stdnum.cn import ric

from survey_app import clock, documents, formdef, idcard
from survey_app.settings import defaults

TODAY = dt.date(2026, 11, 21)
SIXTEEN_TODAY = dt.date(2010, 11, 21)
ALMOST_SIXTEEN = dt.date(2010, 11, 22)
SIX_MONTHS = dt.date(2026, 5, 21)
SIX_MONTHS_AND_A_DAY = dt.date(2026, 5, 20)
APP_JS = Path(__file__).parents[1] / "survey_app" / "static" / "app.js"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(idcard, "current_date", lambda: TODAY)


@pytest.fixture
def form() -> formdef.FormDefinition:
    return formdef.load(defaults()["FORMS_DIR"], "registration")


def id_born(born: dt.date, county: str = "370403", seq: str = "973") -> str:
    """An ID number (odd 17th digit: male) born that day; ``seq`` keeps numbers apart in a store."""
    body = f"{county}{born:%Y%m%d}{seq}"
    return body + ric.calc_check_digit(body + "0")


def person(born: dt.date = dt.date(1980, 6, 1), **overrides) -> dict:
    return answers(**{"name": "李建国", "id_number": id_born(born), "relationship": "head", **overrides})


def asked(form, answers) -> frozenset[str]:
    return form.settle(answers)[0]


# -- the residents' pension: 16 and over, not a student, not in another scheme (seed 001) ---------
def test_exactly_sixteen_today_is_asked_the_residents_pension(form):
    result = form.validate(person(SIXTEEN_TODAY))
    assert result.ok, result.errors
    assert result.values["resident_pension"] == "enrolled" and result.values["pension_tier"] == "300"
    missing = form.validate(person(SIXTEEN_TODAY, resident_pension="", pension_tier=""))
    assert str(missing.errors["resident_pension"]) == "此项必填。"


def test_one_day_short_of_sixteen_is_not_asked_and_the_answer_is_dropped(form):
    result = form.validate(person(ALMOST_SIXTEEN))
    assert result.ok, result.errors
    assert "resident_pension" not in result.values
    assert "pension_tier" not in result.values  # a pension not asked asks for no tier
    assert result.values["payment_channel"] == "alipay"  # the medical insurance is still due
    assert form.validate(person(ALMOST_SIXTEEN, resident_pension="", pension_tier="")).ok


def test_a_student_is_not_asked_the_residents_pension(form):
    result = form.validate(person(dt.date(2005, 9, 1), person_category="student"))
    assert result.ok, result.errors
    assert result.values["person_category"] == "student"
    assert "resident_pension" not in result.values and "pension_tier" not in result.values
    assert "resident_pension" not in form.required_open(person(person_category="student",
                                                               resident_pension=""))


def test_someone_in_the_employees_pension_is_not_asked_the_residents_pension(form):
    result = form.validate(person(employee_pension="enrolled", resident_pension="", pension_tier=""))
    assert result.ok, result.errors
    assert "resident_pension" not in result.values and "pension_tier" not in result.values
    answered = form.validate(person(employee_pension="enrolled"))  # answered anyway: dropped
    assert answered.ok and "resident_pension" not in answered.values
    assert "pension_tier" not in answered.values


def test_someone_in_the_employees_medical_insurance_is_not_asked_the_residents_one(form):
    result = form.validate(person(employee_medical="enrolled", resident_medical="",
                                  resident_pension="not_enrolled", not_enrolled_reason="migrant_work",
                                  pension_tier="", payment_channel=""))
    assert result.ok, result.errors
    assert "resident_medical" not in result.values and "payment_channel" not in result.values


# -- tier and payment only where a payment is due ------------------------------------------------
def test_tier_and_payment_are_not_asked_where_nothing_is_due(form):
    neither = person(resident_pension="not_enrolled", resident_medical="not_enrolled",
                     not_enrolled_reason="migrant_work")
    result = form.validate(neither)
    assert result.ok, result.errors
    assert "pension_tier" not in result.values and "payment_channel" not in result.values
    assert {"pension_tier", "payment_channel"}.isdisjoint(asked(form, neither))
    medical_only = person(resident_pension="not_enrolled", not_enrolled_reason="migrant_work",
                          pension_tier="", payment_channel="")
    errors = form.validate(medical_only).errors
    assert "pension_tier" not in errors and str(errors["payment_channel"]) == "此项必填。"
    # a special group is asked both: the seeds have the government subsidise or pay (补贴、代缴)
    # for them without naming a group paid in full, and a higher tier is the person's own to pay
    special = form.validate(person(person_category="special", special_group="dibao"))
    assert special.ok and {"pension_tier", "payment_channel"} <= set(special.values)


# -- newborns: within six months of birth (seed 001) ------------------------------------------------
def test_exactly_six_months_old_may_be_a_newborn(form):
    result = form.validate(person(SIX_MONTHS, person_category="newborn"))
    assert result.ok, result.errors
    assert result.values["person_category"] == "newborn" and "resident_pension" not in result.values


def test_six_months_and_a_day_is_no_longer_a_newborn(form):
    errors = form.validate(person(SIX_MONTHS_AND_A_DAY, person_category="newborn")).errors
    assert "只限出生6个月内" in errors["person_category"]


def test_an_adult_marked_newborn_is_refused_in_chinese(form):
    result = form.validate(person(dt.date(1975, 3, 9), person_category="newborn"))
    assert result.errors == {"person_category": "“新生儿”只限出生6个月内；按公民身份号码此人已超过6个月，"
                                                "请选择其他类别。"}
    partial = form.validate(person(dt.date(1975, 3, 9), person_category="newborn"), partial=True)
    assert "person_category" in partial.errors  # a partial save checks every answer given


def test_a_newborn_whose_number_is_not_known_yet_can_be_kept_for_later(form):
    result = form.validate({"name": "王小宝", "person_category": "newborn"}, partial=True)
    assert result.ok, result.errors
    assert "id_number" in result.missing


# -- special groups name their type ------------------------------------------------------------
def test_a_special_group_requires_its_type(form):
    assert str(form.validate(person(person_category="special")).errors["special_group"]) == "此项必填。"
    partial = form.validate(person(person_category="special"), partial=True)
    assert partial.ok and "special_group" in partial.missing
    assert form.validate(person(person_category="special", special_group="disabled")).ok
    general = form.validate(person(special_group="disabled"))
    assert general.ok and "special_group" not in general.values


# -- people who died, moved away or cannot be found (seed 002) -------------------------------------
@pytest.mark.parametrize("situation", ["deceased", "moved_out", "not_found"])
def test_someone_not_living_here_is_saved_with_the_few_answers_that_make_sense(form, situation):
    answers = {"situation": situation, "name": "赵老汉", "id_number": id_born(dt.date(1938, 2, 1)),
               "sex": "male", "situation_note": "2026年8月病故，村委会核实"}
    result = form.validate(answers)
    assert result.ok, result.errors
    assert set(result.values) == {"situation", "situation_note", "name", "id_number", "birth_date", "sex"}
    assert form.required_open(answers) == []
    given_anyway = form.validate({**person(dt.date(1938, 2, 1)), **answers, "phone": "123"})
    assert given_anyway.ok and "phone" not in given_anyway.values  # not asked, not checked, dropped
    wrong_sex = form.validate({**answers, "sex": "female"})
    assert "性别与公民身份号码不符" in str(wrong_sex.errors["sex"])  # the number still decides


# -- ID numbers: county codes and 15 digits ----------------------------------------------------------
def test_no_county_warning_for_an_old_person_with_a_reissued_code(form):
    result = form.validate(person(dt.date(1941, 4, 2), id_number=id_born(dt.date(1941, 4, 2), "610802")))
    assert result.ok, result.errors
    assert result.warnings == {}  # 榆阳区 610802 dates from 1999; numbers are reissued under it


def test_a_county_code_nobody_knows_is_a_warning(form):
    result = form.validate(person(id_number=id_born(dt.date(1980, 6, 1), "999999")))
    assert result.ok, result.errors
    assert ["行政区划代码 999999 未收录，请核对证件（不影响保存）。"] == [str(w) for w in
                                                                        result.warnings["id_number"]]


def test_a_15_digit_number_shows_its_birth_date_and_sex_and_is_upgraded_once_confirmed(form):
    legacy = "370403900101124"  # 1990-01-01, 15th digit even: a woman
    upgraded = legacy[:6] + "19" + legacy[6:] + ric.calc_check_digit(legacy[:6] + "19" + legacy[6:] + "0")
    unconfirmed = form.validate(person(id_number=legacy, sex="female"))
    assert upgraded in str(unconfirmed.errors["id_number"])
    assert "resident_pension" in asked(form, person(id_number=legacy))  # the age reads all the same
    result = form.validate(person(id_number=legacy, sex="female", confirm_id_upgrade="1"))
    assert result.ok, result.errors
    assert (result.values["id_number"], result.values["birth_date"]) == (upgraded, "1990-01-01")
    assert "性别" in str(form.validate(person(id_number=legacy, confirm_id_upgrade="1")).errors["sex"])
    assert idcard.birth_date_of(legacy) == dt.date(1990, 1, 1)


# -- the vocabulary ------------------------------------------------------------------------------
def test_calendar_months_and_a_day_the_month_lacks():
    assert formdef.add_months(dt.date(2026, 5, 21), 6) == dt.date(2026, 11, 21)
    assert formdef.add_months(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)
    assert formdef.add_months(dt.date(2008, 2, 29), 16 * 12) == dt.date(2024, 2, 29)
    assert formdef.add_months(dt.date(2009, 2, 28), 17 * 12) == dt.date(2026, 2, 28)
    assert formdef.add_months(dt.date(2007, 2, 28), 0) == dt.date(2007, 2, 28)


@pytest.mark.parametrize("op, sixteen, almost", [(">=", True, False), ("<", False, True),
                                                   (">", False, False), ("<=", True, True)])
def test_each_age_comparison_at_the_birthday(op, sixteen, almost):
    def holds(born):
        return formdef.conditions_hold((("age", op, 16),), (), formdef.Facts({}, born, TODAY))
    assert (holds(SIXTEEN_TODAY), holds(ALMOST_SIXTEEN)) == (sixteen, almost)
    assert formdef.conditions_hold((("age", op, 16),), (), formdef.Facts({}, None, TODAY)) is False


def test_the_clock_is_chinas_date(monkeypatch):
    monkeypatch.undo()  # the real clock, at an instant fixed on the UTC side of midnight
    late_utc = dt.datetime(2026, 11, 20, 16, 30, tzinfo=dt.UTC)  # 00:30 on the 21st in China
    monkeypatch.setattr(clock, "utc_now", lambda: late_utc)
    assert idcard.current_date() == dt.date(2026, 11, 21)


def minimal(fields: list[dict], **extra) -> dict:
    return {"form": {"id": "t"}, "sections": [{"name": "s", "label": "s", "fields": fields}], **extra}


ID_FIELD = {"type": "id_number", "name": "id", "label": "号码"}
TEXT = {"type": "text", "name": "a", "label": "a"}


@pytest.mark.parametrize("fields, message", [
    ([ID_FIELD, {**TEXT, "relevant": [["height", ">=", 16]]}], "unknown term 'height'"),
    ([ID_FIELD, {**TEXT, "relevant": [["age", "==", 16]]}], "'age' is compared with"),
    ([ID_FIELD, {**TEXT, "relevant": [["age", ">=", "16"]]}], "whole number"),
    ([{**TEXT, "relevant": [["age", ">=", 16]]}], "the form has none"),
    ([ID_FIELD, {**TEXT, "relevant": [["id", ">=", 16]]}], "unknown operator '>='"),
    ([ID_FIELD, {**TEXT, "relevant": [["id", "in", "x"]]}], "does not take"),
    ([ID_FIELD, {**TEXT, "relevant": [["age", ">="]]}], "[subject, op, value]"),
    ([{**TEXT, "relevant": [["b", "==", "1"]]}, {**TEXT, "name": "b", "relevant": [["a", "==", "1"]]}],
     "goes round: a → b → a"),
    ([{**TEXT, "name": "age"}], "may not be named"),
    ([{**TEXT, "checks": [{"when": [["a", "==", "x"]]}]}], "needs conditions (when) and a message"),
    ([{**TEXT, "checks": [{"when": [["a", "==", "x"]], "message": "m", "level": "warn"}]}],
     "a check has only"),
    ([{**TEXT, "checks": [{"when": [["zz", "==", "x"]], "message": "m"}]}], "unknown term 'zz'"),
])
def test_a_wrong_term_fails_at_load(fields, message):
    with pytest.raises(formdef.DefinitionError) as err:
        formdef.parse_definition(minimal(fields))
    assert message in str(err.value)


def test_a_section_condition_is_checked_too():
    raw = minimal([TEXT])
    raw["sections"][0]["relevant"] = [["nobody", "==", "x"]]
    with pytest.raises(formdef.DefinitionError, match="section s: unknown term 'nobody'"):
        formdef.parse_definition(raw)


def test_the_json_definition_carries_age_terms_and_checks(form):
    data = formdef.to_json(form)
    assert data["quantities"] == {"age": {"from": "id_number", "months": 12},
                                  "age_months": {"from": "id_number", "months": 1}}
    fields = {f["name"]: f for s in data["sections"] for f in s["fields"]}
    assert ["age", ">=", 16] in fields["resident_pension"]["relevant"]
    assert fields["person_category"]["checks"] == [{
        "when": [["person_category", "==", "newborn"], ["age_months", ">", 6]],
        "message": form.field("person_category").checks[0].message}]
    assert json.loads(json.dumps(data)) == data


def test_the_paper_form_prints_the_age_as_an_instruction(form):
    pension = form.field("resident_pension")
    assert documents.relevance_note(form, pension.relevant, pension.relevant_any) == \
        "（年满16周岁且缴费人员类别不为“在校学生”且职工基本养老保险不为“已参保”时填写）"
    assert documents.relevance_note(form, (("age_months", "<=", 6),), ()) == "（出生6个月内时填写）"
    assert documents.relevance_note(form, (("age", "<", 16),), ()) == "（未满16周岁时填写）"


# -- the browser's rules are the server's: the same cases through both ---------------------------
CASES = [
    person(SIXTEEN_TODAY), person(ALMOST_SIXTEEN), person(SIX_MONTHS, person_category="newborn"),
    person(person_category="student"), person(employee_pension="enrolled"),
    person(employee_medical="enrolled", resident_pension="not_enrolled"),
    person(resident_pension="not_enrolled", resident_medical="not_enrolled", not_enrolled_reason="refused"),
    person(ALMOST_SIXTEEN, resident_medical="not_enrolled", not_enrolled_reason="other"),
    person(id_number="370403900101123"), person(id_number="370403900101123", confirm_id_upgrade="1"),
    person(id_number="3704031990"), person(id_number=""), person(id_number=id_born(dt.date(2026, 11, 22))),
    person(situation="deceased"), person(situation="living", person_category="special"),
    person(dt.date(2008, 2, 29)), person(dt.date(2010, 11, 21), employee_pension="enrolled",
                                         employee_medical="enrolled"),
]
NODE_SETTLE = """
const rules = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = input.cases.map((values) => {
  const items = [], owner = [];  // as the page: a section, then each of its fields
  input.form.sections.forEach((s) => {
    const section = items.length;
    items.push({ all: s.relevant, any: s.relevant_any, names: s.fields.map((f) => f.name) });
    owner.push(null);
    s.fields.forEach((f) => {
      items.push({ all: f.relevant, any: f.relevant_any, names: [f.name] });
      owner.push({ field: f.name, section: section });
    });
  });
  const settled = rules.settle(items, values, "id_number", input.today);
  return owner.filter((o, i) => o && settled.shown[i] && settled.shown[o.section]).map((o) => o.field).sort();
});
process.stdout.write(JSON.stringify(out));
"""


def test_the_web_form_settles_every_case_as_the_server_does(form):
    node = shutil.which("node")
    assert node, "node is needed (Debian's nodejs)"
    payload = {"form": formdef.to_json(form), "cases": CASES, "today": {"y": 2026, "m": 11, "d": 21}}
    done = subprocess.run([node, "-e", NODE_SETTLE, str(APP_JS)], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    browser = json.loads(done.stdout)
    server = [sorted(asked(form, case)) for case in CASES]
    assert browser == server
    assert len({tuple(s) for s in server}) >= 8  # the cases do differ


# -- through the JSON API and the web form ------------------------------------------------------------
def post(auth, client, body):
    return client.post("/api/v1/submissions", json=body, headers={"X-CSRFToken": auth.api_token()})


def test_the_api_follows_the_age_rules(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    young = submission(house, **person(ALMOST_SIXTEEN, relationship="child"))
    response = post(auth, client, young)
    assert response.status_code == 201, response.get_json()
    saved = client.get(f"/api/v1/persons/{response.get_json()['id']}").get_json()["answers"]
    assert saved["birth_date"] == "2010-11-22"
    assert "resident_pension" not in saved and "pension_tier" not in saved
    sixteen = submission(house, **person(SIXTEEN_TODAY, relationship="child", resident_pension=""))
    refused = post(auth, client, sixteen)
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"resident_pension": "此项必填。"}
    adult_newborn = post(auth, client,
                         submission(house, **person(dt.date(1990, 7, 7), person_category="newborn")))
    assert adult_newborn.status_code == 422
    assert "只限出生6个月内" in adult_newborn.get_json()["errors"]["person_category"]
    baby = post(auth, client, submission(house, **person(SIX_MONTHS, person_category="newborn",
                                                         relationship="grandchild")))
    assert baby.status_code == 201, baby.get_json()


def test_the_api_keeps_a_partial_special_group_with_its_type_missing(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    body = {**submission(house, **person(person_category="special")), "incomplete": True}
    response = post(auth, client, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["missing"] == ["special_group"]


def test_the_api_saves_someone_deceased_without_a_phone(auth, client, store):
    auth.login("e001001")
    house = first_household(store, VILLAGE_A)["ref"]
    body = {"uuid": submission(house)["uuid"], "household": house, "situation": "deceased",
            "name": "赵老汉", "id_number": id_born(dt.date(1938, 2, 1), "610802"), "sex": "male",
            "situation_note": "2026年8月病故"}
    response = post(auth, client, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json().get("warnings", {}) == {}


class FieldAttributes(HTMLParser):
    """Each field wrapper's attributes, by field name."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "data-name" in attrs:
            self.fields[attrs["data-name"]] = attrs


def test_the_web_form_carries_the_rules_for_the_browser(auth, client, store, form):
    auth.login("e001001")
    parser = FieldAttributes()
    page = client.get(f"/e/h/{first_household(store, VILLAGE_A)['ref']}/register")
    parser.feed(page.get_data(as_text=True))
    fields = parser.fields
    assert json.loads(fields["resident_pension"]["data-relevant"]) == \
        formdef.json_conditions(form.field("resident_pension").relevant)
    assert json.loads(fields["person_category"]["data-checks"]) == \
        [c.json for c in form.field("person_category").checks]
    assert fields["id_number"]["data-type"] == "id_number"


# -- in a real browser: relevance and derivation as the number is typed ------------------------------


@pytest.mark.browser
def test_the_phone_form_follows_the_age_rules_as_the_number_is_typed(data_dir):
    from live_server import running_server
    from playwright.sync_api import sync_playwright

    with running_server(data_dir, threads=2, workers=1) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                      has_touch=True, locale="zh-CN", base_url=base)
        # 09:00 in China on the fixed day; the phone's own zone is UTC
        context.clock.set_fixed_time(dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC))
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        open_new_member_form(page)

        pension = page.locator("#field-resident_pension")
        number = page.get_by_label("公民身份号码")
        assert pension.is_hidden()  # no age yet
        number.fill("370403900101124")  # 15 digits: shown as the 18 it becomes
        assert page.locator("output[data-derived=id_number]").inner_text() == "1990-01-01"
        assert page.get_by_label("女", exact=True).is_checked()
        assert page.locator("#field-confirm_id_upgrade").is_visible() and pension.is_visible()

        number.fill(id_born(SIXTEEN_TODAY))
        assert pension.is_visible()
        number.fill(id_born(ALMOST_SIXTEEN))
        assert pension.is_hidden()
        number.fill(id_born(SIXTEEN_TODAY))
        page.locator("#field-person_category").get_by_label("在校学生").check()
        assert pension.is_hidden()
        page.get_by_label("一般城乡居民").check()
        assert pension.is_visible()
        pension.get_by_label("已参保").check()
        assert page.locator("#field-pension_tier").is_visible()
        page.locator("#field-employee_pension").get_by_label("已参保").check()
        assert pension.is_hidden() and page.locator("#field-pension_tier").is_hidden()

        check = page.locator("#field-person_category .error[data-check]")
        page.get_by_label("新生儿（出生6个月内）").check()
        assert "只限出生6个月内" in check.inner_text()
        number.fill(id_born(SIX_MONTHS))
        assert check.count() == 0
        number.fill(id_born(SIX_MONTHS_AND_A_DAY))
        assert check.count() == 1
        assert console == []
        browser.close()
