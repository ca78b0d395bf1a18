"""Never file twice: a person named in an unfinished filing of one business of a unit may
not be named in another (single or batch, any batch), checked in sets and enforced by a
unique key so that two saves at once cannot both win.

A claim row is (unit, business, ID number) → the filing that named the person last. A claim
whose filing has finished is taken over by the next filing, guarded by its old value.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db
from models.bulk import insert_rows, one_of
from models.service import Application
from rules.eligibility import Refused
from rules.imports import SCHEMAS
from rules.workflow import State

#: A filing in these states is not finished: its people are claimed.
UNFINISHED = (State.AWAITING_UNIT, State.SUBMITTED, State.IN_REVIEW)
SHOWN = 5


class FilingClaim(db.Model):
    __tablename__ = "filing_claim"
    __table_args__ = (sa.UniqueConstraint("unit_id", "business", "id_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    #: The business filed: the item's handler without "_batch", so single and batch filings
    #: of one business share claims.
    business: Mapped[str] = mapped_column(sa.String(50))
    id_no: Mapped[str] = mapped_column(sa.String(32))
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id"), index=True)


class DuplicateFiling(Refused):
    """People already in an unfinished filing of the same business; message names it."""

    def __init__(self, earlier: dict[str, int]):
        self.earlier = earlier
        shown = "、".join(f"{id_no}（办件{app_id}）" for id_no, app_id
                         in list(earlier.items())[:SHOWN])
        more = f"等{len(earlier)}人" if len(earlier) > SHOWN else ""
        super().__init__(f"{shown}{more}已在未办结的办件中申报本业务，不能重复申报；"
                         "请等待该办件办结或撤回后再申报")


#: Businesses filed for a unit's people both singly and in batches (enroll, suspend).
CLAIMED = frozenset(s.handler.removesuffix("_batch") for s in SCHEMAS.values() if s.handler)


def business_of(handler: str | None) -> str | None:
    """The business an item files, if its people are claimed: single and batch share one."""
    business = (handler or "").removesuffix("_batch")
    return business if business in CLAIMED else None


def people_of(application: Application) -> list[str]:
    """The ID numbers a filing names (its rows for a batch, else its id_no field)."""
    payload = application.payload or {}
    if isinstance(payload.get("rows"), list):
        return [str(r["id_no"]) for r in payload["rows"] if isinstance(r, dict) and r.get("id_no")]
    return [str(payload["id_no"])] if payload.get("id_no") else []


def _claims(unit_id: int, business: str, id_nos: Iterable[str], *conditions) -> list:
    """(claim id, id_no, application id, its state) of the claimed ones among ``id_nos``
    (and meeting ``conditions``)."""
    id_nos = list(id_nos)
    if not id_nos:
        return []
    return db.session.execute(
        sa.select(FilingClaim.id, FilingClaim.id_no, FilingClaim.application_id,
                  Application.state)
        .join(Application, Application.id == FilingClaim.application_id)
        .where(FilingClaim.unit_id == unit_id, FilingClaim.business == business,
               one_of(FilingClaim.id_no, id_nos), *conditions)).all()


def pending_filings(unit_id: int, business: str, id_nos: Iterable[str],
                    exclude: int | None = None) -> dict[str, int]:
    """ID number → the unfinished filing of ``business`` (other than ``exclude``) naming it.
    Filtered in the query (state and filing), so that only the conflicts come back."""
    return {id_no: app_id for _, id_no, app_id, _ in _claims(
        unit_id, business, id_nos, Application.state.in_(UNFINISHED),
        FilingClaim.application_id != (exclude or 0))}


def claimed_by(application_id: int, unit_id: int, business: str | None) -> set[str]:
    """The ID numbers whose claim (for ``business`` at ``unit_id``) this filing holds."""
    if business is None:
        return set()
    return set(db.session.scalars(sa.select(FilingClaim.id_no).where(
        FilingClaim.application_id == application_id, FilingClaim.unit_id == unit_id,
        FilingClaim.business == business)))


def claim_people(application: Application) -> None:
    """Claim the filing's people for its business, or raise DuplicateFiling (not flushed
    on refusal: the caller rolls back)."""
    id_nos = people_of(application)
    business = business_of(application.item.handler)
    if application.unit_id is None or not id_nos or business is None:
        return
    claims = _claims(application.unit_id, business, id_nos)
    busy = {id_no: app_id for _, id_no, app_id, state in claims
            if app_id != application.id and state in UNFINISHED}
    if busy:
        raise DuplicateFiling(busy)
    try:
        taken = 0
        stale = [(cid, app_id) for cid, _, app_id, _ in claims if app_id != application.id]
        for claim_id, old in stale:
            taken += db.session.execute(
                sa.update(FilingClaim).where(FilingClaim.id == claim_id,
                                             FilingClaim.application_id == old)
                .values(application_id=application.id)).rowcount
        if taken != len(stale):
            raise DuplicateFiling({})
        known = {id_no for _, id_no, _, _ in claims}
        new = [(application.unit_id, business, id_no, application.id)
               for id_no in dict.fromkeys(id_nos) if id_no not in known]
        insert_rows(FilingClaim.__table__, ("unit_id", "business", "id_no", "application_id"),
                    new, returning=())
    except IntegrityError:
        # Another filing claimed one of these people between our read and our write.
        raise Refused("其他办件刚刚申报了相同人员，本次未保存；请刷新后查看") from None
