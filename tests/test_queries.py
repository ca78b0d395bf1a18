"""信息查询 as the unit and the individual meet it, amounts checked against the declared rule."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import sqlalchemy as sa
from pypdf import PdfReader

from models import BenefitPayment, Contribution, Enrollment, Person, Unit, db
from models.queries import latest_period
from rules.codes import InsuranceKind
from rules.contribution import amounts
from tests.conftest import PERSON, UNIT_A, UNIT_B
from tests.helpers import no_propagation

PERIOD = "202610"  # the demo's last settlement period


def _unit(uscc):
    return db.session.scalar(sa.select(Unit).where(Unit.uscc == uscc))


def _cells(html, kind):
    row = re.search(rf'data-kind="{kind}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_payables_follow_the_contribution_rule(unit_a):
    unit = _unit(UNIT_A)
    wages = db.session.scalars(sa.select(Enrollment.wage).where(
        Enrollment.unit_id == unit.id, Enrollment.status == "active")).all()
    html = unit_a.get(f"/unit/query/payables/?period={PERIOD}").get_data(as_text=True)
    for kind in InsuranceKind:
        unit_part = sum(amounts(w, kind)[1] for w in wages)
        personal_part = sum(amounts(w, kind)[2] for w in wages)
        people, unit_cell, personal_cell, total_cell = _cells(html, kind.value)[1:]
        assert int(people) == len(wages)
        assert Decimal(unit_cell) == unit_part and Decimal(personal_cell) == personal_part
        assert Decimal(total_cell) == unit_part + personal_part
    detail = unit_a.get(f"/unit/query/payables/{PERIOD}/110/").get_data(as_text=True)
    assert detail.count("<tr><td>") == len(wages)


def test_payables_open_on_the_latest_settled_period_and_check_the_format(unit_a):
    html = unit_a.get("/unit/query/payables/").get_data(as_text=True)
    latest = latest_period(_unit(UNIT_A).id)
    assert latest and f'value="{latest}"' in html  # not the unsettled current month
    assert "该结算期没有应缴记录" not in html and 'data-kind="110"' in html
    bad = unit_a.get("/unit/query/payables/?period=202613").get_data(as_text=True)
    assert "结算期格式应为YYYYMM" in bad


def test_benefit_totals_and_filtered_detail(unit_a):
    unit = _unit(UNIT_A)
    payment = db.session.scalar(sa.select(BenefitPayment).where(
        BenefitPayment.unit_id == unit.id))
    html = unit_a.get(f"/unit/query/benefits/?period={payment.period}").get_data(as_text=True)
    total = db.session.scalar(sa.select(sa.func.sum(BenefitPayment.amount)).where(
        BenefitPayment.unit_id == unit.id, BenefitPayment.period == payment.period,
        BenefitPayment.kind == payment.kind))
    assert Decimal(_cells(html, payment.kind.value)[2]) == total
    person = db.session.get(Person, payment.person_id)
    detail = unit_a.get(f"/unit/query/benefits/{payment.period}/{payment.kind.value}/",
                        query_string={"id_no": person.id_no}).get_data(as_text=True)
    assert person.name in detail and detail.count("<tr><td>") == 1


def test_pension_account_only_for_own_employees(unit_a):
    own = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_A))
    html = unit_a.get("/unit/query/pension/", query_string={
        "id_no": own.person.id_no, "name": own.person.name}).get_data(as_text=True)
    assert html.count("<tr><td>2026</td>") == 1 and html.count("<tr><td>2025</td>") == 1
    other = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_B))
    html = unit_a.get("/unit/query/pension/", query_string={
        "id_no": other.person.id_no, "name": other.person.name}).get_data(as_text=True)
    assert "未查询到记录" in html and "<tr><td>2026</td>" not in html
    wrong_name = unit_a.get("/unit/query/pension/", query_string={
        "id_no": own.person.id_no, "name": "别人"}).get_data(as_text=True)
    assert "未查询到记录" in wrong_name


def test_payment_records_show_paid_and_overdue(unit_a):
    unit = _unit(UNIT_A)
    overdue = db.session.scalar(sa.select(sa.func.count()).select_from(Contribution).where(
        Contribution.unit_id == unit.id, Contribution.period == PERIOD,
        Contribution.status == "overdue"))
    html = unit_a.get("/unit/query/payments/").get_data(as_text=True)
    row = re.search(rf'data-period="{PERIOD}">(.*?)</tr>', html, re.S).group(1)
    assert ("欠缴" if overdue else "已缴费") in row
    assert "已缴费" in re.search(r'data-period="202601">(.*?)</tr>', html, re.S).group(1)


def test_unit_certificate_pdf_is_chinese_and_verifiable(unit_a, client):
    response = unit_a.get(f"/unit/query/certificate/?period={PERIOD}&pdf=1")
    assert response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    unit = _unit(UNIT_A)
    insured = db.session.scalar(sa.select(sa.func.count(sa.distinct(Contribution.person_id)))
                                .where(Contribution.unit_id == unit.id,
                                       Contribution.period == PERIOD))
    assert "单位社会保险参保证明" in text and unit.name in text and PERIOD in text
    assert f"参保缴费人数：{insured}人" in text and "企业职工基本养老保险" in text
    code = re.search(r"验证码：([A-Z0-9]{12})", text).group(1)
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "真实有效" in page and unit.name in page
    assert client.get("/verify/NOSUCHCODE00").status_code == 404


def test_personal_queries_show_only_his_records(person_client):
    me = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    mine = db.session.scalar(sa.select(sa.func.count()).select_from(Contribution).where(
        Contribution.person_id == me.id))
    export = person_client.get("/me/me_contribution/export/csv/").get_data(as_text=True)
    assert len(export.strip().splitlines()) - 1 == mine
    html = person_client.get("/me/me_pension_account/").get_data(as_text=True)
    assert "2026" in html and "2025" in html
    pdf = person_client.get("/me/query/certificate.pdf")
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "张伟" in text and "杭州西湖示例科技有限公司" in text and "舟山" not in text


def test_employee_list_filters_by_insurance_kind(unit_a, app):
    view = next(v for v in app.extensions["consoles"]["unit"]._views
                if v.endpoint == "unit_enrollment")
    index = next(i for i, f in enumerate(view._filters) if f.name == "险种")
    unit = _unit(UNIT_A)
    some = db.session.scalar(sa.select(Enrollment).where(Enrollment.unit_id == unit.id))
    some.insurance_kinds = "110,310"
    db.session.commit()
    export = unit_a.get(f"/unit/unit_enrollment/export/csv/?flt0_{index}=210").get_data(
        as_text=True)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.unit_id == unit.id))
    assert len(export.strip().splitlines()) - 1 == total - 1


def test_unit_certificate_figures_come_from_that_periods_contributions(unit_a):
    """Hand-computed: three people paid in 202501, whatever the unit's enrolments are today."""
    from models import Certificate

    unit = _unit(UNIT_A)
    people = db.session.scalars(sa.select(Enrollment.person_id).where(
        Enrollment.unit_id == unit.id).order_by(Enrollment.id).limit(3)).all()
    enrolled_today = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.unit_id == unit.id, Enrollment.status == "active"))
    lines = [(people[0], "110", "800.00", "400.00"), (people[0], "210", "475.00", "100.00"),
             (people[1], "110", "960.00", "480.00"),
             (people[2], "110", "1120.00", "560.00"), (people[2], "410", "20.00", "0.00")]
    for person_id, kind, unit_part, personal in lines:
        db.session.add(Contribution(unit_id=unit.id, person_id=person_id, period="202501",
                                    kind=kind, base=Decimal("5000"),
                                    unit_amount=Decimal(unit_part),
                                    personal_amount=Decimal(personal)))
    db.session.commit()
    response = unit_a.get("/unit/query/certificate/?period=202501&pdf=1")
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert enrolled_today != 3
    assert "参保缴费人数：3人" in text
    code = re.search(r"验证码：([A-Z0-9]{12})", text).group(1)
    facts = db.session.scalar(sa.select(Certificate).where(Certificate.code == code)).facts
    label = {k: InsuranceKind(k).label for k in ("110", "210", "410")}
    assert facts["insured"] == 3
    assert facts["kinds"] == [
        {"kind": label["110"], "people": 3, "unit": "2880.00", "personal": "1440.00",
         "total": "4320.00"},
        {"kind": label["210"], "people": 1, "unit": "475.00", "personal": "100.00",
         "total": "575.00"},
        {"kind": label["410"], "people": 1, "unit": "20.00", "personal": "0.00",
         "total": "20.00"},
    ]
    assert "4320.00" in text and "575.00" in text


def test_a_huge_year_on_the_pension_query_is_refused_not_a_500(app, unit_a):
    """/unit/query/pension/ with year=99999999999999999999 never reaches SQL as an integer
    it cannot hold (OverflowError on SQLite, DataError on PostgreSQL): no 500."""
    person = db.session.scalars(sa.select(Person).join(
        Enrollment, Enrollment.person_id == Person.id).join(Unit).where(
        Unit.uscc == UNIT_A)).first()
    no_propagation(app)
    try:
        response = unit_a.get("/unit/query/pension/", query_string={
            "id_no": person.id_no, "name": person.name, "year": "99999999999999999999"})
        assert response.status_code < 500, response.status_code
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
