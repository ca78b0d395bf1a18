"""单位主页 (and the personal home): 推荐, 收藏, 办事, 查询, the workbench count; 单位快递."""
from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import abort, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from models import Application, ServiceItem, db
from models.addresses import default_address
from models.errors import Refusal
from models.favourites import deliveries, favourites, recommended, toggle_favourite
from models.operations import By
from models.scope import scope_clause
from rules.codes import AccountKind
from rules.workflow import State
from views.auth import client_ip, current_actor
from views.base import KindGate


def workbench_count(actor) -> int:
    """我的工作台 (N): filings individuals prepared that wait for this unit to submit.
    Counted on every page (the menu shows it), so a filing that moves shows at once."""
    return db.session.scalar(_workbench_statement(actor))


@functools.lru_cache(maxsize=2048)
def _workbench_statement(actor) -> sa.Select:
    """The count's statement for ``actor``, built once per Actor (its scope is a function of
    the Actor alone, and a changed grant is another Actor): building it cost more than
    running it over ix_application_unit_state."""
    return sa.select(sa.func.count()).select_from(Application).where(
        scope_clause(Application, actor), Application.state == State.AWAITING_UNIT)


def home_sections(actor) -> dict | None:
    """What the unit or personal home shows below the counts."""
    if actor.kind == AccountKind.STAFF:
        return None
    return {"recommended": recommended(actor), "favourites": favourites(actor),
            "workbench": workbench_count(actor) if actor.kind == AccountKind.UNIT_MEMBER
            else None}


class HomeDesk(KindGate, BaseView):
    """The home page's buttons: 收藏 / 取消收藏 an item. Not a menu entry."""

    def __init__(self, kinds, **kwargs):
        self.kinds = kinds
        super().__init__(**kwargs)

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        return redirect(url_for(f"{self.admin.endpoint}.index"))

    @expose("/favourite/<code>/", methods=("POST",))
    def favourite(self, code: str):
        item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == code[:32]))
        try:
            added = toggle_favourite(By(current_actor(), str(current_user), client_ip()), item)
        except Refusal as refusal:
            db.session.rollback()
            abort(refusal.status)
        db.session.commit()
        flash(f"已收藏“{item.name}”" if added else f"已取消收藏“{item.name}”", "info")
        return redirect(url_for(f"{self.admin.endpoint}.index"))


class DeliveriesView(KindGate, BaseView):
    """单位快递: the unit's filings sent by courier, with tracking numbers."""

    kinds = frozenset({AccountKind.UNIT_MEMBER})

    @expose("/")
    def index(self):
        actor = current_actor()
        address = default_address(unit_id=actor.unit_id)
        return self.render("unit_home/deliveries.html", rows=deliveries(actor),
                           address=address)


class WorkbenchCount:
    """A menu name that reads '我的工作台 (N)' for the current unit member."""

    def __get__(self, link, owner=None):
        if link is None:
            return self
        actor = current_actor()
        base = link.__dict__.get("_plain_name", "我的工作台")
        if actor is None or actor.kind != AccountKind.UNIT_MEMBER:
            return base
        return f"{base} ({workbench_count(actor)})"

    def __set__(self, link, value):
        link.__dict__["_plain_name"] = value


def register(unit_admin, me_admin) -> None:
    """Add the home buttons to both consoles and 单位快递 to the unit console."""
    unit_admin.add_view(HomeDesk(frozenset({AccountKind.UNIT_MEMBER, AccountKind.INSTITUTION}),
                                 name="主页", endpoint="unit_home", url="home"))
    me_admin.add_view(HomeDesk(frozenset({AccountKind.INDIVIDUAL}), name="主页",
                               endpoint="me_home", url="home"))
    unit_admin.add_view(DeliveriesView(name="单位快递", endpoint="unit_deliveries",
                                       url="deliveries", category="查询"))
