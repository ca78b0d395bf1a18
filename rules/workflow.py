"""The application (办件) state machine as a table, and the pure function that reads it."""
from __future__ import annotations

from dataclasses import dataclass

from rules.codes import Labelled


class State(Labelled):
    DRAFT = "draft", "暂存"
    AWAITING_UNIT = "awaiting_unit", "待单位提交"
    SUBMITTED = "submitted", "待受理"
    IN_REVIEW = "in_review", "审核中"
    APPROVED = "approved", "审核通过"
    REJECTED = "rejected", "审核不通过"
    COMPLETED = "completed", "已办结"
    WITHDRAWN = "withdrawn", "已撤回"


class Action(Labelled):
    CREATE = "create", "创建"  # the first timeline entry; not a transition
    PREPARE = "prepare", "个人提交单位"
    SUBMIT = "submit", "提交"
    RETURN = "return", "退回申请人"
    WITHDRAW = "withdraw", "撤回"
    ACCEPT = "accept", "受理"
    APPROVE = "approve", "审核通过"
    REJECT = "reject", "审核不通过"
    COMPLETE = "complete", "办结"
    RESUBMIT = "resubmit", "修改后重新提交"
    NEXT_STEP = "next_step", "本环节通过，转下一环节"


class Party(Labelled):
    APPLICANT = "applicant", "申请人"
    UNIT = "unit", "单位"
    REVIEWER = "reviewer", "审核人员"


@dataclass(frozen=True)
class Transition:
    to: State
    by: frozenset[Party]


_A, _U, _R = Party.APPLICANT, Party.UNIT, Party.REVIEWER

TRANSITIONS: dict[tuple[State, Action], Transition] = {
    (State.DRAFT, Action.PREPARE): Transition(State.AWAITING_UNIT, frozenset({_A})),
    (State.DRAFT, Action.SUBMIT): Transition(State.SUBMITTED, frozenset({_A, _U})),
    (State.AWAITING_UNIT, Action.SUBMIT): Transition(State.SUBMITTED, frozenset({_U})),
    (State.AWAITING_UNIT, Action.RETURN): Transition(State.DRAFT, frozenset({_U})),
    (State.SUBMITTED, Action.WITHDRAW): Transition(State.WITHDRAWN, frozenset({_A, _U})),
    (State.SUBMITTED, Action.ACCEPT): Transition(State.IN_REVIEW, frozenset({_R})),
    (State.IN_REVIEW, Action.APPROVE): Transition(State.APPROVED, frozenset({_R})),
    (State.IN_REVIEW, Action.REJECT): Transition(State.REJECTED, frozenset({_R})),
    (State.APPROVED, Action.COMPLETE): Transition(State.COMPLETED, frozenset({_R})),
    (State.REJECTED, Action.RESUBMIT): Transition(State.SUBMITTED, frozenset({_A, _U})),
    (State.IN_REVIEW, Action.NEXT_STEP): Transition(State.IN_REVIEW, frozenset({_R})),
}

#: States in which a filing is still being handled by the office (办理中).
IN_PROGRESS = frozenset({State.SUBMITTED, State.IN_REVIEW, State.APPROVED})
#: States the applicant may still edit.
EDITABLE = frozenset({State.DRAFT, State.AWAITING_UNIT, State.REJECTED})
#: What a unit does with a filing an individual prepared for it: 上报 or 退回.
FORWARDING = frozenset({Action.SUBMIT, Action.RETURN})
#: Actions that must say why (the other side reads the reason).
NEEDS_REASON = frozenset({Action.REJECT, Action.RETURN})


class TransitionRefused(Exception):
    """The action is not possible from this state, or not for this party; message in Chinese."""


def next_state(state: State, action: Action, party: Party) -> State:
    """The state after ``action`` by ``party`` from ``state``, or TransitionRefused."""
    transition = TRANSITIONS.get((State(state), Action(action)))
    if transition is None:
        raise TransitionRefused(f"当前状态“{State(state).label}”不能{Action(action).label}")
    if party not in transition.by:
        raise TransitionRefused(f"{Party(party).label}不能执行“{Action(action).label}”")
    return transition.to


def actions_from(state: State, party: Party) -> list[Action]:
    """Actions ``party`` may take on a filing in ``state``, in table order."""
    return [a for (s, a), t in TRANSITIONS.items() if s == state and party in t.by]


def step_allows(action: Action, step: int, steps: int) -> bool:
    """An item's review steps (预审 → 审核 …) within 审核中: a step before the last is passed
    on (or rejected); only the last step approves."""
    if action == Action.NEXT_STEP:
        return step + 1 < steps
    if action == Action.APPROVE:
        return step + 1 >= steps
    return True


def step_days(time_limit_days: int, shares: list[int]) -> list[int]:
    """Each step's working days: its share of the item's time limit, at least one."""
    return [max(1, round(time_limit_days * share / 100)) for share in shares]


#: The comment on the 办结 that follows an approval at once.
CLOSED_ON_APPROVAL = "审核通过，无需到窗口核验原件，自动办结"


def closes_on_approval(materials: list | None) -> bool:
    """An approved filing is finished (办结) at once, unless the original of a material must
    be brought to the office first (``"original": true`` in the item's material list)."""
    return not any(isinstance(m, dict) and m.get("original") for m in materials or [])
