"""经办人管理 and 机构管理 in the unit console; limits and rights come from rules.delegation."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from models import Grant, Institution, ServiceItem, Unit, clock, db
from models.accounts import (
    AccountRefused,
    active_counts,
    institution_account,
    issue_password,
    open_institution,
    own_grant,
    registered_individual,
    reset_member_password,
    unlock_member,
)
from models.audit import record
from models.errors import Refusal
from models.granters import granters
from models.operations import By, add_member, edit_member, revoke_member
from models.scope import scope_clause
from rules.codes import AccountKind, Filer, GrantLevel
from rules.delegation import MAY_MANAGE, DelegationRefused
from rules.identity import InvalidValue, validate_mobile, validate_resident_id
from views.auth import client_ip, current_actor
from views.base import KindGate, scoped_or_404
from views.forms import flash_form_errors, rule

REFUSED = (AccountRefused, DelegationRefused, InvalidValue, Refusal)


def _by() -> By:
    return By(current_actor(), str(current_user), client_ip())



class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PeriodForm(FlaskForm):
    valid_from = DateField("授权开始", validators=[DataRequired("请填写授权开始日期")],
                           render_kw={"type": "date"})
    valid_to = DateField("授权结束（空为长期）", validators=[Optional()],
                         render_kw={"type": "date"})
    items = MultiCheckbox("业务授权（经办人）", choices=[], validate_choice=True)


class MemberForm(PeriodForm):
    level = SelectField("级别", choices=[(GrantLevel.ADMIN.value, "管理员"),
                                        (GrantLevel.AGENT.value, "经办人")])
    id_no = StringField("身份证号码", validators=[DataRequired(), rule(validate_resident_id)])
    name = StringField("姓名", validators=[DataRequired()])
    phone = StringField("手机号码", validators=[DataRequired(), rule(validate_mobile)])


class AdminPersonForm(FlaskForm):
    id_no = StringField("机构管理员身份证号码",
                        validators=[DataRequired(), rule(validate_resident_id)])
    name = StringField("姓名", validators=[DataRequired()])
    phone = StringField("手机号码", validators=[DataRequired(), rule(validate_mobile)])


def _item_choices():
    return [(code, name) for code, name in db.session.execute(
        sa.select(ServiceItem.code, ServiceItem.name).where(
            ServiceItem.active.is_(True), ServiceItem.filer.in_([Filer.UNIT, Filer.BOTH]))
        .order_by(ServiceItem.code))]


class UnitDesk(KindGate, BaseView):
    """A unit-console page for members; ``granter`` is the member's own grant."""

    kinds = frozenset({AccountKind.UNIT_MEMBER})

    @property
    def granter(self) -> Grant:
        actor = current_actor()
        return own_grant(actor.unit_id, actor.person_id)

    def _audit(self, action, obj, **after):
        actor = current_actor()
        unit = db.session.get(Unit, actor.unit_id)
        record(action, actor_id=actor.account_id, actor_label=str(current_user),
               ip=client_ip(), obj=obj, after=after,
               acting_for=f"代表单位“{unit.name}”以{GrantLevel.label_of(actor.grant_level)}身份办理")

    def _receipt(self, title, lines, password):
        # Issued in the unit console: the issuer is the member who granted, by his level.
        issuer = f"授权人（{GrantLevel.label_of(current_actor().grant_level)}）"
        html = self.render("counter/receipt.html", title=title, lines=lines, password=password,
                           issuer_label=issuer)
        return html, 200, {"Cache-Control": "no-store"}


class MembersView(UnitDesk):
    """经办人管理: the unit's legal representative, administrator and agents."""

    def _form(self, form_class, **kwargs):
        form = form_class(**kwargs)
        form.items.choices = _item_choices()
        return form

    @expose("/")
    def index(self):
        grants = db.session.scalars(sa.select(Grant).where(
            scope_clause(Grant, current_actor())).order_by(Grant.level, Grant.id)).all()
        counts = active_counts(current_actor().unit_id, clock.today())
        granter = self.granter
        return self.render("delegation/members.html", grants=grants, counts=counts,
                           granted_by=granters(g.id for g in grants),
                           granter=granter, manages=MAY_MANAGE[GrantLevel(granter.level)],
                           form=self._form(MemberForm, valid_from=clock.today()),
                           today=clock.today(), levels=GrantLevel)

    @expose("/add/", methods=("POST",))
    def add(self):
        form = self._form(MemberForm)
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(url_for(".index"))
        try:
            person = registered_individual(form.id_no.data, form.name.data.strip(),
                                           form.phone.data)
            grant, account, password = add_member(
                _by(), person, form.level.data, form.valid_from.data, form.valid_to.data,
                set(form.items.data), clock.today())
        except REFUSED as refused:
            db.session.rollback()
            flash(getattr(refused, "message", str(refused)), "error")
            return redirect(url_for(".index"))
        db.session.commit()
        unit = db.session.get(Unit, current_actor().unit_id)
        return self._receipt("单位经办人授权回执", [
            ("单位", unit.name), ("统一社会信用代码 / 单位编号", f"{unit.uscc} / {unit.unit_no}"),
            ("被授权人", person.name), ("级别", GrantLevel.label_of(grant.level)),
            ("授权时间", f"{grant.valid_from} 至 {grant.valid_to or '长期'}"),
            ("登录名", f"{person.id_no} 或 {person.phone}")], password)

    @expose("/<int:grant_id>/edit/", methods=("GET", "POST"))
    def edit(self, grant_id):
        grant = scoped_or_404(Grant, grant_id)
        form = self._form(PeriodForm, obj=grant)
        if request.method == "GET":
            form.items.data = sorted(grant.items)
        if form.validate_on_submit():
            try:
                edit_member(_by(), grant, form.valid_from.data, form.valid_to.data,
                            set(form.items.data))
            except REFUSED as refused:
                db.session.rollback()
                flash(getattr(refused, "message", str(refused)), "error")
                return redirect(url_for(".index"))
            db.session.commit()
            flash("授权已修改", "info")
            return redirect(url_for(".index"))
        return self.render("delegation/edit.html", grant=grant, form=form)

    @expose("/<int:grant_id>/revoke/", methods=("POST",))
    def revoke(self, grant_id):
        grant = scoped_or_404(Grant, grant_id)
        try:
            revoke_member(_by(), grant)
        except REFUSED as refused:
            db.session.rollback()
            flash(getattr(refused, "message", str(refused)), "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(f"已撤销{grant.person.name}的授权", "info")
        return redirect(url_for(".index"))


    @expose("/<int:grant_id>/reset/", methods=("POST",))
    def reset(self, grant_id):
        """The legal representative or administrator gives an agent a one-time password."""
        grant = scoped_or_404(Grant, grant_id)
        try:
            account, password = reset_member_password(grant, granter=self.granter)
        except REFUSED as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return redirect(url_for(".index"))
        self._audit("grant:reset_password", account, person=grant.person.name)
        db.session.commit()
        unit = db.session.get(Unit, current_actor().unit_id)
        return self._receipt("经办人密码重置回执", [
            ("单位", unit.name), ("经办人", grant.person.name),
            ("登录名", f"{grant.person.id_no} 或 {grant.person.phone}")], password)

    @expose("/<int:grant_id>/unlock/", methods=("POST",))
    def unlock(self, grant_id):
        """The legal representative or administrator lifts an agent's login lock."""
        grant = scoped_or_404(Grant, grant_id)
        try:
            account = unlock_member(grant, granter=self.granter)
        except REFUSED as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return redirect(url_for(".index"))
        self._audit("grant:unlock", account, person=grant.person.name)
        db.session.commit()
        flash(f"已解锁{grant.person.name}的账号", "info")
        return redirect(url_for(".index"))


class InstitutionsView(UnitDesk):
    """机构管理: accounts for the unit's institutions and their administrators."""

    def _may_manage(self):
        if GrantLevel(self.granter.level) == GrantLevel.AGENT:
            abort(403)

    @expose("/")
    def index(self):
        institutions = db.session.scalars(sa.select(Institution).where(
            scope_clause(Institution, current_actor())).order_by(Institution.id)).all()
        accounts = {i.id: institution_account(i) for i in institutions}
        return self.render("delegation/institutions.html", institutions=institutions,
                           accounts=accounts, form=AdminPersonForm(),
                           may_manage=GrantLevel(self.granter.level) != GrantLevel.AGENT)

    @expose("/<int:institution_id>/open/", methods=("POST",))
    def open(self, institution_id):
        """Open the account, or hand it to a new administrator."""
        self._may_manage()
        institution = scoped_or_404(Institution, institution_id)
        form = AdminPersonForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(url_for(".index"))
        try:
            admin = registered_individual(form.id_no.data, form.name.data.strip(),
                                          form.phone.data)
        except REFUSED as refused:
            flash(str(refused), "error")
            return redirect(url_for(".index"))
        previous = institution.admin_person.name if institution.admin_person else ""
        account, password = open_institution(institution, admin)
        self._audit("institution:open", institution, admin=admin.name, previous=previous)
        db.session.commit()
        return self._receipt("机构网上办事账号回执", [
            ("机构", institution.name), ("机构编号", institution.institution_no),
            ("机构管理员", admin.name), ("登录名", f"{admin.id_no} 或 {admin.phone}")],
            password)

    @expose("/<int:institution_id>/reset/", methods=("POST",))
    def reset(self, institution_id):
        self._may_manage()
        institution = scoped_or_404(Institution, institution_id)
        account = institution_account(institution)
        if account is None:
            flash("该机构尚未开通账号", "error")
            return redirect(url_for(".index"))
        password = issue_password(account)
        self._audit("institution:reset", institution)
        db.session.commit()
        return self._receipt("机构管理员密码重置回执", [
            ("机构", institution.name), ("机构编号", institution.institution_no)], password)
