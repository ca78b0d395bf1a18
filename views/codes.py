"""字典管理: code tables and their codes, kept by system administrators in the staff console."""
from __future__ import annotations

from models import Code, CodeTable
from models.codes import check_deletable
from models.errors import Refusal
from rules import permissions as p
from views.base import ValidationError
from views.staff import StaffView


class CodeTableView(StaffView):
    resource = p.CATALOG
    column_list = ["code", "name"]
    column_labels = {**StaffView.column_labels, "code": "代码表编码", "name": "代码表名称"}
    column_searchable_list = ["code", "name"]
    form_columns = ["code", "name"]

    def check_change(self, model, is_created):
        model.code = (model.code or "").strip()
        if not model.code.isidentifier() or not model.code.isascii():
            raise ValidationError("代码表编码应为字母、数字或下划线")

    def check_delete(self, model):
        if model.codes:
            raise ValidationError("代码表中还有代码，不能删除")


class CodeView(StaffView):
    """Codes of every table: add, relabel, reorder, retire (停用); delete only if unused."""

    resource = p.CATALOG
    column_list = ["table", "code", "label", "sort", "retired"]
    column_labels = {**StaffView.column_labels, "table": "代码表", "code": "代码",
                     "label": "名称", "sort": "排序", "retired": "已停用"}
    column_filters = ["table.code", "retired"]
    column_searchable_list = ["code", "label"]
    column_default_sort = [("table_id", False), ("sort", False)]
    form_columns = ["table", "code", "label", "sort", "retired"]
    page_size = 50

    def check_change(self, model, is_created):
        model.code = (model.code or "").strip()
        model.label = (model.label or "").strip()
        if not model.code or len(model.code) > 32 or not model.label:
            raise ValidationError("请填写代码（至多32个字符）和名称")
        if model.table is None:
            raise ValidationError("请选择代码表")

    def check_delete(self, model):
        try:
            check_deletable(model)
        except Refusal as refusal:
            raise ValidationError(refusal.message) from None


def register(admin) -> None:
    """Add 字典管理 to the staff console's 系统管理."""
    admin.add_view(CodeTableView(CodeTable, name="代码表", category="系统管理",
                                 endpoint="admin_code_table"))
    admin.add_view(CodeView(Code, name="字典管理", category="系统管理", endpoint="admin_code"))
