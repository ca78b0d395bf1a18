"""Chinese column labels and value formatters, one dictionary each for every console."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import g, has_request_context

from rules.codes import Labelled
from views.chrome import beijing, yes_no

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
}

#: Values by type, as a person reads them (list, details and export of every console):
#: coded values by their Chinese label, times in Beijing time to the minute, 是/否.
PLAIN_FORMATTERS = {
    Labelled: lambda view, value, name: value.label,
    dt.datetime: lambda view, value, name: beijing(value),
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
    columns = []
    for column in schema.columns:
        labels = {value: label for value, label in (column.choices or ())}
        columns.append((column.key, column.header,
                        lambda v, labels=labels: "" if v is None else labels.get(v, v)))
    return columns
