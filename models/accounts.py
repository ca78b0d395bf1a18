"""Changing accounts and grants: counter services, delegation, institutions, registration.

Every function asks ``rules`` first, changes rows in the caller's transaction and leaves the
commit (and the audit event, which the views write with the clerk and form number) to it.
"""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa

from models import clock
from models.account import Account, UnitRegistration, hash_password
from models.base import db, utcnow
from models.enrollment import Enrollment
from models.errors import Refusal
from models.grant import Grant
from models.legacy import LegacyAccount
from models.person import Person
from models.unit import Institution, Unit
from rules.codes import AccountKind, GrantLevel, IdType, OnlineStatus, UnitStatus, UnitType
from rules.delegation import DelegationRefused, check_add, check_manage, check_period
from rules.identity import validate_uscc
from rules.imports import mark_duplicates
from rules.passwords import OTP_ALPHABET, OTP_GROUPS, password_problems
from rules.regions import person_within_regions, within_regions


class AccountRefused(Refusal):
    """The account change is not possible; the message says why in Chinese."""


def one_time_password() -> str:
    """A random password to read aloud from a receipt, like ``K7QM-4XPA-9R``.

    Upper-case letters and digits without look-alikes (no 0/O, 1/I/l), grouped by hyphens;
    the hyphens make it meet the password policy (digits, upper case, a special character).
    About 50 bits, never derived from the ID, and it must be changed at first login.
    """
    while True:
        chars = "".join(secrets.choice(OTP_ALPHABET) for _ in range(sum(OTP_GROUPS)))
        groups, start = [], 0
        for size in OTP_GROUPS:
            groups.append(chars[start:start + size])
            start += size
        password = "-".join(groups)
        if not password_problems(password):
            return password


def issue_password(account: Account) -> str:
    """Give ``account`` a one-time password it must change at first login; returns it.

    It never reopens a cancelled account: that is 开通, at the counter.
    """
    if not account.active or (account.unit is not None
                              and account.unit.online_status == OnlineStatus.CANCELLED):
        raise AccountRefused("该账号的网上办事权限已注销，不能重置密码；如需恢复请办理开通")
    password = one_time_password()
    account.set_password(password)
    account.must_change_password = True
    account.failed_logins, account.locked_until = 0, None
    return password


def set_own_password(account: Account, password: str, *identities: str | None) -> None:
    """A password the user chose, checked against the policy."""
    problems = password_problems(password, *identities)
    if problems:
        raise AccountRefused("；".join(problems))
    account.set_password(password)
    account.must_change_password = False


def find_person(id_no: str, id_type: str = IdType.RESIDENT) -> Person | None:
    """The person with this ID, if known."""
    return db.session.scalar(sa.select(Person).where(Person.id_type == id_type,
                                                     Person.id_no == id_no))


#: One person per login phone: the message wherever a phone is given to a second person.
PHONE_TAKEN = "该手机号码已被他人登记（手机号码是登录名，一个号码只能登记一人），请更换手机号码"


def lock_phone(phone: str) -> None:
    """Serialise changes to one phone until the transaction ends (PostgreSQL: an advisory
    lock on the number; SQLite has a single writer), so two changes at once cannot both find
    the number free."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            sa.func.hashtext(f"phone:{phone}"))))


def phone_taken(phone: str, person_id: int | None = None) -> bool:
    """True if another person already has ``phone`` (it is a login name, so it is unique).

    The number stays locked until the transaction ends (``lock_phone``): whoever checks it
    before giving it to someone (counter, registration, phone change, upgrade) is the only
    one doing so, and finds the number the other gave a moment before."""
    lock_phone(phone)
    return db.session.scalar(sa.select(Person.id).where(
        Person.phone == phone, Person.id != (person_id or 0)).limit(1)) is not None


def registration_phone_taken(rep_id_no: str, phone: str) -> bool:
    """Does the registration's phone belong to someone other than the legal representative?"""
    known = find_person(rep_id_no)
    return phone_taken(phone, known.id if known else None)


def person_for(id_no: str, name: str, phone: str | None, *, in_person: bool) -> Person:
    """The person with this ID (name must match), created if the office does not know it.

    Only a clerk who has the person in front of him (``in_person``) changes the phone of a
    person the office knows; a self-service form never does. A new person gets the phone only
    if nobody else has it.
    """
    person = find_person(id_no)
    if person is None:
        if phone and phone_taken(phone):
            raise AccountRefused(PHONE_TAKEN)
        person = Person(id_type=IdType.RESIDENT, id_no=id_no, name=name, phone=phone or None)
        db.session.add(person)
        db.session.flush()
    elif person.name != name:
        raise AccountRefused("证件号码与姓名不符")
    elif in_person and phone and person.phone != phone:
        if phone_taken(phone, person.id):
            raise AccountRefused(PHONE_TAKEN)
        person.phone = phone
    return person


def registered_individual(id_no: str, name: str, phone: str) -> Person:
    """A registered individual whose name, ID and phone match the records, or refused."""
    person = find_person(id_no)
    account = db.session.scalar(sa.select(Account).where(
        Account.kind == AccountKind.INDIVIDUAL, Account.person_id == person.id)) \
        if person else None
    if person is None or account is None or not account.active:
        raise AccountRefused("该人员尚未注册个人网上办事账号，请先注册")
    if person.name != name or person.phone != phone:
        raise AccountRefused("姓名、证件号码、手机号码与个人注册信息不一致")
    return person


def _account(kind: AccountKind, **owner) -> Account:
    key = Account.key_for(kind, **owner)
    account = db.session.scalar(sa.select(Account).where(Account.login_key == key))
    if account is None:
        account = Account(kind=kind, login_key=key, password_hash="!", active=True,
                          session_epoch=0, **owner)
        db.session.add(account)
    return account


def next_unit_no(region_code: str) -> str:
    """The next free 单位编号 in a region: the region code and a 4-digit sequence."""
    last = db.session.scalar(sa.select(sa.func.max(Unit.unit_no)).where(
        Unit.unit_no.like(f"{region_code}____")))
    return f"{region_code}{int(last[-4:]) + 1 if last else 1:04d}"


def _legal_rep_grant(unit: Unit, person: Person) -> Grant:
    for grant in db.session.scalars(sa.select(Grant).where(
            Grant.unit_id == unit.id, Grant.level == GrantLevel.LEGAL_REP)):
        if grant.person_id != person.id and grant.revoked_at is None:
            grant.revoked_at = utcnow()  # a unit has exactly one legal representative
    grant = db.session.scalar(sa.select(Grant).where(Grant.unit_id == unit.id,
                                                     Grant.person_id == person.id))
    if grant is None:
        grant = Grant(unit_id=unit.id, person_id=person.id, valid_from=clock.today())
        db.session.add(grant)
    grant.level, grant.valid_to, grant.revoked_at = GrantLevel.LEGAL_REP, None, None
    return grant


# --- counter services (受理点) ---------------------------------------------------------------

def counter_regions(clerk: Account) -> frozenset[str] | None:
    """The regions a staff account serves at the counter: the union of the regions of its
    roles; None (everywhere) only if one of its roles has no region limit."""
    regions = {role.region_code for role in clerk.roles}
    if not regions or None in regions or "" in regions:
        return None
    return frozenset(regions)


def check_counter_region(clerk: Account, unit: Unit) -> None:
    """Refused unless ``unit`` lies in a region the clerk serves."""
    if not within_regions(counter_regions(clerk), unit.region_code):
        raise AccountRefused(f"该单位（行政区划{unit.region_code}）不在您的受理区域内", status=403)


def person_unit_regions(person: Person) -> list[str]:
    """The region codes of the units a person is (or was) enrolled in."""
    return list(db.session.scalars(sa.select(Unit.region_code).join(
        Enrollment, Enrollment.unit_id == Unit.id).where(
        Enrollment.person_id == person.id).distinct()))


def check_counter_person(clerk: Account, person: Person | None) -> None:
    """Refused unless one of the person's units lies in a region the clerk serves; a person
    with no unit (or not known yet) only by a clerk without a region limit."""
    regions = counter_regions(clerk)
    if regions is None:
        return
    if person is None or not person_within_regions(regions, person_unit_regions(person)):
        raise AccountRefused("该人员不在您的受理区域内（其参保单位均不在本区域），"
                             "请到其参保单位所在地或市级经办窗口办理", status=403)


def counter_individual(clerk: Account, id_no: str) -> Account | None:
    """The individual account a clerk serves at the counter (reset, cancel, unlock), or None
    if the person has no individual account; refused outside the clerk's regions."""
    person = find_person(id_no)
    if person is None:
        return None
    check_counter_person(clerk, person)
    return db.session.scalar(sa.select(Account).where(
        Account.kind == AccountKind.INDIVIDUAL, Account.person_id == person.id))


def open_unit(*, uscc: str, name: str, unit_type: str, region_code: str, address: str,
              rep_id_no: str, rep_name: str, rep_phone: str,
              clerk: Account) -> tuple[Unit, Account, str]:
    """开通: online rights for a unit and its legal representative; returns the password."""
    if not within_regions(counter_regions(clerk), region_code):
        raise AccountRefused(f"行政区划{region_code}不在您的受理区域内", status=403)
    uscc = validate_uscc(uscc)
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == uscc))
    if unit is None:
        unit = Unit(uscc=uscc, unit_no=next_unit_no(region_code), name=name,
                    unit_type=UnitType(unit_type), region_code=region_code, address=address)
        db.session.add(unit)
        db.session.flush()
    elif unit.online_status == OnlineStatus.ACTIVE:
        raise AccountRefused("该单位已开通网上办事，如需重置密码请办理密码重置")
    elif unit.name != name:
        raise AccountRefused("单位名称与已登记的名称不一致")
    else:
        check_counter_region(clerk, unit)
    unit.online_status, unit.status = OnlineStatus.ACTIVE, UnitStatus.NORMAL
    rep = person_for(rep_id_no, rep_name, rep_phone, in_person=True)
    _legal_rep_grant(unit, rep)
    account = _account(AccountKind.UNIT_MEMBER, person_id=rep.id, unit_id=unit.id)
    account.display_name = rep.name
    account.active = True
    return unit, account, issue_password(account)


def open_individual(*, id_no: str, name: str, phone: str,
                    clerk: Account) -> tuple[Account, str]:
    """开通: online rights for an individual; returns the one-time password."""
    check_counter_person(clerk, find_person(id_no))
    person = person_for(id_no, name, phone, in_person=True)
    account = _account(AccountKind.INDIVIDUAL, person_id=person.id)
    if account.id is not None and account.active:
        raise AccountRefused("该人员已开通网上办事，如需重置密码请办理密码重置")
    account.display_name = person.name
    account.active = True  # 开通 is the one way back for a cancelled account
    return account, issue_password(account)


def legal_rep_account(unit: Unit) -> Account | None:
    """The unit member account of the unit's current legal representative."""
    grant = db.session.scalar(sa.select(Grant).where(
        Grant.unit_id == unit.id, Grant.level == GrantLevel.LEGAL_REP,
        Grant.revoked_at.is_(None)))
    if grant is None:
        return None
    return db.session.scalar(sa.select(Account).where(
        Account.kind == AccountKind.UNIT_MEMBER, Account.unit_id == unit.id,
        Account.person_id == grant.person_id))


def cancel_unit(unit: Unit) -> int:
    """权限注销: every account of the unit stops at once (sessions too); returns how many."""
    unit.online_status = OnlineStatus.CANCELLED
    accounts = db.session.scalars(sa.select(Account).where(sa.or_(
        Account.unit_id == unit.id,
        Account.institution_id.in_(sa.select(Institution.id).where(
            Institution.unit_id == unit.id))))).all()
    for account in accounts:
        account.session_epoch += 1
    return len(accounts)


def cancel_account(account: Account) -> None:
    """权限注销 of one account: it and its sessions stop; nothing is deleted."""
    account.active = False
    account.session_epoch += 1


def unlock(account: Account) -> None:
    """Lift a login lock (at the counter, or a unit's manager for its members)."""
    account.failed_logins, account.locked_until = 0, None


def member_account(grant: Grant) -> Account | None:
    """The unit member account a grant belongs to."""
    return db.session.scalar(sa.select(Account).where(
        Account.kind == AccountKind.UNIT_MEMBER, Account.unit_id == grant.unit_id,
        Account.person_id == grant.person_id))


def _managed_account(grant: Grant, granter: Grant) -> Account:
    if grant.id == granter.id:
        raise DelegationRefused("请通过“修改密码”或受理点办理本人的账号")
    check_manage(granter.level, grant.level)
    account = member_account(grant)
    if account is None or grant.revoked_at is not None:
        raise DelegationRefused("该授权已撤销或尚未开通账号")
    return account


def reset_member_password(grant: Grant, *, granter: Grant) -> tuple[Account, str]:
    """The legal representative or administrator gives a member it manages (an agent; the
    legal representative also the administrator) a one-time password; returns it."""
    account = _managed_account(grant, granter)
    return account, issue_password(account)


def unlock_member(grant: Grant, *, granter: Grant) -> Account:
    """The legal representative or administrator lifts the login lock of a member."""
    account = _managed_account(grant, granter)
    unlock(account)
    return account


# --- delegation (经办人管理) ----------------------------------------------------------------

def active_counts(unit_id: int, today: dt.date) -> dict[str, int]:
    """Grants per level that are not revoked and not expired."""
    rows = db.session.execute(sa.select(Grant.level, sa.func.count()).where(
        Grant.unit_id == unit_id, Grant.revoked_at.is_(None),
        sa.or_(Grant.valid_to.is_(None), Grant.valid_to >= today)).group_by(Grant.level))
    return {GrantLevel(level): count for level, count in rows}


def own_grant(unit_id: int, person_id: int) -> Grant:
    return db.session.scalar(sa.select(Grant).where(Grant.unit_id == unit_id,
                                                    Grant.person_id == person_id))


def add_grant(*, unit_id: int, granter: Grant, person: Person, level: str,
              valid_from: dt.date, valid_to: dt.date | None, items: set[str],
              today: dt.date) -> tuple[Grant, Account, str]:
    """Add an administrator or agent; returns the grant, its account and one-time password."""
    level = GrantLevel(level)
    check_add(granter.level, level, active_counts(unit_id, today))
    check_period(valid_from, valid_to, granter.valid_to)
    existing = own_grant(unit_id, person.id)
    if existing is not None and existing.revoked_at is None and existing.valid_on(today):
        raise DelegationRefused("该人员在本单位已有授权")
    grant = existing or Grant(unit_id=unit_id, person_id=person.id)
    grant.level, grant.valid_from, grant.valid_to = level, valid_from, valid_to
    grant.item_codes = ",".join(sorted(items)) if level == GrantLevel.AGENT else ""
    grant.revoked_at = None
    db.session.add(grant)
    account = _account(AccountKind.UNIT_MEMBER, person_id=person.id, unit_id=unit_id)
    account.display_name = person.name
    return grant, account, issue_password(account)


def update_grant(grant: Grant, *, granter: Grant, valid_from: dt.date,
                 valid_to: dt.date | None, items: set[str]) -> None:
    """Change a grant's period and items; nobody changes his own grant here."""
    if grant.id == granter.id:
        raise DelegationRefused("不能修改本人的授权")
    check_manage(granter.level, grant.level)
    check_period(valid_from, valid_to, granter.valid_to)
    grant.valid_from, grant.valid_to = valid_from, valid_to
    if grant.level == GrantLevel.AGENT:
        grant.item_codes = ",".join(sorted(items))


def revoke_grant(grant: Grant, *, granter: Grant) -> None:
    """Revoke a grant; its account's sessions end at once."""
    if grant.id == granter.id:
        raise DelegationRefused("不能撤销本人的授权")
    check_manage(granter.level, grant.level)
    grant.revoked_at = utcnow()
    account = member_account(grant)
    if account is not None:
        account.session_epoch += 1


# --- institutions (机构管理) ----------------------------------------------------------------

def institution_account(institution: Institution) -> Account | None:
    return db.session.scalar(sa.select(Account).where(
        Account.login_key == Account.key_for(AccountKind.INSTITUTION,
                                             institution_id=institution.id)))


def open_institution(institution: Institution, admin: Person) -> tuple[Account, str]:
    """Open (or hand to a new administrator) an institution's account; returns the password."""
    account = _account(AccountKind.INSTITUTION, institution_id=institution.id)
    account.person_id = admin.id
    account.display_name = institution.name
    institution.admin_person_id = admin.id
    institution.online_status = OnlineStatus.ACTIVE
    account.session_epoch = (account.session_epoch or 0) + 1
    return account, issue_password(account)


# --- self-registration and legacy upgrade -------------------------------------------------

def register_unit(*, uscc: str, name: str, rep_id_no: str, rep_name: str, phone: str,
                  password: str, region_code: str) -> Unit:
    """单位注册: waits as 待核验 until a counter clerk verifies the legal representative.

    The registered phone stays on the registration: a person the office knows keeps the
    phone on file (and with it his logins and SMS codes) until the clerk, with the legal
    representative in front of him, chooses which phone to keep.
    """
    uscc = validate_uscc(uscc)
    if db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc)) is not None:
        raise AccountRefused("该统一社会信用代码已注册，请直接登录或办理密码找回")
    if registration_phone_taken(rep_id_no, phone):
        raise AccountRefused(PHONE_TAKEN)
    unit = Unit(uscc=uscc, unit_no=next_unit_no(region_code), name=name,
                region_code=region_code, online_status=OnlineStatus.PENDING)
    db.session.add(unit)
    db.session.flush()
    rep = find_person(rep_id_no)
    if rep is None:
        rep = Person(id_type=IdType.RESIDENT, id_no=rep_id_no, name=rep_name)
        db.session.add(rep)
        db.session.flush()
    elif rep.name != rep_name:
        raise AccountRefused("证件号码与姓名不符")
    db.session.add(UnitRegistration(unit_id=unit.id, rep_person_id=rep.id, phone=phone))
    _legal_rep_grant(unit, rep)
    account = _account(AccountKind.UNIT_MEMBER, person_id=rep.id, unit_id=unit.id)
    account.display_name = rep.name
    set_own_password(account, password, rep.id_no, phone, uscc)
    return unit


def registration_of(unit: Unit) -> UnitRegistration | None:
    """What the unit's self-registration submitted, if it registered itself."""
    return db.session.scalar(sa.select(UnitRegistration).where(
        UnitRegistration.unit_id == unit.id))


def pending_registrations(clerk: Account) -> list[Unit]:
    """Self-registered units waiting for verification (待核验) in the clerk's regions."""
    query = sa.select(Unit).where(Unit.online_status == OnlineStatus.PENDING)
    regions = counter_regions(clerk)
    if regions is not None:
        query = query.where(sa.or_(sa.false(), *[
            Unit.region_code.startswith(region) for region in sorted(regions)]))
    return list(db.session.scalars(query.order_by(Unit.id)))


def verify_registration(unit: Unit, *, clerk: Account, phone_choice: str = "file") -> None:
    """A clerk checked the legal representative in person: the unit may log in.

    ``phone_choice`` is the clerk's: keep the phone on file ("file") or take the one
    registered ("registered"); a person without a phone on file gets the registered one.
    """
    if unit.online_status != OnlineStatus.PENDING:
        raise AccountRefused("该单位不在待核验状态")
    check_counter_region(clerk, unit)
    registration = registration_of(unit)
    if registration is not None:
        person = registration.rep_person
        if phone_choice == "registered" or not person.phone:
            if person.phone != registration.phone:
                if phone_taken(registration.phone, person.id):
                    raise AccountRefused(
                        "注册的手机号码已被他人登记，请保留原手机号码或更正后再核验")
                person.phone = registration.phone
            phone_choice = "registered"
        registration.phone_choice = phone_choice
        registration.verified_at, registration.verified_by_id = utcnow(), clerk.id
    unit.online_status = OnlineStatus.ACTIVE


def legacy_system_code(name: str) -> str | None:
    """The 历史系统 code a spreadsheet names by its code or its label, or None if the
    configured list (字典管理 → 历史系统) has no such system."""
    from models.codes import choices_of

    name = (name or "").strip()
    for code, label in choices_of("legacy_system"):
        if name in (code, label):
            return code
    return None


def import_legacy(results) -> tuple[int, list[str]]:
    """Store checked legacy rows, all or none: (rows stored, problems by row). An old login
    may hold several units: one row per unit."""
    for result in results:
        if result.ok:
            code = legacy_system_code(result.values["old_system"])
            if code is None:
                result.errors.append(("原系统名称", "不在历史系统列表中（字典管理 → 历史系统）"))
            else:
                result.values["old_system"] = code
                result.values["login_unit"] = f"{code}:{result.values['old_login']}:" \
                                              f"{result.values['uscc']}"
    mark_duplicates([r for r in results if r.ok], "login_unit", "原登录名")
    units = dict(db.session.execute(sa.select(Unit.uscc, Unit.id).where(
        Unit.uscc.in_({r.values["uscc"] for r in results if r.ok}))).all())
    taken = set(db.session.execute(sa.select(LegacyAccount.old_system, LegacyAccount.old_login,
                                             LegacyAccount.unit_id)).all())
    rows = []
    for result in results:
        if not result.ok:
            continue
        values = result.values
        if values["uscc"] not in units:
            result.errors.append(("统一社会信用代码", "系统中没有该单位"))
        elif (values["old_system"], values["old_login"], units[values["uscc"]]) in taken:
            result.errors.append(("原登录名", "该历史账号的这个单位已导入"))
        else:
            secret = values["secret"]
            rows.append(LegacyAccount(
                old_system=values["old_system"], old_login=values["old_login"],
                unit_id=units[values["uscc"]],
                secret_hash=secret if secret.startswith("$argon2") else hash_password(secret)))
    problems = [f"第{r.row_no}行 " + "；".join(f"{h}：{m}" for h, m in r.errors)
                for r in results if not r.ok]
    if problems:
        return 0, problems
    db.session.add_all(rows)
    return len(rows), []
