"""Validators for the identifiers the office works with: ID numbers, credit codes, phones."""
from __future__ import annotations

import datetime as dt
import unicodedata
from functools import lru_cache

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc


class InvalidValue(ValueError):
    """A value a user typed is not acceptable; the message is Chinese and shown as is."""


def normalise(value: str | None) -> str:
    """Full-width digits and letters to half-width, spaces removed, letters upper-cased."""
    if value is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(value)).split()).upper()


@lru_cache(maxsize=8192)
def _birthplace_known(area: str, year: int) -> bool:
    # stdnum's birthplace lookup scans its county table (~50 µs); verdicts depend only on
    # the six-digit area code and the birth year, so they are cached on exactly that key.
    probe = f"{area}{year:04d}0101000"
    probe += ric.calc_check_digit(probe + "0")  # stdnum ignores the last character
    try:
        ric.get_birth_place(probe)
    except stdnum_errors.ValidationError:
        return False
    return True


def validate_resident_id(value: str) -> str:
    """Return the normalised 18-digit resident ID number or raise InvalidValue."""
    number = normalise(value)
    if len(number) != 18:
        raise InvalidValue("身份证号码应为18位")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidValue("身份证号码只能由数字和末位X组成")
    if ric.calc_check_digit(number) != number[17]:
        raise InvalidValue("身份证号码校验位错误")
    try:
        birth = ric.get_birth_date(number)
    except stdnum_errors.ValidationError:
        raise InvalidValue("身份证号码中的出生日期无效") from None
    if birth > dt.date.today():
        raise InvalidValue("身份证号码中的出生日期晚于今天")
    if not _birthplace_known(number[:6], birth.year):
        raise InvalidValue("身份证号码中的地区码无效")
    return number


def birth_date_of(resident_id: str) -> dt.date:
    """Birth date encoded in a valid resident ID number."""
    return ric.get_birth_date(resident_id)


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


def validate_mobile(value: str) -> str:
    """Return a mainland mobile number as 11 digits or raise InvalidValue."""
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
