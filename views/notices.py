"""公告管理 in the staff console: write a notice, then 发布 or 撤下 it (models.notice decides)."""
from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from flask_login import current_user

from models import db
from models.errors import Refusal
from models.notice import Notice, publish, retire
from models.operations import By
from rules import permissions as p
from views.auth import client_ip, current_actor
from views.base import ValidationError, flash_refusal
from views.staff import StaffView


class NoticeView(StaffView):
    """Notices are written here as drafts; the portal shows them once published."""

    resource = p.CATALOG
    can_delete = False  # a published notice is retired, never erased
    column_list = ["kind", "title", "status", "published_at", "retired_at", "created_at"]
    column_labels = {**StaffView.column_labels, "title": "标题", "body": "正文",
                     "status": "状态", "published_at": "发布时间", "retired_at": "撤下时间",
                     "kind": "公告类别"}
    column_searchable_list = ["title"]
    column_filters = ["kind"]
    column_default_sort = ("id", True)
    form_columns = ["kind", "title", "body"]
    form_args = {"title": {"label": "标题"}, "body": {"label": "正文"}}

    def check_change(self, model, is_created):
        if not (model.title or "").strip():
            raise ValidationError("请填写公告标题")
        super().check_change(model, is_created)

    def _each(self, ids, operation, done: str):
        by = By(current_actor(), str(current_user), client_ip())
        count = 0
        for notice in self.scoped_rows(ids):
            try:
                operation(by, notice)
                db.session.commit()
                count += 1
            except Refusal as refusal:
                flash_refusal(refusal)
        if count:
            flash(f"已{done}{count}条公告", "info")

    @action("publish", "发布", "确定发布所选公告？发布后公众可在网办大厅看到。")
    def action_publish(self, ids):
        self._each(ids, publish, "发布")

    @action("retire", "撤下", "确定撤下所选公告？")
    def action_retire(self, ids):
        self._each(ids, retire, "撤下")


def register(admin) -> None:
    """Add 公告管理 to the staff console."""
    admin.add_view(NoticeView(Notice, name="公告管理", category="系统管理",
                              endpoint="admin_notice"))
