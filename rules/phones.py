"""Login phones: who may change whose, and what a change must satisfy. Pure.

A phone is a login name, so one phone belongs to one person. The holder changes his own
phone online only with a code from the phone on file as well as one from the new phone; a
clerk changes it at the counter after checking the person's identity.
"""
from __future__ import annotations

from rules import permissions as p
from rules.codes import AccountKind
from rules.permissions import Actor

#: The SMS purposes of a phone change: the code to the new number, the one to the old number.
NEW_PHONE, OLD_PHONE = "phone_change", "phone_change_old"

#: Accounts that log in with a phone: their person's phone is the one they change.
_SELF_SERVICE = frozenset({AccountKind.INDIVIDUAL, AccountKind.UNIT_MEMBER,
                           AccountKind.INSTITUTION})


def may_change_own_phone(actor: Actor | None, person_id: int | None) -> bool:
    """The holder himself (an individual, a unit member, an institution administrator)."""
    return (actor is not None and actor.kind in _SELF_SERVICE and person_id is not None
            and actor.person_id == person_id)


def may_change_phone_at_counter(actor: Actor | None) -> bool:
    """A staff member with the counter's write right (受理窗口, 系统管理员)."""
    return (actor is not None and actor.kind == AccountKind.STAFF
            and p.staff_may(actor.roles, p.COUNTER, p.WRITE))


def codes_needed(phone_on_file: str | None) -> tuple[str, ...]:
    """The codes a self-service change needs: the new number's, and the old number's when
    there is one on file (a person without a phone proves himself by his password alone)."""
    return (NEW_PHONE, OLD_PHONE) if phone_on_file else (NEW_PHONE,)
