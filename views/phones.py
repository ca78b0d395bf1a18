"""A login phone held by several people: the login answers as for a wrong password (never a 500)
and staff see the list to correct at the counter."""
from __future__ import annotations

from flask_admin import BaseView, expose

from models.phones import shared_phones
from rules import permissions as p
from rules.codes import AccountKind
from views.base import KindGate


class SharedPhoneView(KindGate, BaseView):
    """重复手机号: people who share a phone, which staff correct at the counter."""

    kinds = frozenset({AccountKind.STAFF})
    staff_right = (p.ACCOUNTS, p.READ)

    @expose("/")
    def index(self):
        return self.render("phones/shared.html", groups=shared_phones())


def register(admin) -> None:
    """Add 重复手机号 to the staff console."""
    admin.add_view(SharedPhoneView(name="重复手机号", category="系统管理",
                                   endpoint="admin_shared_phones", url="shared-phones"))
