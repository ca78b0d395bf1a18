"""The three Flask-Admin consoles, built per app (a module-level Admin breaks a 2nd app)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme

from models import Application, db
from models.scope import scope_clause
from rules.codes import AccountKind
from views.auth import current_actor
from views.base import KindGate
from views.counter import CounterView
from views.dashboard import staff_dashboard
from views.filters import GROUPS
from views.security import csp_nonce

CONSOLES = {
    # endpoint: (url, title, account kinds)
    "admin": ("/admin", "网办 · 工作人员控制台", frozenset({AccountKind.STAFF})),
    "unit": ("/unit", "网办 · 单位网上办事", frozenset({AccountKind.UNIT_MEMBER,
                                                  AccountKind.INSTITUTION})),
    "me": ("/me", "网办 · 个人网上办事", frozenset({AccountKind.INDIVIDUAL})),
}


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
        return self.render("console_index.html", actor=actor, home=home_counts(actor))


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
    from views import personal, review, security_staff, staff, unit

    admins = {}
    for endpoint, (url, title, kinds) in CONSOLES.items():
        admins[endpoint] = Admin(
            app, name=title, url=url, endpoint=endpoint,
            theme=Bootstrap4Theme(base_template="console_base.html", fluid=True),
            index_view=ConsoleIndex(kinds, name="首页", url=url, endpoint=endpoint),
            csp_nonce_generator=csp_nonce,
        )
    review.register(admins["admin"])
    admins["admin"].add_view(CounterView(name="窗口服务", endpoint="admin_counter", url="counter"))
    staff.register(admins["admin"])
    security_staff.register(admins["admin"])
    unit.register(admins["unit"])
    personal.register(admins["me"])
    return admins
