"""保存 of a checked import batch: its good rows become one batch filing, submitted for
review, once only, with every person claimed (models.claims) in the same transaction."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from models.audit import record
from models.base import db
from models.imports import already_filed
from models.service import Application, ImportBatch, ServiceItem
from models.workflow import create_filing, transition
from rules import permissions as p
from rules.codes import ImportStatus
from rules.eligibility import Refused
from rules.workflow import Action


def file_batch(batch: ImportBatch, item: ServiceItem, actor: p.Actor, *, actor_label: str,
               ip: str) -> Application:
    """File the batch's good rows as one submitted filing, or raise Refused (the caller
    rolls back). A double click or a second tab finds the batch already claimed."""
    if batch.status != ImportStatus.CHECKED or not batch.rows:
        raise Refused("该批次已保存或没有可保存的数据")
    earlier = already_filed(batch)
    if earlier is not None:
        raise Refused(f"同一文件已于批次{earlier.id}导入并保存（办件{earlier.application_id}），"
                      "不会重复申报")
    try:
        claimed = db.session.execute(sa.update(ImportBatch).where(
            ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.CHECKED)
            .values(status=ImportStatus.FILED)).rowcount
    except OperationalError as error:
        if "locked" not in str(error.orig):
            raise
        # SQLite: another request wrote first and this one's snapshot is stale.
        raise Refused("该批次正在保存，请勿重复提交") from None
    if not claimed:
        raise Refused("该批次已保存，请勿重复提交")
    application = create_filing(item, actor, {"rows": batch.rows, "batch_id": batch.id,
                                              "file_name": batch.file_name},
                                unit_id=batch.unit_id)
    batch.application_id = application.id
    transition(application, Action.SUBMIT, actor, actor_label=actor_label, ip=ip)
    record("import:save", actor_id=actor.account_id, actor_label=actor_label, ip=ip,
           obj=batch, after={"application": application.id, "rows": len(batch.rows)})
    return application
