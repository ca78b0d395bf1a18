"""Every operation that changes a filing, a batch or a grant: one function each.

Each takes who acts (``By``) and the object, asks ``rules.policy`` whether this actor may do
this to this object, changes the rows, writes the audit event in the same transaction and
raises ``Refusal`` (a Chinese message) when the answer is no. The caller commits, or rolls back
on a refusal. Views call these and decide nothing.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from models import clock
from models.account import Account
from models.accounts import AccountRefused, add_grant, own_grant, revoke_grant, update_grant
from models.attachments import store_attachment
from models.audit import record
from models.base import db, utcnow
from models.catalogue import latest_version
from models.certificate import Certificate
from models.certificate import issue as issue_certificate
from models.collector import paused
from models.enrollment import Enrollment
from models.errors import Refusal
from models.grant import Grant
from models.imports import already_filed
from models.lookups import registered_unit
from models.person import Person
from models.talent import check_may_file as check_talent_may_file
from models.service import Application, ApplicationEvent, Attachment, ImportBatch, ServiceItem
from models.unit import Unit
from models.workflow import acting_for, transition
from rules import policy
from rules.codes import AccountKind, GrantLevel, ImportStatus
from rules.delegation import DelegationRefused, check_limit, check_manage, check_period
from rules.eligibility import Refused
from rules.identity import InvalidValue
from rules.permissions import Actor
from rules.workflow import (
    CLOSED_ON_APPROVAL,
    EDITABLE,
    Action,
    State,
    TransitionRefused,
    closes_on_approval,
)


@dataclass(frozen=True)
class By:
    """Who acts, as the audit trail names him."""

    actor: Actor
    label: str = ""
    ip: str = ""


@contextmanager
def refusing():
    """Turn the rules' own refusals into the one family, ``Refusal``."""
    try:
        yield
    except Refusal:
        raise
    except (TransitionRefused, DelegationRefused, AccountRefused, Refused, InvalidValue) as error:
        raise Refusal(str(error)) from error


def _audit(by: By, action: str, obj, *, before=None, after=None) -> None:
    record(action, actor_id=by.actor.account_id, actor_label=by.label, ip=by.ip, obj=obj,
           before=before, after=after,
           acting_for=acting_for(by.actor, obj) if isinstance(obj, Application) else "")


def _not_found() -> Refusal:
    return Refusal("办件不存在或无权办理", 404)


# --- what a filing is about ------------------------------------------------------------------

def is_batch(item: ServiceItem) -> bool:
    return not item.form_fields and item.handler is not None and \
        item.handler.endswith("_batch")


def prepared_by_individual(application: Application) -> bool:
    """Was this filing prepared by an individual (its subject is then fixed)?"""
    kind = db.session.scalar(sa.select(Account.kind).where(
        Account.id == application.filed_by_id)) if application.filed_by_id else None
    return kind == AccountKind.INDIVIDUAL


def _employed_at(person_id: int | None, unit_id: int | None) -> bool:
    if person_id is None or unit_id is None:
        return False
    return db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.person_id == person_id, Enrollment.unit_id == unit_id)) > 0


def _owner(actor: Actor, item: ServiceItem, payload: dict) -> dict:
    """unit_id / institution_id / subject_person_id of a filing with this payload, after
    checking that every person and unit it names may be named by this actor."""
    owner = {"unit_id": actor.unit_id, "institution_id": actor.institution_id,
             "subject_person_id": None}
    fields = {f["name"]: f for f in item.form_fields or []}
    if actor.kind == AccountKind.INDIVIDUAL:
        me = db.session.get(Person, actor.person_id)
        for name, expected in (("name", me.name), ("id_no", me.id_no)):
            if name in fields and payload.get(name) and payload[name] != expected:
                raise Refusal("姓名、证件号码须与人才认定记录中的本人信息一致")
        uscc = next((payload[n] for n, f in fields.items()
                     if f["type"] == "unit" and payload.get(n)), None)
        owner["unit_id"] = None
        if uscc:
            owner["unit_id"] = db.session.scalar(sa.select(Unit.id).where(
                Unit.uscc == uscc, registered_unit()))
            if owner["unit_id"] is None:
                raise Refusal("所选单位未在系统中登记")
        owner["subject_person_id"] = actor.person_id
        return owner
    id_no = payload.get("id_no")
    if not id_no:
        return owner
    person = db.session.scalar(sa.select(Person).where(Person.id_no == id_no))
    if person is not None and "name" in fields and \
            not policy.name_matches(person.name, payload.get("name")):
        raise Refusal("证件号码与姓名不符（与社保记录不一致）")
    employed = _employed_at(person.id if person else None, actor.unit_id)
    if actor.kind == AccountKind.INSTITUTION or not policy.unit_may_name(item.handler, employed):
        raise Refusal("本单位没有该人员的参保记录")
    owner["subject_person_id"] = person.id if person else None
    return owner


# --- filings ---------------------------------------------------------------------------------

def create_filing(by: By, item: ServiceItem, payload: dict, *,
                  client_token: str | None = None) -> Application:
    """A new draft of ``item`` with the first timeline event; refused unless the actor may
    file the item and may name the people the payload names."""
    actor = by.actor
    if not policy.may_file(actor, item):
        raise Refusal(f"您未获授权办理“{item.name}”", 403)
    if not payload:
        raise Refusal("办件内容不能为空")
    if item.handler == "talent":
        with refusing():
            check_talent_may_file(actor.person_id, item, clock.today())
    owner = _owner(actor, item, payload)
    version = latest_version(item)
    application = Application(item_id=item.id, item=item, filed_by_id=actor.account_id,
                              state=State.DRAFT, payload=payload, client_token=client_token,
                              item_version_id=version.id if version else None, **owner)
    db.session.add(application)
    db.session.flush()
    db.session.add(ApplicationEvent(application_id=application.id, action=Action.CREATE.value,
                                    to_state=State.DRAFT, actor_id=actor.account_id))
    _audit(by, "application:create", application)
    return application


def edit_filing(by: By, application: Application, payload: dict,
                expected_version: int | None = None) -> None:
    """Change an editable filing's answers. A batch's rows are changed by fixing rows or a
    corrected file, never by this form; no save empties a filing; the subject of a filing an
    individual prepared stays that person."""
    actor, item = by.actor, application.item
    if not policy.may_read_filing(actor, application, item):
        raise _not_found()
    if not policy.may_change_filing(actor, application, item):
        raise Refusal(f"办件状态为“{State(application.state).label}”或未获授权，不能修改", 403)
    if expected_version is not None and expected_version != application.version:
        raise Refusal("该办件已被他人修改，请刷新后重试")
    if is_batch(item):
        raise Refusal("批量办件请修改或删除有误的行，或上传更正后的文件")
    if not any(v not in (None, "") for v in payload.values()):
        raise Refusal("办件内容不能为空")
    if policy.subject_fixed(prepared_by_individual(application), actor):
        old = application.payload or {}
        if any(payload.get(k) != old.get(k) for k in ("id_no", "name", "unit_uscc")
               if k in old):
            raise Refusal("个人申报的办件不能更换申报人或所属单位")
        owner = {}
    else:
        owner = _owner(actor, application.spec, payload)
    before = application.payload
    application.payload = payload
    for key, value in owner.items():
        if key == "subject_person_id":
            setattr(application, key, value)
    _audit(by, "application:edit", application, before=before, after=payload)


def act(by: By, application: Application, action: Action, *, comment: str = "",
        expected_version: int | None = None, today: dt.date | None = None) -> State:
    """Submit, prepare, withdraw, resubmit; accept, approve (and apply), reject, complete."""
    if action in (Action.SUBMIT, Action.RESUBMIT, Action.PREPARE) and not application.payload:
        raise Refusal("办件内容不能为空")
    if is_batch(application.item) and action in (Action.SUBMIT, Action.RESUBMIT) and \
            not (application.payload or {}).get("rows"):
        raise Refusal("批量办件没有任何数据行，不能提交")
    with refusing():
        state = transition(application, action, by.actor, comment=comment,
                           expected_version=expected_version, actor_label=by.label, ip=by.ip,
                           today=today)
        if action == Action.APPROVE and closes_on_approval(application.spec.materials):
            # Nothing to bring to the counter: the approval finishes the filing (办结), so
            # neither side waits for a second click.
            state = transition(application, Action.COMPLETE, by.actor,
                               comment=CLOSED_ON_APPROVAL, actor_label=by.label, ip=by.ip,
                               today=today)
        return state


def delete_filing(by: By, application: Application) -> None:
    """Delete a draft (or a prepared filing not submitted yet) with its timeline and files."""
    actor, item = by.actor, application.item
    if not policy.may_read_filing(actor, application, item):
        raise _not_found()
    if not policy.may_delete_filing(actor, application, item,
                                    prepared_by_individual(application)):
        raise Refusal("只能删除本人或本单位暂存、未提交的办件", 403)
    _audit(by, "application:delete", application,
           before={"state": State(application.state).value, "payload": application.payload})
    db.session.execute(sa.update(ImportBatch).where(
        ImportBatch.application_id == application.id).values(application_id=None))
    for child in (*application.events, *application.attachments):
        db.session.delete(child)
    db.session.delete(application)


def rate_filing(by: By, application: Application, score: int | None, comment: str = "") -> None:
    """评价: a completed filing, once, 1 to 5; audited."""
    actor, item = by.actor, application.item
    if not policy.may_read_filing(actor, application, item):
        raise _not_found()
    if State(application.state) != State.COMPLETED:
        raise Refusal("办结后才能评价")
    if score not in range(1, 6):
        raise Refusal("请选择1至5分")
    if not policy.may_rate(actor, application, item):
        raise Refusal("该办件已评价，每件只能评价一次")
    comment = (comment or "")[:500]
    updated = db.session.execute(
        sa.update(Application).where(Application.id == application.id,
                                     Application.rating.is_(None))
        .values(rating=score, rating_comment=comment,
                rated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not updated:  # someone rated it between our read and this write
        raise Refusal("该办件已评价，每件只能评价一次")
    _audit(by, "application:rate", application, after={"rating": score, "comment": comment})


def attach(by: By, application: Application, material: str, file_name: str,
           stream: BinaryIO):
    """Upload one material (read from ``stream``) to an editable filing of the actor's own."""
    actor, item = by.actor, application.item
    if not policy.may_read_filing(actor, application, item):
        raise _not_found()
    if not policy.may_change_filing(actor, application, item):
        raise Refusal("该办件当前不能上传材料", 403)
    attachment = store_attachment(application, material, file_name, stream, actor.account_id)
    db.session.flush()
    _audit(by, "attachment:upload", attachment,
           after={"application": application.id, "material": material,
                  "sha256": attachment.sha256})
    return attachment


def detach(by: By, attachment: Attachment) -> None:
    """Take an uploaded material off a filing that may still be changed (a draft, one waiting
    for the unit, one sent back), to replace it; audited. The stored file stays: files are
    content-addressed and may serve another filing."""
    application = attachment.application
    actor, item = by.actor, application.item
    if not policy.may_read_filing(actor, application, item):
        raise _not_found()
    if not policy.may_file(actor, item):
        raise Refusal("您没有办理该事项的权限", 403)
    if State(application.state) not in EDITABLE:
        raise Refusal(f"办件状态为“{State(application.state).label}”，材料不能删除")
    _audit(by, "application:remove_material", application, before={
        "material": attachment.material, "file_name": attachment.file_name,
        "sha256": attachment.sha256})
    db.session.delete(attachment)


def record_delivery(by: By, application: Application, courier: str, tracking_no: str) -> None:
    """A reviewer records how the result was sent (快递)."""
    if not policy.may_review(by.actor):
        raise Refusal("您的角色不能审核办件", 403)
    region = application.unit.region_code if application.unit is not None else None
    if not policy.staff_may_reach_unit(by.actor, region):
        raise _not_found()
    if State(application.state) != State.COMPLETED:
        raise Refusal("办结后才能登记快递")
    courier, tracking_no = courier.strip()[:50], tracking_no.strip()[:50]
    if not courier or not tracking_no:
        raise Refusal("请填写快递公司和运单号")
    before = {"courier": application.courier, "tracking_no": application.tracking_no}
    application.courier, application.tracking_no = courier, tracking_no
    _audit(by, "application:delivery", application, before=before,
           after={"courier": courier, "tracking_no": tracking_no})


def certificate_for(by: By, application: Application) -> tuple[int, int | None]:
    """(person id, unit id or None) of the certificate a filing may fetch for its person:
    the individual his own; a unit only its own employee's, only its own periods."""
    actor = by.actor
    person_id = application.subject_person_id
    if person_id is None or not policy.may_read_filing(actor, application, application.item):
        raise _not_found()
    if actor.kind == AccountKind.INDIVIDUAL and person_id == actor.person_id:
        return person_id, None
    employed = actor.kind == AccountKind.UNIT_MEMBER and _employed_at(person_id, actor.unit_id)
    if not policy.may_issue_certificate(actor, employed):
        raise _not_found()
    return person_id, actor.unit_id


# --- import batches --------------------------------------------------------------------------

def _batch_item_allowed(by: By, batch: ImportBatch) -> None:
    actor = by.actor
    if actor.kind != AccountKind.UNIT_MEMBER or batch.unit_id != actor.unit_id:
        raise Refusal("批次不存在或无权办理", 404)
    if not policy.may_file(actor, batch.item):
        raise Refusal(f"您未获授权办理“{batch.item.name}”", 403)


@paused()
def save_batch(by: By, batch: ImportBatch) -> Application:
    """保存: a checked batch's good rows become one batch filing, submitted; once only."""
    _batch_item_allowed(by, batch)
    if batch.status != ImportStatus.CHECKED or not batch.rows:
        raise Refusal("该批次已保存或没有可保存的数据")
    earlier = already_filed(batch)
    if earlier is not None:
        raise Refusal(f"同一文件已于批次{earlier.id}导入并保存（办件{earlier.application_id}），"
                      "不会重复申报")
    # Claim the batch first: a double click or a second tab finds it already filed.
    try:
        claimed = db.session.execute(sa.update(ImportBatch).where(
            ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.CHECKED)
            .values(status=ImportStatus.FILED)).rowcount
    except OperationalError as error:
        if "locked" not in str(error.orig):
            raise
        # SQLite: another request wrote first and this one's snapshot is stale.
        raise Refusal("该批次正在保存，请勿重复提交") from None
    if not claimed:
        raise Refusal("该批次已保存，请勿重复提交")
    application = create_filing(by, batch.item, {
        "rows": batch.rows, "batch_id": batch.id, "file_name": batch.file_name})
    batch.application_id = application.id
    act(by, application, Action.SUBMIT)
    _audit(by, "import:save", batch, after={"application": application.id,
                                            "rows": len(batch.rows)})
    return application


def replace_batch_rows(by: By, application: Application, batch: ImportBatch) -> None:
    """A rejected (or draft) batch filing corrected by a corrected file: the new batch's rows
    replace the old ones; a file with bad rows or no rows replaces nothing."""
    _batch_item_allowed(by, batch)
    if not policy.may_change_filing(by.actor, application, application.item) or \
            batch.item_id != application.item_id:
        raise Refusal("该办件当前不能更换数据", 403)
    if batch.status != ImportStatus.CHECKED or batch.errors or batch.problems or not batch.rows:
        raise Refusal("更正后的文件仍有错误或没有数据，办件未作改动")
    before = {"rows": len(application.payload.get("rows", [])),
              "batch_id": application.payload.get("batch_id")}
    application.payload = {"rows": batch.rows, "batch_id": batch.id,
                           "file_name": batch.file_name}
    batch.status, batch.application_id = ImportStatus.FILED, application.id
    _audit(by, "application:replace_rows", application, before=before,
           after={"rows": len(batch.rows), "batch_id": batch.id})


def drop_batch_row(by: By, application: Application, row_no: int) -> None:
    """Fix a rejected batch by dropping a row that no longer applies; the last row stays."""
    actor = by.actor
    if not policy.may_read_filing(actor, application, application.item):
        raise _not_found()
    if not policy.may_change_filing(actor, application, application.item) or \
            not is_batch(application.item):
        raise Refusal("该办件当前不能修改", 403)
    rows = list(application.payload.get("rows", []))
    kept = [r for r in rows if r.get("row_no") != row_no]
    if len(kept) == len(rows):
        raise Refusal(f"没有第{row_no}行")
    if not kept:
        raise Refusal("不能删除最后一行：批量办件不能为空，如不再办理请撤回或删除办件")
    application.payload = {**application.payload, "rows": kept}
    _audit(by, "application:drop_row", application, after={"row_no": row_no})


# --- grants (经办人管理) ------------------------------------------------------------------------

def lock_unit(unit_id: int) -> None:
    """Serialise changes to one unit's grants: SELECT … FOR UPDATE on the unit's row
    (PostgreSQL); SQLite has a single writer."""
    db.session.execute(sa.select(Unit.id).where(Unit.id == unit_id).with_for_update())


def _granter(by: By) -> Grant:
    actor = by.actor
    if actor.kind != AccountKind.UNIT_MEMBER:
        raise Refusal("只有单位用户可以管理授权", 403)
    granter = own_grant(actor.unit_id, actor.person_id)
    if granter is None or not granter.valid_on(clock.today()):
        raise Refusal("您在该单位的授权已过期或已撤销", 403)
    return granter


def _others_in_force(unit_id: int, level: str, but: int | None) -> list:
    query = sa.select(Grant.valid_from, Grant.valid_to).where(
        Grant.unit_id == unit_id, Grant.level == level, Grant.revoked_at.is_(None))
    if but is not None:
        query = query.where(Grant.id != but)
    return db.session.execute(query).all()


def add_member(by: By, person: Person, level: str, valid_from: dt.date,
               valid_to: dt.date | None, items: set[str], today: dt.date):
    """Add (or bring back) an administrator or agent; limits hold on every day of the period
    and under concurrency. Returns (grant, account, one-time password)."""
    granter = _granter(by)
    unit_id = by.actor.unit_id
    lock_unit(unit_id)
    with refusing():
        level = GrantLevel(level)
        check_manage(granter.level, level)
        check_period(valid_from, valid_to, granter.valid_to)
        existing = own_grant(unit_id, person.id)
        check_limit(level, _others_in_force(unit_id, level, existing.id if existing else None),
                    valid_from, valid_to)
        grant, account, password = add_grant(
            unit_id=unit_id, granter=granter, person=person, level=level,
            valid_from=valid_from, valid_to=valid_to, items=items, today=today)
    db.session.flush()
    _audit(by, "grant:add", grant, after={"person": person.name, "level": level.value,
                                          "valid_from": str(valid_from),
                                          "valid_to": str(valid_to or ""),
                                          "items": grant.item_codes})
    return grant, account, password


def edit_member(by: By, grant: Grant, valid_from: dt.date, valid_to: dt.date | None,
                items: set[str]) -> None:
    """Change a grant's period and items: an expired grant brought back into force, or a
    parked one moved, counts against the limits like a new one."""
    granter = _granter(by)
    if grant.unit_id != by.actor.unit_id:
        raise Refusal("授权不存在", 404)
    if grant.id == granter.id:
        raise Refusal("不能修改本人的授权")
    lock_unit(grant.unit_id)
    before = {"valid_from": str(grant.valid_from), "valid_to": str(grant.valid_to or ""),
              "items": grant.item_codes}
    with refusing():
        check_manage(granter.level, grant.level)
        if grant.revoked_at is not None:
            raise Refusal("已撤销的授权不能修改，请重新添加")
        check_limit(grant.level, _others_in_force(grant.unit_id, grant.level, grant.id),
                    valid_from, valid_to)
        update_grant(grant, granter=granter, valid_from=valid_from, valid_to=valid_to,
                     items=items)
    _audit(by, "grant:update", grant, before=before,
           after={"valid_from": str(valid_from), "valid_to": str(valid_to or ""),
                  "items": grant.item_codes})


def revoke_member(by: By, grant: Grant) -> None:
    """Revoke a grant; its sessions end at once."""
    granter = _granter(by)
    if grant.unit_id != by.actor.unit_id:
        raise Refusal("授权不存在", 404)
    with refusing():
        revoke_grant(grant, granter=granter)
    _audit(by, "grant:revoke", grant, after={"person": grant.person.name})


# --- the unit's facts and the talent certificate ---------------------------------------------

def set_competent_dept(by: By, code: str) -> None:
    """主管部门: chosen and changed by the unit's legal representative or administrator;
    audited (manual 003: 在信息维护中修改单位所属主管部门)."""
    from models.codes import choices_of

    actor = by.actor
    if not policy.may_keep_unit_facts(actor):
        raise Refusal("只有单位法定代表人或管理员可以设置主管部门", 403)
    if code not in dict(choices_of("competent_dept")):
        raise Refusal("请从列表中选择主管部门")
    unit = db.session.get(Unit, actor.unit_id)
    before = unit.competent_dept
    if before == code:
        return
    unit.competent_dept = code
    _audit(by, "unit:competent_dept", unit, before={"competent_dept": before},
           after={"competent_dept": code})


def issue_talent_code(by: By, recognition) -> Certificate:
    """生成新证书: a new verification code for the holder's talent certificate; every earlier
    code of it is voided (它的二维码不再被识别, it verifies as 已作废). Audited."""
    actor = by.actor
    if recognition is None or not policy.may_hold_certificate(actor, recognition.person_id):
        raise Refusal("证书不存在", 404)
    # One renewal at a time per person: a double click voids the first new code, not neither.
    db.session.execute(sa.select(Person.id).where(Person.id == recognition.person_id)
                       .with_for_update())
    now = utcnow()
    voided = []
    for earlier in db.session.scalars(sa.select(Certificate).where(
            Certificate.kind == "talent", Certificate.person_id == recognition.person_id,
            Certificate.voided_at.is_(None))):
        if (earlier.facts or {}).get("recognition_id") == recognition.id:
            earlier.voided_at = now
            voided.append(earlier.code)
    person = recognition.person
    certificate = issue_certificate("talent", {
        "recognition_id": recognition.id, "name": person.name, "id_no": person.id_no,
        "level": str(recognition.level.value), "certificate_no": recognition.certificate_no,
        "recognised_on": str(recognition.recognised_on),
        "valid_until": str(recognition.valid_until)}, person_id=person.id)
    _audit(by, "certificate:talent_code", recognition,
           before={"codes": voided}, after={"code": certificate.code})
    return certificate
