"""The policy as a table: pure predicates of rules/policy.py and rules/permissions.py.

No database and no app: these run first in the mutation run and answer in milliseconds.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace as Row

import pytest

from rules import policy
from rules.codes import AccountKind, Filer, GrantLevel, StaffRoleName
from rules.delegation import DelegationRefused, check_limit, most_in_force
from rules.masking import mask, shown
from rules.permissions import (
    ACCOUNTS,
    APPLICATIONS,
    AUDIT,
    MASTER,
    READ,
    REVIEW,
    WRITE,
    Actor,
    grant_valid_on,
    may_handle_item,
    may_see_identifiers,
    staff_may,
)
from rules.regions import person_within_regions
from rules.workflow import State


@pytest.fixture(autouse=True)
def _rollback():
    """Pure tests: no app and no database (overrides conftest's per-test transaction)."""
    yield


U, INS, P, S = (AccountKind.UNIT_MEMBER, AccountKind.INSTITUTION, AccountKind.INDIVIDUAL,
              AccountKind.STAFF)
REP = Actor(1, U, person_id=1, unit_id=10, grant_level=GrantLevel.LEGAL_REP)
ADMIN = Actor(2, U, person_id=2, unit_id=10, grant_level=GrantLevel.ADMIN)
AGENT = Actor(3, U, person_id=3, unit_id=10, grant_level=GrantLevel.AGENT,
              grant_items=frozenset({"SB_ENROLL"}))
INST = Actor(4, INS, person_id=4, unit_id=10, institution_id=40)
ME = Actor(5, P, person_id=5)
REVIEWER = Actor(6, S, roles=frozenset({StaffRoleName.REVIEWER}))
AUDITOR = Actor(7, S, roles=frozenset({StaffRoleName.AUDITOR}))
CLERK = Actor(8, S, roles=frozenset({StaffRoleName.COUNTER_CLERK}))


def item(code="SB_ENROLL", filer=Filer.UNIT, handler="enroll", active=True):
    return Row(code=code, filer=filer, handler=handler, active=active)


def filing(state=State.DRAFT, unit_id=10, institution_id=None, subject=None, rating=None):
    return Row(state=state, unit_id=unit_id, institution_id=institution_id,
               subject_person_id=subject, rating=rating)


ENROL, RECORD, TALENT = item(), item("JY_RECORD", handler=None), \
    item("RC_TALENT", Filer.PERSON, "talent")


@pytest.mark.parametrize(("actor", "it", "expected"), [
    (None, ENROL, False), (REP, ENROL, True), (ADMIN, RECORD, True), (AGENT, ENROL, True),
    (AGENT, RECORD, False), (INST, ENROL, False), (INST, RECORD, True), (ME, ENROL, False),
    (ME, TALENT, True), (REP, TALENT, False), (REVIEWER, ENROL, False),
    (REP, item(active=False), False), (ME, item(filer=Filer.PERSON, handler=None), True),
    (REP, item(filer=Filer.PERSON, handler=None), False),
])
def test_may_file(actor, it, expected):
    assert policy.may_file(actor, it) is expected


def test_owns_filing_by_kind():
    assert policy.owns_filing(REP, filing())
    assert not policy.owns_filing(REP, filing(unit_id=11))
    assert not policy.owns_filing(REP, filing(unit_id=None))
    assert policy.owns_filing(INST, filing(institution_id=40))
    assert not policy.owns_filing(INST, filing(institution_id=41))
    assert not policy.owns_filing(INST, filing())
    assert policy.owns_filing(ME, filing(subject=5))
    assert not policy.owns_filing(ME, filing(subject=6))
    assert not policy.owns_filing(ME, filing(subject=None))
    assert not policy.owns_filing(REVIEWER, filing())
    assert not policy.owns_filing(None, filing())


def test_may_read_filing():
    assert policy.may_read_filing(REVIEWER, filing(unit_id=99), ENROL)
    assert policy.may_read_filing(AGENT, filing(), ENROL)
    assert not policy.may_read_filing(AGENT, filing(), RECORD)
    assert policy.may_read_filing(ADMIN, filing(), RECORD)
    assert not policy.may_read_filing(ADMIN, filing(unit_id=11), RECORD)
    assert policy.may_read_filing(ME, filing(subject=5), TALENT)
    assert not policy.may_read_filing(None, filing(), ENROL)


def test_may_change_and_delete_filing():
    assert policy.may_change_filing(REP, filing(State.REJECTED), ENROL)
    assert not policy.may_change_filing(REP, filing(State.SUBMITTED), ENROL)
    assert not policy.may_change_filing(REP, filing(unit_id=11), ENROL)
    assert not policy.may_change_filing(AGENT, filing(), RECORD)
    assert policy.may_delete_filing(REP, filing(), ENROL, False)
    assert policy.may_delete_filing(ME, filing(State.AWAITING_UNIT, subject=5), TALENT, True)
    assert not policy.may_delete_filing(REP, filing(State.AWAITING_UNIT), TALENT, True)
    assert not policy.may_delete_filing(REP, filing(State.REJECTED), ENROL, False)
    assert not policy.may_delete_filing(REP, filing(unit_id=11), ENROL, False)
    assert not policy.may_delete_filing(AGENT, filing(), RECORD, False)


def test_may_rate_and_review():
    assert policy.may_rate(REP, filing(State.COMPLETED), ENROL)
    assert not policy.may_rate(REP, filing(State.COMPLETED, rating=3), ENROL)
    assert not policy.may_rate(REP, filing(State.APPROVED), ENROL)
    assert not policy.may_rate(REVIEWER, filing(State.COMPLETED), ENROL)
    assert not policy.may_rate(AGENT, filing(State.COMPLETED), RECORD)
    assert policy.may_review(REVIEWER)
    assert not policy.may_review(AUDITOR) and not policy.may_review(CLERK)
    assert not policy.may_review(REP) and not policy.may_review(None)
    assert not policy.may_review(Actor(9, U, roles=frozenset({StaffRoleName.REVIEWER})))


def test_subjects_names_and_certificates():
    assert policy.subject_fixed(True, REP) and not policy.subject_fixed(True, ME)
    assert not policy.subject_fixed(False, REP)
    assert policy.unit_may_name("enroll", False) and policy.unit_may_name("enroll_batch", False)
    assert not policy.unit_may_name("talent", False) and policy.unit_may_name("talent", True)
    assert policy.name_matches(None, "谁") and policy.name_matches("张伟", " 张伟 ")
    assert not policy.name_matches("张伟", "李四") and not policy.name_matches("张伟", None)
    assert policy.unit_may_read_person(True, False) and policy.unit_may_read_person(False, True)
    assert not policy.unit_may_read_person(False, False)
    assert policy.may_issue_certificate(ME, False)
    assert policy.may_issue_certificate(REP, True) and not policy.may_issue_certificate(REP, False)
    assert not policy.may_issue_certificate(INST, True)
    assert not policy.may_issue_certificate(None, True)
    assert policy.staff_may_see(State.SUBMITTED) and not policy.staff_may_see(State.DRAFT)
    assert not policy.staff_may_see(State.AWAITING_UNIT)


def test_regions_are_a_union():
    assert policy.union_of_regions(["330106", "330902"]) == {"330106", "330902"}
    assert policy.union_of_regions(["330106", None]) is None
    assert policy.union_of_regions(["330106", ""]) is None
    assert policy.union_of_regions([]) == frozenset()
    assert policy.in_regions(None, "330106") and policy.in_regions(None, None)
    assert policy.in_regions(frozenset({"3301"}), "330106")
    assert not policy.in_regions(frozenset({"3309"}), "330106")
    assert not policy.in_regions(frozenset({"3301"}), None)
    assert not policy.in_regions(frozenset(), "330106")
    regional = Actor(9, S, roles=frozenset({StaffRoleName.COUNTER_CLERK}),
                     regions=frozenset({"330902"}))
    single = Actor(9, S, roles=frozenset({StaffRoleName.COUNTER_CLERK}), region="330902")
    assert policy.staff_regions(regional) == {"330902"} == policy.staff_regions(single)
    assert policy.staff_regions(CLERK) is None
    assert policy.staff_may_reach_unit(regional, "330902")
    assert not policy.staff_may_reach_unit(regional, "330106")
    assert policy.staff_may_reach_unit(CLERK, "330106")
    assert not policy.staff_may_reach_unit(REP, "330106")


def test_staff_matrix_and_grants():
    assert staff_may(frozenset({StaffRoleName.REVIEWER}), APPLICATIONS, REVIEW)
    assert not staff_may(frozenset({StaffRoleName.AUDITOR}), APPLICATIONS, REVIEW)
    assert staff_may(frozenset({StaffRoleName.AUDITOR}), AUDIT, READ)
    assert not staff_may(frozenset({StaffRoleName.AUDITOR}), MASTER, WRITE)
    assert not staff_may(frozenset({StaffRoleName.COUNTER_CLERK}), ACCOUNTS, WRITE)
    assert staff_may(frozenset({StaffRoleName.AUDITOR, StaffRoleName.COUNTER_CLERK}),
                     MASTER, WRITE)
    assert not staff_may(frozenset(), MASTER, READ)
    day = dt.date(2026, 6, 1)
    assert grant_valid_on(day, None, False, day)
    assert grant_valid_on(day, day, False, day)
    assert not grant_valid_on(day, None, True, day)
    assert not grant_valid_on(day, None, False, day - dt.timedelta(days=1))
    assert not grant_valid_on(day, day, False, day + dt.timedelta(days=1))
    assert may_handle_item(GrantLevel.ADMIN, frozenset(), "X")
    assert may_handle_item(GrantLevel.AGENT, frozenset({"X"}), "X")
    assert not may_handle_item(GrantLevel.AGENT, frozenset({"Y"}), "X")


@pytest.mark.parametrize(("actor", "full"), [
    (None, False), (REP, True), (ADMIN, True), (AGENT, False), (INST, False), (ME, True),
    (REVIEWER, True), (CLERK, True), (AUDITOR, False),
    (Actor(9, S, roles=frozenset({StaffRoleName.AUDITOR, StaffRoleName.REVIEWER})), True),
])
def test_who_sees_full_numbers(actor, full):
    assert may_see_identifiers(actor) is full
    assert (shown(actor, "330106198507210020") == "330106198507210020") is full


def test_mask_as_the_manuals_show_it():
    assert mask("13800000182") == "1*****82"
    assert mask("330106198507210020") == "3*****20"
    assert mask(mask("330106198507210020")) == "3*****20"
    assert mask("123") == "***" and mask("") == "" and mask(None) == ""
    assert shown(REP, None) == ""


def test_limits_on_every_day_of_a_period():
    d = dt.date
    periods = [(d(2026, 1, 1), d(2026, 1, 31)), (d(2026, 2, 1), None)]
    assert most_in_force(periods, d(2026, 1, 15), d(2026, 2, 15)) == 1
    assert most_in_force(periods + [(d(2026, 1, 20), d(2026, 2, 5))],
                         d(2026, 1, 1), None) == 2
    assert most_in_force(periods, d(2025, 1, 1), d(2025, 12, 31)) == 0
    assert most_in_force([], d(2026, 1, 1), None) == 0
    assert most_in_force([(d(2026, 3, 1), d(2026, 3, 1))], d(2026, 3, 1), d(2026, 3, 1)) == 1
    check_limit(GrantLevel.ADMIN, [(d(2026, 1, 1), d(2026, 1, 31))], d(2026, 2, 1), None)
    with pytest.raises(DelegationRefused, match="最多1个管理员"):
        check_limit(GrantLevel.ADMIN, [(d(2026, 1, 1), None)], d(2027, 1, 1), None)
    nine = [(d(2026, 1, 1), None)] * 9
    check_limit(GrantLevel.AGENT, nine, d(2026, 1, 1), None)
    with pytest.raises(DelegationRefused, match="最多10个经办人"):
        check_limit(GrantLevel.AGENT, nine + [(d(2026, 5, 1), d(2026, 5, 2))],
                    d(2026, 1, 1), None)
    check_limit(GrantLevel.LEGAL_REP, nine * 3, d(2026, 1, 1), None)


def test_a_person_lies_in_the_regions_of_his_units():
    assert person_within_regions(None, [])  # no region limit serves everyone
    assert person_within_regions({"3309"}, ["330106", "330902"])
    assert not person_within_regions({"330902"}, ["330106"])
    assert not person_within_regions({"330902"}, [])  # no unit: only unlimited staff
    assert person_within_regions({"330902", "330106"}, ["330106"])


def test_may_forward_is_the_units_part_in_a_filing_a_person_prepared():
    talent = Row(code="RC_TALENT", filer=Filer.PERSON, handler="talent", active=True,
                 needs_unit_submit=True)
    assert policy.may_forward(REP, talent, State.AWAITING_UNIT)
    assert not policy.may_file(REP, talent)
    assert not policy.may_forward(REP, talent, State.DRAFT)  # not before the person sends it
    assert not policy.may_forward(ME, talent, State.AWAITING_UNIT)  # the person never 上报
    assert not policy.may_forward(AGENT, talent, State.AWAITING_UNIT)  # not granted
    assert not policy.may_forward(None, talent, State.AWAITING_UNIT)
    record = Row(code="JY_RECORD", filer=Filer.UNIT, handler=None, active=True,
                 needs_unit_submit=False)
    assert not policy.may_forward(REP, record, State.AWAITING_UNIT)
    retired = Row(code="RC_TALENT", filer=Filer.PERSON, handler="talent", active=False,
                  needs_unit_submit=True)
    assert not policy.may_forward(REP, retired, State.AWAITING_UNIT)


def test_only_a_units_rep_or_administrator_keeps_its_facts():
    assert policy.may_keep_unit_facts(REP) and policy.may_keep_unit_facts(ADMIN)
    for other in (AGENT, INST, ME, REVIEWER, None, Actor(9, U, person_id=9,
                                                         grant_level=GrantLevel.ADMIN)):
        assert not policy.may_keep_unit_facts(other)


def test_a_talent_certificate_is_its_holders_alone():
    assert policy.may_hold_certificate(ME, 5)
    assert not policy.may_hold_certificate(ME, 6)
    assert not policy.may_hold_certificate(ME, None)
    assert not policy.may_hold_certificate(Actor(5, U, person_id=5, unit_id=10,
                                                 grant_level=GrantLevel.LEGAL_REP), 5)
    assert not policy.may_hold_certificate(None, 5)
