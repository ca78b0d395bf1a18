"""人才认定备案 as manual 003 lists it (姓名, 性别, 认定级别, 状态, 操作; search by name or ID
number) with the person's history, in the unit and personal consoles."""
from __future__ import annotations

import segno
import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from markupsafe import Markup

from models import Application, Certificate, TalentRecognition, clock, db
from models.errors import Refusal
from models.operations import By, issue_talent_code
from models.scope import scope_clause
from models.talent import history, talent_filings
from rules import policy
from rules.codes import AccountKind, Gender, TalentLevel
from views.auth import client_ip, current_actor
from views.base import KindGate


def _gender(filing) -> str:
    person = filing.subject_person
    if person is not None and person.gender:
        return Gender(person.gender).label
    return Gender.label_of((filing.payload or {}).get("gender", "")) or ""


def _level(filing) -> str:
    return TalentLevel.label_of((filing.payload or {}).get("level", "")) or ""


class TalentDesk(KindGate, BaseView):
    """The talent filings the viewer reaches (his own; the unit's), searchable."""

    def __init__(self, kinds, **kwargs):
        self.kinds = kinds
        super().__init__(**kwargs)

    @expose("/")
    def index(self):
        actor = current_actor()
        name, id_no = request.args.get("name", ""), request.args.get("id_no", "")
        rows = talent_filings(scope_clause(Application, actor), name, id_no)
        individual = actor.kind == AccountKind.INDIVIDUAL
        return self.render("talent/index.html", rows=rows, name=name[:50], id_no=id_no[:18],
                           gender=_gender, level=_level, individual=individual,
                           history=history(actor.person_id, None) if individual else None,
                           today=clock.today())


class MyCertificates(KindGate, BaseView):
    """我的证书 (manual 003): the person's talent certificates, each with a QR code that the
    public verification page reads; 生成新证书 voids the code of the one before."""

    kinds = frozenset({AccountKind.INDIVIDUAL})

    def _recognition(self, recognition_id: int) -> TalentRecognition:
        recognition = db.session.get(TalentRecognition, recognition_id)
        if recognition is None or not policy.may_hold_certificate(current_actor(),
                                                                   recognition.person_id):
            abort(404)
        return recognition

    @expose("/")
    def index(self):
        actor = current_actor()
        rows = db.session.scalars(sa.select(TalentRecognition).where(
            TalentRecognition.person_id == actor.person_id)
            .order_by(TalentRecognition.recognised_on.desc())).all()
        return self.render("talent/certificates.html", rows=rows,
                           live={r.id: live_code(r) for r in rows}, today=clock.today())

    @expose("/<int:recognition_id>/new/", methods=("POST",))
    def renew(self, recognition_id: int):
        recognition = self._recognition(recognition_id)
        try:
            issue_talent_code(By(current_actor(), str(current_user), client_ip()), recognition)
            db.session.commit()
        except Refusal as refusal:
            db.session.rollback()
            flash(refusal.message, "error")
            return redirect(url_for(".index"))
        flash("操作成功：已生成新证书，之前下载的证书二维码不再有效。请点击“下载证书”。", "info")
        return redirect(url_for(".index"))

    @expose("/<int:recognition_id>/")
    def show(self, recognition_id: int):
        recognition = self._recognition(recognition_id)
        certificate = live_code(recognition)
        if certificate is None:
            flash("请先点击“生成新证书”", "error")
            return redirect(url_for(".index"))
        url = url_for("verify.check", code=certificate.code, _external=True)
        return self.render("talent/certificate.html", recognition=recognition,
                           certificate=certificate, url=url,
                           qr=Markup(segno.make(url, error="m").svg_inline(scale=3)))


def live_code(recognition: TalentRecognition) -> Certificate | None:
    """The certificate code of ``recognition`` that verifies now (not voided), if any."""
    for certificate in db.session.scalars(sa.select(Certificate).where(
            Certificate.kind == "talent", Certificate.person_id == recognition.person_id,
            Certificate.voided_at.is_(None)).order_by(Certificate.id.desc())):
        if (certificate.facts or {}).get("recognition_id") == recognition.id:
            return certificate
    return None


def register(unit_admin, me_admin) -> None:
    """Add 人才认定备案 to the unit and personal consoles."""
    unit_admin.add_view(TalentDesk(frozenset({AccountKind.UNIT_MEMBER}), name="人才认定备案",
                                   endpoint="unit_talent", url="talent", category="办事"))
    me_admin.add_view(TalentDesk(frozenset({AccountKind.INDIVIDUAL}), name="人才认定备案",
                                 endpoint="me_talent", url="talent"))
    me_admin.add_view(MyCertificates(name="我的证书", endpoint="me_certificates",
                                     url="certificates"))
