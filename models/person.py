"""People (个人 / 参保人员), keyed by ID type and number."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import CreatedMixin, code_column, db
from rules.codes import Gender, IdType
from rules.identity import (
    birth_date_of,
    gender_of,
    normalise,
    validate_mobile,
    validate_resident_id,
)
from rules.masking import mask


class Person(CreatedMixin, db.Model):
    __table_args__ = (sa.UniqueConstraint("id_type", "id_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[IdType] = code_column(IdType, default=IdType.RESIDENT)
    id_no: Mapped[str] = mapped_column(sa.String(32), index=True)
    name: Mapped[str] = mapped_column(sa.String(50), index=True)
    gender: Mapped[Gender | None] = code_column(Gender)
    birth_date: Mapped[dt.date | None]
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)

    @validates("id_no")
    def _check_id_no(self, _key, value):
        # Resident ID numbers are checked and carry birth date and gender; other
        # documents are only normalised.
        if self.id_type in (None, IdType.RESIDENT):
            number = validate_resident_id(value)
            self.birth_date = birth_date_of(number)
            self.gender = Gender(gender_of(number))
            return number
        return normalise(value)

    @validates("phone")
    def _check_phone(self, _key, value):
        return validate_mobile(value) if value else None

    def __str__(self) -> str:
        return f"{self.name}（{mask(self.id_no)}）"
