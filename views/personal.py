"""The personal console (/me/): an individual's own records only."""
from __future__ import annotations

from models import Application, Contribution, Enrollment, PensionAccount, Person
from rules.codes import AccountKind
from views.base import ScopedModelView
from views.filing import FilingDesk, filing_link
from views.filters import GroupFilter
from views.labels import FILING_FORMATTERS, INSURANCE_KINDS
from views.queries import PersonalQueryDesk

INDIVIDUAL = frozenset({AccountKind.INDIVIDUAL})


class PersonalView(ScopedModelView):
    kinds = INDIVIDUAL
    can_create = can_edit = can_delete = False
    can_export = True


class MyInfoView(PersonalView):
    can_export = False
    column_list = ["name", "id_type", "id_no", "gender", "birth_date", "phone"]


class MyEnrollmentView(PersonalView):
    column_list = ["unit", "insurance_kinds", "start_date", "end_date", "wage", "status"]
    column_formatters = INSURANCE_KINDS


class MyFilingView(PersonalView):
    column_list = ["id", "item", "unit", "state", "revision", "submitted_at", "deadline"]
    column_display_pk = True
    column_filters = [GroupFilter(), "state"]
    column_default_sort = ("id", True)
    column_formatters = {"id": lambda v, c, m, n: filing_link("me_filing", m),
                         **FILING_FORMATTERS}


class MyContributionView(PersonalView):
    column_list = ["period", "unit", "kind", "base", "personal_amount", "unit_amount", "status"]
    column_filters = ["period", "kind", "status"]
    column_default_sort = [("period", True), ("kind", False)]


class MyPensionView(PersonalView):
    column_list = ["year", "months_paid", "base_total", "personal_paid", "interest", "balance"]
    column_default_sort = ("year", True)


def register(admin) -> None:
    """Add the personal views to the personal console."""
    for view_class, model, name in [
        (MyInfoView, Person, "个人信息"),
        (MyEnrollmentView, Enrollment, "我的参保"),
        (MyFilingView, Application, "我的办件"),
        (MyContributionView, Contribution, "我的缴费"),
        (MyPensionView, PensionAccount, "个人养老帐户"),
    ]:
        admin.add_view(view_class(model, name=name, endpoint=f"me_{model.__tablename__}"))
    admin.add_view(FilingDesk(INDIVIDUAL, name="网上办事", endpoint="me_filing", url="filing"))
    admin.add_view(PersonalQueryDesk(name="我的查询", endpoint="me_query", url="query"))
