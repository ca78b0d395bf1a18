"""A login phone held by several people: the login answers as for a wrong password (never a 500)
and staff see the list to correct at the counter."""
from __future__ import annotations

from flask_admin import BaseView, expose

from models import Person
from models.phones import shared_phones
from models.scope import scope_clause
from rules import permissions as p
from rules.codes import AccountKind
from rules.phones import may_change_phone_at_counter
from views.auth import current_actor
from views.base import KindGate


class SharedPhoneView(KindGate, BaseView):
    """重复手机号: people who share a phone; a counter clerk corrects one holder's phone from
    the list (the counter's 变更登录手机号码, models.login_phones)."""

    kinds = frozenset({AccountKind.STAFF})
    staff_right = (p.ACCOUNTS, p.READ)

    @expose("/")
    def index(self):
        actor = current_actor()
        return self.render("phones/shared.html", groups=shared_phones(scope_clause(Person, actor)),
                           may_fix=may_change_phone_at_counter(actor))


def register(admin) -> None:
    """Add 重复手机号 to the staff console."""
    admin.add_view(SharedPhoneView(name="重复手机号", category="系统管理",
                                   endpoint="admin_shared_phones", url="shared-phones"))
