"""Questions about a person's filings that more than one page asks."""
from __future__ import annotations

import sqlalchemy as sa

from models.audit import record
from models.base import db
from models.errors import Refusal
from models.service import Application, Attachment
from rules.workflow import EDITABLE, State

#: States in which a filing is finished with: another one may be filed.
CLOSED = (State.COMPLETED, State.WITHDRAWN)


def open_filing(person_id: int, item_id: int) -> Application | None:
    """The person's filing of this item that is not finished yet (a draft, one waiting for
    the unit or the office, or one sent back to be corrected), if any."""
    return db.session.scalar(sa.select(Application).where(
        Application.subject_person_id == person_id, Application.item_id == item_id,
        Application.state.not_in(CLOSED)).order_by(Application.id.desc()).limit(1))


def remove_material(attachment: Attachment, *, actor_id: int, actor_label: str = "",
                    ip: str = "") -> None:
    """Take an uploaded material off a filing that may still be changed (a draft, one
    waiting for the unit, one sent back); audited. The stored file stays: files are
    content-addressed and may serve another filing."""
    application = attachment.application
    if application.state not in EDITABLE:
        raise Refusal(f"办件状态为“{State(application.state).label}”，材料不能删除", 403)
    record("application:remove_material", actor_id=actor_id, actor_label=actor_label, ip=ip,
           obj=application, before={"material": attachment.material,
                                    "file_name": attachment.file_name,
                                    "sha256": attachment.sha256})
    db.session.delete(attachment)
