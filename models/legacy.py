"""Accounts of the cities' old systems (地市历史用户), waiting to be upgraded."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import CreatedMixin, db
from models.unit import Unit


class LegacyAccount(CreatedMixin, db.Model):
    """One unit an old login holds: an old login holding several units has a row for each
    (the old password is the login's, the same in each row)."""

    __table_args__ = (sa.UniqueConstraint("old_system", "old_login", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: A code of the 历史系统 code table (``legacy_system``).
    old_system: Mapped[str] = mapped_column(sa.String(50))
    old_login: Mapped[str] = mapped_column(sa.String(64))
    #: The old password as an argon2/werkzeug hash, or a one-time code's hash.
    secret_hash: Mapped[str] = mapped_column(sa.String(255))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    upgraded_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship()

    def __str__(self) -> str:
        return f"{self.old_system}:{self.old_login}"
