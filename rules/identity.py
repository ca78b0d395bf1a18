"""Validators for the identifiers the office works with: ID numbers, credit codes, phones."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum import numdb
from stdnum.cn import ric, uscc

from rules import clock


class InvalidValue(ValueError):
    """A value a user typed is not acceptable; the message is Chinese and shown as is."""


def normalise(value: str | None) -> str:
    """Full-width digits and letters to half-width, spaces removed, letters upper-cased."""
    if value is None:
        return ""
    text = str(value)
    if text.isascii():  # NFKC leaves ASCII as it is
        return "".join(text.split()).upper()
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


#: Oldest holder accepted: a birth date at most this many years back.
MAX_AGE_YEARS = 130
_RANGE = re.compile(r"^\[(\d*)-(\d*)\]")
_STILL_IN_FORCE = 9999


@cache
def _last_year_in_force(area: str) -> int:
    """The last year the six-digit region code was in force (9999: still is; -1: never was).

    python-stdnum's table (cn/loc.dat) marks each county with ``[start-end]``; a code is kept
    by the people it was issued to, so only its end matters to a holder born before its start.
    One scan per area code, then a dictionary lookup: the verdict needs only ``year <= last``.
    """
    results = numdb.get("cn/loc").info(area)
    counties = [v for _, props in results for k, v in props.items() if k == "county"]
    if not counties:
        return -1
    last = -1
    for entry in ",".join(counties).split(","):
        match = _RANGE.match(entry)
        if not match or not match.group(2):
            return _STILL_IN_FORCE
        last = max(last, int(match.group(2)))
    return last


def region_in_force(area: str, birth_year: int) -> bool:
    """True if ``area`` was a region code at some time from ``birth_year`` on.

    Numbers are issued where and when the holder registers (from 1984 on), so a district
    younger than its resident is normal (西湖区 330106 dates from 1983).
    """
    return birth_year <= _last_year_in_force(area)


def from_first_generation(number: str) -> str:
    """A 15-digit first-generation number as 18: the year gets 19, then the check character."""
    body = number[:6] + "19" + number[6:15]
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character


def conversion_notice(raw, number: str) -> str | None:
    """What to tell the user when a 15-digit number was converted, else None."""
    typed = normalise(raw)
    if len(typed) == 15 and typed != number:
        return f"15位身份证号码{typed}已转换为18位：{number}"
    return None


_DIGITS = frozenset("0123456789")


def _check_character(first17: str) -> str:
    """The check character of 17 digits (GB 11643, as python-stdnum's ``calc_check_digit``)."""
    return "0123456789X"[(1 - 2 * int(first17, 13)) % 11]


@cache
def _birth(digits: str) -> dt.date | None:
    """YYYYMMDD as a date, None if no such day (one computation per distinct date)."""
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _plain(value) -> str | None:
    """``value`` if it already is a normal 18-character number (ASCII digits, X), else None:
    such a value needs no Unicode normalising (the slow part of ``normalise``)."""
    if type(value) is str and len(value) == 18 and value.isascii() and \
            value[:17].isdigit() and (value[17] in _DIGITS or value[17] == "X"):
        return value
    return None


def validate_resident_id(value: str, today: dt.date | None = None) -> str:
    """Return the normalised 18-digit resident ID number or raise InvalidValue.

    15-digit first-generation numbers are converted (see ``conversion_notice``).
    """
    number = _plain(value) or normalise(value)
    if len(number) == 15 and number.isdigit():
        number = from_first_generation(number)
    if len(number) != 18:
        raise InvalidValue("身份证号码应为18位（或15位一代证号码）")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidValue("身份证号码只能由数字和末位X组成")
    if _check_character(number[:17]) != number[17]:
        raise InvalidValue("身份证号码校验位错误")
    birth = _birth(number[6:14])
    if birth is None:
        raise InvalidValue("身份证号码中的出生日期无效")
    today = today or clock.today_in(None)
    if birth > today:
        raise InvalidValue("身份证号码中的出生日期晚于今天")
    if birth.year < today.year - MAX_AGE_YEARS:
        raise InvalidValue(f"身份证号码中的出生日期早于{MAX_AGE_YEARS}年前")
    if not birth.year <= _last_year_in_force(number[:6]):
        raise InvalidValue("身份证号码中的地区码无效（该地区码在出生年份之后不存在）")
    return number


def birth_date_of(resident_id: str) -> dt.date:
    """Birth date encoded in a valid resident ID number (one parse per distinct date)."""
    birth = _birth(resident_id[6:14])
    if birth is None:
        raise InvalidValue("身份证号码中的出生日期无效")
    return birth


def gender_of(resident_id: str) -> str:
    """'M' or 'F' from the 17th digit of a resident ID number."""
    return "M" if int(resident_id[16]) % 2 else "F"


def validate_uscc(value: str) -> str:
    """Return the normalised unified social credit code (统一社会信用代码) or raise."""
    code = normalise(value)
    if len(code) != 18:
        raise InvalidValue("统一社会信用代码应为18位")
    try:
        return uscc.validate(code)
    except stdnum_errors.InvalidChecksum:
        raise InvalidValue("统一社会信用代码校验位错误") from None
    except stdnum_errors.ValidationError:
        raise InvalidValue("统一社会信用代码格式错误") from None


#: phonenumbers decides that a mainland number is a valid mobile from its first digits (the
#: CN mobile patterns end in plain \\d{n} tails before the 7th digit): an 11-digit number
#: is accepted from a lookup per 7-digit prefix; anything else is parsed in full (a refusal's
#: wording can depend on later digits: carrier codes 1[12]xx, 179xx are stripped first).
_PREFIX = 7


@cache
def _valid_mobile_prefix(prefix: str) -> bool:
    """True if 11-digit numbers starting with ``prefix`` are valid mobiles, kept as typed."""
    sample = prefix + "0" * (11 - len(prefix))
    try:
        return _parsed_mobile(sample) == sample
    except InvalidValue:
        return False


def validate_mobile(value: str) -> str:
    """Return a mainland mobile number as 11 digits or raise InvalidValue."""
    if type(value) is str and len(value) == 11 and value.isascii() and value.isdigit() \
            and _valid_mobile_prefix(value[:_PREFIX]):
        return value
    return _parsed_mobile(value)


def _parsed_mobile(value: str) -> str:
    raw = normalise(value)
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidValue("手机号码格式错误") from None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise InvalidValue("手机号码无效")
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidValue("请填写手机号码")
    return str(parsed.national_number)
