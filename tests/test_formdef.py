"""One definition drives validation: required, relevance, types, derived fields."""

import pytest
from stdnum.cn import ric

from survey_app import formdef
from survey_app.settings import defaults

FORMS_DIR = defaults()["FORMS_DIR"]


@pytest.fixture
def registration():
    return formdef.load(FORMS_DIR, "registration")


def valid_answers(**overrides):
    body = "37040319900101123"
    answers = {
        "name": "张三丰", "id_number": body + ric.calc_check_digit(body + "0"), "sex": "male",
        "ethnicity": "01", "phone": "13812345678", "relationship": "head",
        "hukou_type": "local_rural", "hukou_address": "临山村3组12号", "residence": "临山村3组12号",
        "person_category": "general", "resident_pension": "enrolled", "resident_medical": "enrolled",
        "employee_pension": "not_enrolled", "employee_medical": "not_enrolled",
        "pension_tier": "500", "payment_channel": "wechat",
    }
    answers.update(overrides)
    return answers


def test_core_labels_and_names(registration):
    labels = {f.name: f.label for f in registration.fields}
    assert labels["name"] == "姓名"
    assert labels["id_number"] == "公民身份号码"
    assert labels["phone"] == "联系电话"


def test_valid_answers_pass_and_birth_date_is_derived(registration):
    result = registration.validate(valid_answers())
    assert result.ok, result.errors
    assert result.values["birth_date"] == "1990-01-01"


def test_missing_required_fields_are_each_reported(registration):
    result = registration.validate({})
    for name in ("name", "id_number", "phone", "sex", "relationship", "person_category"):
        assert str(result.errors[name]) == "此项必填。"


def test_sex_differing_from_id_parity_is_an_error(registration):
    result = registration.validate(valid_answers(sex="female"))
    assert "性别与公民身份号码不符" in str(result.errors["sex"])


def test_reason_is_asked_only_when_not_enrolled(registration):
    enrolled = registration.validate(valid_answers(not_enrolled_reason="student"))
    assert "not_enrolled_reason" not in enrolled.values  # irrelevant answers are dropped
    missing = registration.validate(valid_answers(resident_pension="not_enrolled"))
    assert "not_enrolled_reason" in missing.errors
    given = registration.validate(valid_answers(resident_pension="not_enrolled",
                                                not_enrolled_reason="migrant_work"))
    assert given.ok and given.values["not_enrolled_reason"] == "migrant_work"


def test_refusal_needs_a_remark(registration):
    result = registration.validate(valid_answers(resident_pension="not_enrolled",
                                                 not_enrolled_reason="refused"))
    assert "not_enrolled_remark" in result.errors


def test_special_group_asked_only_for_special_category(registration):
    assert "special_group" in registration.validate(valid_answers(person_category="special")).errors
    assert registration.validate(valid_answers(special_group="dibao")).values.get("special_group") is None


@pytest.mark.parametrize("phone, ok", [
    ("13812345678", True), ("0632-4412345", True), ("06324412345", True), ("010-12345678", True),
    ("12812345678", False), ("1381234567", False), ("4412345", False), ("abc", False),
])
def test_phone_rules(registration, phone, ok):
    assert ("phone" not in registration.validate(valid_answers(phone=phone)).errors) is ok


def test_choice_outside_the_list_is_refused(registration):
    assert "ethnicity" in registration.validate(valid_answers(ethnicity="zz")).errors


def test_unknown_type_fails_loudly_at_load():
    raw = {"form": {"id": "x"}, "sections": [{"name": "s", "label": "s",
                                              "fields": [{"type": "slider", "name": "a", "label": "a"}]}]}
    with pytest.raises(formdef.DefinitionError, match="unknown type"):
        formdef.parse_definition(raw)


def test_every_select_has_its_choices(registration):
    for field in registration.fields:
        if field.type == "select_one":
            assert field.choices, field.name
