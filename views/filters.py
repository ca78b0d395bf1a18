"""List filters shared by the consoles."""
from __future__ import annotations

import sqlalchemy as sa
from flask_admin.contrib.sqla.filters import BaseSQLAFilter

from models import Application
from models.service import in_progress
from rules.codes import InsuranceKind
from rules.workflow import State

#: Groups of filings the unit home page counts (单位主页).
GROUPS = {
    "in_progress": ("办理中", in_progress()),
    "completed": ("已办结", Application.state == State.COMPLETED),
    "to_rate": ("待评价", sa.and_(Application.state == State.COMPLETED,
                                  Application.rating.is_(None))),
    "awaiting_unit": ("待单位提交", Application.state == State.AWAITING_UNIT),
}


class GroupFilter(BaseSQLAFilter):
    """Filings in one of the home page's groups; keep it first in a view's filters."""

    def __init__(self, name="办理进度"):
        super().__init__(Application.state, name,
                         options=[(key, label) for key, (label, _) in GROUPS.items()])

    def apply(self, query, value, alias=None):
        return query.filter(GROUPS[value][1]) if value in GROUPS else query

    def operation(self):
        return "为"


class InsuranceKindFilter(BaseSQLAFilter):
    """Rows whose comma-separated insurance kinds include one kind."""

    def __init__(self, column, name):
        super().__init__(column, name, options=InsuranceKind.choices())

    def apply(self, query, value, alias=None):
        return query.filter(("," + self.column + ",").contains(f",{value},"))

    def operation(self):
        return "包含"
