"""The unit console (/unit/): a unit's members and its institutions, own rows only."""
from __future__ import annotations

from flask_admin.menu import MenuLink

from models import Application, Enrollment, Grant, Institution, Unit
from rules.codes import AccountKind
from views.auth import current_actor
from views.base import ScopedModelView
from views.delegation import InstitutionsView, MembersView
from views.filing import FilingDesk, filing_link
from views.filters import GroupFilter, InsuranceKindFilter
from views.imports import ImportDesk
from views.labels import FILING_FORMATTERS, INSURANCE_KINDS, ITEM_NAMES
from views.queries import UnitQueryDesk
from views.unit_home import WorkbenchCount

MEMBER = frozenset({AccountKind.UNIT_MEMBER})
MEMBER_OR_INSTITUTION = frozenset({AccountKind.UNIT_MEMBER, AccountKind.INSTITUTION})


class ReadOnlyView(ScopedModelView):
    can_create = can_edit = can_delete = False
    can_export = True


class OwnUnitView(ReadOnlyView):
    kinds = MEMBER
    can_export = False
    column_list = ["name", "uscc", "unit_no", "unit_type", "region_code", "address",
                   "online_status"]


class EmployeeView(ReadOnlyView):
    kinds = MEMBER
    column_list = ["person.name", "person.id_no", "insurance_kinds", "start_date", "wage",
                   "status"]
    column_filters = ["status", InsuranceKindFilter(Enrollment.insurance_kinds, "险种"),
                      "person.name", "person.id_no", "start_date"]
    column_formatters = INSURANCE_KINDS
    column_default_sort = ("id", True)


class GrantListView(ReadOnlyView):
    kinds = MEMBER
    column_list = ["person.name", "level", "valid_from", "valid_to", "item_codes", "revoked_at"]
    column_filters = ["level"]
    column_formatters = ITEM_NAMES


class InstitutionListView(ReadOnlyView):
    kinds = MEMBER_OR_INSTITUTION
    column_list = ["institution_no", "name", "institution_type", "level", "online_status"]


class FilingView(ReadOnlyView):
    """The unit's filings (单位办件), read-only: every change goes through the filing desk
    (网上办事), one flow for single and batch items; agents see their items only."""

    kinds = MEMBER_OR_INSTITUTION
    column_list = ["id", "item", "subject_person", "state", "revision", "submitted_at",
                   "deadline"]
    column_display_pk = True
    column_filters = [GroupFilter(), "state", "submitted_at", "deadline"]
    column_default_sort = ("id", True)
    column_formatters = {"id": lambda v, c, m, n: filing_link("unit_filing", m),
                         **FILING_FORMATTERS}


def register(admin) -> None:
    """Add the unit views to the unit console."""
    for view_class, model, name in [
        (OwnUnitView, Unit, "单位信息"),
        (EmployeeView, Enrollment, "参保职工"),
        (FilingView, Application, "单位办件"),
        (GrantListView, Grant, "授权记录"),
        (InstitutionListView, Institution, "机构信息"),
    ]:
        admin.add_view(view_class(model, name=name, endpoint=f"unit_{model.__tablename__}"))
    admin.add_view(FilingDesk(MEMBER_OR_INSTITUTION, name="网上办事", endpoint="unit_filing",
                              url="filing"))
    admin.add_link(WorkbenchLink(name="我的工作台", endpoint="unit_filing.workbench"))
    admin.add_view(ImportDesk(name="批量导入", endpoint="unit_import", url="import"))
    admin.add_view(UnitQueryDesk(name="信息查询", endpoint="unit_query", url="query"))
    admin.add_view(MembersView(name="经办人管理", endpoint="unit_members", url="members"))
    admin.add_view(InstitutionsView(name="机构管理", endpoint="unit_institutions",
                                    url="institutions"))


class MemberLink(MenuLink):
    """A menu link shown to unit members only."""

    def is_accessible(self) -> bool:
        actor = current_actor()
        return actor is not None and actor.kind == AccountKind.UNIT_MEMBER


class WorkbenchLink(MemberLink):
    """我的工作台 (N): the menu shows how many filings wait for the unit (manual 002)."""

    name = WorkbenchCount()
