"""Finding the account a login form names, and whether it may be used today."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models.account import Account
from models.base import db
from models.grant import Grant
from models.person import Person
from models.unit import Institution, Unit
from rules.codes import AccountKind, OnlineStatus
from rules.identity import normalise
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
    return db.session.scalars(query.limit(2)).one_or_none()


def grant_of(account: Account) -> Grant | None:
    """The grant a unit member acts under."""
    return db.session.scalar(sa.select(Grant).where(
        Grant.unit_id == account.unit_id, Grant.person_id == account.person_id))


def actor_for(account: Account, today: dt.date) -> Actor:
    """The Actor an account acts as today, or LoginRefused saying why it cannot act."""
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
        grant = grant_of(account)
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
