"""Staff pages for account security: 在线用户 (live sessions, 强退) and 登录日志."""
from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla import filters
from flask_login import current_user

from models import LoginLog, LoginSession, clock, db, sessions
from rules import permissions as p
from rules.codes import AccountKind, StaffRoleName
from rules.masking import shown
from views.auth import client_ip, current_actor
from views.staff import StaffView

LABELS = {
    "account": "账号", "kind": "账号类型", "unit": "单位", "ip": "登录地址",
    "created_at": "登录时间", "last_seen_at": "最后活动", "at": "时间", "outcome": "登录结果",
    "account_label": "账号", "login_name": "登录名", "unit_code": "单位代码 / 机构编号",
    "reason": "说明",
}


def _time(view, context, model, name):
    value = getattr(model, name)
    return clock.shown(value) if value else ""


class OnlineSessionsView(StaffView):
    """在线用户: sessions still alive; a system administrator may end one (强退)."""

    resource = p.ACCOUNTS
    can_create = can_edit = can_delete = False
    can_view_details = False
    column_list = ["account", "kind", "unit", "ip", "created_at", "last_seen_at"]
    column_labels = {**StaffView.column_labels, **LABELS}
    column_default_sort = ("last_seen_at", True)
    column_sortable_list = ["ip", "created_at", "last_seen_at"]
    column_formatters = {
        "kind": lambda v, c, m, n: AccountKind.label_of(m.account.kind),
        "unit": lambda v, c, m, n: str(m.account.unit or m.account.institution or ""),
        "created_at": _time, "last_seen_at": _time,
    }
    column_formatters_export = column_formatters

    def get_query(self):
        return super().get_query().filter(sessions.live_sessions_clause(sessions.now()))

    def get_count_query(self):
        return super().get_count_query().filter(
            sessions.live_sessions_clause(sessions.now()))

    def is_action_allowed(self, name):
        if name == "force_logout":
            actor = current_actor()
            return actor is not None and StaffRoleName.SYSTEM_ADMIN in actor.roles
        return super().is_action_allowed(name)

    @action("force_logout", "强退", "确定要强制所选用户退出登录吗？")
    def action_force_logout(self, ids):
        # handle_action has checked that every id is a live session in scope.
        if not self.is_action_allowed("force_logout"):
            flash("只有系统管理员可以强制退出", "error")
            return
        records = self.scoped_rows(ids)
        for record in records:
            sessions.force_out(record, by=current_user._get_current_object(), ip=client_ip())
        db.session.commit()
        flash(f"已强制退出{len(records)}个会话", "info")


class LoginLogView(StaffView):
    """登录日志: every login, failure, lockout and rate-limit refusal, by account and address."""

    resource = p.AUDIT
    large_table = True
    can_create = can_edit = can_delete = False
    column_list = ["at", "outcome", "account_label", "kind", "login_name", "unit_code", "ip",
                   "reason"]
    column_labels = {**StaffView.column_labels, **LABELS}
    column_searchable_list = ["login_name", "ip", "account_label"]
    column_default_sort = ("id", True)
    column_formatters = {
        "at": _time,
        "outcome": lambda v, c, m, n: sessions.OUTCOMES.get(m.outcome, m.outcome),
        "kind": lambda v, c, m, n: AccountKind.label_of(m.kind) if m.kind else "",
        # The typed login name is often an ID number or phone: shown as the viewer may see it.
        "login_name": lambda v, c, m, n: shown(current_actor(), m.login_name),
    }
    column_formatters_export = column_formatters
    column_filters = [
        filters.FilterEqual(LoginLog.outcome, "登录结果", options=list(sessions.OUTCOMES.items())),
        filters.FilterEqual(LoginLog.ip, "登录地址"),
        filters.FilterEqual(LoginLog.login_name, "登录名"),
        filters.FilterEqual(LoginLog.account_label, "账号"),
        filters.DateTimeBetweenFilter(LoginLog.at, "时间"),
    ]


def register(admin) -> None:
    """Add 在线用户 and 登录日志 to the staff console's 系统管理 menu."""
    admin.add_view(OnlineSessionsView(LoginSession, name="在线用户", category="系统管理",
                                      endpoint="admin_online"))
    admin.add_view(LoginLogView(LoginLog, name="登录日志", category="系统管理",
                                endpoint="admin_login_log"))
