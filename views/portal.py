"""网办大厅 before login: 服务清单, item search, 通知公告 and 公示公告, the registration
agreement and the paper application forms. Everything here is public and read-only."""
from __future__ import annotations

import io
from collections import defaultdict

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, send_file
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from models import Person, ServiceItem, TalentRecognition, clock, db
from models.codes import choices_of
from models.notice import Notice, NoticeKind, is_public, public_notices
from rules.portal import FORMS, QUERIES, SECTIONS
from views.certificates import FONT
from views.security import limit_lookup

bp = Blueprint("portal", __name__, url_prefix="/portal")

#: Longest search text; anything longer is cut, never an error.
MAX_QUERY = 50


def _active_items(query: str = "", filers=None) -> list[ServiceItem]:
    select = sa.select(ServiceItem).where(ServiceItem.active.is_(True))
    if filers is not None:
        select = select.where(ServiceItem.filer.in_(sorted(filers)))
    if query:
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select = select.where(sa.or_(ServiceItem.name.like(like, escape="\\"),
                                     ServiceItem.category.like(like, escape="\\"),
                                     ServiceItem.code.like(like, escape="\\")))
    return list(db.session.scalars(select.order_by(ServiceItem.category, ServiceItem.code)))


def _by_category(items) -> list[tuple[str, list[ServiceItem]]]:
    groups: dict[str, list[ServiceItem]] = defaultdict(list)
    for item in items:
        groups[item.category or "其他"].append(item)
    return sorted(groups.items())


@bp.get("/")
def index():
    """大厅首页: the categories, the newest notices of each kind, the search box."""
    return render_template(
        "portal/index.html", categories=_by_category(_active_items()),
        notices=public_notices(NoticeKind.NOTICE, limit=5),
        publicity=public_notices(NoticeKind.PUBLICITY, limit=5), forms=FORMS.values(),
        channels=_channels())


@bp.get("/items/")
def items():
    """服务清单 by category; ``q`` searches names, categories and codes."""
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    found = _active_items(query)
    return render_template("portal/items.html", categories=_by_category(found), q=query,
                           count=len(found))


@bp.get("/section/<kind>/")
def section(kind: str):
    """个人办事 or 单位办事: the items that kind of filer may file, by category."""
    if kind not in SECTIONS:
        abort(404)
    title, filers = SECTIONS[kind]
    found = _active_items(filers=filers)
    return render_template("portal/section.html", title=title, kind=kind,
                           categories=_by_category(found), count=len(found))


@bp.get("/queries/")
def queries():
    """查询服务: the public queries, and those a console offers after login."""
    return render_template("portal/queries.html", queries=QUERIES)


def _channels() -> list[tuple[str, str]]:
    """地市频道: the configured list (字典管理 → 地市频道), city first, then its districts."""
    return choices_of("city_channel")


@bp.get("/channels/")
def channels():
    """地市频道: the city's channels (districts), each with its own page."""
    return render_template("portal/channels.html", channels=_channels())


@bp.get("/channels/<code>/")
def channel(code: str):
    """One channel: its districts, the items filed at its windows, the current notices."""
    channels_ = dict(_channels())
    if code not in channels_:
        abort(404)
    parent = next((c for c in channels_ if c != code and c.endswith("00")
                   and code.startswith(c[:4])), None)
    districts = [(c, label) for c, label in channels_.items()
                 if c != code and code.endswith("00") and c.startswith(code[:4])]
    return render_template(
        "portal/channel.html", code=code, name=channels_[code],
        parent=(parent, channels_[parent]) if parent else None, districts=districts,
        categories=_by_category(_active_items()),
        notices=public_notices(limit=10))


@bp.get("/items/<code>/")
def item(code: str):
    """One item: who may file it, its time limit, the form's facts and the materials."""
    found = db.session.scalar(sa.select(ServiceItem).where(
        ServiceItem.code == code[:32], ServiceItem.active.is_(True)))
    if found is None:
        abort(404)
    return render_template("portal/item.html", item=found)


@bp.get("/notices/")
def notices():
    """通知公告 or 公示公告 (``kind``), published and not retired, newest first."""
    try:
        kind = NoticeKind(request.args.get("kind", NoticeKind.NOTICE.value))
    except ValueError:
        kind = NoticeKind.NOTICE
    return render_template("portal/notices.html", kind=kind, notices=public_notices(kind),
                           kinds=list(NoticeKind))


@bp.get("/notices/<int:notice_id>/")
def notice(notice_id: int):
    """One published notice; a draft or a retired one is not found."""
    found = db.session.scalar(sa.select(Notice).where(Notice.id == notice_id, is_public()))
    if found is None:
        abort(404)
    return render_template("portal/notice.html", notice=found)


@bp.get("/agreement/")
def agreement():
    """《法人用户注册协议》, the text the registration form asks the applicant to accept."""
    return render_template("portal/agreement.html")


@bp.get("/forms/<slug>.pdf")
def paper_form(slug: str):
    """A blank application form to print, fill in, sign and bring to the counter."""
    form = FORMS.get(slug)
    if form is None:
        abort(404)
    return send_file(io.BytesIO(form_pdf(form)), mimetype="application/pdf",
                     download_name=f"{form.title}.pdf", as_attachment=True)


def form_pdf(form) -> bytes:
    """The paper form as one A4 page: title, purpose, a ruled line per field, signatures."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(form.title)
    width, height = A4
    y = height - 72
    pdf.setFont(FONT, 18)
    pdf.drawCentredString(width / 2, y, form.title)
    y -= 30
    pdf.setFont(FONT, 10)
    pdf.drawString(72, y, form.purpose)
    y -= 28
    for label in form.fields:
        pdf.setFont(FONT, 11)
        pdf.drawString(72, y, f"{label}：")
        pdf.line(230, y - 3, width - 72, y - 3)
        y -= 28
    y -= 8
    pdf.setFont(FONT, 10)
    text = form.declaration
    for start in range(0, len(text), 38):
        pdf.drawString(72, y, text[start:start + 38])
        y -= 16
    y -= 24
    pdf.setFont(FONT, 11)
    pdf.drawString(72, y, "法定代表人（签字）：")
    pdf.drawString(320, y, "单位（盖章）：")
    y -= 30
    pdf.drawString(72, y, "经办人（签字）：")
    pdf.drawString(320, y, "日期：      年    月    日")
    y -= 40
    pdf.setFont(FONT, 9)
    pdf.drawString(72, y, "受理窗口填写  受理人：__________  受理日期：__________")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def init_app(app) -> None:
    """Register the portal; the consoles' home pages read ``latest_notices`` too."""
    app.register_blueprint(bp)
    app.jinja_env.globals["latest_notices"] = lambda: public_notices(limit=5)
    app.jinja_env.globals["paper_forms"] = FORMS


@bp.get("/talent/")
def talent_publicity():
    """人才认定公示: current recognitions, names with masked ID numbers (manual 003)."""
    rows = db.session.execute(
        sa.select(Person.name, Person.id_no, TalentRecognition)
        .join(Person, Person.id == TalentRecognition.person_id)
        .where(TalentRecognition.valid_until >= clock.today())
        .order_by(TalentRecognition.recognised_on.desc(), TalentRecognition.id.desc())
        .limit(200)).all()
    return render_template("portal/talent.html", rows=rows)


@bp.get("/talent/result/")
@limit_lookup("talent-result")
def talent_result():
    """认定结果查询: by name and ID number together; a stranger learns nothing from one."""
    name = request.args.get("name", "").strip()[:50]
    id_no = request.args.get("id_no", "").strip().upper()[:18]
    results, problem = None, ""
    if "name" in request.args or "id_no" in request.args:
        if not name or not id_no:
            problem = "请同时填写姓名和身份证号码"
        else:
            results = db.session.scalars(
                sa.select(TalentRecognition).join(Person, Person.id == TalentRecognition.person_id)
                .where(Person.id_no == id_no, Person.name == name)
                .order_by(TalentRecognition.recognised_on.desc())).all()
    return render_template("portal/talent_result.html", name=name, id_no=id_no,
                           results=results, problem=problem)
