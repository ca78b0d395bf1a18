"""Online accounts (网上办事账号) and staff role assignments."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import CreatedMixin, code_column, db
from models.person import Person
from models.unit import Institution, Unit
from rules.codes import AccountKind, StaffRoleName


def _hasher() -> PasswordHasher:
    # argon2id, memory-hard; parameters come from config so tests can use a cheap profile.
    return PasswordHasher(**current_app.config["ARGON2_PARAMS"])


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with the configured cost."""
    return _hasher().hash(password)


class Account(CreatedMixin, db.Model):
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'staff' AND username IS NOT NULL)"
            " OR (kind = 'unit_member' AND person_id IS NOT NULL AND unit_id IS NOT NULL)"
            " OR (kind = 'institution' AND institution_id IS NOT NULL)"
            " OR (kind = 'individual' AND person_id IS NOT NULL)",
            name="owner_matches_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = code_column(AccountKind)
    #: One login per owner: "staff:<name>", "unit:<unit>:<person>", "inst:<id>", "person:<id>".
    login_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    username: Mapped[str | None] = mapped_column(sa.String(50))
    display_name: Mapped[str] = mapped_column(sa.String(50), default="")
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    #: Bumped on password change or cancellation; sessions carry it and die with it.
    session_epoch: Mapped[int] = mapped_column(default=0)

    person: Mapped[Person | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    institution: Mapped[Institution | None] = relationship()
    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="account", cascade="all, delete-orphan")

    @staticmethod
    def key_for(kind: AccountKind, *, username: str | None = None, person_id: int | None = None,
                unit_id: int | None = None, institution_id: int | None = None) -> str:
        """The unique login key of an account of ``kind`` owned by the given ids."""
        return {
            AccountKind.STAFF: f"staff:{username}",
            AccountKind.UNIT_MEMBER: f"unit:{unit_id}:{person_id}",
            AccountKind.INSTITUTION: f"inst:{institution_id}",
            AccountKind.INDIVIDUAL: f"person:{person_id}",
        }[kind]

    def set_password(self, password: str) -> None:
        """Store a new hash and end every session opened with the old password."""
        self.password_hash = hash_password(password)
        self.session_epoch = (self.session_epoch or 0) + 1

    def check_password(self, password: str) -> bool:
        """True if ``password`` matches; never raises on a malformed hash."""
        try:
            return _hasher().verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    # Flask-Login: the id carries the epoch so a password change or cancellation logs out
    # every other session of the account.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch}"

    @property
    def role_names(self) -> frozenset[StaffRoleName]:
        return frozenset(StaffRoleName(r.role) for r in self.roles)

    def __str__(self) -> str:
        return self.display_name or self.username or self.login_key


class StaffRole(db.Model):
    __table_args__ = (sa.UniqueConstraint("account_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    role: Mapped[StaffRoleName] = code_column(StaffRoleName)
    #: Optional six-digit region code (or prefix) the role is limited to.
    region_code: Mapped[str | None] = mapped_column(sa.String(6))

    account: Mapped[Account] = relationship(back_populates="roles")

    def __str__(self) -> str:
        return StaffRoleName.label_of(self.role)
