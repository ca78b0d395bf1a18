"""Review (审核) in the staff console: the queue by deadline, accept, approve, reject."""
from __future__ import annotations


import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_login import current_user

from models import Application, Attachment, Unit, clock, db
from models.calendar import calendar_for
from models.codes import choices_of
from models.errors import Refusal
from models.operations import By, act, record_delivery
from models.service import overdue
from models.workflow import message_of
from rules import masking, policy
from rules import permissions as p
from rules.workdays import workdays_left
from rules.workflow import (
    Action,
    Party,
    State,
    actions_from,
    step_allows,
    step_days,
)
from models.attachments import send_attachment
from views.auth import client_ip, current_actor
from views.base import flash_refusal, scoped_or_404
from views.item_form import labelled_payload
from views.staff import ReadOnlyStaffView

#: Filings staff see: everything that has been submitted at least once.
NOT_YET_FILED = (State.DRAFT, State.AWAITING_UNIT)


class OverdueFilter(BaseSQLAFilter):
    """Filings past their deadline that the office has not finished deciding."""

    def __init__(self, name="超期"):
        super().__init__(Application.deadline, name, options=(("1", "已超期"), ("0", "未超期")))

    def apply(self, query, value, alias=None):
        late = overdue(clock.today())
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


#: What the reviewer is told after each decision.
DONE = {
    Action.ACCEPT: "已受理，请审核",
    Action.NEXT_STEP: "本环节已通过，转下一环节",
    Action.APPROVE: "已审核通过",
    Action.REJECT: "已退回，申请人修改后可重新提交",
    Action.COMPLETE: "已办结",
}
#: Bootstrap colour of each state's badge.
STATE_STYLE = {State.SUBMITTED: "info", State.IN_REVIEW: "primary", State.APPROVED: "success",
               State.REJECTED: "danger", State.COMPLETED: "success", State.WITHDRAWN: "secondary"}


def _step_shown(application) -> str:
    """The queue's 环节 column: the step a filing in review is at, as 预审（1/2）."""
    if application.state != State.IN_REVIEW:
        return ""
    steps = application.spec.steps
    return f"{application.current_step['name']}（{(application.step or 0) + 1}/{len(steps)}）"


def _may_review() -> bool:
    return policy.may_review(current_actor())


def _by() -> By:
    return By(current_actor(), str(current_user), client_ip())


class ReviewView(ReadOnlyStaffView):
    resource = p.APPLICATIONS
    column_list = ["id", "item", "unit", "subject_person", "state", "step", "revision",
                   "submitted_at", "deadline", "rating"]
    column_formatters = {"step": lambda v, c, m, n: _step_shown(m)}
    column_display_pk = True
    column_sortable_list = ["id", "state", "submitted_at", "deadline", "rating"]
    column_default_sort = [("deadline", False), ("id", False)]
    column_filters = ["state", "item.name", OverdueFilter(), RegionFilter(), "deadline",
                      "submitted_at", "rating"]
    column_labels = {**ReadOnlyStaffView.column_labels, "item.name": "事项"}
    list_template = "review/list.html"
    # A million filings: the unfiltered queue pages with prev/next (ix_application_deadline_id
    # serves its order) instead of counting every filed filing.
    large_table = True

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
        today = clock.today()
        left = None
        if application.deadline and application.state in (State.SUBMITTED, State.IN_REVIEW):
            left = workdays_left(today, application.deadline, calendar_for(
                min(today, application.deadline), horizon_days=400))
        actor = current_actor()
        steps = application.spec.steps
        actions = [a for a in actions_from(State(application.state), Party.REVIEWER)
                   if step_allows(a, application.step or 0, len(steps))] \
            if _may_review() else []
        rejects = [e for e in application.events if e.action == Action.REJECT.value]
        person = application.subject_person
        return self.render(
            "review/case.html", application=application, actions=actions, left=left,
            fields=labelled_payload(application.spec, application.payload or {},
                                    current_actor()),
            reasons=[label for _, label in choices_of("reject_reason")],
            reject=rejects[-1] if rejects else None, steps=steps,
            step_days=step_days(application.spec.time_limit_days,
                                [s["share"] for s in steps]),
            materials={m["code"]: m["label"] for m in application.spec.materials},
            person_id_no=masking.shown(actor, person.id_no) if person else "",
            state_style=STATE_STYLE.get(State(application.state), "secondary"),
            return_url=request.args.get("url") or self.get_url(".index_view"))

    def _apply(self, application, action_, comment="", version=None) -> str | None:
        """Run one transition in a savepoint; None on success, else the refusal message."""
        savepoint = db.session.begin_nested()
        try:
            act(_by(), application, action_, comment=comment, expected_version=version)
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
        refusal = self._apply(application, action_, comment,
                               request.form.get("version", type=int))
        # Read before the commit expires the row: reading it after would load the filing
        # again, payload and all (a 10,000-row batch's is 1.8 MB of JSON).
        completed = application.state == State.COMPLETED
        db.session.commit()
        done = DONE.get(action_, f"{action_.label}成功")
        if action_ == Action.APPROVE and completed:
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
        try:
            record_delivery(_by(), application, request.form.get("courier", ""),
                            request.form.get("tracking_no", ""))
            db.session.commit()
            flash("快递信息已登记", "info")
        except Refusal as refusal:
            flash_refusal(refusal)
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
        return send_attachment(attachment, inline=True)

    # --- bulk actions over selected rows --------------------------------------------------
    def _bulk(self, ids, action_, comment=""):
        done, refused = 0, []
        for application in self.scoped_rows(ids):
            message = self._apply(application, action_, comment)
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
