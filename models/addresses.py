"""收件地址: several per unit (or individual), one default; deliveries go to the default."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import record
from models.base import CreatedMixin, db, utcnow
from models.errors import Refusal
from rules.addresses import MAX_ADDRESSES, address_problems, may_keep_addresses
from rules.codes import AccountKind


class DeliveryAddress(CreatedMixin, db.Model):
    __table_args__ = (
        sa.CheckConstraint("(unit_id IS NULL) <> (person_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owned by a unit (its legal representative and administrator keep it) or a person.
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str] = mapped_column(sa.String(20))
    address: Mapped[str] = mapped_column(sa.String(200))
    is_default: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime | None]

    def __str__(self) -> str:
        return f"{self.recipient} {self.address}"


def _owner_clause(actor) -> sa.ColumnElement[bool]:
    if actor.kind == AccountKind.INDIVIDUAL:
        return DeliveryAddress.person_id == actor.person_id
    if actor.kind == AccountKind.UNIT_MEMBER and actor.unit_id is not None:
        return DeliveryAddress.unit_id == actor.unit_id
    return sa.false()


def addresses_of(actor) -> list[DeliveryAddress]:
    """The actor's unit's (or his own) addresses, the default first."""
    return list(db.session.scalars(sa.select(DeliveryAddress).where(_owner_clause(actor))
                                   .order_by(DeliveryAddress.is_default.desc(),
                                             DeliveryAddress.id)))


def default_address(*, unit_id: int | None = None,
                    person_id: int | None = None) -> DeliveryAddress | None:
    """Where a delivery to this unit (or person) goes: the default address, if any."""
    owner = DeliveryAddress.unit_id == unit_id if unit_id is not None else \
        DeliveryAddress.person_id == person_id
    return db.session.scalar(sa.select(DeliveryAddress).where(
        owner, DeliveryAddress.is_default.is_(True)))


def _audit(by, action, row, **after):
    record(action, actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip, obj=row,
           after=after or None)


def _mine(by, address: DeliveryAddress | None) -> DeliveryAddress:
    if not may_keep_addresses(by.actor):
        raise Refusal("只有法定代表人、管理员或本人可以维护收件地址", 403)
    if address is None or address not in addresses_of(by.actor):
        raise Refusal("收件地址不存在", 404)
    return address


def add_address(by, recipient: str, phone: str, address: str,
                make_default: bool = False) -> DeliveryAddress:
    """Add an address; the first one, or one asked for, becomes the default."""
    if not may_keep_addresses(by.actor):
        raise Refusal("只有法定代表人、管理员或本人可以维护收件地址", 403)
    problems, phone = address_problems(recipient, phone, address)
    if problems:
        raise Refusal("；".join(problems))
    existing = addresses_of(by.actor)
    if len(existing) >= MAX_ADDRESSES:
        raise Refusal(f"最多保存{MAX_ADDRESSES}个收件地址，请先删除不用的地址")
    owner = {"person_id": by.actor.person_id} if by.actor.kind == AccountKind.INDIVIDUAL \
        else {"unit_id": by.actor.unit_id}
    row = DeliveryAddress(recipient=recipient.strip(), phone=phone, address=address.strip(),
                          **owner)
    db.session.add(row)
    db.session.flush()
    if make_default or not existing:
        _make_default(row, existing)
    _audit(by, "address:add", row, recipient=row.recipient, default=row.is_default)
    return row


def _make_default(row: DeliveryAddress, others) -> None:
    for other in others:
        if other.id != row.id and other.is_default:
            other.is_default = False
    row.is_default = True


def set_default(by, address: DeliveryAddress | None) -> None:
    """设为默认: deliveries go to this address from now on."""
    row = _mine(by, address)
    _make_default(row, addresses_of(by.actor))
    row.updated_at = utcnow()
    _audit(by, "address:default", row)


def remove_address(by, address: DeliveryAddress | None) -> None:
    """删除; when the default goes, the oldest remaining address becomes the default."""
    row = _mine(by, address)
    was_default = row.is_default
    _audit(by, "address:remove", row, recipient=row.recipient, address=row.address)
    db.session.delete(row)
    db.session.flush()
    rest = addresses_of(by.actor)
    if was_default and rest:
        rest[0].is_default = True
