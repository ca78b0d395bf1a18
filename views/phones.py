"""A login phone held by several people: the login says so (never a 500) and staff see the list."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from sqlalchemy.exc import MultipleResultsFound

from models.audit import record
from models.base import db
from models.phones import shared_phones
from rules import permissions as p
from rules.codes import AccountKind
from views.auth import client_ip
from views.base import KindGate

AMBIGUOUS_LOGIN = ("该手机号码登记在多人名下，暂不能用手机号码登录，请改用证件号码登录；"
                   "工作人员已收到提示，将核实后更正。")


class SharedPhoneView(KindGate, BaseView):
    """重复手机号: people who share a phone, which staff correct at the counter."""

    kinds = frozenset({AccountKind.STAFF})
    staff_right = (p.ACCOUNTS, p.READ)

    @expose("/")
    def index(self):
        return self.render("phones/shared.html", groups=shared_phones())


def _ambiguous_login(error):
    # Older data may hold one phone for two people; the login resolves a phone to one account.
    if request.endpoint != "auth.login":
        raise error
    db.session.rollback()
    record("login.ambiguous_phone", ip=client_ip(), object_type="Person",
           after={"login": (request.form.get("login") or "")[:20],
                  "kind": (request.form.get("kind") or "")[:20]})
    db.session.commit()
    flash(AMBIGUOUS_LOGIN, "error")
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    """Turn an ambiguous phone login into a message and a note for staff."""
    app.register_error_handler(MultipleResultsFound, _ambiguous_login)


def register(admin) -> None:
    """Add 重复手机号 to the staff console."""
    admin.add_view(SharedPhoneView(name="重复手机号", category="系统管理",
                                   endpoint="admin_shared_phones", url="shared-phones"))
