"""The fast resident ID validator gives the verdict the stdnum-based one gave, number for
number, on a large generated set: valid numbers, 15-digit ones, X, bad check characters,
impossible dates, region codes retired before or after the birth year, typing variants."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import stdnum

from stdnum.cn import ric

from rules import identity
from rules.identity import (
    MAX_AGE_YEARS,
    InvalidValue,
    from_first_generation,
    normalise,
    region_in_force,
)

TODAY = dt.date(2026, 11, 29)


def reference(value, today):
    """rules.identity.validate_resident_id as it was before it was made fast (stdnum's
    check digit, dt.date per call, normalise on every value)."""
    number = normalise(value)
    if len(number) == 15 and number.isdigit():
        number = from_first_generation(number)
    if len(number) != 18:
        raise InvalidValue("身份证号码应为18位（或15位一代证号码）")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidValue("身份证号码只能由数字和末位X组成")
    if ric.calc_check_digit(number) != number[17]:
        raise InvalidValue("身份证号码校验位错误")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue("身份证号码中的出生日期无效") from None
    if birth > today:
        raise InvalidValue("身份证号码中的出生日期晚于今天")
    if birth.year < today.year - MAX_AGE_YEARS:
        raise InvalidValue(f"身份证号码中的出生日期早于{MAX_AGE_YEARS}年前")
    if not region_in_force(number[:6], birth.year):
        raise InvalidValue("身份证号码中的地区码无效（该地区码在出生年份之后不存在）")
    return number


def verdict(validate, value):
    try:
        return validate(value, TODAY)
    except InvalidValue as refusal:
        return f"refused: {refusal}"


def _areas() -> list[str]:
    """Codes of stdnum's table (in force and retired: cn/loc.dat), and some made up."""
    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    codes, province = set(), ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            if not line.startswith(" "):
                province = line.split()[0]
            else:
                codes.add(province + line.split()[0])
    rng = random.Random(3)
    real = rng.sample(sorted(codes), 1500)
    made_up = [f"{rng.randint(10, 99)}{rng.randint(0, 9999):04d}" for _ in range(300)]
    return sorted(set(real + made_up) | {"110110", "330106", "000000", "999999"})


def _numbers(count: int) -> list[str]:
    rng = random.Random(18)
    areas = _areas()
    out = []
    for _ in range(count):
        area = rng.choice(areas)
        year = rng.choice([rng.randint(1890, 2027), 1986, 1987, 1983, 1984, 2000])
        month, day = rng.randint(0, 13), rng.randint(0, 32)
        body = f"{area}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        good = body + ric.calc_check_digit(body + "0")
        kind = rng.randrange(10)
        if kind == 0:
            out.append(body + rng.choice("0123456789X"))  # often a bad check character
        elif kind == 1 and year >= 1900 and year < 2000:
            out.append(area + good[8:17])  # 15 digits
        elif kind == 2:
            out.append(good.lower())
        elif kind == 3:
            out.append(" ".join([good[:6], good[6:14], good[14:]]))
        elif kind == 4:
            out.append(good.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")))
        elif kind == 5:
            out.append(good[:rng.randint(0, 17)])
        elif kind == 6:
            out.append(good[:5] + rng.choice("A?-x") + good[6:])
        else:
            out.append(good)
    return out


def test_verdicts_match_the_stdnum_based_validator():
    numbers = _numbers(60_000)
    verdicts = [(n, verdict(identity.validate_resident_id, n), verdict(reference, n))
                for n in numbers]
    differing = [v for v in verdicts if v[1] != v[2]]
    assert not differing, differing[:5]
    seen = {fast if fast.startswith("refused") else "valid" for _, fast, _ in verdicts}
    assert len(seen) == 8, seen  # valid, and each of the seven refusals


def test_mobile_verdicts_match_phonenumbers():
    from rules.identity import _parsed_mobile, validate_mobile

    rng = random.Random(11)
    numbers = [f"1{p:04d}{rng.randint(0, 999999):06d}" for p in range(10_000)]  # every 5-digit prefix
    numbers += [f"{rng.randint(0, 99_999_999_999):011d}" for _ in range(20_000)]
    numbers += ["13800000001", "1380000000", "138000000011", "１３８００００００01", "+8613800000001"]

    def verdict(validate, value):
        try:
            return validate(value)
        except InvalidValue as refusal:
            return f"refused: {refusal}"
    differing = [n for n in numbers if verdict(validate_mobile, n) != verdict(_parsed_mobile, n)]
    assert not differing, differing[:5]
    assert sum(not verdict(validate_mobile, n).startswith("refused") for n in numbers) > 1000
