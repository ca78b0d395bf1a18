"""Chinese column labels and value formatters, one dictionary each for every console."""
from __future__ import annotations

import datetime as dt
import functools
import json
import re

import sqlalchemy as sa
from flask import g, has_request_context

from models import clock
from rules import clock as rules_clock
from rules.codes import Labelled, kinds_label
from views.chrome import yes_no

LABELS = {
    "id": "编号", "uscc": "统一社会信用代码", "unit_no": "单位编号", "name": "名称",
    "unit_type": "单位类型", "region_code": "行政区划", "address": "地址", "status": "状态",
    "online_status": "网办权限", "created_at": "创建时间", "unit": "单位", "institution": "机构",
    "institution_no": "机构编号", "institution_type": "机构类型", "level": "级别",
    "admin_person": "机构管理员", "id_type": "证件类型", "id_no": "证件号码", "gender": "性别",
    "birth_date": "出生日期", "phone": "移动电话", "kind": "类型", "login_key": "登录标识",
    "username": "用户名", "display_name": "显示名", "person": "人员", "password_hash": "密码摘要",
    "must_change_password": "须改密码", "active": "有效", "failed_logins": "登录失败次数",
    "locked_until": "锁定至", "last_login_at": "最近登录", "session_epoch": "会话版本",
    "account": "账号", "role": "角色", "roles": "角色", "valid_from": "授权开始",
    "valid_to": "授权结束", "item_codes": "业务授权", "revoked_at": "撤销时间",
    "insurance_kinds": "险种", "start_date": "参保日期", "end_date": "终止日期",
    "wage": "缴费工资", "code": "事项编码", "category": "类别", "filer": "申报对象",
    "form_fields": "表单字段", "materials": "申报材料", "time_limit_days": "办理时限(工作日)",
    "needs_unit_submit": "须单位提交", "handler": "办结处理", "item": "事项",
    "subject_person": "申报对象人员", "filed_by": "经办账号", "state": "办件状态",
    "payload": "申报内容", "revision": "版次", "submitted_at": "提交时间", "deadline": "办理期限",
    "decided_at": "审核时间", "updated_at": "更新时间", "version": "版本",
    "application": "办件", "action": "操作", "from_state": "原状态", "to_state": "新状态",
    "actor": "操作人", "comment": "意见", "at": "时间", "material": "材料",
    "file_name": "文件名", "content_type": "文件类型", "size": "大小(字节)", "sha256": "SHA-256",
    "stored_path": "存储路径", "uploaded_at": "上传时间", "rows_total": "总行数",
    "rows_good": "合格行数", "rows_bad": "错误行数", "period": "结算期", "base": "缴费基数",
    "unit_amount": "单位缴纳", "personal_amount": "个人缴纳", "paid_on": "缴费日期",
    "amount": "金额", "year": "年度", "months_paid": "缴费月数", "base_total": "缴费基数合计",
    "personal_paid": "个人缴纳合计", "interest": "利息", "balance": "账户余额",
    "certificate_no": "证书编号", "recognised_on": "认定日期", "valid_until": "有效期至",
    "actor_label": "操作人", "acting_for": "代理说明", "object_type": "对象类型",
    "object_id": "对象编号", "before": "变更前", "after": "变更后", "ip": "IP地址",
    "region": "区域", "item.name": "事项", "unit.name": "单位", "person.name": "姓名",
    "person.id_no": "证件号码", "subject_person.name": "人员姓名",
    "rating": "评价", "rating_comment": "评价意见", "rated_at": "评价时间", "courier": "快递公司",
    "tracking_no": "运单号", "decided_by": "审核人", "client_token": "提交凭证",
    "deadline_estimated": "期限为估算", "application_id": "办件编号",
    "unit_id": "单位", "person_id": "人员", "item_id": "事项", "account_id": "账号",
}

#: Audit trail: each model's name as staff call it, and what each recorded action means.
OBJECT_TYPES = {
    "Account": "网办账号", "Unit": "单位", "Person": "人员", "Application": "办件",
    "Grant": "单位授权", "Institution": "机构", "ImportBatch": "批量导入",
    "Enrollment": "参保关系", "ServiceItem": "事项", "Holiday": "工作日历",
    "StaffRole": "工作人员角色", "Certificate": "参保证明", "LegacyAccount": "历史用户",
    "Attachment": "佐证材料", "Contribution": "缴费信息", "BenefitPayment": "待遇支付",
    "PensionAccount": "个人养老帐户", "TalentRecognition": "人才认定", "SmsOutbox": "短信",
}
AUDIT_ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_refused": "拒绝登录", "logout": "退出",
    "password_changed": "修改密码", "password_recovered": "找回密码", "phone_changed": "修改手机",
    "unit_registered": "单位注册", "legacy_upgraded": "历史用户升级",
    "legacy:import": "导入历史用户",
    "grant:add": "新增授权", "grant:revoke": "撤销授权", "grant:update": "修改授权",
    "institution:open": "开通机构", "institution:reset": "重置机构管理员密码",
    "import:check": "导入校验", "import:save": "导入保存",
    "application:create": "创建办件", "application:delete": "删除办件",
    "application:edit": "修改办件", "application:delivery": "登记快递",
    "create": "新增", "update": "修改", "delete": "删除",
    "open_unit": "开通单位网上办事", "open_person": "开通个人网上办事",
    "reset_password": "密码重置", "cancel_unit": "注销单位网上办事",
    "cancel_person": "注销个人网上办事", "unlock": "账号解锁",
    "verify_registration": "核验单位注册",
    "unit:competent_dept": "设置主管部门", "certificate:talent_code": "生成新证书（旧二维码作废）",
    "verify_registration": "核验单位注册", "change_phone": "变更登录手机号码",
    "application:delivery_choice": "选择结果领取方式",
    "address:add": "新增收件地址", "address:default": "设为默认收件地址",
    "address:remove": "删除收件地址",
}


def audit_action(code: str | None) -> str:
    """'application:approve' → '办件审核通过', 'update:Unit' → '修改单位', 'counter:unlock' →
    '窗口：账号解锁'; an unknown code is shown as it is."""
    from rules.workflow import Action

    code = code or ""
    if code in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[code]
    head, _, tail = code.partition(":")
    if head == "counter":
        return f"窗口：{AUDIT_ACTIONS.get(tail, tail)}"
    if head == "application" and tail in Action._value2member_map_:
        return f"办件{Action(tail).label}"
    if head in ("create", "update", "delete") and tail:
        return f"{AUDIT_ACTIONS[head]}{OBJECT_TYPES.get(tail, tail)}"
    return code


#: Keys of audit data holding an ID number or phone, whatever the value looks like.
_IDENTIFIER_KEYS = ("id_no", "phone", "login", "login_name", "mobile")
#: An ID number (18 or 15 characters) or a mainland mobile inside free text.
_IDENTIFIER_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15}|1\d{10})(?![0-9A-Za-z])")


def _identifier_key(key) -> bool:
    key = str(key)
    return any(key == k or key.endswith(f"_{k}") for k in _IDENTIFIER_KEYS)


def shown_data(actor, value, key=None):
    """Audit data (before/after) as ``actor`` may see it: every ID number and phone through
    rules.masking.shown, under an identifier key or inside any text."""
    from rules.masking import shown

    if isinstance(value, dict):
        return {k: shown_data(actor, v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shown_data(actor, v, key) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if key is not None and _identifier_key(key):
        return shown(actor, str(value))
    if isinstance(value, (str, int)):
        text = str(value)
        masked = _IDENTIFIER_IN_TEXT.sub(lambda m: shown(actor, m.group()), text)
        return value if masked == text else masked
    return value


def audit_data(view, context, model, name) -> str:
    """An audit event's before/after data, identifiers as the current viewer may see them."""
    from views.auth import current_actor

    value = getattr(model, name)
    if not value:
        return ""
    return json.dumps(shown_data(current_actor(), value), ensure_ascii=False)


#: Column formatters of the audit trail.
AUDIT_FORMATTERS = {
    "before": audit_data, "after": audit_data,
    "action": lambda view, context, model, name: audit_action(model.action),
    "object_type": lambda view, context, model, name: OBJECT_TYPES.get(
        model.object_type or "", model.object_type or ""),
}

def office_time(view, value, name) -> str:
    """A stored (UTC) timestamp in office time to the minute (``models.clock.shown``)."""
    return clock.shown(value)


def _office_time_of_value(actor):
    # The office's zone read once a list page (views.listing), not once a cell.
    return functools.partial(rules_clock.shown, tz=clock.office_timezone())


office_time.column_wise = _office_time_of_value

#: Values by type, as a person reads them (list, details and export of every console):
#: coded values by their Chinese label, times in Beijing time to the minute, 是/否.
PLAIN_FORMATTERS = {
    Labelled: lambda view, value, name: value.label,
    dt.datetime: office_time,
    bool: lambda view, value, name: yes_no(value),
}


def plain_first(formatters: dict | None) -> dict:
    """A view's type formatters with ``PLAIN_FORMATTERS`` in front (first match wins)."""
    return {**PLAIN_FORMATTERS,
            **{k: v for k, v in (formatters or {}).items() if k not in PLAIN_FORMATTERS}}


def item_names(codes: str | None) -> str:
    """'SB_ENROLL,SB_SUSPEND' → '社会保险职工参保登记、社会保险职工暂停参保'."""
    from models import ServiceItem, db

    names = g.get("_item_names") if has_request_context() else None
    if names is None:
        names = dict(db.session.execute(sa.select(ServiceItem.code, ServiceItem.name)).all())
        if has_request_context():
            g._item_names = names
    return "、".join(names.get(c, c) for c in (codes or "").split(",") if c)


#: Column formatter for a column of comma-separated item codes.
ITEM_NAMES = {"item_codes": lambda view, context, model, name: item_names(model.item_codes)}


def batch_columns(item_code: str) -> list[tuple[str, str, object]]:
    """(row key, Chinese header, value → shown text) for each column of a batch item's
    template; choices show their label (五险, not 110,210,310,410,510)."""
    from rules.imports import SCHEMAS

    schema = SCHEMAS.get(item_code)
    if schema is None:
        return []
    from rules.masking import shown
    from views.auth import current_actor

    actor = current_actor()
    columns = []
    for column in schema.columns:
        if column.kind in ("id_no", "phone"):  # as the viewer may see them (1*****01)
            columns.append((column.key, column.header,
                            lambda v: "" if v is None else shown(actor, v)))
            continue
        labels = {value: label for value, label in (column.choices or ())}
        columns.append((column.key, column.header,
                        lambda v, labels=labels: "" if v is None else labels.get(v, v)))
    return columns


def state_with_reason(view, context, model, name):
    """A filing's state in a list; a rejected one with the reviewer's reason beside it."""
    from markupsafe import Markup

    from rules.workflow import Action, State

    state = State(model.state)
    if state != State.REJECTED:
        return state.label
    rejects = [e for e in model.events if e.action == Action.REJECT.value]
    reason = rejects[-1].comment if rejects else ""
    return Markup('{}<div class="small text-danger reject-reason">退回原因：{}</div>').format(
        state.label, reason) if reason else state.label


#: Column formatters of the lists of filings an applicant reads.
FILING_FORMATTERS = {"state": state_with_reason}


def of_value(convert, *, for_actor: bool = False):
    """A column formatter made from a function of the column's value alone, so an export can
    apply it to a whole fetched column (views.export_plan) instead of row by row on models.

    ``for_actor``: ``convert(actor)`` returns the value function (masking depends on who
    reads)."""
    from flask_admin.tools import rec_getattr

    def formatter(view, context, model, name):
        value = rec_getattr(model, name)
        if for_actor:
            from views.auth import current_actor
            return convert(current_actor())(value)
        return convert(value)

    formatter.column_wise = convert if for_actor else (lambda actor: convert)
    return formatter


#: 险种 shown by name: '110,310' → '企业职工基本养老保险、职工基本医疗保险'.
INSURANCE_KINDS = {"insurance_kinds": of_value(kinds_label)}
