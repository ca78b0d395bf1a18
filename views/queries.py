"""信息查询 for units and individuals, 参保证明 PDFs, and the public certificate check."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, render_template, request, url_for
from flask_admin import BaseView, expose

from models import Certificate, clock, db
from models.base import writes_on_get
from models.certificate import issue
from models.queries import (
    benefit_detail,
    benefits,
    latest_period,
    payable_detail,
    payables,
    payment_records,
    pension_accounts,
    person_certificate_facts,
    unit_certificate_facts,
)
from rules.codes import AccountKind, BenefitKind, InsuranceKind, PaymentStatus
from rules.identity import InvalidValue
from rules.periods import parse_period, payment_conditions, previous
from views.auth import current_actor
from views.base import KindGate
from views.certificates import person_certificate_pdf, unit_certificate_pdf

bp = Blueprint("verify", __name__)


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename={name}", "Cache-Control": "no-store"})


#: The first year a pension account can have.
MIN_YEAR = 1951


class QueryDesk(KindGate, BaseView):
    """A console page for one kind of account."""


    def _period(self, default_last_month: bool = False) -> str | None:
        today = clock.today()
        try:
            period = parse_period(request.args.get("period"), today)
        except InvalidValue as error:
            flash(str(error), "error")
            return None
        if default_last_month and not request.args.get("period"):
            period = previous(period)
        return period


class UnitQueryDesk(QueryDesk):
    """单位信息查询: payables, benefits, pension accounts, payments, certificate."""

    kinds = frozenset({AccountKind.UNIT_MEMBER})

    @property
    def unit_id(self) -> int:
        return current_actor().unit_id

    @expose("/")
    def index(self):
        return self.render("query/index.html")

    @expose("/payables/")
    def payables(self):
        # Opens on the latest settled period: the current month is not settled yet.
        period = self._period() if request.args.get("period") else \
            latest_period(self.unit_id) or self._period()
        rows = payables(self.unit_id, period) if period else []
        return self.render("query/payables.html", period=period or "", rows=rows)

    @expose("/payables/<period>/<kind>/")
    def payable_detail(self, period, kind):
        try:
            period, kind = parse_period(period, clock.today()), InsuranceKind(kind)
        except (InvalidValue, ValueError):
            abort(404)
        return self.render("query/payable_detail.html", period=period, kind=kind,
                           rows=payable_detail(self.unit_id, period, kind))

    @expose("/benefits/")
    def benefits(self):
        period = self._period()  # the current month, as the manual opens it
        rows = benefits(self.unit_id, period) if period else []
        return self.render("query/benefits.html", period=period or "", rows=rows)

    @expose("/benefits/<period>/<kind>/")
    def benefit_detail(self, period, kind):
        try:
            period, kind = parse_period(period, clock.today()), BenefitKind(kind)
        except (InvalidValue, ValueError):
            abort(404)
        name, id_no = request.args.get("name", ""), request.args.get("id_no", "")
        return self.render("query/benefit_detail.html", period=period, kind=kind,
                           name=name, id_no=id_no,
                           rows=benefit_detail(self.unit_id, period, kind, name, id_no))

    @expose("/pension/")
    def pension(self):
        id_no, name = request.args.get("id_no", ""), request.args.get("name", "")
        year = request.args.get("year", type=int)
        if year is not None and not MIN_YEAR <= year <= clock.today().year:
            flash(f"年度应在{MIN_YEAR}至{clock.today().year}之间", "error")
            year = None
        rows = pension_accounts(self.unit_id, id_no, name, year) if id_no and name else None
        return self.render("query/pension.html", rows=rows, id_no=id_no, name=name, year=year)

    @expose("/payments/")
    def payments(self):
        """缴费信息 with conditions: period range, insurance kind, status (manual 004)."""
        conditions, problems = payment_conditions(request.args, clock.today())
        for problem in problems:
            flash(problem, "error")
        rows = [] if problems else payment_records(self.unit_id, periods=120, **conditions)
        return self.render("query/payments.html", rows=rows, args=request.args,
                           kinds=InsuranceKind, statuses=PaymentStatus)

    @expose("/certificate/")
    @writes_on_get
    def certificate(self):
        period = self._period(default_last_month=True)
        if period is None or "pdf" not in request.args:
            return self.render("query/certificate.html", period=period or "")
        facts = unit_certificate_facts(self.unit_id, period)
        certificate = issue("unit", facts, unit_id=self.unit_id, period=period)
        db.session.commit()
        return _pdf(unit_certificate_pdf(
            facts, certificate.code, f"{clock.today():%Y年%m月%d日}",
            url_for("verify.check", code=certificate.code, _external=True)),
            f"unit-certificate-{period}.pdf")


def person_certificate(person_id: int, unit_id: int | None = None) -> Response:
    """A person's 参保证明 PDF, recorded with a verification code (with ``unit_id``: only
    that unit's periods)."""
    facts = person_certificate_facts(person_id, unit_id)
    certificate = issue("person", facts, person_id=person_id, unit_id=unit_id)
    db.session.commit()
    return _pdf(person_certificate_pdf(
        facts, certificate.code, f"{clock.today():%Y年%m月%d日}",
        url_for("verify.check", code=certificate.code, _external=True)),
        "person-certificate.pdf")


class PersonalQueryDesk(QueryDesk):
    """个人: my 参保证明."""

    kinds = frozenset({AccountKind.INDIVIDUAL})

    @expose("/")
    def index(self):
        return self.render("query/personal.html")

    @expose("/certificate.pdf")
    @writes_on_get
    def certificate(self):
        return person_certificate(current_actor().person_id)


@bp.route("/verify/<code>")
def check(code):
    """Anyone holding a certificate can check what it stated when it was issued."""
    certificate = db.session.scalar(db.select(Certificate).where(
        Certificate.code == code.strip().upper()))
    return render_template("query/verify.html", certificate=certificate), \
        200 if certificate else 404
