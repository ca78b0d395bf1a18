"""Questions about a person's filings that more than one page asks."""
from __future__ import annotations

import sqlalchemy as sa

from models.base import db
from models.service import Application
from rules.workflow import State

#: States in which a filing is finished with: another one may be filed.
CLOSED = (State.COMPLETED, State.WITHDRAWN)


def open_filing(person_id: int, item_id: int) -> Application | None:
    """The person's filing of this item that is not finished yet (a draft, one waiting for
    the unit or the office, or one sent back to be corrected), if any."""
    return db.session.scalar(sa.select(Application).where(
        Application.subject_person_id == person_id, Application.item_id == item_id,
        Application.state.not_in(CLOSED)).order_by(Application.id.desc()).limit(1))


