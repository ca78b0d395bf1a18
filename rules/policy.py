"""Object rules: may this actor do this to this object? Pure predicates over plain facts.

The operations in ``models.operations`` and the row scope in ``models.scope`` ask these; the
views only show the answer. Nothing here touches Flask or a database session.
"""
from __future__ import annotations

from collections.abc import Iterable

from rules.codes import AccountKind, Filer, GrantLevel
from rules.definition import HANDLER_FILERS
from rules.permissions import APPLICATIONS, REVIEW, Actor, may_handle_item, staff_may
from rules.workflow import EDITABLE, State

#: Handlers that change a unit's master data (its employees, its own record): an institution
#: files none of them; it files record-only items (no handler) about its own business.
INSTITUTION_HANDLERS: frozenset[str | None] = frozenset({None})
#: Handlers whose filing makes a stranger an employee: the one case a unit names a person
#: it does not employ yet.
ENROLMENT_HANDLERS = frozenset({"enroll", "enroll_batch"})
#: Filers whose items each kind of account may file.
_FILERS = {
    AccountKind.UNIT_MEMBER: frozenset({Filer.UNIT, Filer.BOTH}),
    AccountKind.INSTITUTION: frozenset({Filer.UNIT, Filer.BOTH}),
    AccountKind.INDIVIDUAL: frozenset({Filer.PERSON, Filer.BOTH}),
}


def may_file(actor: Actor | None, item) -> bool:
    """May ``actor`` file (create, edit, submit, delete, upload to) filings of ``item``?"""
    if actor is None or not item.active:
        return False
    filer = HANDLER_FILERS.get(item.handler, item.filer)  # an old version cannot widen it
    if filer not in _FILERS.get(actor.kind, ()):
        return False
    if actor.kind == AccountKind.UNIT_MEMBER:
        return may_handle_item(actor.grant_level, actor.grant_items, item.code)
    if actor.kind == AccountKind.INSTITUTION:
        return item.handler in INSTITUTION_HANDLERS
    return True


def may_forward(actor: Actor | None, item, state: State) -> bool:
    """上报 or 退回 (manual 003): a unit's part in a filing an individual prepared for it. The
    unit does not file such an item; it forwards to the office, or returns to the person, a
    filing waiting for it, within its grant (an agent only for the items granted)."""
    if actor is None or actor.kind != AccountKind.UNIT_MEMBER or not item.active:
        return False
    if not item.needs_unit_submit or State(state) != State.AWAITING_UNIT:
        return False
    return may_handle_item(actor.grant_level, actor.grant_items, item.code)


def may_keep_unit_facts(actor: Actor | None) -> bool:
    """A unit's own registration facts (主管部门, manual 003's 信息维护): its legal
    representative or administrator, never an agent."""
    return actor is not None and actor.kind == AccountKind.UNIT_MEMBER and \
        actor.unit_id is not None and actor.grant_level in (GrantLevel.LEGAL_REP, GrantLevel.ADMIN)


def may_hold_certificate(actor: Actor | None, person_id: int | None) -> bool:
    """我的证书: a talent certificate is its holder's alone to see and to renew the code of."""
    return actor is not None and actor.kind == AccountKind.INDIVIDUAL and \
        person_id is not None and actor.person_id == person_id


def owns_filing(actor: Actor | None, filing) -> bool:
    """Is ``filing`` the actor's own (its unit's, its institution's, his own)?"""
    if actor is None:
        return False
    if actor.kind == AccountKind.UNIT_MEMBER:
        return filing.unit_id is not None and filing.unit_id == actor.unit_id
    if actor.kind == AccountKind.INSTITUTION:
        return filing.institution_id is not None and filing.institution_id == actor.institution_id
    if actor.kind == AccountKind.INDIVIDUAL:
        return filing.subject_person_id is not None and \
            filing.subject_person_id == actor.person_id
    return False


def may_read_filing(actor: Actor | None, filing, item) -> bool:
    """Reading a filing, its timeline, attachments and batch: own filings, agents their items."""
    if actor is not None and actor.kind == AccountKind.STAFF:
        return True  # the region limit is applied by the row scope
    if not owns_filing(actor, filing):
        return False
    if actor.kind == AccountKind.UNIT_MEMBER:
        return may_handle_item(actor.grant_level, actor.grant_items, item.code)
    return True


def may_change_filing(actor: Actor | None, filing, item) -> bool:
    """Editing, uploading to: an editable filing of the actor's own, of an item it may file."""
    return State(filing.state) in EDITABLE and owns_filing(actor, filing) and \
        may_file(actor, item)


def may_delete_filing(actor: Actor | None, filing, item, prepared_by_individual: bool) -> bool:
    """A draft (or a prepared filing not yet submitted) may be deleted by whoever prepared it:
    a unit never deletes what an individual prepared for it."""
    if State(filing.state) not in (State.DRAFT, State.AWAITING_UNIT):
        return False
    if not (owns_filing(actor, filing) and may_file(actor, item)):
        return False
    return not (actor.kind == AccountKind.UNIT_MEMBER and prepared_by_individual)


def may_rate(actor: Actor | None, filing, item) -> bool:
    """Rating (评价): the applicant of a completed filing, once."""
    return State(filing.state) == State.COMPLETED and filing.rating is None and \
        may_read_filing(actor, filing, item) and actor.kind != AccountKind.STAFF


#: Filings the office does not see yet: the applicant's drafts and an individual's prepared
#: filing waiting for his unit.
UNFILED = frozenset({State.DRAFT, State.AWAITING_UNIT})


def staff_may_see(state: State) -> bool:
    """Staff see a filing (its timeline and materials) once it has been filed."""
    return State(state) not in UNFILED


def may_review(actor: Actor | None) -> bool:
    """Accept, approve, reject, complete: staff whose role reviews filings."""
    return actor is not None and actor.kind == AccountKind.STAFF and \
        staff_may(actor.roles, APPLICATIONS, REVIEW)


def subject_fixed(prepared_by_individual: bool, actor: Actor) -> bool:
    """The person an individual prepared a filing about stays that person: nobody else,
    in particular not the unit that submits it, may change whom it is about."""
    return prepared_by_individual and actor.kind != AccountKind.INDIVIDUAL


def unit_may_name(handler: str | None, employed_here: bool) -> bool:
    """A unit files only about its own employees, except the enrolment that makes them so."""
    return employed_here or handler in ENROLMENT_HANDLERS


def name_matches(recorded: str | None, stated: str | None) -> bool:
    """The name filed must be the office's record of that number; a person the office does
    not know yet (no record) is recorded as stated and checked at review."""
    if recorded is None:
        return True
    return (stated or "").strip() == recorded.strip()


def unit_may_read_person(employed_now_or_before: bool, named_in_filing: bool) -> bool:
    """A unit reads a person's data only while (or for the periods) it employs them, or when
    the person named the unit in a filing."""
    return employed_now_or_before or named_in_filing


def may_issue_certificate(actor: Actor | None, employed_here: bool) -> bool:
    """A person's 参保证明: the person himself; a unit only for its own employees
    (and the certificate then states only that unit's periods)."""
    if actor is None:
        return False
    if actor.kind == AccountKind.INDIVIDUAL:
        return True
    return actor.kind == AccountKind.UNIT_MEMBER and employed_here


# --- staff regions -----------------------------------------------------------------------

def union_of_regions(role_regions: Iterable[str | None]) -> frozenset[str] | None:
    """The regions several staff roles reach together; None (no limit) only when some role
    itself has no region limit. No roles: an empty set, i.e. nothing."""
    regions = list(role_regions)
    if any(r is None or r == "" for r in regions):
        return None
    return frozenset(regions)


def staff_regions(actor: Actor) -> frozenset[str] | None:
    """The staff actor's regions, or None when it is limited to none."""
    if actor.regions is not None:
        return actor.regions
    return frozenset({actor.region}) if actor.region else None


def in_regions(regions: frozenset[str] | None, region_code: str | None) -> bool:
    """Does a unit in ``region_code`` lie within ``regions`` (None: no limit)?"""
    if regions is None:
        return True
    return bool(region_code) and any(region_code.startswith(r) for r in regions)


def staff_may_reach_unit(actor: Actor, region_code: str | None) -> bool:
    """A staff member reaches a unit (and its accounts, filings, people) only in his regions:
    the counter services reuse this for reset, cancel, unlock and open."""
    return actor.kind == AccountKind.STAFF and in_regions(staff_regions(actor), region_code)
