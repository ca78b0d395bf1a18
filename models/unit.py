"""Employers (单位) and their institutions (机构)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import CreatedMixin, code_column, db
from models.person import Person
from rules.codes import InstitutionLevel, InstitutionType, OnlineStatus, UnitStatus, UnitType
from rules.identity import validate_uscc


class Unit(CreatedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    unit_no: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    unit_type: Mapped[UnitType] = code_column(UnitType, default=UnitType.ENTERPRISE)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[UnitStatus] = code_column(UnitStatus, default=UnitStatus.NORMAL)
    online_status: Mapped[OnlineStatus] = code_column(OnlineStatus, default=OnlineStatus.ACTIVE)
    #: 主管部门 (code table ``competent_dept``), chosen and changed by the unit (manual 003).
    competent_dept: Mapped[str | None] = mapped_column(sa.String(20))

    institutions: Mapped[list[Institution]] = relationship(back_populates="unit")

    @validates("uscc")
    def _check_uscc(self, _key, value):
        return validate_uscc(value)

    @property
    def online(self) -> bool:
        """True while the unit's online rights are open."""
        return self.online_status == OnlineStatus.ACTIVE and self.status == UnitStatus.NORMAL

    def __str__(self) -> str:
        return self.name


class Institution(CreatedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    institution_no: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    institution_type: Mapped[InstitutionType] = code_column(InstitutionType)
    level: Mapped[InstitutionLevel] = code_column(InstitutionLevel)
    admin_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    online_status: Mapped[OnlineStatus] = code_column(OnlineStatus, default=OnlineStatus.ACTIVE)

    unit: Mapped[Unit] = relationship(back_populates="institutions")
    admin_person: Mapped[Person | None] = relationship()

    def __str__(self) -> str:
        return self.name
