"""The three Flask-Admin consoles, built per app (a module-level Admin breaks a 2nd app)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.menu import MenuLink, MenuView
from flask_admin.theme import Bootstrap4Theme

from models import Application, db
from models.scope import scope_clause
from rules import permissions as p
from rules.codes import AccountKind, GrantLevel
from rules.imports import SCHEMAS
from views.auth import current_actor
from views.base import KindGate
from views.counter import CounterView
from views.dashboard import staff_dashboard
from views.filters import GROUPS
from views.security import csp_nonce
from views.unit_home import home_sections

CONSOLES = {
    # endpoint: (url, title, account kinds)
    "admin": ("/admin", "网办 · 工作人员控制台", frozenset({AccountKind.STAFF})),
    "unit": ("/unit", "网办 · 单位网上办事", frozenset({AccountKind.UNIT_MEMBER,
                                                  AccountKind.INSTITUTION})),
    "me": ("/me", "网办 · 个人网上办事", frozenset({AccountKind.INDIVIDUAL})),
}


#: Menus by task: the category of each entry that its module registers without one.
TASKS = {
    "unit_filing": "办事", "unit_application": "办事", "unit_filing.workbench": "办事",
    "unit_import": "办事", "unit_imports": "办事", "unit_exports": "查询",
    "admin_exports": "查询",
    "unit_query": "查询", "unit_unit": "查询", "unit_enrollment": "查询",
    "unit_institution": "查询",
    "unit_members": "单位管理", "unit_grant": "单位管理", "unit_institutions": "单位管理",
    "admin_counter": "受理",
}
#: Staff menus named by the task a clerk comes for (the modules name them by subject).
RENAMED = {"业务经办": "审核", "待遇与缴费": "查询"}
#: Categories in the order a console's menu shows them (others follow as registered).
CATEGORY_ORDER = {"admin": ["受理", "审核", "基础数据", "查询"],
                  "unit": ["办事", "查询", "单位管理"]}


def _manager(actor) -> bool:
    return actor.kind == AccountKind.UNIT_MEMBER and actor.grant_level != GrantLevel.AGENT


def _may_import(actor) -> bool:
    return actor.kind == AccountKind.UNIT_MEMBER and any(
        p.may_handle_item(actor.grant_level, actor.grant_items, code) for code in SCHEMAS)


#: Entries shown only to some of the console's users: an agent is not offered the
#: delegation pages (agents grant nothing), nor an import he holds no item for.
#: The pages themselves still refuse on their own; this only keeps the menu honest.
SHOWN_TO = {
    "unit_members": _manager, "unit_grant": _manager, "unit_institutions": _manager,
    "unit_import": _may_import, "unit_imports": _may_import,
}


class TaskMenuView(MenuView):
    """A menu entry that is hidden from actors ``SHOWN_TO`` leaves out."""

    def is_visible(self) -> bool:
        shown = SHOWN_TO.get(getattr(self._view, "endpoint", None))
        actor = current_actor()
        return super().is_visible() and (shown is None or actor is None or shown(actor))


class TaskAdmin(Admin):
    """An Admin whose menu groups entries by task (``TASKS``, ``RENAMED``) and hides them
    per actor (``SHOWN_TO``)."""

    def _add_view_to_menu(self, view) -> None:
        view.category = RENAMED.get(view.category, view.category) or TASKS.get(view.endpoint)
        self.add_menu_item(TaskMenuView(view.name, view), view.category)

    def add_link(self, link: MenuLink) -> None:
        link.category = link.category or TASKS.get(getattr(link, "endpoint", None))
        super().add_link(link)


class ConsoleIndex(KindGate, AdminIndexView):
    """A console's home page, refused to every other kind of account."""

    def __init__(self, kinds, **kwargs):
        self.kinds = kinds
        super().__init__(**kwargs)


    @expose("/")
    def index(self):
        actor = current_actor()
        if actor.kind == AccountKind.STAFF:
            return staff_dashboard(self, actor)
        return self.render("console_index.html", actor=actor, home=home_counts(actor),
                           sections=home_sections(actor))


def home_counts(actor) -> list[tuple[str, str, int]] | None:
    """(group key, label, count) of the actor's filings for a unit or personal home page."""
    if actor.kind == AccountKind.STAFF:
        return None
    counts = db.session.execute(sa.select(*[
        sa.func.count().filter(clause).label(key) for key, (_, clause) in GROUPS.items()
    ]).where(scope_clause(Application, actor))).one()
    return [(key, label, getattr(counts, key)) for key, (label, _) in GROUPS.items()]


def build_consoles(app) -> dict[str, Admin]:
    """Create the staff, unit and personal consoles on ``app`` and register their views."""
    from views import (
        codes,
        designer,
        jobs,
        notices,
        personal,
        phones,
        review,
        security_staff,
        settings,
        staff,
        talent,
        unit,
        unit_home,
    )

    admins = {}
    for endpoint, (url, title, kinds) in CONSOLES.items():
        admins[endpoint] = TaskAdmin(
            app, name=title, url=url, endpoint=endpoint,
            theme=Bootstrap4Theme(base_template="console_base.html", fluid=True),
            index_view=ConsoleIndex(kinds, name="首页", url=url, endpoint=endpoint),
            csp_nonce_generator=csp_nonce,
        )
        for category in CATEGORY_ORDER.get(endpoint, ()):
            admins[endpoint].add_category(category)
    review.register(admins["admin"])
    admins["admin"].add_view(CounterView(name="窗口服务", endpoint="admin_counter", url="counter"))
    staff.register(admins["admin"])
    security_staff.register(admins["admin"])
    notices.register(admins["admin"])
    phones.register(admins["admin"])
    designer.register(admins["admin"])
    codes.register(admins["admin"])
    unit.register(admins["unit"])
    personal.register(admins["me"])
    settings.register(admins["unit"], admins["me"])
    unit_home.register(admins["unit"], admins["me"])
    talent.register(admins["unit"], admins["me"])
    jobs.register(admins)
    return admins
