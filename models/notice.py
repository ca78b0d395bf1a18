"""公告: 通知公告 and 公示公告 that staff write, publish and retire; the portal shows them."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import record
from models.base import CreatedMixin, code_column, db, utcnow
from models.errors import Refusal
from rules.codes import Labelled
from rules.notices import may_publish, publish_refusal, retire_refusal


class NoticeKind(Labelled):
    NOTICE = "notice", "通知公告"
    PUBLICITY = "publicity", "公示公告"


class Notice(CreatedMixin, db.Model):
    __table_args__ = (sa.Index("ix_notice_kind_published", "kind", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NoticeKind] = code_column(NoticeKind, default=NoticeKind.NOTICE)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: Set by 发布; a notice is public while published and not retired.
    published_at: Mapped[dt.datetime | None]
    retired_at: Mapped[dt.datetime | None]

    @property
    def status(self) -> str:
        """草稿 / 已发布 / 已撤下, as staff see it."""
        if self.retired_at is not None:
            return "已撤下"
        return "已发布" if self.published_at is not None else "草稿"

    def __str__(self) -> str:
        return self.title


def is_public() -> sa.ColumnElement[bool]:
    """Notices the public sees: published and not retired."""
    return sa.and_(Notice.published_at.is_not(None), Notice.retired_at.is_(None))


def public_notices(kind: NoticeKind | None = None, limit: int | None = None) -> list[Notice]:
    """Published notices, newest first, of one kind or all."""
    query = sa.select(Notice).where(is_public()).order_by(Notice.published_at.desc(),
                                                          Notice.id.desc())
    if kind is not None:
        query = query.where(Notice.kind == kind)
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def _may(by) -> None:
    if not may_publish(by.actor):
        raise Refusal("只有系统管理员可以发布或撤下公告", 403)


def publish(by, notice: Notice) -> None:
    """发布: the notice becomes public now (a retired one comes back)."""
    _may(by)
    why = publish_refusal(notice.published_at is not None, notice.retired_at is not None)
    if why:
        raise Refusal(why)
    notice.published_at, notice.retired_at = utcnow(), None
    record("notice.publish", actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip,
           obj=notice, after={"title": notice.title, "kind": notice.kind.value})


def retire(by, notice: Notice) -> None:
    """撤下: the notice leaves the portal; it stays for the record."""
    _may(by)
    why = retire_refusal(notice.published_at is not None, notice.retired_at is not None)
    if why:
        raise Refusal(why)
    notice.retired_at = utcnow()
    record("notice.retire", actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip,
           obj=notice, before={"title": notice.title})
