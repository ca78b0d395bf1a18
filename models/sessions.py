"""Server-side session records (在线用户), the login log (登录日志) and the security clock.

A browser's signed cookie only names a session; whether it is still alive is decided here,
so logout, 强退, idle timeout and absolute lifetime end it on the server. Password changes,
counter resets and cancellations bump ``Account.session_epoch``, which ends every session the
account had opened (a record remembers the epoch it was opened under).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import clock
from models.base import db, utcnow

#: Login log outcomes (登录结果), as staff read them.
OUTCOMES = {
    "success": "登录成功",
    "failure": "登录失败",
    "locked": "账号锁定",
    "refused": "拒绝登录",
    "rate_limited": "频率限制",
    "logout": "退出",
    "forced_out": "强制退出",
    "expired": "会话超时",
}


def now() -> dt.datetime:
    """The clock every security decision reads (naive UTC); tests replace it."""
    return utcnow()


def office_tomorrow(moment: dt.datetime) -> dt.datetime:
    """The start of the next office day after ``moment``, as naive UTC."""
    return clock.next_day_start(moment)


def office_day_start(moment: dt.datetime) -> dt.datetime:
    """The start of the office day containing ``moment``, as naive UTC."""
    return office_tomorrow(moment) - dt.timedelta(days=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(db.Model):
    """One logged-in browser: the cookie holds a random token, the table its digest."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    #: The account's session epoch at login; a later password change or reset ends it.
    epoch: Mapped[int] = mapped_column(default=0)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    end_reason: Mapped[str] = mapped_column(sa.String(20), default="")

    account = relationship("Account")

    def __str__(self) -> str:
        return f"会话{self.id}"


class LoginLog(db.Model):
    """Every login attempt and its outcome, by account and address (登录日志)."""

    __tablename__ = "login_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    account_label: Mapped[str] = mapped_column(sa.String(100), default="")
    kind: Mapped[str] = mapped_column(sa.String(20), default="")
    login_name: Mapped[str] = mapped_column(sa.String(64), default="")
    unit_code: Mapped[str] = mapped_column(sa.String(32), default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="", index=True)
    outcome: Mapped[str] = mapped_column(sa.String(20), index=True)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    account = relationship("Account")


def log_login(outcome: str, *, ip: str, account=None, kind: str = "", login_name: str = "",
              unit_code: str = "", reason: str = "") -> LoginLog:
    """Add a login log row to the current transaction."""
    row = LoginLog(at=now(), outcome=outcome, ip=ip[:45], kind=str(kind or "")[:20],
                   account_id=account.id if account is not None else None,
                   account_label=str(account)[:100] if account is not None else "",
                   login_name=(login_name or "")[:64], unit_code=(unit_code or "")[:32],
                   reason=reason[:200])
    db.session.add(row)
    return row


def open_session(account, *, ip: str, user_agent: str = "") -> str:
    """Record a new session for ``account``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    moment = now()
    db.session.add(LoginSession(token_hash=digest(token), account_id=account.id,
                                epoch=account.session_epoch, ip=ip[:45],
                                user_agent=(user_agent or "")[:200], created_at=moment,
                                last_seen_at=moment))
    return token


def find_session(token: str | None) -> LoginSession | None:
    """The session record a cookie's token names, ended or not."""
    if not token:
        return None
    return db.session.scalar(sa.select(LoginSession).where(
        LoginSession.token_hash == digest(token)))


def expiry_reason(record: LoginSession, moment: dt.datetime) -> str:
    """Why ``record`` is no longer usable at ``moment`` ("" while it is alive)."""
    config = current_app.config
    if record.ended_at is not None:
        return record.end_reason or "ended"
    if moment - record.created_at >= dt.timedelta(seconds=config["SESSION_ABSOLUTE_SECONDS"]):
        return "absolute"
    if moment - record.last_seen_at >= dt.timedelta(seconds=config["SESSION_IDLE_SECONDS"]):
        return "idle"
    if record.account is None or record.account.session_epoch != record.epoch:
        return "superseded"
    return ""


def end_session(record: LoginSession, reason: str) -> None:
    """Mark ``record`` ended (caller commits)."""
    if record.ended_at is None:
        record.ended_at, record.end_reason = now(), reason


def live_sessions_clause(moment: dt.datetime):
    """Rows of LoginSession still usable at ``moment`` (for the 在线用户 page)."""
    from models.account import Account

    config = current_app.config
    return sa.and_(
        LoginSession.ended_at.is_(None),
        LoginSession.created_at > moment - dt.timedelta(
            seconds=config["SESSION_ABSOLUTE_SECONDS"]),
        LoginSession.last_seen_at > moment - dt.timedelta(
            seconds=config["SESSION_IDLE_SECONDS"]),
        LoginSession.account_id.in_(sa.select(Account.id).where(
            Account.session_epoch == LoginSession.epoch)),
    )


def known_address(account_id: int, ip: str, days: int = 90) -> bool:
    """True if ``account_id`` has logged in successfully from ``ip`` in the last ``days``."""
    if not ip:
        return False
    return db.session.scalar(sa.select(LoginLog.id).where(
        LoginLog.account_id == account_id, LoginLog.ip == ip, LoginLog.outcome == "success",
        LoginLog.at > now() - dt.timedelta(days=days)).limit(1)) is not None


def force_out(record: LoginSession, *, by, ip: str) -> None:
    """强退: a system administrator ends another's session; audited (caller commits)."""
    from models.audit import record as audit

    end_session(record, "forced_out")
    log_login("forced_out", ip=record.ip, account=record.account,
              reason=f"由{by}强制退出")
    audit("session:force_logout", actor_id=by.id, actor_label=str(by), ip=ip, obj=record,
          after={"account": str(record.account), "session_ip": record.ip})
