"""The password policy and login lockout, one rule for every form that sets a password."""
from __future__ import annotations

import datetime as dt
import string

MIN_LENGTH, MAX_LENGTH = 8, 20
MAX_FAILURES = 5
LOCK_MINUTES = 15
SPECIALS = set(string.punctuation)


def password_problems(password: str, *identities: str | None) -> list[str]:
    """Why ``password`` is not acceptable (Chinese), empty if it is.

    ``identities`` are the login name, ID number, phone: the password may not equal any.
    """
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"密码长度应为{MIN_LENGTH}至{MAX_LENGTH}位")
    classes = [any(c.isdigit() for c in password),
               any(c.islower() for c in password),
               any(c.isupper() for c in password),
               any(c in SPECIALS for c in password)]
    if sum(classes) < 3:
        problems.append("密码须包含数字、小写字母、大写字母、特殊字符中的至少三种")
    if any(c.isspace() for c in password):
        problems.append("密码不能包含空格")
    lowered = password.lower()
    if any(i and lowered == str(i).lower() for i in identities):
        problems.append("密码不能与登录名或证件号码相同")
    return problems


def locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    """True while an account is locked."""
    return locked_until is not None and now < locked_until


def after_failure(failures: int, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """(new failure count, lock end or None) after one more wrong password."""
    failures += 1
    if failures >= MAX_FAILURES:
        return 0, now + dt.timedelta(minutes=LOCK_MINUTES)
    return failures, None

#: SMS verification codes (短信验证码).
CODE_MINUTES = 5
CODE_MAX_TRIES = 5

#: One-time passwords (receipts): read aloud and typed from paper, so no look-alikes
#: (0/O, 1/I/l) and no lower case; groups of 4-4-2 joined by hyphens.
OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
OTP_GROUPS = (4, 4, 2)

#: SMS codes to one phone (any purpose), and wrong codes per target before the flow locks
#: until the next office day.
SMS_PER_HOUR = 5
SMS_PER_DAY = 10
CODE_WRONG_PER_DAY = 10
