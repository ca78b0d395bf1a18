"""SMS verification codes and the outbox the default sender writes to."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from models import sessions
from models.base import db, utcnow
from models.errors import Refusal
from rules.passwords import (
    CODE_MAX_TRIES,
    CODE_MINUTES,
    CODE_WRONG_PER_DAY,
    SMS_PER_DAY,
    SMS_PER_HOUR,
)


class SmsOutbox(db.Model):
    """Messages the default sender "sent": no SMS gateway here; staff admins read them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(20), index=True)
    text: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SmsCode(db.Model):
    __table_args__ = (sa.Index("ix_sms_code_phone_purpose", "phone", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(20))
    purpose: Mapped[str] = mapped_column(sa.String(30))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CodeRefused(Refusal):
    """The code is wrong, expired or used up; the message says which in Chinese."""


class SmsLimited(CodeRefused):
    """Too many codes sent to, or wrong codes tried for, one phone: answered with 429."""

    status = 429

    def __init__(self, message: str, retry_at: dt.datetime):
        super().__init__(message)
        self.retry_at = retry_at


def _wrong_today(phone: str, purpose: str, now: dt.datetime) -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(SmsCode.attempts), 0))
                             .where(SmsCode.phone == phone, SmsCode.purpose == purpose,
                                    SmsCode.created_at >= sessions.office_day_start(now)))


def _check_quota(phone: str, purpose: str, now: dt.datetime) -> None:
    """Refused (429) past 5 codes an hour or 10 a day to one phone, or 10 wrong codes today."""
    if _wrong_today(phone, purpose, now) >= CODE_WRONG_PER_DAY:
        raise SmsLimited("验证码错误次数过多，该业务今日已锁定", sessions.office_tomorrow(now))
    sent = db.session.scalars(sa.select(SmsCode.created_at).where(
        SmsCode.phone == phone, SmsCode.created_at >= sessions.office_day_start(now))
        .order_by(SmsCode.created_at)).all()
    if len(sent) >= SMS_PER_DAY:
        raise SmsLimited("该手机号码今日接收验证码已达上限", sessions.office_tomorrow(now))
    last_hour = [at for at in sent if at > now - dt.timedelta(hours=1)]
    if len(last_hour) >= SMS_PER_HOUR:
        raise SmsLimited("该手机号码接收验证码过于频繁",
                         last_hour[-SMS_PER_HOUR] + dt.timedelta(hours=1))


def shown_text(text: str) -> str:
    """An outbox message as staff may read it: codes masked unless the site is in development
    (debug, or ``SMS_OUTBOX_SHOW_CODES``), since a live code opens an account."""
    config = current_app.config
    if current_app.debug or config.get("SMS_OUTBOX_SHOW_CODES"):
        return text
    return re.sub(r"\d{4,}", lambda m: "*" * len(m.group()), text)


def outbox_sender(phone: str, text: str) -> None:
    """The default sender: write the message to the outbox table."""
    db.session.add(SmsOutbox(phone=phone, text=text))


def _digest(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def send_code(phone: str, purpose: str, now: dt.datetime | None = None) -> None:
    """Send a fresh 6-digit code to ``phone``; earlier codes for the purpose stop working.

    Refused with SmsLimited past the per-phone quotas (the office pays per message).
    """
    now = now or sessions.now()
    _check_quota(phone, purpose, now)
    db.session.execute(sa.update(SmsCode).where(
        SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.used_at.is_(None))
        .values(used_at=now))
    code = f"{secrets.randbelow(10 ** 6):06d}"
    db.session.add(SmsCode(phone=phone, purpose=purpose, code_hash=_digest(code),
                           created_at=now, expires_at=now + dt.timedelta(minutes=CODE_MINUTES)))
    sender = current_app.config.get("SMS_SENDER") or outbox_sender
    sender(phone, f"【人社网办】您的验证码为{code}，{CODE_MINUTES}分钟内有效，请勿泄露。")


def check_code(phone: str, purpose: str, code: str,
               now: dt.datetime | None = None) -> SmsCode:
    """Accept ``code`` once (returns its row, now used), or raise CodeRefused; a wrong try is
    counted (caller commits).

    After 10 wrong codes in a day, across fresh codes, the flow for the phone is locked until
    the next office day (SmsLimited).
    """
    now = now or sessions.now()
    if _wrong_today(phone, purpose, now) >= CODE_WRONG_PER_DAY:
        raise SmsLimited("验证码错误次数过多，该业务今日已锁定", sessions.office_tomorrow(now))
    row = db.session.scalar(sa.select(SmsCode).where(
        SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.used_at.is_(None))
        .order_by(SmsCode.id.desc()).limit(1))
    if row is None or row.expires_at <= now:
        raise CodeRefused("验证码已失效，请重新获取")
    if row.attempts >= CODE_MAX_TRIES:
        raise CodeRefused("验证码错误次数过多，请重新获取")
    if not hmac.compare_digest(row.code_hash, _digest((code or "").strip())):
        row.attempts += 1
        left = CODE_MAX_TRIES - row.attempts
        raise CodeRefused(f"验证码错误，还可尝试{left}次" if left
                          else "验证码错误次数过多，请重新获取")
    row.used_at = now
    return row
