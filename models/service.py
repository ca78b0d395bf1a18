"""Service items (事项), filings (办件), their timeline, attachments and import batches."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.account import Account
from models.base import CreatedMixin, code_column, db, utcnow
from models.person import Person
from models.unit import Institution, Unit
from rules.codes import DeliveryMethod, Filer, ImportStatus
from rules.definition import Spec, definition_of
from rules.workflow import IN_PROGRESS, State


class ServiceItemVersion(db.Model):
    """One published definition of a service item (版本); never changed once published."""

    __table_args__ = (sa.UniqueConstraint("item_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    number: Mapped[int]
    definition: Mapped[dict] = mapped_column(sa.JSON)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    published_by_label: Mapped[str] = mapped_column(sa.String(100), default="")

    def __str__(self) -> str:
        return f"第{self.number}版"


class ServiceItem(CreatedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(50), default="")
    filer: Mapped[Filer] = code_column(Filer, default=Filer.UNIT)
    #: Form field definitions as data: [{"name", "label", "type", "required", "validator"}].
    form_fields: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: Materials: [{"code", "label", "required"}].
    materials: Mapped[list] = mapped_column(sa.JSON, default=list)
    time_limit_days: Mapped[int] = mapped_column(default=5)
    needs_unit_submit: Mapped[bool] = mapped_column(default=False)
    #: Name of the apply-handler run on approval; None for record-only items.
    handler: Mapped[str | None] = mapped_column(sa.String(50))
    active: Mapped[bool] = mapped_column(default=True)
    #: The designer's unpublished definition (rules.definition); None when none is pending.
    draft: Mapped[dict | None] = mapped_column(sa.JSON)
    #: Review steps of the published definition: [{"name", "role", "share"}].
    steps: Mapped[list | None] = mapped_column(sa.JSON)

    def __str__(self) -> str:
        return self.name


class Application(CreatedMixin, db.Model):
    __table_args__ = (
        sa.Index("ix_application_unit_state", "unit_id", "state"),
        sa.Index("ix_application_state_deadline", "state", "deadline"),
        # The 办件 queue's ORDER BY deadline, id reads this in order and stops at the page;
        # the state in it skips drafts (no deadline, first in order) without reading them.
        sa.Index("ix_application_deadline_id_state", "deadline", "id", "state"),
        # The dashboard's filings per day reads only the last days, from the index alone.
        sa.Index("ix_application_submitted_at_state", "submitted_at", "state"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_1_to_5"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    #: The published definition this filing was made under: shown and checked with it.
    item_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_item_version.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    subject_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    state: Mapped[State] = code_column(State, default=State.DRAFT)
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    revision: Mapped[int] = mapped_column(default=1)
    #: The review step (0-based, of the version's steps) a filing in review has reached.
    step: Mapped[int] = mapped_column(default=0, server_default="0")
    submitted_at: Mapped[dt.datetime | None]
    deadline: Mapped[dt.date | None]
    #: True when the deadline crossed a year whose holidays staff have not entered yet.
    deadline_estimated: Mapped[bool] = mapped_column(default=False)
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    #: A random token from the form that created the filing: a double click files once.
    client_token: Mapped[str | None] = mapped_column(sa.String(36), unique=True)
    rating: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(sa.Text, default="")
    rated_at: Mapped[dt.datetime | None]
    #: 结果领取方式; for 快递 the address chosen when filing, copied here so that later edits
    #: of the address book never rewrite where a filing's result went.
    delivery_method: Mapped[DeliveryMethod] = code_column(DeliveryMethod,
                                                          default=DeliveryMethod.WINDOW)
    delivery_recipient: Mapped[str] = mapped_column(sa.String(50), default="")
    delivery_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    delivery_address: Mapped[str] = mapped_column(sa.String(200), default="")
    courier: Mapped[str] = mapped_column(sa.String(50), default="")
    tracking_no: Mapped[str] = mapped_column(sa.String(50), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Optimistic lock: two reviewers acting at once cannot both win.
    version: Mapped[int] = mapped_column(default=1)

    item: Mapped[ServiceItem] = relationship()
    item_version: Mapped[ServiceItemVersion | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    institution: Mapped[Institution | None] = relationship()
    subject_person: Mapped[Person | None] = relationship()
    filed_by: Mapped[Account | None] = relationship(foreign_keys=[filed_by_id])
    decided_by: Mapped[Account | None] = relationship(foreign_keys=[decided_by_id])
    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", order_by="ApplicationEvent.id")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="application")

    __mapper_args__ = {"version_id_col": version}

    @property
    def spec(self) -> Spec:
        """The definition this filing is shown, checked and printed with: its version's."""
        if self.item_version is not None:
            return Spec.of(self.item_version.definition, self.item_version.number)
        return Spec.of(definition_of(self.item))

    @property
    def current_step(self) -> dict:
        """The review step the filing is at: {"name", "role", "share"}."""
        steps = self.spec.steps
        return steps[min(self.step or 0, len(steps) - 1)]

    def __str__(self) -> str:
        return f"办件{self.id} {self.item.name if self.item else ''}"


def in_progress() -> sa.ColumnElement[bool]:
    """Filings the office is still handling (办理中)."""
    return Application.state.in_([s.value for s in IN_PROGRESS])


def overdue(today: dt.date) -> sa.ColumnElement[bool]:
    """Filings still being handled whose deadline has passed."""
    return sa.and_(Application.deadline < today, in_progress())


class ApplicationEvent(db.Model):
    #: Decisions per reviewer (dashboard) read only the decisions, by actor.
    __table_args__ = (sa.Index("ix_application_event_action_actor", "action", "actor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id"), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    action: Mapped[str] = mapped_column(sa.String(24))
    from_state: Mapped[State | None] = code_column(State, check_name="from_state")
    to_state: Mapped[State] = code_column(State, check_name="to_state")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    #: What was filed, kept with the submit of each revision so earlier ones stay readable.
    payload: Mapped[dict | None] = mapped_column(sa.JSON)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="events")
    actor: Mapped[Account | None] = relationship()


#: Event actions that are a reviewer's decision.
DECISIONS = ("approve", "reject")


class DecisionTally(db.Model):
    """Decisions (approve, reject) per reviewer, counted in the transaction that writes the
    event: the whole office's dashboard reads this instead of counting every event ever."""

    __tablename__ = "decision_tally"

    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), primary_key=True)
    decisions: Mapped[int] = mapped_column(default=0)


class StateTally(db.Model):
    """Filings per state, kept in the transaction that files or moves one: the whole office's
    dashboard reads this instead of counting every filing ever made."""

    __tablename__ = "state_tally"

    state: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    filings: Mapped[int] = mapped_column(default=0)


def _bump(connection: sa.Connection, table: sa.Table, key: str, value, delta: int) -> None:
    """Add ``delta`` to the one counter column of ``table``'s row ``key`` = ``value``."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    counter = next(c for c in table.c if c.name != key)
    statement = insert(table).values({key: value, counter.name: delta})
    connection.execute(statement.on_conflict_do_update(
        index_elements=[key], set_={counter.name: counter + delta}))


@sa.event.listens_for(ApplicationEvent, "after_insert")
def _count_decision(_mapper, connection: sa.Connection, event: ApplicationEvent) -> None:
    if event.action in DECISIONS and event.actor_id is not None:
        _bump(connection, DecisionTally.__table__, "actor_id", event.actor_id, 1)


def _state(value) -> str:
    return value.value if isinstance(value, State) else str(value)


@sa.event.listens_for(Application, "after_insert")
def _count_filed(_mapper, connection: sa.Connection, application: Application) -> None:
    _bump(connection, StateTally.__table__, "state", _state(application.state), 1)


@sa.event.listens_for(Application, "after_update")
def _count_moved(_mapper, connection: sa.Connection, application: Application) -> None:
    history = sa.inspect(application).attrs.state.history
    if history.deleted and history.added and history.deleted[0] != history.added[0]:
        _bump(connection, StateTally.__table__, "state", _state(history.deleted[0]), -1)
        _bump(connection, StateTally.__table__, "state", _state(history.added[0]), 1)


@sa.event.listens_for(Application, "after_delete")
def _count_removed(_mapper, connection: sa.Connection, application: Application) -> None:
    _bump(connection, StateTally.__table__, "state", _state(application.state), -1)


def recount_decisions() -> None:
    """Rebuild the tallies from the filings and events (after they were written in bulk,
    past the ORM, as ``models.scale`` does)."""
    db.session.execute(sa.delete(StateTally))
    db.session.execute(sa.insert(StateTally).from_select(
        ["state", "filings"],
        sa.select(Application.state, sa.func.count()).group_by(Application.state)))
    db.session.execute(sa.delete(DecisionTally))
    db.session.execute(sa.insert(DecisionTally).from_select(
        ["actor_id", "decisions"],
        sa.select(ApplicationEvent.actor_id, sa.func.count()).where(
            ApplicationEvent.action.in_(DECISIONS), ApplicationEvent.actor_id.is_not(None))
        .group_by(ApplicationEvent.actor_id)))


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id"), index=True)
    material: Mapped[str] = mapped_column(sa.String(32))
    file_name: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    stored_path: Mapped[str] = mapped_column(sa.String(300))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="attachments")

    def __str__(self) -> str:
        return self.file_name


class ImportBatch(CreatedMixin, db.Model):
    __table_args__ = (sa.Index("ix_import_batch_unit_sha", "unit_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_item.id"))
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("application.id"))
    file_name: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_good: Mapped[int] = mapped_column(default=0)
    rows_bad: Mapped[int] = mapped_column(default=0)
    status: Mapped[ImportStatus] = code_column(ImportStatus, default=ImportStatus.CHECKED)
    #: The good rows, checked and parsed, as they will be filed.
    rows: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: The bad rows: original cells, row number and reasons (导入校验失败信息).
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: File-level problems (missing columns, wrong template) when no row could be read.
    problems: Mapped[list] = mapped_column(sa.JSON, default=list)

    unit: Mapped[Unit] = relationship()
    item: Mapped[ServiceItem] = relationship()
