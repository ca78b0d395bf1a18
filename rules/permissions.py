"""Who may do what: the staff permission matrix and the validity of unit grants."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rules.codes import AccountKind, GrantLevel, StaffRoleName

READ, WRITE, DELETE, REVIEW = "read", "write", "delete", "review"

#: Resources of the staff console; every staff view names one.
MASTER = "master"  # units, people, institutions, enrollments, grants
ACCOUNTS = "accounts"  # online accounts and staff roles
CATALOG = "catalog"  # service items
APPLICATIONS = "applications"  # filings, their timeline and attachments
FINANCE = "finance"  # contributions, benefit payments, pension accounts, talents
AUDIT = "audit"  # the audit trail
COUNTER = "counter"  # counter services: open, reset, cancel, unlock, verify
SMS = "sms"  # the SMS outbox: it holds live verification codes

_ALL = frozenset({READ, WRITE, DELETE})
_RO = frozenset({READ})

#: role → resource → operations. Anything not listed is refused.
STAFF_MATRIX: dict[StaffRoleName, dict[str, frozenset[str]]] = {
    StaffRoleName.SYSTEM_ADMIN: {
        MASTER: _ALL, ACCOUNTS: _ALL, CATALOG: _ALL, APPLICATIONS: _RO,
        FINANCE: _ALL, AUDIT: _RO, COUNTER: frozenset({READ, WRITE}), SMS: _RO,
    },
    StaffRoleName.COUNTER_CLERK: {
        MASTER: frozenset({READ, WRITE}), ACCOUNTS: _RO, CATALOG: _RO,
        APPLICATIONS: _RO, FINANCE: _RO, COUNTER: frozenset({READ, WRITE}),
    },
    StaffRoleName.REVIEWER: {
        MASTER: _RO, CATALOG: _RO, APPLICATIONS: frozenset({READ, REVIEW}), FINANCE: _RO,
    },
    StaffRoleName.AUDITOR: {
        MASTER: _RO, ACCOUNTS: _RO, CATALOG: _RO, APPLICATIONS: _RO, FINANCE: _RO,
        AUDIT: _RO,
    },
}


@dataclass(frozen=True)
class Actor:
    """The logged-in party as policy sees it, built from the account by the views."""

    account_id: int
    kind: AccountKind
    person_id: int | None = None
    unit_id: int | None = None
    institution_id: int | None = None
    roles: frozenset[StaffRoleName] = field(default_factory=frozenset)
    region: str | None = None
    #: The union of the staff roles' regions; None means no region limit (see rules.policy).
    regions: frozenset[str] | None = None
    grant_level: GrantLevel | None = None
    grant_items: frozenset[str] = field(default_factory=frozenset)


def staff_may(roles: frozenset[StaffRoleName], resource: str, operation: str) -> bool:
    """True if any of the staff roles allows ``operation`` on ``resource``."""
    return any(operation in STAFF_MATRIX.get(role, {}).get(resource, ()) for role in roles)


def grant_valid_on(valid_from: dt.date, valid_to: dt.date | None, revoked: bool,
                   day: dt.date) -> bool:
    """A grant is usable on ``day`` if not revoked and the day lies in its period (授权时间)."""
    if revoked or day < valid_from:
        return False
    return valid_to is None or day <= valid_to


def items_covered(items: frozenset[str]) -> frozenset[str]:
    """The item codes a grant of ``items`` reaches: each item and its batch form
    (``SB_ENROLL`` covers ``SB_ENROLL_BATCH``)."""
    return frozenset(items) | {f"{code}_BATCH" for code in items}


def may_handle_item(level: GrantLevel, items: frozenset[str], item_code: str) -> bool:
    """Legal representatives and administrators handle every item; agents only the items
    their grant covers (``items_covered``)."""
    return level != GrantLevel.AGENT or item_code in items_covered(items)


def may_see_identifiers(actor: Actor | None) -> bool:
    """Full ID numbers and phones in exports: office staff who handle cases, a unit's legal
    representative and administrator, an individual (his own); others see them masked."""
    if actor is None:
        return False
    if actor.kind == AccountKind.STAFF:
        return bool(actor.roles - {StaffRoleName.AUDITOR})
    if actor.kind == AccountKind.UNIT_MEMBER:
        return actor.grant_level in (GrantLevel.LEGAL_REP, GrantLevel.ADMIN)
    return actor.kind == AccountKind.INDIVIDUAL
