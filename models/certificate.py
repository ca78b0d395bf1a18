"""Issued certificates (参保证明), kept so anyone can check one by its verification code."""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, utcnow
from models.person import Person
from models.unit import Unit

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Certificate(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # unit / person
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    period: Mapped[str] = mapped_column(sa.String(6), default="")
    #: What the certificate states, as issued (verification shows exactly this).
    facts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Set when a newer code replaced this one (我的证书: 生成新证书): it then verifies as 已作废.
    voided_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit | None] = relationship()
    person: Mapped[Person | None] = relationship()


def issue(kind: str, facts: dict, *, unit_id: int | None = None, person_id: int | None = None,
          period: str = "") -> Certificate:
    """Record a certificate with a fresh 12-character verification code."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(12))
    certificate = Certificate(code=code, kind=kind, unit_id=unit_id, person_id=person_id,
                              period=period, facts=facts)
    db.session.add(certificate)
    return certificate
