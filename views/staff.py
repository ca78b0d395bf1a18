"""The staff console (/admin/): every table, limited by staff role."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import IntEqualFilter
from flask_login import current_user
from wtforms import SelectField

from models import (
    Account,
    ApplicationEvent,
    Attachment,
    AuditEvent,
    BenefitPayment,
    Certificate,
    Contribution,
    Enrollment,
    Grant,
    Holiday,
    ImportBatch,
    Institution,
    LegacyAccount,
    PensionAccount,
    Person,
    ServiceItem,
    SmsOutbox,
    StaffRole,
    TalentRecognition,
    Unit,
    db,
)
from models.account import hash_password
from models.accounts import import_legacy
from models.audit import record
from models.codes import labels_of
from models.imports import BadFile, check_rows, read_table
from models.sms import shown_text
from models.upgrade import legacy_systems
from rules import permissions as p
from rules.codes import AccountKind, kinds_label
from rules.search import person_search, unit_search
from rules.imports import LEGACY_SCHEMA, MAX_FILE_BYTES
from rules.workflow import Action
from views.auth import client_ip, current_actor
from views.base import ScopedModelView, ValidationError, request_bound
from views.labels import AUDIT_FORMATTERS, INSURANCE_KINDS, ITEM_NAMES


def _may(operation):
    def check(view):
        actor = current_actor()
        return actor is not None and p.staff_may(actor.roles, view.resource, operation)
    return check


class StaffView(ScopedModelView):
    """A staff view over one resource of the permission matrix."""

    kinds = frozenset({AccountKind.STAFF})
    resource = p.MASTER
    can_export = True
    can_create = request_bound(_may(p.WRITE))
    can_edit = request_bound(_may(p.WRITE))
    can_delete = request_bound(_may(p.DELETE))

    def is_accessible(self) -> bool:
        return super().is_accessible() and _may(p.READ)(self)


class ReadOnlyStaffView(StaffView):
    can_create = can_edit = can_delete = False


class UnitView(StaffView):
    large_table = True
    column_list = ["uscc", "unit_no", "name", "unit_type", "region_code", "status",
                   "online_status", "created_at"]
    column_searchable_list = ["uscc", "unit_no", "name"]
    search_rule = staticmethod(unit_search)
    column_filters = ["unit_type", "status", "online_status", "region_code"]
    form_columns = ["uscc", "unit_no", "name", "unit_type", "region_code", "address", "status",
                    "online_status"]


class InstitutionView(StaffView):
    column_list = ["institution_no", "name", "unit", "institution_type", "level",
                   "online_status"]
    column_searchable_list = ["institution_no", "name"]
    column_filters = ["institution_type", "level", "online_status"]
    form_columns = ["unit", "institution_no", "name", "institution_type", "level",
                    "admin_person", "online_status"]
    form_ajax_refs = {"unit": {"fields": ["name", "uscc"]},
                      "admin_person": {"fields": ["id_no", "name"]}}


class PersonView(StaffView):
    """People, searched the way a clerk looks someone up: by ID number, phone or name."""

    large_table = True
    column_list = ["name", "id_type", "id_no", "gender", "birth_date", "phone", "created_at"]
    column_searchable_list = ["id_no", "name", "phone"]

    search_rule = staticmethod(person_search)
    column_filters = ["id_type", "gender", "birth_date"]
    form_columns = ["id_type", "id_no", "name", "phone"]


class AccountView(StaffView):
    large_table = True
    resource = p.ACCOUNTS
    can_create = False  # accounts are opened through the counter services
    column_list = ["kind", "display_name", "username", "person", "unit", "institution",
                   "active", "must_change_password", "failed_logins", "last_login_at"]
    column_searchable_list = ["username", "display_name", "login_key"]
    column_filters = ["kind", "active", "must_change_password"]
    column_details_exclude_list = ["password_hash"]
    column_export_exclude_list = ["password_hash"]
    form_columns = ["display_name", "active", "must_change_password"]


class StaffRoleView(StaffView):
    resource = p.ACCOUNTS
    column_list = ["account", "role", "region_code"]
    column_filters = ["role", "region_code"]
    form_columns = ["account", "role", "region_code"]

    def _scope_relations(self, form):
        # Staff roles attach to staff accounts only: the dropdown offers nothing else.
        form = super()._scope_relations(form)
        form.account.query = db.session.query(Account).filter(
            Account.kind == AccountKind.STAFF, self.scope(Account))
        return form

    def check_change(self, model, is_created):
        if model.account is None or model.account.kind != AccountKind.STAFF:
            raise ValidationError("工作人员角色只能授予工作人员账号")
        model.region_code = (model.region_code or "").strip() or None


class GrantView(StaffView):
    large_table = True
    column_list = ["unit", "person", "level", "valid_from", "valid_to", "item_codes",
                   "revoked_at"]
    column_filters = ["level", "valid_to"]
    column_formatters = ITEM_NAMES
    form_columns = ["unit", "person", "level", "valid_from", "valid_to", "item_codes"]
    form_ajax_refs = {"unit": {"fields": ["name", "uscc"]},
                      "person": {"fields": ["id_no", "name"]}}


class EnrollmentView(StaffView):
    large_table = True
    column_list = ["person", "unit", "insurance_kinds", "start_date", "wage", "status"]
    column_filters = ["status", "start_date", "unit_id", "person_id"]
    column_formatters = INSURANCE_KINDS
    form_columns = ["person", "unit", "insurance_kinds", "start_date", "end_date", "wage",
                    "status"]
    form_ajax_refs = {"unit": {"fields": ["name", "uscc"]},
                      "person": {"fields": ["id_no", "name"]}}


class ServiceItemView(StaffView):
    """The catalogue at a glance; items are designed and published in 事项设计 (views.designer),
    here a system admin only takes an item off the catalogue or puts it back (active)."""

    resource = p.CATALOG
    can_create = False
    column_list = ["code", "name", "category", "filer", "time_limit_days", "handler",
                   "needs_unit_submit", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["category", "filer", "active"]
    column_details_exclude_list = ["draft"]
    form_columns = ["active"]


class ApplicationEventView(ReadOnlyStaffView):
    large_table = True
    resource = p.APPLICATIONS
    column_list = ["application_id", "action", "from_state", "to_state", "actor", "comment",
                   "at"]
    column_filters = ["application_id", "action",
                      IntEqualFilter(ApplicationEvent.actor_id, "操作人")]
    column_default_sort = ("id", True)
    column_formatters = {"action": lambda v, c, m, n: Action.label_of(m.action)}


class AttachmentView(ReadOnlyStaffView):
    resource = p.APPLICATIONS
    column_list = ["application_id", "material", "file_name", "content_type", "size",
                   "uploaded_at"]
    column_exclude_list = ["stored_path"]


class ImportBatchView(ReadOnlyStaffView):
    resource = p.APPLICATIONS
    column_list = ["unit", "item", "file_name", "rows_total", "rows_good", "rows_bad",
                   "status", "created_at"]


class ContributionView(StaffView):
    large_table = True
    resource = p.FINANCE
    column_list = ["unit", "person", "period", "kind", "base", "unit_amount",
                   "personal_amount", "status"]
    column_filters = ["period", "kind", "status", "unit_id"]


class BenefitPaymentView(StaffView):
    large_table = True
    resource = p.FINANCE
    column_list = ["unit", "person", "period", "kind", "item", "amount", "paid_on"]
    column_filters = ["period", "kind", "unit_id"]


class PensionAccountView(StaffView):
    large_table = True
    resource = p.FINANCE
    column_list = ["person", "year", "months_paid", "base_total", "personal_paid",
                   "interest", "balance"]
    column_filters = ["year", "person_id"]


class TalentView(StaffView):
    resource = p.FINANCE
    column_list = ["person", "level", "certificate_no", "recognised_on", "valid_until"]
    column_filters = ["level", "valid_until"]


class HolidayView(StaffView):
    """The working-day calendar: holidays on weekdays and worked weekend days (调休)."""

    resource = p.CATALOG
    column_list = ["day", "workday", "name"]
    column_labels = {**StaffView.column_labels, "day": "日期", "workday": "调休上班"}
    column_filters = ["day", "workday"]
    column_default_sort = ("day", True)
    form_columns = ["day", "workday", "name"]
    page_size = 50


class SmsOutboxView(ReadOnlyStaffView):
    """Messages the default SMS sender wrote instead of sending (no gateway here)."""

    resource = p.SMS
    column_list = ["created_at", "phone", "text"]
    column_formatters = column_formatters_export = {
        "text": lambda v, c, m, n: shown_text(m.text)}
    column_labels = {**StaffView.column_labels, "text": "短信内容"}
    column_searchable_list = ["phone"]
    column_default_sort = ("id", True)


class LegacyAccountView(StaffView):
    """Legacy accounts of the cities' old systems, waiting for their units to upgrade."""

    resource = p.ACCOUNTS
    column_list = ["old_system", "old_login", "unit", "upgraded_at", "created_at"]
    column_labels = {**StaffView.column_labels, "old_system": "原系统", "old_login": "原登录名",
                     "upgraded_at": "升级时间", "secret_hash": "原密码或一次性验证码"}
    column_details_exclude_list = column_export_exclude_list = ["secret_hash"]
    form_columns = ["old_system", "old_login", "secret_hash", "unit"]
    form_overrides = {"old_system": SelectField}
    form_ajax_refs = {"unit": {"fields": ["name", "uscc"]}}
    column_formatters = column_formatters_export = {
        "old_system": lambda v, c, m, n: labels_of("legacy_system").get(m.old_system,
                                                                        m.old_system)}

    def _systems(self, form):
        """The 历史系统 choices: the configured list (字典管理), read for each form."""
        form.old_system.choices = legacy_systems()
        return form

    def create_form(self, obj=None):
        return self._systems(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._systems(super().edit_form(obj))
    form_args = {"secret_hash": {
        "description": "原系统的argon2密码摘要，或一次性验证码（保存时加密）"}}

    list_template = "legacy/list.html"

    def on_form_prefill(self, form, id):
        form.secret_hash.data = ""

    @expose("/import/", methods=("GET", "POST"))
    def import_view(self):
        """Bulk import of legacy accounts from a spreadsheet: every row valid, or none kept."""
        if not self.can_create:
            abort(403)
        problems: list[str] = []
        if request.method == "POST":
            upload = request.files.get("file")
            data = upload.read(MAX_FILE_BYTES + 1) if upload else b""
            try:
                results, problems = check_rows(LEGACY_SCHEMA, 0,
                                               read_table(data, LEGACY_SCHEMA)) \
                    if data else ([], ["请选择文件"])
            except BadFile as bad:
                results, problems = [], [str(bad)]
            if not problems:
                stored, problems = import_legacy(results)
            if not problems:
                record("legacy:import", actor_id=current_actor().account_id,
                       actor_label=str(current_user), ip=client_ip(),
                       after={"rows": stored, "file": upload.filename})
                db.session.commit()
                flash(f"已导入{stored}个历史账号", "info")
                return redirect(url_for(".index_view"))
            db.session.rollback()
        return self.render("legacy/import.html", problems=problems,
                           headers=LEGACY_SCHEMA.headers)

    def check_change(self, model, is_created):
        if not model.secret_hash:
            raise ValidationError("请填写原密码摘要或一次性验证码")
        if not model.secret_hash.startswith("$argon2"):
            model.secret_hash = hash_password(model.secret_hash)


class CertificateView(ReadOnlyStaffView):
    """参保证明 as issued, looked up by verification code."""

    resource = p.APPLICATIONS
    large_table = True
    column_list = ["code", "kind", "unit", "person", "period", "issued_at"]
    column_labels = {**StaffView.column_labels, "code": "验证码", "issued_at": "出具时间"}
    column_searchable_list = ["code"]
    column_filters = ["kind", "period"]
    column_default_sort = ("id", True)


class AuditView(ReadOnlyStaffView):
    large_table = True
    resource = p.AUDIT
    column_list = ["at", "actor_label", "action", "object_type", "object_id", "acting_for",
                   "ip"]
    column_searchable_list = ["actor_label", "action", "object_id"]
    column_filters = ["action", "object_type", "at"]
    column_default_sort = ("id", True)
    column_formatters = AUDIT_FORMATTERS


def register(admin) -> None:
    """Add the staff views to the staff console."""
    views = [
        (UnitView, Unit, "单位", "基础数据"),
        (InstitutionView, Institution, "机构", "基础数据"),
        (PersonView, Person, "人员", "基础数据"),
        (GrantView, Grant, "单位授权", "基础数据"),
        (EnrollmentView, Enrollment, "参保关系", "基础数据"),
        (ApplicationEventView, ApplicationEvent, "办件进度", "业务经办"),
        (AttachmentView, Attachment, "佐证材料", "业务经办"),
        (ImportBatchView, ImportBatch, "批量导入", "业务经办"),
        (ContributionView, Contribution, "缴费信息", "待遇与缴费"),
        (BenefitPaymentView, BenefitPayment, "待遇支付", "待遇与缴费"),
        (PensionAccountView, PensionAccount, "个人养老帐户", "待遇与缴费"),
        (TalentView, TalentRecognition, "人才认定", "待遇与缴费"),
        (CertificateView, Certificate, "参保证明", "待遇与缴费"),
        (ServiceItemView, ServiceItem, "事项管理", "系统管理"),
        (HolidayView, Holiday, "工作日历", "系统管理"),
        (AccountView, Account, "网办账号", "系统管理"),
        (LegacyAccountView, LegacyAccount, "历史用户", "系统管理"),
        (SmsOutboxView, SmsOutbox, "短信发件箱", "系统管理"),
        (StaffRoleView, StaffRole, "工作人员角色", "系统管理"),
        (AuditView, AuditEvent, "操作日志", "系统管理"),
    ]
    for view_class, model, name, category in views:
        admin.add_view(view_class(model, name=name, category=category,
                                  endpoint=f"admin_{model.__tablename__}"))
