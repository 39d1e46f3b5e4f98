"""GB 11643 ID numbers: what is refused, what is only a warning."""

import datetime as dt

import pytest
from stdnum.cn import ric

from survey_app import idcard

TODAY = dt.date(2026, 11, 21)


def with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def test_valid_number_gives_birth_date_sex_and_county():
    parsed = idcard.parse(with_check("37040319900101123"), TODAY)
    assert parsed.birth_date == dt.date(1990, 1, 1)
    assert parsed.sex == "male"  # 17th digit 3 is odd
    assert parsed.county == "薛城区"
    assert parsed.warnings == ()


def test_even_17th_digit_is_female():
    assert idcard.parse(with_check("37040319900101124"), TODAY).sex == "female"


def test_lower_case_x_is_accepted_and_normalised():
    body = next(f"3704031985061512{d}" for d in "0123456789"
                if ric.calc_check_digit(f"3704031985061512{d}0") == "X")
    parsed = idcard.parse((body + "x").lower(), TODAY)
    assert parsed.number == body + "X"


def test_spaces_are_ignored():
    number = with_check("37040319900101123")
    assert idcard.parse(f"{number[:6]} {number[6:14]} {number[14:]}", TODAY).number == number


def test_adult_with_county_code_newer_than_birth_year_is_accepted_without_warning():
    number = with_check("61080219800101123")  # 榆阳区 610802 was created after 1980
    with pytest.raises(ric.InvalidComponent):
        ric.validate(number)  # the library's gate would refuse a real person
    parsed = idcard.parse(number, TODAY)
    assert parsed.number == number
    assert parsed.county == "榆阳区"
    assert parsed.warnings == ()  # numbers are reissued under the current code: normal


def test_a_code_is_named_as_it_was_in_the_birth_year():
    assert idcard.parse(with_check("12011019850101123"), TODAY).county == "东郊区"  # [-1991]
    assert idcard.parse(with_check("12011019950101123"), TODAY).county == "东丽区"  # [1992-]


@pytest.mark.parametrize("body", ["99999919900101123", "37999919900101123"])  # a known province
def test_unknown_county_code_is_a_warning_not_an_error(body):
    parsed = idcard.parse(with_check(body), TODAY)
    assert parsed.county is None
    assert any("未收录" in str(w) for w in parsed.warnings)


@pytest.mark.parametrize("raw, message", [
    ("37040319900101123", "18位"),
    ("3704031990010112345", "18位"),
    ("37040319900101A234", "前17位应为数字"),
    ("", "18位"),
])
def test_wrong_shapes_are_refused(raw, message):
    with pytest.raises(idcard.IdNumberError) as err:
        idcard.parse(raw, TODAY)
    assert message in str(err.value.args[0])


def test_wrong_check_character_is_refused():
    good = with_check("37040319900101123")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(idcard.IdNumberError) as err:
        idcard.parse(bad, TODAY)
    assert "校验位" in str(err.value.args[0])


@pytest.mark.parametrize("body, message", [
    ("37040319900230123", "不存在"),      # 30 February
    ("37040320270101123", "晚于今天"),    # born next year
    ("37040318000101123", "不合理"),
])
def test_impossible_birth_dates_are_refused(body, message):
    with pytest.raises(idcard.IdNumberError) as err:
        idcard.parse(with_check(body), TODAY)
    assert message in str(err.value.args[0])


def test_legacy_15_digit_number_needs_confirmation_then_upgrades():
    legacy = "370403900101123"
    with pytest.raises(idcard.IdNumberError) as err:
        idcard.parse(legacy, TODAY)
    upgraded = with_check("37040319900101123")
    assert upgraded in str(err.value.args[0])
    assert idcard.parse(legacy, TODAY, upgrade_confirmed=True).number == upgraded
