"""收件地址: who may keep a delivery address book and what an address must hold. Pure."""
from __future__ import annotations

from rules.codes import AccountKind, GrantLevel
from rules.identity import InvalidValue, validate_mobile
from rules.permissions import Actor

#: Addresses one unit or person keeps at most.
MAX_ADDRESSES = 10


def may_keep_addresses(actor: Actor | None) -> bool:
    """A unit's legal representative or administrator, or an individual for himself."""
    if actor is None:
        return False
    if actor.kind == AccountKind.INDIVIDUAL:
        return actor.person_id is not None
    return actor.kind == AccountKind.UNIT_MEMBER and actor.grant_level in (
        GrantLevel.LEGAL_REP, GrantLevel.ADMIN)


def address_problems(recipient: str, phone: str, address: str) -> tuple[list[str], str]:
    """(Chinese problems, the normalised phone) of an address as typed."""
    problems = []
    if not recipient.strip() or len(recipient.strip()) > 50:
        problems.append("请填写收件人（不超过50字）")
    if not address.strip() or len(address.strip()) > 200:
        problems.append("请填写详细地址（不超过200字）")
    try:
        phone = validate_mobile(phone)
    except InvalidValue as error:
        problems.append(f"收件人{error}")
    return problems, phone
