"""Online accounts (网上办事账号) and staff role assignments."""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import secrets
import threading

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import CreatedMixin, code_column, db, utcnow
from models.person import Person
from models.unit import Institution, Unit
from rules.codes import AccountKind, StaffRoleName


def _hasher() -> PasswordHasher:
    # argon2id, memory-hard; parameters come from config so tests can use a cheap profile.
    return PasswordHasher(**current_app.config["ARGON2_PARAMS"])


_slots_lock = threading.Lock()


def _return_hash_blocks_to_the_os() -> None:
    """Pin glibc's mmap threshold at 4 MiB, so argon2's 19 MiB blocks go back on free.

    By default glibc raises the threshold after the first such block is freed; from then on
    each thread's malloc arena keeps a block, and a threaded server's memory grows with its
    thread count whatever the semaphore allows (measured: +385 MiB for 50 parallel logins
    with 4 slots, +82 MiB with the threshold pinned). Not glibc: nothing to do.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 4 * 1024 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


_return_hash_blocks_to_the_os()


def _hash_slots() -> threading.BoundedSemaphore:
    """The per-process bound on concurrent argon2 computations (PASSWORD_HASH_CONCURRENCY).

    Each computation holds ``memory_cost`` KiB; the bound caps their sum, whatever the number
    of threads serving requests.
    """
    slots = current_app.extensions.get("password_hash_slots")
    if slots is None:
        with _slots_lock:
            slots = current_app.extensions.setdefault(
                "password_hash_slots",
                threading.BoundedSemaphore(current_app.config["PASSWORD_HASH_CONCURRENCY"]))
    return slots


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with the configured cost."""
    with _hash_slots():
        return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches ``password_hash``; never raises on a malformed hash.

    ``None`` (no such account) is verified against a dummy hash of the same cost, so an
    unknown login name costs the same time as a known one.
    """
    hasher = _hasher()
    if password_hash is None or not password_hash.startswith("$argon2"):
        password_hash = _dummy_hash(hasher)
        password = "\0" + password  # never matches
    try:
        with _hash_slots():
            return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = ("dummy_hash", hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    cached = current_app.extensions.get(key)
    if cached is None:
        cached = current_app.extensions.setdefault(key, hasher.hash(secrets.token_hex(16)))
    return cached


def needs_rehash(password_hash: str) -> bool:
    """True if the hash was made with other parameters than the configured ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


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
        return verify_password(self.password_hash, password)

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


class UnitRegistration(db.Model):
    """A unit's self-registration as submitted: its contact data stays here until a counter
    clerk verifies the legal representative in person and chooses the phone to keep."""

    __tablename__ = "unit_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), unique=True)
    rep_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    phone: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[dt.datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    #: "file" (the person's phone on file kept) or "registered" (the registered one taken).
    phone_choice: Mapped[str] = mapped_column(sa.String(12), default="")

    unit: Mapped[Unit] = relationship()
    rep_person: Mapped[Person] = relationship()
