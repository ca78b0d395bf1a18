"""The append-only audit trail (操作日志)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class AuditEvent(db.Model):
    __table_args__ = (sa.Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(100), default="")
    #: "acting for unit X as agent" and the like, when someone acts on another's behalf.
    acting_for: Mapped[str] = mapped_column(sa.String(200), default="")
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(50), default="")
    object_id: Mapped[str] = mapped_column(sa.String(50), default="")
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")


class AuditIsAppendOnly(Exception):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(_mapper, _connection, target):
    raise AuditIsAppendOnly(f"审计记录不可修改或删除（{target.id}）")


def record(action: str, *, actor_id: int | None = None, actor_label: str = "", ip: str = "",
           obj=None, object_type: str = "", object_id: str = "", before: dict | None = None,
           after: dict | None = None, acting_for: str = "") -> AuditEvent:
    """Add an audit event to the current transaction; it commits or rolls back with it."""
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id or str(getattr(obj, "id", "") or "")
    event_ = AuditEvent(action=action, actor_id=actor_id, actor_label=actor_label, ip=ip,
                        object_type=object_type, object_id=object_id, before=before,
                        after=after, acting_for=acting_for)
    db.session.add(event_)
    return event_
