"""Changing a login phone: by its holder (codes to the old and the new number) or at the
counter (a clerk who checked the person's identity), and the counter's fix of a phone several
people share. One person per login phone, whoever changes it.

Each function asks ``rules.phones``, writes the audit event and raises ``Refusal``; the
caller commits (also after a wrong code, so the wrong try counts) or rolls back.
"""
from __future__ import annotations

import sqlalchemy as sa

from models.account import Account
from models.accounts import PHONE_TAKEN, check_counter_person, phone_taken
from models.audit import record
from models.base import db
from models.errors import Refusal
from models.person import Person
from models.sms import CodeRefused, check_code, send_code
from rules.identity import InvalidValue, validate_mobile
from rules.phones import (
    NEW_PHONE,
    codes_needed,
    may_change_own_phone,
    may_change_phone_at_counter,
)


def _audit(by, action: str, person: Person, before: str | None, **after) -> None:
    record(action, actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip, obj=person,
           before={"phone": before}, after={"phone": person.phone, **after})


def _valid(phone: str) -> str:
    try:
        return validate_mobile(phone)
    except InvalidValue as error:
        raise Refusal(str(error)) from error


def _set(person: Person, phone: str | None) -> None:
    if phone is not None:
        if phone_taken(phone, person.id):  # locks the number until the transaction ends
            raise Refusal(PHONE_TAKEN)
    person.phone = phone


def send_change_codes(by, person: Person, new_phone: str) -> list[str]:
    """修改手机, step 1: a code to the new number and one to the phone on file; returns the
    numbers written to. Refused before any code when the new number is someone else's."""
    if not may_change_own_phone(by.actor, person.id):
        raise Refusal("只能修改本人的手机号码", 403)
    new_phone = _valid(new_phone)
    if new_phone == person.phone:
        raise Refusal("新手机号码与当前号码相同")
    if phone_taken(new_phone, person.id):
        raise Refusal(PHONE_TAKEN)
    sent = []
    for purpose in codes_needed(person.phone):
        phone = new_phone if purpose == NEW_PHONE else person.phone
        send_code(phone, purpose)  # SmsLimited past the per-phone quotas
        sent.append(phone)
    return sent


def change_own_phone(by, person: Person, new_phone: str, *, new_code: str,
                     old_code: str = "") -> None:
    """修改手机, step 2: both codes (the new number's, the old number's when there is one)
    accepted, the number free: the phone changes. A wrong code is counted and neither code is
    used up, so the holder retries with the same two codes."""
    if not may_change_own_phone(by.actor, person.id):
        raise Refusal("只能修改本人的手机号码", 403)
    new_phone = _valid(new_phone)
    accepted, refused = [], []
    for purpose in codes_needed(person.phone):
        phone, code = (new_phone, new_code) if purpose == NEW_PHONE else (person.phone, old_code)
        try:
            accepted.append(check_code(phone, purpose, code))
        except CodeRefused as error:
            label = "新手机号码" if purpose == NEW_PHONE else "原手机号码"
            refused.append(error if error.status == 429 else CodeRefused(f"{label}的{error}"))
    if refused:
        for row in accepted:
            row.used_at = None  # kept for the retry: only the wrong code counts
        raise refused[0]
    before = person.phone
    _set(person, new_phone)
    _audit(by, "phone_changed", person, before, confirmed_by="sms_old_and_new")


def counter_change_phone(by, person: Person | None, new_phone: str | None, *, form_no: str,
                         reason: str = "") -> None:
    """At the counter: the clerk checked the person's identity (and the paper form); the
    login phone becomes ``new_phone``, or is cleared (None) when the person's number is one
    several people share and is not his."""
    if not may_change_phone_at_counter(by.actor):
        raise Refusal("您的角色不能办理窗口业务", 403)
    if person is None:
        raise Refusal("未找到该人员", 404)
    check_counter_person(db.session.get(Account, by.actor.account_id), person)
    if not form_no.strip():
        raise Refusal("请填写纸质申请单号")
    if new_phone:
        new_phone = _valid(new_phone)
        if new_phone == person.phone:
            raise Refusal("新手机号码与当前号码相同")
    elif not (person.phone and _shared(person.phone)):
        raise Refusal("只有多人共用的手机号码可以清除；请填写新手机号码")
    before = person.phone
    _set(person, new_phone or None)
    _audit(by, "counter:change_phone", person, before, form_no=form_no.strip(),
           reason=reason.strip())


def _shared(phone: str) -> bool:
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(
        Person.phone == phone)) or 0) > 1
