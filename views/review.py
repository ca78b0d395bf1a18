"""Review (审核) in the staff console: the queue by deadline, accept, approve, reject."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_login import current_user

from models import Application, Attachment, Unit, db
from models.audit import record
from models.calendar import calendar_for
from models.service import overdue
from models.workflow import message_of, transition
from rules import permissions as p
from rules.identity import mask_id
from rules.workdays import workdays_left
from rules.workflow import (
    CLOSED_ON_APPROVAL,
    Action,
    Party,
    State,
    actions_from,
    closes_on_approval,
)
from views.auth import client_ip, current_actor
from views.base import scoped_or_404
from views.filing import send_attachment
from views.item_form import labelled_payload
from views.staff import ReadOnlyStaffView

#: Filings staff see: everything that has been submitted at least once.
NOT_YET_FILED = (State.DRAFT, State.AWAITING_UNIT)


class OverdueFilter(BaseSQLAFilter):
    """Filings past their deadline that the office has not finished deciding."""

    def __init__(self, name="超期"):
        super().__init__(Application.deadline, name, options=(("1", "已超期"), ("0", "未超期")))

    def apply(self, query, value, alias=None):
        late = overdue(dt.date.today())
        return query.filter(late if value == "1" else sa.not_(late))

    def operation(self):
        return "为"


class RegionFilter(BaseSQLAFilter):
    """Filings of units in a region (six-digit code or its prefix)."""

    def __init__(self, name="行政区划"):
        super().__init__(Application.unit_id, name)

    def apply(self, query, value, alias=None):
        units = sa.select(Unit.id).where(Unit.region_code.startswith(value.strip()))
        return query.filter(Application.unit_id.in_(units))

    def operation(self):
        return "属于"


#: The office's common reasons for sending a filing back; the reviewer may add his own words.
REJECT_REASONS = (
    "材料不齐全，请补充上传",
    "材料不清晰，请重新上传清晰的扫描件或照片",
    "填报信息与材料不一致，请核对后修改",
    "证件号码或姓名有误，请核对",
    "参保日期或缴费工资填写有误",
    "不属于本事项办理范围",
)
#: What the reviewer is told after each decision.
DONE = {
    Action.ACCEPT: "已受理，请审核",
    Action.APPROVE: "已审核通过",
    Action.REJECT: "已退回，申请人修改后可重新提交",
    Action.COMPLETE: "已办结",
}
#: Bootstrap colour of each state's badge.
STATE_STYLE = {State.SUBMITTED: "info", State.IN_REVIEW: "primary", State.APPROVED: "success",
               State.REJECTED: "danger", State.COMPLETED: "success", State.WITHDRAWN: "secondary"}


def office_today() -> dt.date:
    """Today at the office (to be read from rules.clock when the office clock lands)."""
    return dt.date.today()


def _may_review() -> bool:
    actor = current_actor()
    return actor is not None and p.staff_may(actor.roles, p.APPLICATIONS, p.REVIEW)


class ReviewView(ReadOnlyStaffView):
    resource = p.APPLICATIONS
    column_list = ["id", "item", "unit", "subject_person", "state", "revision",
                   "submitted_at", "deadline", "rating"]
    column_display_pk = True
    column_sortable_list = ["id", "state", "submitted_at", "deadline", "rating"]
    column_default_sort = [("deadline", False), ("id", False)]
    column_filters = ["state", "item.name", OverdueFilter(), RegionFilter(), "deadline",
                      "submitted_at", "rating"]
    column_labels = {**ReadOnlyStaffView.column_labels, "item.name": "事项"}
    list_template = "review/list.html"

    def get_query(self):
        return super().get_query().filter(Application.state.not_in(NOT_YET_FILED))

    def get_count_query(self):
        return super().get_count_query().filter(Application.state.not_in(NOT_YET_FILED))

    def is_action_allowed(self, name):
        return _may_review() and super().is_action_allowed(name)

    # --- one filing ----------------------------------------------------------------------
    @expose("/details/")
    def details_view(self):
        """办件详情: one screen for one decision."""
        application = self.get_one(request.args.get("id", ""))
        today = office_today()
        left = None
        if application.deadline and application.state in (State.SUBMITTED, State.IN_REVIEW):
            left = workdays_left(today, application.deadline, calendar_for(
                min(today, application.deadline), horizon_days=400))
        actor = current_actor()
        actions = actions_from(State(application.state), Party.REVIEWER) \
            if _may_review() else []
        rejects = [e for e in application.events if e.action == Action.REJECT.value]
        person = application.subject_person
        return self.render(
            "review/case.html", application=application, actions=actions, left=left,
            fields=labelled_payload(application.item, application.payload or {}),
            reasons=REJECT_REASONS, reject=rejects[-1] if rejects else None,
            materials={m["code"]: m["label"] for m in application.item.materials or []},
            person_id_no=(person.id_no if p.may_see_identifiers(actor) else mask_id(
                person.id_no)) if person else "",
            state_style=STATE_STYLE.get(State(application.state), "secondary"),
            return_url=request.args.get("url") or self.get_url(".index_view"))

    def _decide(self, application, action_, comment="", version=None) -> str | None:
        """Run a reviewer's action; an approval that needs no originals also closes the
        filing (办结), so neither side waits for a second click. None, or the refusal."""
        refusal = self._apply(application, action_, comment, version)
        if refusal is None and action_ == Action.APPROVE and \
                closes_on_approval(application.item.materials):
            refusal = self._apply(application, Action.COMPLETE, CLOSED_ON_APPROVAL)
        return refusal

    def _apply(self, application, action_, comment="", version=None) -> str | None:
        """Run one transition in a savepoint; None on success, else the refusal message."""
        savepoint = db.session.begin_nested()
        try:
            transition(application, action_, current_actor(), comment=comment,
                       expected_version=version, actor_label=str(current_user), ip=client_ip())
            savepoint.commit()
            return None
        except Exception as error:
            savepoint.rollback()
            message = message_of(error)
            if message is None:
                raise
            return message

    @expose("/review/<int:application_id>/", methods=("POST",))
    def review(self, application_id):
        if not _may_review():
            abort(403)
        application = scoped_or_404(Application, application_id)
        try:
            action_ = Action(request.form.get("action", ""))
        except ValueError:
            abort(400)
        comment = "；".join(part for part in (request.form.get("reason", "").strip(),
                                              request.form.get("comment", "").strip()) if part)
        refusal = self._decide(application, action_, comment,
                               request.form.get("version", type=int))
        db.session.commit()
        done = DONE.get(action_, f"{action_.label}成功")
        if action_ == Action.APPROVE and application.state == State.COMPLETED:
            done = "已审核通过并办结，申请人可查看结果并评价"
        elif action_ == Action.APPROVE:
            done = "已审核通过，待申请人到窗口核验原件后办结"
        flash(refusal or done, "error" if refusal else "info")
        return redirect(url_for(".details_view", id=application_id))

    @expose("/delivery/<int:application_id>/", methods=("POST",))
    def delivery(self, application_id):
        if not _may_review():
            abort(403)
        application = scoped_or_404(Application, application_id)
        courier = request.form.get("courier", "").strip()[:50]
        tracking = request.form.get("tracking_no", "").strip()[:50]
        if application.state != State.COMPLETED:
            flash("办结后才能登记快递", "error")
        elif not courier or not tracking:
            flash("请填写快递公司和运单号", "error")
        else:
            before = {"courier": application.courier, "tracking_no": application.tracking_no}
            application.courier, application.tracking_no = courier, tracking
            record("application:delivery", actor_id=current_actor().account_id,
                   actor_label=str(current_user), ip=client_ip(), obj=application,
                   before=before, after={"courier": courier, "tracking_no": tracking})
            db.session.commit()
            flash("快递信息已登记", "info")
        return redirect(url_for(".details_view", id=application_id))

    @expose("/attachment/<int:attachment_id>/")
    def attachment(self, attachment_id):
        return send_attachment(scoped_or_404(Attachment, attachment_id))

    @expose("/attachment/<int:attachment_id>/preview/")
    def preview(self, attachment_id):
        """An image or PDF material shown in the page rather than downloaded."""
        attachment = scoped_or_404(Attachment, attachment_id)
        if not attachment.content_type.startswith(("image/", "application/pdf")):
            abort(404)
        path = Path(current_app.config["UPLOAD_DIR"]) / attachment.stored_path
        if not path.is_file():
            abort(404)
        # Read whole (materials are small): a browser that drops the request leaks no file.
        return current_app.response_class(path.read_bytes(), mimetype=attachment.content_type,
                                          headers={"Content-Disposition": "inline"})

    # --- bulk actions over selected rows --------------------------------------------------
    def _bulk(self, ids, action_, comment=""):
        done, refused = 0, []
        for application in self.scoped_rows(ids):
            message = self._decide(application, action_, comment)
            if message:
                refused.append(f"办件{application.id}：{message}")
            else:
                done += 1
        db.session.commit()
        if done:
            flash(f"{action_.label}：{done} 件成功", "info")
        for message in refused:
            flash(message, "error")

    @action("accept", "受理")
    def action_accept(self, ids):
        self._bulk(ids, Action.ACCEPT)

    @action("approve", "审核通过", "确定审核通过所选办件？")
    def action_approve(self, ids):
        self._bulk(ids, Action.APPROVE)

    @action("reject", "审核不通过")
    def action_reject(self, ids):
        reason = request.form.get("reason", "").strip()
        if not reason:
            # First step: ask for the reason, then post back to this action.
            return self.render("review/reject.html", ids=ids,
                               error="审核不通过须填写原因" if "reason" in request.form else "")
        self._bulk(ids, Action.REJECT, reason)
        return None

    @action("complete", "办结")
    def action_complete(self, ids):
        self._bulk(ids, Action.COMPLETE)


def register(admin) -> None:
    """Add the review queue to the staff console."""
    admin.add_view(ReviewView(Application, name="办件审核", category="业务经办",
                              endpoint="admin_application"))
