"""结果领取方式: a filing asks for its result at the window or by post (快递); by post it keeps a
copy of the address chosen from the filer's 收件地址, so later edits of the address book never
rewrite where a result went. Staff read the copy when they record the tracking number."""
from __future__ import annotations

from models.addresses import DeliveryAddress, addresses_of, default_address
from models.audit import record
from models.errors import Refusal
from models.service import Application
from rules import policy
from rules.codes import AccountKind, DeliveryMethod


def proposed_address(actor) -> DeliveryAddress | None:
    """The address a new filing proposes for 快递: the filer's (his unit's) default."""
    if actor.kind == AccountKind.INDIVIDUAL:
        return default_address(person_id=actor.person_id)
    if actor.kind == AccountKind.UNIT_MEMBER:
        return default_address(unit_id=actor.unit_id)
    return None


def choose_delivery(by, application: Application, method: str,
                    address_id: int | None) -> None:
    """Record how the filing's result is received; for 快递, copy the chosen address (one of
    the filer's own) onto the filing."""
    if not policy.may_change_filing(by.actor, application, application.item):
        raise Refusal("办件已提交或未获授权，不能修改领取方式", 403)
    try:
        method = DeliveryMethod(method or DeliveryMethod.WINDOW)
    except ValueError:
        raise Refusal("请选择结果领取方式") from None
    before = {"method": application.delivery_method, "address": application.delivery_address}
    if method == DeliveryMethod.POST:
        chosen = next((a for a in addresses_of(by.actor) if a.id == address_id), None)
        if chosen is None:
            raise Refusal("快递寄送请选择收件地址（可在“账号设置 → 我的收件地址”中添加）")
        copy = (chosen.recipient, chosen.phone, chosen.address)
    else:
        copy = ("", "", "")
    if (application.delivery_method, application.delivery_recipient,
            application.delivery_phone, application.delivery_address) == (method, *copy):
        return
    application.delivery_method = method
    (application.delivery_recipient, application.delivery_phone,
     application.delivery_address) = copy
    record("application:delivery_choice", actor_id=by.actor.account_id, actor_label=by.label,
           ip=by.ip, obj=application, before=before,
           after={"method": method.value, "address": application.delivery_address})
