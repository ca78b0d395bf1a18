"""Moving a filing through the state machine of ``rules.workflow``, with its timeline.

Every change of state goes through ``transition``: it asks the rules, writes the timeline
event and the audit event, and flushes under the optimistic version lock, all in the
caller's transaction. The caller commits, or rolls back on any of ``REFUSALS``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from models import clock
from models.audit import record
from models.base import db, utcnow
from models.calendar import deadline_after
from models.claims import claim_people
from models.errors import Refusal
from models.handlers import HANDLERS
from models.service import Application, ApplicationEvent
from rules import permissions as p
from rules import policy
from rules.codes import AccountKind, GrantLevel, StaffRoleName
from rules.eligibility import Refused
from rules.identity import InvalidValue
from rules.workflow import (
    FORWARDING,
    NEEDS_REASON,
    Action,
    Party,
    State,
    TransitionRefused,
    next_state,
    step_allows,
)


class WorkflowError(Refusal):
    """A transition refused for a reason outside the state table; message in Chinese."""


class AlreadyHandled(WorkflowError):
    """Someone else changed the filing first (optimistic lock)."""


#: What callers catch, roll back and show as the message.
REFUSALS = (Refusal, TransitionRefused, Refused, InvalidValue, StaleDataError)


def message_of(error: Exception) -> str | None:
    """The Chinese message for a refusal, or None if ``error`` is not one (re-raise it)."""
    if isinstance(error, StaleDataError):
        return "该办件已被他人处理，请刷新后查看"
    if isinstance(error, OperationalError) and "locked" in str(error.orig):
        # SQLite: the other reviewer's write won; this transaction's snapshot is stale.
        return "该办件正由他人处理，请刷新后查看"
    if isinstance(error, Refusal):
        return error.message
    if isinstance(error, REFUSALS):
        return str(error)
    return None


def party_of(actor: p.Actor) -> Party:
    """The workflow party an actor plays."""
    if actor.kind == AccountKind.STAFF:
        return Party.REVIEWER
    if actor.kind == AccountKind.INDIVIDUAL:
        return Party.APPLICANT
    return Party.UNIT


def acting_for(actor: p.Actor, application: Application) -> str:
    """The audit's "acting for unit X as agent" line, or ''."""
    if actor.kind == AccountKind.UNIT_MEMBER and application.unit is not None:
        role = GrantLevel.label_of(actor.grant_level)
        return f"代表单位“{application.unit.name}”以{role}身份办理"
    return ""


def check_actor(application: Application, action: Action, actor: p.Actor) -> None:
    """Policy beyond the table: whose filing it is, review rights and regions, agents' items,
    who submits for individuals."""
    party = party_of(actor)
    item = application.item
    if party == Party.REVIEWER:
        if not policy.may_review(actor):
            raise WorkflowError("您的角色不能审核办件")
        region = application.unit.region_code if application.unit is not None else None
        if not policy.staff_may_reach_unit(actor, region):
            raise WorkflowError("该办件不在您负责的区域", 404)
        return
    if not policy.may_read_filing(actor, application, item):
        raise WorkflowError("办件不存在或无权办理", 404)
    forwarding = action in FORWARDING and policy.may_forward(actor, item, application.state)
    if not (forwarding or policy.may_file(actor, item)):
        raise WorkflowError(f"您未获授权办理“{item.name}”")
    if party == Party.APPLICANT and action == Action.SUBMIT and item.needs_unit_submit:
        raise WorkflowError("该事项须由所属单位提交，请先提交单位")


def _check_step(application: Application, action: Action, actor: p.Actor,
                state: State) -> None:
    """Within 审核中 the item's steps decide: which action the step allows, and which staff
    role performs it."""
    if state != State.IN_REVIEW or action not in (Action.NEXT_STEP, Action.APPROVE,
                                                  Action.REJECT):
        return
    step, steps = application.step or 0, application.spec.steps
    current = application.current_step
    if not step_allows(action, step, len(steps)):
        raise WorkflowError(f"当前环节为“{current['name']}”（第{step + 1}/{len(steps)}环节），"
                            f"不能{action.label}")
    if current["role"] not in actor.roles:
        raise WorkflowError(f"当前环节“{current['name']}”由"
                            f"{StaffRoleName.label_of(current['role'])}办理")


def transition(application: Application, action: Action, actor: p.Actor, *,
               comment: str = "", expected_version: int | None = None, actor_label: str = "",
               ip: str = "", today: dt.date | None = None) -> State:
    """Apply ``action`` by ``actor``; returns the new state or raises one of REFUSALS."""
    action = Action(action)
    if expected_version is not None and application.version != expected_version:
        raise AlreadyHandled("该办件已被他人处理或已更新，请刷新后查看")
    check_actor(application, action, actor)
    if action in NEEDS_REASON and not comment.strip():
        raise WorkflowError(f"{action.label}须填写原因")
    before = State(application.state)
    after = next_state(before, action, party_of(actor))
    _check_step(application, action, actor, before)
    now = utcnow()
    application.state = after
    event = ApplicationEvent(application_id=application.id, revision=application.revision,
                             action=action.value, from_state=before, to_state=after,
                             actor_id=actor.account_id, comment=comment.strip(), at=now)
    if action == Action.RESUBMIT:
        application.revision += 1
        event.revision = application.revision
    if action == Action.NEXT_STEP:
        event.comment = "；".join(x for x in (f"{application.current_step['name']}通过",
                                              event.comment) if x)
        application.step = (application.step or 0) + 1
    elif action in (Action.ACCEPT, Action.SUBMIT, Action.RESUBMIT):
        application.step = 0
    if action in (Action.SUBMIT, Action.RESUBMIT):
        # The deadline and the handler are those of the version the filing was made under.
        deadline = deadline_after(today or clock.today(), application.spec.time_limit_days)
        application.submitted_at = now
        application.deadline, application.deadline_estimated = deadline.day, deadline.estimated
        event.payload = dict(application.payload or {})
    if action in (Action.PREPARE, Action.SUBMIT, Action.RESUBMIT):
        claim_people(application)  # never file a person twice
    if action in (Action.APPROVE, Action.REJECT):
        application.decided_at, application.decided_by_id = now, actor.account_id
    # Flush the state change first: under concurrency the loser stops here (StaleDataError,
    # or it waits for the winner's row lock on PostgreSQL and then fails) before any
    # handler has touched master data.
    db.session.flush()
    if action == Action.APPROVE and application.spec.handler:
        handler = HANDLERS.get(application.spec.handler)
        if handler is None:
            raise WorkflowError(f"办结处理“{application.spec.handler}”不存在")
        handler.apply(application)
    db.session.add(event)
    record(f"application:{action.value}", actor_id=actor.account_id, actor_label=actor_label,
           ip=ip, obj=application, before={"state": before.value},
           after={"state": after.value, "comment": comment.strip()},
           acting_for=acting_for(actor, application))
    db.session.flush()
    return after


def create_filing(item, actor: p.Actor, payload: dict, *, unit_id: int | None,
                  institution_id: int | None = None, subject_person_id: int | None = None,
                  client_token: str | None = None) -> Application:
    """A new draft filing with its first timeline event (not committed)."""
    application = Application(item_id=item.id, item=item, unit_id=unit_id,
                              institution_id=institution_id,
                              subject_person_id=subject_person_id,
                              filed_by_id=actor.account_id, state=State.DRAFT,
                              payload=payload, client_token=client_token)
    db.session.add(application)
    db.session.flush()
    db.session.add(ApplicationEvent(application_id=application.id, action="create",
                                    to_state=State.DRAFT, actor_id=actor.account_id))
    return application
