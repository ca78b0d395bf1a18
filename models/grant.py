"""A person's authority in a unit (授权): legal representative, administrator or agent."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import CreatedMixin, code_column, db
from models.person import Person
from models.unit import Unit
from rules.codes import GrantLevel
from rules.permissions import grant_valid_on


class Grant(CreatedMixin, db.Model):
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "person_id"),
        sa.Index("ix_grant_unit_level", "unit_id", "level"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    level: Mapped[GrantLevel] = code_column(GrantLevel)
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]
    #: Comma-separated service item codes an agent may handle (业务授权).
    item_codes: Mapped[str] = mapped_column(sa.Text, default="")
    revoked_at: Mapped[dt.datetime | None]
    #: When the scheduled work marked the grant expired (its period ended); None before.
    expired_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship()
    person: Mapped[Person] = relationship()

    @property
    def items(self) -> frozenset[str]:
        return frozenset(c for c in self.item_codes.split(",") if c)

    def valid_on(self, day: dt.date) -> bool:
        """True if the grant may be used on ``day``."""
        return grant_valid_on(self.valid_from, self.valid_to, self.revoked_at is not None, day)

    def __str__(self) -> str:
        return f"{GrantLevel.label_of(self.level)} {self.person.name if self.person else ''}"
