"""Row scope: which rows of each model an actor may reach, declared once per model.

Every view, dropdown, ajax lookup, action, export and download asks ``scope_clause``;
a model not declared here is invisible to unit, institution and personal accounts.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from models.account import Account, StaffRole
from models.audit import AuditEvent
from models.enrollment import Enrollment
from models.finance import BenefitPayment, Contribution, PensionAccount
from models.grant import Grant
from models.jobs import Job
from models.person import Person
from models.service import Application, ApplicationEvent, Attachment, ImportBatch, ServiceItem
from models.sessions import LoginLog, LoginSession
from models.talent import TalentRecognition
from models.unit import Institution, Unit
from rules.codes import AccountKind, Filer, GrantLevel
from rules.permissions import Actor, items_covered
from rules.policy import UNFILED, staff_regions

Clause = ColumnElement[bool]
_U, _I, _P = AccountKind.UNIT_MEMBER, AccountKind.INSTITUTION, AccountKind.INDIVIDUAL


def people_of_unit(unit_id: int) -> sa.Select:
    """Ids of people a unit may see: employed there (now or before), its own members, or who
    named the unit in a filing they prepared. A filing the unit itself made about someone
    does not count: naming a number must not open that person's data to the unit."""
    return sa.union(
        sa.select(Enrollment.person_id).where(Enrollment.unit_id == unit_id),
        sa.select(Application.subject_person_id).where(
            Application.unit_id == unit_id, Application.subject_person_id.is_not(None),
            Application.filed_by_id.in_(sa.select(Account.id).where(
                Account.kind == AccountKind.INDIVIDUAL))),
        sa.select(Grant.person_id).where(Grant.unit_id == unit_id),
    )


def _agent_items(actor: Actor, item_column) -> Clause:
    """An agent reaches only the items granted to it; other members every item."""
    if actor.grant_level != GrantLevel.AGENT:
        return sa.true()
    return item_column.in_(sa.select(ServiceItem.id).where(
        ServiceItem.code.in_(sorted(items_covered(actor.grant_items)))))


_APPLICATION: dict[AccountKind, Callable[[Actor], Clause]] = {
    _U: lambda a: sa.and_(Application.unit_id == a.unit_id,
                          _agent_items(a, Application.item_id)),
    _I: lambda a: Application.institution_id == a.institution_id,
    _P: lambda a: Application.subject_person_id == a.person_id,
}


def _child_of_application(column) -> dict[AccountKind, Callable[[Actor], Clause]]:
    return {
        kind: (lambda a, f=f: column.in_(sa.select(Application.id).where(f(a))))
        for kind, f in _APPLICATION.items()
    }


def _item_filers(*filers: Filer) -> Callable[[Actor], Clause]:
    return lambda a: sa.and_(ServiceItem.active.is_(True), ServiceItem.filer.in_(filers))


SCOPES: dict[type, dict[AccountKind, Callable[[Actor], Clause]]] = {
    Unit: {
        _U: lambda a: Unit.id == a.unit_id,
        _P: lambda a: Unit.id.in_(
            sa.select(Enrollment.unit_id).where(Enrollment.person_id == a.person_id)),
    },
    Institution: {
        _U: lambda a: Institution.unit_id == a.unit_id,
        _I: lambda a: Institution.id == a.institution_id,
    },
    Person: {
        _U: lambda a: Person.id.in_(people_of_unit(a.unit_id)),
        _I: lambda a: Person.id.in_(
            sa.select(Application.subject_person_id).where(
                Application.institution_id == a.institution_id)),
        _P: lambda a: Person.id == a.person_id,
    },
    Enrollment: {
        _U: lambda a: Enrollment.unit_id == a.unit_id,
        _P: lambda a: Enrollment.person_id == a.person_id,
    },
    Grant: {
        _U: lambda a: Grant.unit_id == a.unit_id,
        _P: lambda a: Grant.person_id == a.person_id,
    },
    ServiceItem: {
        _U: _item_filers(Filer.UNIT, Filer.BOTH),
        _I: _item_filers(Filer.UNIT, Filer.BOTH),
        _P: _item_filers(Filer.PERSON, Filer.BOTH),
    },
    Application: _APPLICATION,
    ApplicationEvent: _child_of_application(ApplicationEvent.application_id),
    Attachment: _child_of_application(Attachment.application_id),
    ImportBatch: {_U: lambda a: sa.and_(ImportBatch.unit_id == a.unit_id,
                                        _agent_items(a, ImportBatch.item_id))},
    Contribution: {
        _U: lambda a: Contribution.unit_id == a.unit_id,
        _P: lambda a: Contribution.person_id == a.person_id,
    },
    BenefitPayment: {
        _U: lambda a: BenefitPayment.unit_id == a.unit_id,
        _P: lambda a: BenefitPayment.person_id == a.person_id,
    },
    PensionAccount: {
        # Only the years the person worked there: a unit's own periods.
        _U: lambda a: sa.exists().where(
            Enrollment.person_id == PensionAccount.person_id, Enrollment.unit_id == a.unit_id,
            sa.extract("year", Enrollment.start_date) <= PensionAccount.year,
            sa.or_(Enrollment.end_date.is_(None),
                   sa.extract("year", Enrollment.end_date) >= PensionAccount.year)),
        _P: lambda a: PensionAccount.person_id == a.person_id,
    },
    TalentRecognition: {
        _U: lambda a: TalentRecognition.person_id.in_(people_of_unit(a.unit_id)),
        _P: lambda a: TalentRecognition.person_id == a.person_id,
    },
    # Staff-only tables: no entry for other kinds means no rows.
    Account: {},
    StaffRole: {},
    AuditEvent: {},
}

#: Models whose rows belong to a unit, for a staff member limited to regions.
_UNIT_COLUMN = {
    Unit: Unit.id, Institution: Institution.unit_id, Enrollment: Enrollment.unit_id,
    Grant: Grant.unit_id, Application: Application.unit_id, ImportBatch: ImportBatch.unit_id,
    Contribution: Contribution.unit_id, BenefitPayment: BenefitPayment.unit_id,
}


def _units_in(regions: frozenset[str]) -> sa.Select:
    return sa.select(Unit.id).where(sa.or_(sa.false(), *[
        Unit.region_code.startswith(r) for r in sorted(regions)]))


def _people_in(units: sa.Select) -> sa.Select:
    """People a regional staff member reaches: enrolled at, filed by or granted in its units."""
    return sa.union(
        sa.select(Enrollment.person_id).where(Enrollment.unit_id.in_(units)),
        sa.select(Application.subject_person_id).where(
            Application.unit_id.in_(units), Application.subject_person_id.is_not(None)),
        sa.select(Grant.person_id).where(Grant.unit_id.in_(units)),
    )


def _accounts_in(units: sa.Select) -> Clause:
    """Accounts a regional staff member reaches: staff, and those of its units' members,
    institutions and people."""
    return sa.or_(Account.kind == AccountKind.STAFF, Account.unit_id.in_(units),
                  Account.institution_id.in_(sa.select(Institution.id).where(
                      Institution.unit_id.in_(units))),
                  sa.and_(Account.kind == AccountKind.INDIVIDUAL,
                          Account.person_id.in_(_people_in(units))))


def _filed() -> Clause:
    return Application.state.not_in([s.value for s in UNFILED])


def _staff_clause(model: type, regions: frozenset[str] | None) -> Clause:
    """What a staff member reaches: filings once filed (with their timeline and materials),
    and within his regions, if any."""
    clause = sa.true() if regions is None else _staff_region_clause(model, regions)
    if model is Application:
        return sa.and_(clause, _filed())
    if model in (ApplicationEvent, Attachment):
        return sa.and_(clause, model.application_id.in_(
            sa.select(Application.id).where(_filed())))
    return clause


def _staff_region_clause(model: type, regions: frozenset[str]) -> Clause:
    """Rows of ``model`` inside ``regions``; a table with nothing regional stays whole."""
    units = _units_in(regions)
    column = _UNIT_COLUMN.get(model)
    if column is not None:
        return column.in_(units)
    if model in (ApplicationEvent, Attachment):
        return model.application_id.in_(
            sa.select(Application.id).where(Application.unit_id.in_(units)))
    if model is Person:
        return Person.id.in_(_people_in(units))
    if model in (PensionAccount, TalentRecognition):
        return model.person_id.in_(_people_in(units))
    if model is Account:
        return _accounts_in(units)
    if model is LoginSession:
        return LoginSession.account_id.in_(sa.select(Account.id).where(_accounts_in(units)))
    if model is LoginLog:
        # The account's unit; an attempt that named no known account, by the unit code typed
        # (a code of no unit in the regions: only staff without a region limit read it).
        return sa.or_(
            LoginLog.account_id.in_(sa.select(Account.id).where(_accounts_in(units))),
            sa.and_(LoginLog.account_id.is_(None), LoginLog.unit_code != "",
                    LoginLog.unit_code.in_(sa.union(
                        sa.select(Unit.uscc).where(Unit.id.in_(units)),
                        sa.select(Unit.unit_no).where(Unit.id.in_(units))))))
    for name in ("unit_id",):  # certificates, legacy accounts, anything else a unit owns
        if hasattr(model, name):
            clause = getattr(model, name).in_(units)
            if hasattr(model, "person_id"):
                clause = sa.or_(clause, model.person_id.in_(_people_in(units)))
            return clause
    return sa.true()


#: Models whose rows belong to the account that made them, whatever its kind (staff too):
#: only that account reaches them.
OWNED: dict[type, ColumnElement] = {Job: Job.account_id}


@functools.lru_cache(maxsize=4096)
def scope_clause(model: type, actor: Actor | None) -> Clause:
    """The WHERE clause limiting ``model`` to the rows ``actor`` may reach.

    A function of (model, Actor) alone (the Actor carries kind, unit, grant, roles and
    regions; what the rows hold is asked in SQL), so each clause is built once per process
    and Actor and reused: a page asks for several, and building one cost more than its SQL.
    A changed grant or role is another Actor, and gets its own clause."""
    if actor is None:
        return sa.false()
    if model in OWNED:
        return OWNED[model] == actor.account_id
    if actor.kind == AccountKind.STAFF:
        return _staff_clause(model, staff_regions(actor))
    declared = SCOPES.get(model, {}).get(actor.kind)
    return declared(actor) if declared else sa.false()


def owner_values(model: type, actor: Actor) -> dict[str, int]:
    """Columns to stamp on a row a unit, institution or individual creates."""
    columns = {
        _U: {"unit_id": actor.unit_id},
        _I: {"institution_id": actor.institution_id},
        _P: {"subject_person_id": actor.person_id},
    }.get(actor.kind, {})
    return {k: v for k, v in columns.items() if hasattr(model, k)}
