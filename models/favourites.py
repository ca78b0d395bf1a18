"""单位主页 sections: 推荐 (the items this unit files most), 收藏 (an account's favourites)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import record
from models.base import CreatedMixin, db
from models.errors import Refusal
from models.scope import scope_clause
from models.service import Application, ServiceItem
from rules import policy
from rules.codes import AccountKind, DeliveryMethod


class FavouriteItem(CreatedMixin, db.Model):
    __table_args__ = (sa.UniqueConstraint("account_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_item.id"))


#: How many items 推荐 shows.
RECOMMENDED = 6


def fileable(actor) -> list[ServiceItem]:
    """Active items the actor may file, by category and code."""
    items = db.session.scalars(sa.select(ServiceItem).where(ServiceItem.active.is_(True))
                               .order_by(ServiceItem.category, ServiceItem.code))
    return [item for item in items if policy.may_file(actor, item)]


def recommended(actor, limit: int = RECOMMENDED) -> list[tuple[ServiceItem, int]]:
    """推荐: the items the actor may file, most filed by his unit (or him) first."""
    used = dict(db.session.execute(sa.select(Application.item_id, sa.func.count()).where(
        scope_clause(Application, actor)).group_by(Application.item_id)).all())
    items = fileable(actor)
    items.sort(key=lambda item: -used.get(item.id, 0))
    return [(item, used.get(item.id, 0)) for item in items[:limit]]


def favourites(actor) -> list[ServiceItem]:
    """收藏: the account's favourite items it may still file."""
    items = db.session.scalars(sa.select(ServiceItem).join(
        FavouriteItem, FavouriteItem.item_id == ServiceItem.id).where(
        FavouriteItem.account_id == actor.account_id, ServiceItem.active.is_(True))
        .order_by(FavouriteItem.id))
    return [item for item in items if policy.may_file(actor, item)]


def toggle_favourite(by, item: ServiceItem | None) -> bool:
    """收藏 or 取消收藏 an item the actor may file; returns True when it is now a favourite."""
    if by.actor.kind not in (AccountKind.UNIT_MEMBER, AccountKind.INSTITUTION,
                             AccountKind.INDIVIDUAL):
        raise Refusal("只有单位和个人用户可以收藏事项", 403)
    if item is None or not policy.may_file(by.actor, item):
        raise Refusal("事项不存在或未获业务授权", 404)
    row = db.session.scalar(sa.select(FavouriteItem).where(
        FavouriteItem.account_id == by.actor.account_id, FavouriteItem.item_id == item.id))
    if row is None:
        db.session.add(FavouriteItem(account_id=by.actor.account_id, item_id=item.id))
    else:
        db.session.delete(row)
    record("favourite:add" if row is None else "favourite:remove",
           actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip, obj=item)
    return row is None


def deliveries(actor) -> list[Application]:
    """单位快递: the actor's filings whose result goes (or went) by courier, newest first."""
    return list(db.session.scalars(sa.select(Application).where(
        scope_clause(Application, actor), sa.or_(
            Application.delivery_method == DeliveryMethod.POST, Application.tracking_no != ""))
        .order_by(Application.id.desc()).limit(500)))
