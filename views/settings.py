"""账号设置 in the unit and personal consoles: the masked facts, links to change the password
and the phone, and 我的收件地址 (several, one default). Operations are models.addresses."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from models import Grant, Person, Unit, db
from models.addresses import (
    DeliveryAddress,
    add_address,
    addresses_of,
    remove_address,
    set_default,
)
from models.errors import Refusal
from models.codes import choices_of
from models.operations import By, set_competent_dept
from rules.addresses import MAX_ADDRESSES, may_keep_addresses
from rules.codes import AccountKind, GrantLevel
from rules.masking import mask
from rules.policy import may_keep_unit_facts
from views.auth import client_ip, current_actor
from views.base import KindGate


def masked_name(name: str | None) -> str:
    """'王丽华' → '王**', as the manual shows a name on the account page."""
    return (name[0] + "*" * (len(name) - 1)) if name else ""


def _facts(actor) -> dict:
    """What the page shows: the unit and its legal representative, or the person himself."""
    if actor.kind == AccountKind.UNIT_MEMBER:
        unit = db.session.get(Unit, actor.unit_id)
        rep = db.session.scalar(sa.select(Person).join(Grant, Grant.person_id == Person.id).where(
            Grant.unit_id == unit.id, Grant.level == GrantLevel.LEGAL_REP,
            Grant.revoked_at.is_(None)).limit(1))
        me = db.session.get(Person, actor.person_id)
        return {"unit": unit, "rep": rep, "me": me}
    return {"unit": None, "rep": None, "me": db.session.get(Person, actor.person_id)}


class SettingsView(KindGate, BaseView):
    """账号设置."""

    def __init__(self, kind: AccountKind, **kwargs):
        self.kinds = frozenset({kind})  # each console's page serves its own kind only
        super().__init__(**kwargs)

    def _by(self) -> By:
        return By(current_actor(), str(current_user), client_ip())

    @expose("/")
    def index(self):
        actor = current_actor()
        return self.render("settings/index.html", facts=_facts(actor), mask=mask,
                           masked_name=masked_name, addresses=addresses_of(actor),
                           may_edit=may_keep_addresses(actor), max_addresses=MAX_ADDRESSES,
                           may_set_dept=may_keep_unit_facts(actor),
                           depts=choices_of("competent_dept"))

    def _run(self, operation, *args, done: str):
        try:
            operation(self._by(), *args)
        except Refusal as refusal:
            db.session.rollback()
            if refusal.status in (403, 404):
                abort(refusal.status)  # another owner's address, or none: not found
            flash(refusal.message, "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(done, "info")
        return redirect(url_for(".index"))

    @expose("/competent-dept/", methods=("POST",))
    def competent_dept(self):
        """主管部门, chosen or changed by the unit's legal representative or administrator."""
        return self._run(set_competent_dept, request.form.get("competent_dept", ""),
                         done="主管部门已保存")

    @expose("/address/add/", methods=("POST",))
    def add(self):
        form = request.form
        return self._run(add_address, form.get("recipient", ""), form.get("phone", ""),
                         form.get("address", ""), bool(form.get("is_default")),
                         done="收件地址已保存")

    @expose("/address/<int:address_id>/default/", methods=("POST",))
    def make_default(self, address_id: int):
        return self._run(set_default, db.session.get(DeliveryAddress, address_id),
                         done="已设为默认收件地址")

    @expose("/address/<int:address_id>/remove/", methods=("POST",))
    def remove(self, address_id: int):
        return self._run(remove_address, db.session.get(DeliveryAddress, address_id),
                         done="收件地址已删除")


def register(unit_admin, me_admin) -> None:
    """Add 账号设置 to the unit and personal consoles."""
    unit_admin.add_view(SettingsView(AccountKind.UNIT_MEMBER, name="账号设置",
                                     endpoint="unit_settings", url="settings"))
    me_admin.add_view(SettingsView(AccountKind.INDIVIDUAL, name="账号设置",
                                   endpoint="me_settings", url="settings"))
