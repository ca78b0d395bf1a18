"""Finding the account a login form names, and whether it may be used today."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from models import clock, sessions
from models.account import Account, hash_password, needs_rehash, verify_password
from models.audit import record
from models.base import db
from models.grant import Grant
from models.person import Person
from models.sms import CodeRefused, check_code, send_code
from models.unit import Institution, Unit
from rules.codes import AccountKind, OnlineStatus
from rules.identity import normalise
from rules.passwords import after_failure, locked
from rules.permissions import Actor
from rules.policy import union_of_regions


class LoginRefused(Exception):
    """The account exists and the password matched, but it may not be used; Chinese message."""


def _person_ids(login: str) -> sa.Select:
    value = normalise(login)
    return sa.select(Person.id).where(sa.or_(Person.id_no == value, Person.phone == value))


def find_account(kind: str, unit_code: str, login: str) -> Account | None:
    """The account a login form points at, or None. Does not check the password."""
    login = (login or "").strip()
    if kind == AccountKind.STAFF:
        query = sa.select(Account).where(Account.kind == AccountKind.STAFF,
                                         Account.username == login)
    elif kind == AccountKind.INDIVIDUAL:
        query = sa.select(Account).where(Account.kind == AccountKind.INDIVIDUAL,
                                         Account.person_id.in_(_person_ids(login)))
    elif kind == AccountKind.UNIT_MEMBER:
        code = normalise(unit_code)
        unit_ids = sa.select(Unit.id).where(sa.or_(Unit.uscc == code, Unit.unit_no == code))
        query = sa.select(Account).where(Account.kind == AccountKind.UNIT_MEMBER,
                                         Account.unit_id.in_(unit_ids),
                                         Account.person_id.in_(_person_ids(login)))
    elif kind == AccountKind.INSTITUTION:
        inst_ids = sa.select(Institution.id).where(
            Institution.institution_no == normalise(unit_code))
        query = sa.select(Account).where(Account.kind == AccountKind.INSTITUTION,
                                         Account.institution_id.in_(inst_ids),
                                         Account.person_id.in_(_person_ids(login)))
    else:
        return None
    # A phone two people share names nobody: answered like an unknown name, never a 500.
    found = db.session.scalars(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


@functools.cache
def _signed_in_statement() -> sa.Select:
    """``signed_in``'s statement, built once (building it cost more than running it)."""
    own_unit, inst_unit = orm.aliased(Unit), orm.aliased(Unit)
    return (
        sa.select(Account, sessions.LoginSession, Grant)
        .join(sessions.LoginSession, sa.and_(
            sessions.LoginSession.account_id == Account.id,
            sessions.LoginSession.token_hash == sa.bindparam("token_hash")))
        .outerjoin(own_unit, own_unit.id == Account.unit_id)
        .outerjoin(Grant, sa.and_(Grant.unit_id == Account.unit_id,
                                  Grant.person_id == Account.person_id))
        .outerjoin(Institution, Institution.id == Account.institution_id)
        .outerjoin(inst_unit, inst_unit.id == Institution.unit_id)
        .outerjoin(Account.roles)
        .options(orm.contains_eager(Account.roles),
                 orm.contains_eager(Account.unit.of_type(own_unit)),
                 orm.contains_eager(Account.institution).contains_eager(
                     Institution.unit.of_type(inst_unit)))
        .where(Account.id == sa.bindparam("account_id")))


@dataclass
class SignedIn:
    """What a request's cookie points at, read in one statement (``signed_in``)."""

    account: Account
    record: sessions.LoginSession
    grant: Grant | None


def signed_in(account_id: int, token: str | None) -> SignedIn | None:
    """The account, the session record ``token`` names, and everything ``actor_for`` reads
    (unit, grant, institution and its unit, staff roles), in one statement: a request pays
    one round trip to know who acts. None when the token is not a session of this account.

    Nothing is cached across requests: a revocation, password change or 强退 is seen by
    the next request.
    """
    if not token:
        return None
    rows = db.session.execute(_signed_in_statement(), {
        "account_id": account_id, "token_hash": sessions.digest(token)}).unique().all()
    if not rows:
        return None
    account, record, grant = rows[0][:3]
    return SignedIn(account, record, grant)


def grant_of(account: Account) -> Grant | None:
    """The grant a unit member acts under."""
    return db.session.scalar(sa.select(Grant).where(
        Grant.unit_id == account.unit_id, Grant.person_id == account.person_id))


def actor_for(account: Account, today: dt.date, grant: Grant | None = None) -> Actor:
    """The Actor an account acts as today, or LoginRefused saying why it cannot act.

    ``grant``: a unit member's grant when the caller has read it (``signed_in``)."""
    if not account.active:
        raise LoginRefused("该账号的网上办事权限已注销")
    kind = AccountKind(account.kind)
    if kind == AccountKind.STAFF:
        roles = account.role_names
        if not roles:
            raise LoginRefused("该工作人员账号未分配角色")
        # Several roles reach the union of their regions; only a role without a region
        # lifts the limit (two regions used to mean no limit at all).
        regions = union_of_regions(r.region_code for r in account.roles)
        region = next(iter(regions)) if regions is not None and len(regions) == 1 else None
        return Actor(account.id, kind, roles=roles, region=region, regions=regions)
    if kind == AccountKind.UNIT_MEMBER:
        if account.unit.online_status == OnlineStatus.PENDING:
            raise LoginRefused("单位注册信息待受理点核验，核验通过后方可登录")
        if not account.unit.online:
            raise LoginRefused("该单位的网上办事权限已注销")
        grant = grant or grant_of(account)
        if grant is None or not grant.valid_on(today):
            raise LoginRefused("您在该单位的授权已过期或已撤销")
        return Actor(account.id, kind, person_id=account.person_id, unit_id=account.unit_id,
                     grant_level=grant.level, grant_items=grant.items)
    if kind == AccountKind.INSTITUTION:
        inst = account.institution
        if inst.online_status != "active" or not inst.unit.online:
            raise LoginRefused("该机构的网上办事权限已注销")
        return Actor(account.id, kind, person_id=account.person_id, unit_id=inst.unit_id,
                     institution_id=inst.id)
    return Actor(account.id, kind, person_id=account.person_id)


@dataclass
class LoginOutcome:
    """What a login attempt came to: ``ok``, ``failed``, ``locked`` or ``refused``."""

    status: str
    account: Account | None = None
    actor: Actor | None = None
    message: str = ""
    until: dt.datetime | None = None
    token: str = ""


def authenticate(kind: str, unit_code: str, login: str, password: str, *, ip: str,
                 user_agent: str = "", trusted: frozenset[int] = frozenset(),
                 today: dt.date | None = None) -> LoginOutcome:
    """Check a login form and record the attempt in the login log.

    The account is read and the transaction ended before the password is verified (argon2
    takes tens of milliseconds; no lock is held meanwhile), then one short write follows.
    An unknown name is verified against a dummy hash and answers like a wrong password, and a
    lock is told only to someone who knows the password. A locked account still lets its owner
    in from a trusted device (``trusted`` account ids) or a known address.
    """
    found = find_account(kind, unit_code, login)
    account_id, password_hash = (found.id, found.password_hash) if found else (None, None)
    db.session.rollback()  # end the read transaction before the slow part
    ok = verify_password(password_hash, password)
    new_hash = hash_password(password) if ok and needs_rehash(password_hash) else None

    moment = sessions.now()
    if account_id is not None:
        # Take the write lock with the first statement: on SQLite a transaction that reads
        # and then writes fails at once (SQLITE_BUSY) when another wrote meanwhile, while a
        # first write waits for the lock (busy_timeout). On PostgreSQL this is a row lock.
        db.session.execute(sa.update(Account).where(Account.id == account_id)
                           .values(failed_logins=Account.failed_logins))
    account = db.session.get(Account, account_id) if account_id else None
    facts = {"ip": ip, "kind": kind, "login_name": (login or "").strip(),
             "unit_code": (unit_code or "").strip(), "account": account}
    if account is None or not ok:
        outcome = "failure"
        if account is not None and not locked(account.locked_until, moment):
            account.failed_logins, account.locked_until = after_failure(
                account.failed_logins, moment)
            if account.locked_until:
                outcome = "locked"
        sessions.log_login(outcome, **facts,
                           reason="账号不存在" if account is None else "密码错误")
        db.session.commit()
        return LoginOutcome("failed")
    if new_hash:
        account.password_hash = new_hash  # same password, current parameters
    is_locked = locked(account.locked_until, moment)
    if is_locked and account.id not in trusted and not sessions.known_address(account.id, ip):
        sessions.log_login("locked", **facts, reason="锁定期间从陌生设备登录")
        db.session.commit()
        return LoginOutcome("locked", account=account, until=account.locked_until)
    return _admit(account, facts, today=today, user_agent=user_agent,
                  reason="锁定期间从常用设备或网络登录" if is_locked else "")


def _admit(account: Account, facts: dict, *, today: dt.date | None, user_agent: str,
           reason: str) -> LoginOutcome:
    """The end of a login whose credentials were good: refusal rules, then a new session."""
    try:
        actor = actor_for(account, today or clock.today())
    except LoginRefused as refused:
        sessions.log_login("refused", **facts, reason=str(refused))
        db.session.commit()
        return LoginOutcome("refused", account=account, message=str(refused))
    if not locked(account.locked_until, sessions.now()):
        account.failed_logins = 0
    account.last_login_at = sessions.now()
    sessions.log_login("success", **facts, reason=reason)
    token = sessions.open_session(account, ip=facts["ip"], user_agent=user_agent)
    record("login", actor_id=account.id, actor_label=str(account), ip=facts["ip"], obj=account)
    db.session.commit()
    return LoginOutcome("ok", account=account, actor=actor, token=token)


#: The SMS purpose of the extra check a locked account's owner passes on a new device.
LOGIN_CODE = "login_check"


def send_login_code(account: Account) -> str:
    """The owner of a locked account typed the right password on a device we do not know:
    send a code to the phone on file; returns that phone (caller commits)."""
    phone = account.person.phone if account.person else None
    if not phone:
        raise LoginRefused("账号已临时锁定，且没有登记手机号码，请稍后再试或到受理点解锁")
    send_code(phone, LOGIN_CODE)
    return phone


def login_by_code(account_id: int, phone: str, code: str, *, ip: str,
                  user_agent: str = "") -> LoginOutcome:
    """Finish a locked account's login with the code sent to the phone on file.

    Raises CodeRefused (a wrong try is counted; caller commits) or SmsLimited.
    """
    account = db.session.get(Account, account_id)
    if account is None or account.person is None or account.person.phone != phone:
        raise CodeRefused("手机号码已变更，请重新登录")
    check_code(phone, LOGIN_CODE, code)
    facts = {"ip": ip, "kind": account.kind, "login_name": phone, "unit_code": "",
             "account": account}
    return _admit(account, facts, today=None, user_agent=user_agent,
                  reason="锁定期间经短信验证登录")
