"""The policy of filings as pure functions: the whole transition table, deadlines, eligibility."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from rules.eligibility import (
    EnrollmentKind,
    Refused,
    check_talent_filing,
    enrollment_kind,
    talent_filing_opens,
)
from rules.fields import check_definition
from rules.workdays import Calendar, add_workdays, chinese_calendar_exceptions
from rules.workflow import (
    TRANSITIONS,
    Action,
    Party,
    State,
    TransitionRefused,
    actions_from,
    next_state,
)

CASES = list(itertools.product(State, [a for a in Action if a != Action.CREATE], Party))


@pytest.mark.parametrize(("state", "action", "party"), CASES)
def test_every_combination_follows_the_table(state, action, party):
    transition = TRANSITIONS.get((state, action))
    if transition is not None and party in transition.by:
        assert next_state(state, action, party) == transition.to
        assert action in actions_from(state, party)
    else:
        with pytest.raises(TransitionRefused):
            next_state(state, action, party)
        assert action not in actions_from(state, party)


def test_the_table_is_the_manuals_flow():
    assert next_state(State.DRAFT, Action.PREPARE, Party.APPLICANT) == State.AWAITING_UNIT
    assert next_state(State.AWAITING_UNIT, Action.SUBMIT, Party.UNIT) == State.SUBMITTED
    assert next_state(State.SUBMITTED, Action.WITHDRAW, Party.UNIT) == State.WITHDRAWN
    assert next_state(State.REJECTED, Action.RESUBMIT, Party.UNIT) == State.SUBMITTED
    with pytest.raises(TransitionRefused, match="审核中"):
        next_state(State.IN_REVIEW, Action.WITHDRAW, Party.UNIT)
    with pytest.raises(TransitionRefused, match="单位"):
        next_state(State.IN_REVIEW, Action.APPROVE, Party.UNIT)


CALENDAR = Calendar({d: w for d, (w, _) in chinese_calendar_exceptions().items()},
                    frozenset(range(2004, 2027)))


def test_deadline_skips_national_day_and_counts_the_worked_saturday():
    # 2026: 1-7 October off, Saturday 10 October worked (调休).
    deadline = add_workdays(dt.date(2026, 9, 30), 5, CALENDAR)
    assert deadline.day == dt.date(2026, 10, 13)
    assert not deadline.estimated


def test_deadline_in_an_unknown_year_is_a_weekend_only_estimate():
    deadline = add_workdays(dt.date(2026, 12, 30), 5, CALENDAR)
    assert deadline.day == dt.date(2027, 1, 6) and deadline.estimated
    later = add_workdays(dt.date(2031, 5, 1), 10, CALENDAR)
    assert later.day == dt.date(2031, 5, 15) and later.estimated


def test_a_maintained_year_is_exact():
    calendar = Calendar({**CALENDAR.exceptions, dt.date(2027, 1, 1): False},
                        CALENDAR.known_years | {2027})
    deadline = add_workdays(dt.date(2026, 12, 30), 5, calendar)
    assert deadline.day == dt.date(2027, 1, 7) and not deadline.estimated


def test_enrollment_kind():
    assert enrollment_kind(False, False, False) == EnrollmentKind.NEW
    assert enrollment_kind(False, False, True) == EnrollmentKind.RESUME
    with pytest.raises(Refused, match="本单位"):
        enrollment_kind(True, False, False)
    with pytest.raises(Refused, match="其他单位"):
        enrollment_kind(False, True, True)


def test_talent_filing_opens_23_months_after_recognition():
    assert talent_filing_opens(dt.date(2024, 11, 1)) == dt.date(2026, 10, 1)
    assert talent_filing_opens(dt.date(2024, 3, 31)) == dt.date(2026, 2, 28)
    check_talent_filing(dt.date(2024, 11, 1), dt.date(2026, 10, 1))
    with pytest.raises(Refused, match="2026年09月30日|2026年10月01日"):
        check_talent_filing(dt.date(2024, 11, 1), dt.date(2026, 9, 30))
    with pytest.raises(Refused, match="未查询到"):
        check_talent_filing(None, dt.date(2026, 9, 30))


def test_form_definitions_are_checked():
    assert check_definition([{"name": "a", "label": "A", "type": "text"}]) == []
    problems = check_definition([{"name": "a", "type": "rocket"}, {"name": "a", "type": "text"},
                                 {"name": "b", "type": "text", "validator": "nope"},
                                 {"name": "c", "type": "choice"}])
    assert any("类型无效" in p for p in problems) and any("重复" in p for p in problems)
    assert any("nope" in p for p in problems) and any("缺少选项" in p for p in problems)
