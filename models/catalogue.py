"""The catalogue as data: definitions in files, drafts, published versions, export and import.

Every change here has the shape of ``models.operations``: who acts (``By``), a check by the
pure rules (``rules.definition``), the rows, the audit event, a ``Refusal`` when it says no.
"""
from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from models.audit import record
from models.base import db, utcnow
from models.codes import seed_code_tables, table_codes
from models.errors import Refusal
from models.service import ServiceItem, ServiceItemVersion
from rules import permissions as p
from rules.codes import Filer
from rules.definition import CODE_RE, FORMAT, check_definition, definition_of

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "catalogue"
MAX_DEFINITION_BYTES = 256 * 1024


class DefinitionRefused(Refusal):
    """A definition that cannot be published or imported; ``problems`` lists why."""

    def __init__(self, problems: list[str]):
        super().__init__("事项定义有误：" + "；".join(problems))
        self.problems = problems


def handler_needs() -> dict[str, tuple[str, ...]]:
    """Each handler the designer may choose, with the fields it needs."""
    from models.handlers import HANDLERS

    return {name: h.needs for name, h in HANDLERS.items() if not h.batch}


def problems_of(definition) -> list[str]:
    """What keeps ``definition`` from being published here (code tables, handlers)."""
    from models.handlers import HANDLERS

    needs = handler_needs()
    if isinstance(definition, dict) and definition.get("handler") in HANDLERS:
        # The shipped batch items keep their batch handlers (their rows come from imports).
        needs.setdefault(definition["handler"], ())
    return check_definition(definition, tables=set(table_codes()), handlers=needs)


def _audit(by, action: str, item: ServiceItem, *, before=None, after=None) -> None:
    record(action, actor_id=by.actor.account_id if by else None,
           actor_label=by.label if by else "系统", ip=by.ip if by else "", obj=item,
           before=before, after=after)


def _may_design(by) -> None:
    if by is not None and not p.staff_may(by.actor.roles, p.CATALOG, p.WRITE):
        raise Refusal("只有系统管理员可以设计事项", 403)


def latest_version(item: ServiceItem) -> ServiceItemVersion | None:
    """The version new filings use (the last published), or None before the first."""
    return db.session.scalar(sa.select(ServiceItemVersion).where(
        ServiceItemVersion.item_id == item.id).order_by(ServiceItemVersion.number.desc())
        .limit(1))


def versions_of(item: ServiceItem) -> list[ServiceItemVersion]:
    return list(db.session.scalars(sa.select(ServiceItemVersion).where(
        ServiceItemVersion.item_id == item.id).order_by(ServiceItemVersion.number)))


def working_definition(item: ServiceItem) -> dict:
    """What the designer edits: the draft if there is one, else the published definition."""
    return dict(item.draft) if item.draft else definition_of(item)


def new_item(by, definition: dict) -> ServiceItem:
    """A new, unpublished item whose draft is ``definition`` (not offered until published)."""
    _may_design(by)
    code = definition.get("code") if isinstance(definition, dict) else None
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise Refusal("事项编码应为大写字母开头的大写字母、数字或下划线（2至32个）")
    if db.session.scalar(sa.select(ServiceItem.id).where(ServiceItem.code == code)):
        raise Refusal(f"事项编码“{code}”已存在")
    item = ServiceItem(code=code[:32], name=str(definition.get("name") or code)[:100],
                       filer=Filer.UNIT, active=False, draft=definition, form_fields=[],
                       materials=[])
    db.session.add(item)
    db.session.flush()
    _audit(by, "item:create", item, after={"code": item.code})
    return item


def save_draft(by, item: ServiceItem, definition: dict) -> list[str]:
    """Keep ``definition`` as the item's draft; returns its problems (kept even so)."""
    _may_design(by)
    if not isinstance(definition, dict):
        raise Refusal("事项定义应为对象")
    if definition.get("code") != item.code:
        raise Refusal("事项编码发布后不能修改")
    item.draft = definition
    _audit(by, "item:draft", item, after={"code": item.code})
    return problems_of(definition)


def discard_draft(by, item: ServiceItem) -> None:
    """Drop the draft; the published version stays as it is."""
    _may_design(by)
    if item.draft is None:
        raise Refusal("没有未发布的草稿")
    if latest_version(item) is None:
        raise Refusal("事项尚未发布，不能放弃草稿")
    item.draft = None
    _audit(by, "item:discard", item)


def publish(by, item: ServiceItem) -> ServiceItemVersion:
    """The draft becomes the version new filings use; refused while it has problems."""
    _may_design(by)
    if item.draft is None:
        raise Refusal("没有需要发布的草稿")
    definition = {k: v for k, v in item.draft.items() if k != "format"}
    problems = problems_of(definition)
    if problems:
        raise DefinitionRefused(problems)
    previous = latest_version(item)
    version = ServiceItemVersion(
        item_id=item.id, number=(previous.number + 1) if previous else 1, definition=definition,
        published_at=utcnow(), published_by_id=by.actor.account_id if by else None,
        published_by_label=by.label if by else "系统")
    db.session.add(version)
    item.name, item.category = definition["name"], definition.get("category", "")
    item.filer = Filer(definition["filer"])
    item.needs_unit_submit = bool(definition.get("needs_unit_submit"))
    item.time_limit_days = definition["time_limit_days"]
    item.handler = definition.get("handler") or None
    item.form_fields = definition.get("fields") or []
    item.materials = definition.get("materials") or []
    item.steps = definition.get("steps") or None
    item.draft, item.active = None, True
    db.session.flush()
    _audit(by, "item:publish", item, before={"version": previous.number if previous else None},
           after={"version": version.number})
    return version


def export_definition(item: ServiceItem, version: ServiceItemVersion | None = None) -> bytes:
    """A definition file (JSON, UTF-8) another office's console can import."""
    definition = version.definition if version else definition_of(item)
    return json.dumps({"format": FORMAT, **definition}, ensure_ascii=False,
                      indent=2).encode("utf-8")


def parse_definition(data: bytes) -> dict:
    """The definition in an uploaded file; Refusal if it is not one."""
    if not data:
        raise Refusal("请选择事项定义文件")
    if len(data) > MAX_DEFINITION_BYTES:
        raise Refusal("事项定义文件不能超过256KB")
    try:
        definition = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Refusal("文件不是有效的事项定义（JSON，UTF-8）") from None
    if not isinstance(definition, dict) or definition.pop("format", None) != FORMAT:
        raise Refusal(f"文件不是事项定义（缺少 format: {FORMAT}）")
    return definition


def import_definition(by, data: bytes) -> ServiceItem:
    """A definition file checked, then kept as a draft: of a new item, or of the item with
    its code (publishing stays a separate, audited step)."""
    definition = parse_definition(data)
    problems = problems_of(definition)
    if problems:
        raise DefinitionRefused(problems)
    item = db.session.scalar(sa.select(ServiceItem).where(
        ServiceItem.code == definition["code"]))
    if item is None:
        item = new_item(by, definition)
    else:
        save_draft(by, item, definition)
    _audit(by, "item:import", item, after={"code": item.code})
    return item


def fields_using(table: str) -> dict[int, set[str]]:
    """item id → names of its fields (in any version or draft) that take codes of ``table``."""
    found: dict[int, set[str]] = {}
    rows = list(db.session.execute(sa.select(ServiceItemVersion.item_id,
                                             ServiceItemVersion.definition)))
    rows += [(i, d) for i, d in db.session.execute(sa.select(ServiceItem.id, ServiceItem.draft)
                                                    .where(ServiceItem.draft.is_not(None)))]
    for item_id, definition in rows:
        for spec in (definition or {}).get("fields") or []:
            if isinstance(spec, dict) and spec.get("code_table") == table:
                found.setdefault(item_id, set()).add(spec["name"])
    return found


def stamp_versions() -> int:
    """Filings made before versions existed record the item's first version; returns how many."""
    from models.service import Application

    first = sa.select(sa.func.min(ServiceItemVersion.id)).where(
        ServiceItemVersion.item_id == Application.item_id).scalar_subquery()
    return db.session.execute(sa.update(Application).where(
        Application.item_version_id.is_(None)).values(item_version_id=first)
        .execution_options(synchronize_session=False)).rowcount


def _adopt_unversioned() -> None:
    """Items made before versions existed: what they hold now becomes their version 1."""
    for item in db.session.scalars(sa.select(ServiceItem).where(
            ServiceItem.active.is_(True), ~sa.exists().where(
                ServiceItemVersion.item_id == ServiceItem.id))):
        db.session.add(ServiceItemVersion(item_id=item.id, number=1,
                                          definition=definition_of(item),
                                          published_by_label="系统"))
    db.session.flush()


def load_catalogue(directory: Path = CATALOGUE_DIR, *, notes: list[str] | None = None) -> list[str]:
    """Seed the code tables, then add every catalogue file's item the database lacks and
    publish it as version 1; returns the codes added.

    An item already present is brought up to its file when the file changed and the item's
    current version is one this command published (so the office never edited it): the file
    is published as the next version, audited as 系统, and filings keep the version they were
    filed under. A version the office's designer published, or a draft he is working on, is
    his decision and is left alone. ``notes`` (when given) receives a line per item updated
    or left alone in spite of a newer file."""
    seed_code_tables()
    _adopt_unversioned()
    added = []
    for path in sorted(directory.glob("*.json")):
        definition = parse_definition(path.read_bytes())
        problems = problems_of(definition)
        if problems:
            raise DefinitionRefused([f"{path.name}：{p}" for p in problems])
        item = db.session.scalar(sa.select(ServiceItem).where(
            ServiceItem.code == definition["code"]))
        if item is not None:
            _bring_up_to_date(item, definition, notes if notes is not None else [])
            continue
        item = new_item(None, definition)
        publish(None, item)
        added.append(item.code)
    stamp_versions()
    return added


def _bring_up_to_date(item: ServiceItem, definition: dict, notes: list[str]) -> None:
    bundled = {k: v for k, v in definition.items() if k != "format"}
    current = latest_version(item)
    if current is None or current.definition == bundled:
        return
    if current.published_by_id is not None or item.draft is not None:
        notes.append(f"{item.code}：本局已修改该事项（第{current.number}版"
                     f"{'及未发布的草稿' if item.draft is not None else ''}），"
                     "未采用随版本提供的新定义，可在事项设计中导入后比对发布")
        return
    item.draft = bundled
    version = publish(None, item)
    notes.append(f"{item.code}：已发布随版本提供的新定义（第{version.number}版）")


# --- filing a designed item in bulk -----------------------------------------------------------

def import_schema(item: ServiceItem):
    """The import template and checker of ``item``: the shipped batch schema of a batch item,
    else the one generated from its published version's import columns (or None)."""
    from models.codes import choices_of
    from rules.definition import Spec, batch_schema
    from rules.imports import SCHEMAS

    if item.code in SCHEMAS:
        return SCHEMAS[item.code]
    version = latest_version(item)
    if version is None:
        return None
    spec = Spec.of(version.definition, version.number)
    tables = {f["code_table"] for f in spec.import_columns if f.get("code_table")}
    return batch_schema(spec, {t: choices_of(t) for t in tables})


def check_rows_with(batch, keys: list[str], check) -> None:
    """Run ``check(values) -> (reasons, payload)`` (the single form's validators) over a new
    batch's good rows: failing rows join the bad ones, passing rows keep the form's payload."""
    from models.imports import _recount

    good, bad = [], list(batch.errors)
    for row in batch.rows:
        reasons, payload = check({k: v for k, v in row.items() if k != "row_no"})
        if reasons:
            bad.append({"row_no": row["row_no"], "cells": [row.get(k) for k in keys],
                        "reasons": reasons})
        else:
            good.append({**payload, "row_no": row["row_no"]})
    batch.rows, batch.errors = good, sorted(bad, key=lambda e: e["row_no"])
    _recount(batch)


def file_rows(by, batch, *, submit_when_complete: bool = True) -> list:
    """保存 for a designed item: every good row becomes one filing under the current version,
    submitted unless the item requires materials (then kept as drafts to attach them); once
    only, all rows or none."""
    from models.imports import already_filed
    from models.operations import act, create_filing
    from rules.codes import ImportStatus
    from rules.workflow import Action

    if batch.status != ImportStatus.CHECKED or not batch.rows:
        raise Refusal("该批次已保存或没有可保存的数据")
    earlier = already_filed(batch)
    if earlier is not None:
        raise Refusal(f"同一文件已于批次{earlier.id}导入并保存，不会重复申报")
    claimed = db.session.execute(sa.update(type(batch)).where(
        type(batch).id == batch.id, type(batch).status == ImportStatus.CHECKED)
        .values(status=ImportStatus.FILED)).rowcount
    if not claimed:
        raise Refusal("该批次已保存，请勿重复提交")
    needs_materials = any(m.get("required") and not m.get("auto")
                          for m in batch.item.materials or [])
    filings = []
    for row in batch.rows:
        application = create_filing(by, batch.item,
                                    {k: v for k, v in row.items() if k != "row_no"})
        if submit_when_complete and not needs_materials:
            act(by, application, Action.SUBMIT)
        filings.append(application)
    record("import:save", actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip,
           obj=batch, after={"filings": [a.id for a in filings]})
    return filings
