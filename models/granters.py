"""Who granted each grant, as the audit trail recorded it (one place: the grant:add event)."""
from __future__ import annotations

import sqlalchemy as sa

from models.audit import AuditEvent
from models.base import db

#: A legal representative's grant comes from opening or verifying the unit at the counter.
COUNTER = "受理窗口"


def granters(grant_ids) -> dict[int, str]:
    """grant id → the label of whoever added it; grants without an event (opened at the
    counter, or loaded as data) are the counter's."""
    ids = [str(i) for i in grant_ids]
    rows = db.session.execute(sa.select(AuditEvent.object_id, AuditEvent.actor_label).where(
        AuditEvent.action == "grant:add", AuditEvent.object_type == "Grant",
        AuditEvent.object_id.in_(ids)).order_by(AuditEvent.id)).all() if ids else []
    found = {}
    for object_id, label in rows:
        found.setdefault(int(object_id), label)
    return {int(i): found.get(int(i), COUNTER) for i in ids}
