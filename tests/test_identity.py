"""One resident ID validator: region codes in force from the birth year on, 15-digit
numbers converted, birth dates bounded; seen through the enrollment lookup and the rules."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from stdnum.cn import ric

from models.demo import make_id_no
from rules.identity import InvalidValue, region_in_force, validate_resident_id


def number(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def lookup(client, id_no):
    return client.get(f"/unit/filing/lookup/?id_no={id_no}").get_json()


def test_a_district_younger_than_its_resident_is_accepted(unit_a):
    # 西湖区 330106 exists from 1983; a resident born in 1950 carries it (stdnum refuses it).
    old = number("33010619500101001")
    assert not ric.is_valid(old)
    answer = lookup(unit_a, old)
    assert answer["ok"] is True, answer
    assert answer["kind"] == "new"


def test_a_code_retired_before_the_birth_year_is_refused(unit_a):
    # 北京 燕山区 110110 ended in 1986: nobody born in 1990 was ever issued it.
    answer = lookup(unit_a, number("11011019900101001"))
    assert answer["ok"] is False
    assert "地区码" in answer["message"]
    assert lookup(unit_a, number("11011019800101001"))["ok"] is True


def test_fifteen_digit_numbers_are_converted_and_the_user_told(unit_a):
    answer = lookup(unit_a, "330106500101001")
    assert answer["ok"] is True
    assert answer["notice"] == "15位身份证号码330106500101001已转换为18位：33010619500101001X"
    assert lookup(unit_a, number("33010619850721002"))["notice"] is None


@pytest.mark.parametrize(("body", "reason"), [
    ("33010620991231001", "晚于今天"),
    ("33010618800101001", "130年"),
    ("33010619850230001", "出生日期无效"),
    ("99999919850101001", "地区码"),
])
def test_impossible_birth_dates_and_unknown_regions_are_refused(unit_a, body, reason):
    answer = lookup(unit_a, number(body))
    assert answer["ok"] is False
    assert reason in answer["message"]


def test_check_character_full_width_and_spaces():
    assert validate_resident_id("３３０１０６ 1985 0721 0020") == "330106198507210020"
    assert validate_resident_id("33010619500101001x") == "33010619500101001X"
    with pytest.raises(InvalidValue, match="校验位"):
        validate_resident_id("330106198507210021")


def test_birth_bounds_follow_the_given_office_date():
    born_today = number("33010620261129001")
    assert validate_resident_id(born_today, today=dt.date(2026, 11, 29)) == born_today
    with pytest.raises(InvalidValue, match="晚于今天"):
        validate_resident_id(born_today, today=dt.date(2026, 11, 28))


def test_region_rule_reads_when_each_code_existed():
    assert region_in_force("330106", 1930)       # [1983-] 西湖区
    assert region_in_force("110110", 1986)       # [-1986] 燕山区
    assert not region_in_force("110110", 1987)
    assert not region_in_force("999999", 1990)


def test_generated_demo_numbers_still_validate():
    rng = random.Random(3)
    for _ in range(200):
        generated = make_id_no(rng, set())
        assert validate_resident_id(generated) == generated
