"""地市历史用户升级: an old system's login (one unit or several) becomes the new accounts.

The steps follow the manual: choose the old system (a configured list), verify the old login
and password, choose the units to bring over (each verified by its credit code against the
office's records), confirm the legal representative, set the administrator and the password
he chooses, and receive the new 单位编号. Nothing typed changes the office's data before the old
password and each unit are verified; a person the office knows keeps his phone on file.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models.account import verify_password
from models.accounts import (
    AccountRefused,
    _account,
    _legal_rep_grant,
    add_grant,
    next_unit_no,
    person_for,
    set_own_password,
)
from models.audit import record
from models.base import db, utcnow
from models.codes import choices_of
from models.grant import Grant
from models.legacy import LegacyAccount
from models.person import Person
from models.unit import Unit
from rules.codes import AccountKind, GrantLevel, OnlineStatus


def legacy_systems() -> list[tuple[str, str]]:
    """The old systems an account may come from (字典管理 → 历史系统), in order."""
    return choices_of("legacy_system")


def check_legacy(old_system: str, old_login: str, secret: str) -> list[LegacyAccount]:
    """The units these old credentials hold and that wait for an upgrade, or refused."""
    rows = list(db.session.scalars(sa.select(LegacyAccount).where(
        LegacyAccount.old_system == old_system, LegacyAccount.old_login == old_login.strip())
        .order_by(LegacyAccount.id)))
    # One verification whether the login exists or not (a dummy hash of the same cost for an
    # unknown login), so the answer time tells nothing; the password is the login's.
    ok = verify_password(rows[0].secret_hash if rows else None, secret)
    if not ok or not rows:
        raise AccountRefused("原系统账号或密码有误")
    waiting = [row for row in rows if row.upgraded_at is None]
    if not waiting:
        raise AccountRefused("该账号已升级，请使用新单位编号登录")
    if len(waiting) == 1:
        check_upgradable(waiting[0].unit)
    return waiting


def upgradable(unit: Unit) -> bool:
    """Not online yet and without a legal representative in force."""
    has_rep = db.session.scalar(sa.select(sa.func.count()).select_from(Grant).where(
        Grant.unit_id == unit.id, Grant.level == GrantLevel.LEGAL_REP,
        Grant.revoked_at.is_(None)))
    return unit.online_status != OnlineStatus.ACTIVE and not has_rep


def check_upgradable(unit: Unit) -> None:
    """Refused if the unit is already online or already has a legal representative."""
    if not upgradable(unit):
        raise AccountRefused(f"“{unit.name}”已开通网上办事，不能通过历史账号升级；"
                             "如需变更法定代表人或管理员，请到经办窗口办理", status=409)


def choose_units(rows: list[LegacyAccount], typed: dict[int, str]) -> list[LegacyAccount]:
    """The units chosen to bring over, each verified: the credit code (or 单位编号) typed for
    it must be the office's record of that unit, and the unit must not be online yet."""
    known = {row.id: row for row in rows}
    if not typed:
        raise AccountRefused("请至少选择一个要升级的单位")
    if set(typed) - set(known):
        raise AccountRefused("所选单位不属于该历史账号", status=404)
    chosen = []
    for row_id in sorted(typed):
        row = known[row_id]
        code = (typed[row_id] or "").strip().upper()
        if code not in (row.unit.uscc, row.unit.unit_no):
            raise AccountRefused(f"“{row.unit.name}”的统一社会信用代码与登记信息不符")
        check_upgradable(row.unit)
        chosen.append(row)
    return chosen


def upgrade_legacy(rows: list[LegacyAccount], *, rep_id_no: str, rep_name: str,
                   rep_phone: str, admin: Person, password: str, today: dt.date,
                   ip: str = "") -> list[Unit]:
    """Bring the chosen units online: the legal representative confirmed, the administrator
    set with the password he chose (policy-checked), a new 单位编号 each; returns the units.

    The legal representative's account gets no password here: he sets one through 找回密码
    (a code to his phone on file) or at the counter.
    """
    _lock(rows)
    rep = person_for(rep_id_no, rep_name, rep_phone, in_person=False)
    if rep.id == admin.id:
        raise AccountRefused("管理员不能是法定代表人本人，请设置另一位已注册的个人")
    units = []
    for row in rows:
        unit = row.unit
        check_upgradable(unit)
        grant = _legal_rep_grant(unit, rep)
        account = _account(AccountKind.UNIT_MEMBER, person_id=rep.id, unit_id=unit.id)
        account.display_name = rep.name
        unit.unit_no = next_unit_no(unit.region_code)
        unit.online_status = OnlineStatus.ACTIVE
        db.session.flush()
        _, admin_account, _ = add_grant(unit_id=unit.id, granter=grant, person=admin,
                                        level=GrantLevel.ADMIN, valid_from=today,
                                        valid_to=None, items=set(), today=today)
        set_own_password(admin_account, password, admin.id_no, admin.phone, unit.uscc)
        row.upgraded_at = utcnow()
        record("legacy_upgraded", actor_label=rep_name, ip=ip, obj=unit,
               after={"old": str(row), "unit_no": unit.unit_no, "admin": admin.name})
        units.append(unit)
    return units


def _lock(rows: list[LegacyAccount]) -> None:
    """Hold the old login's rows and their units until the transaction ends, re-read: of two
    submissions at once (a double click) the second waits, then finds the units brought over
    and is told so, instead of failing on a unique constraint."""
    locked = db.session.scalars(sa.select(LegacyAccount).where(
        LegacyAccount.id.in_([row.id for row in rows])).order_by(LegacyAccount.id)
        .with_for_update().execution_options(populate_existing=True)).all()
    db.session.scalars(sa.select(Unit).where(Unit.id.in_([row.unit_id for row in locked]))
                       .order_by(Unit.id).with_for_update()
                       .execution_options(populate_existing=True)).all()
    if len(locked) != len(rows) or any(row.upgraded_at is not None for row in locked):
        raise AccountRefused("该账号已升级，请使用新单位编号登录")
