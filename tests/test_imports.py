"""Bulk import as a unit user meets it: real xlsx, GBK csv and xls files, per-row errors,
the error workbook round trip, atomic saving, hostile files; and exports."""
from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from models import Application, Enrollment, ImportBatch, Person, Unit, db
from models.demo import make_id_no
from rules.masking import mask_id
from tests.conftest import UNIT_A, UNIT_B, csrf_token, login
from tests.helpers import member, no_propagation, review, switch

FIXTURES = Path(__file__).parent / "fixtures"
def WIDE(text):  # noqa: N802 - reads as a constant in the table below
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


HEADERS = ["身份证号码", "姓名", "手机号码", "参保日期", "月缴费工资", "参保险种"]


def fresh_ids(n, seed=5):
    used = set(db.session.scalars(sa.select(Person.id_no)))
    rng = random.Random(seed)
    return [make_id_no(rng, used) for _ in range(n)]


def template(client, code="SB_ENROLL_BATCH"):
    response = client.get(f"/unit/import/template/{code}/")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def filled(client, rows, keep_example=False, code="SB_ENROLL_BATCH"):
    """The downloaded template with ``rows`` written into its data sheet."""
    book = template(client, code)
    sheet = book["数据"]
    if not keep_example:
        sheet.delete_rows(2)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def post_file(client, url, data, name, follow_redirects=False):
    """A multipart upload encoded in memory (werkzeug spools big bodies to a temporary file
    it never closes, which pytest reports as a leak)."""
    boundary, body = encode_multipart(MultiDict({
        "csrf_token": csrf_token(client),
        "file": FileStorage(io.BytesIO(data), filename=name, name="file")}))
    return client.post(url, data=body, follow_redirects=follow_redirects,
                       content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, data, name="导入.xlsx", code="SB_ENROLL_BATCH"):
    response = post_file(client, f"/unit/import/upload/{code}/", data, name)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    batch_id = int(re.search(r"/batch/(\d+)/", response.location).group(1))
    return db.session.get(ImportBatch, batch_id), client.get(response.location).get_data(
        as_text=True)


def reasons(batch):
    return {e["row_no"]: " ".join(e["reasons"]) for e in batch.errors}


def test_template_has_headers_example_dropdowns_instructions_and_version(unit_a):
    book = template(unit_a)
    sheet = book["数据"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["A2"].value == "110101199003070011" and sheet["A2"].data_type == "s"
    assert sheet.column_dimensions["A"].number_format == "@"
    formulas = [dv.formula1 for dv in sheet.data_validations.dataValidation]
    assert any("五险" in f for f in formulas)
    assert "填写说明" in book.sheetnames
    meta = dict(book["_meta"].iter_rows(values_only=True))
    assert meta == {"item": "SB_ENROLL_BATCH", "version": "2026.1"}


def test_good_and_bad_rows_are_reported_with_row_column_and_reason(unit_a):
    good = fresh_ids(3)
    employee = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_A))
    other = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_B))
    rows = [
        [good[0], "甲", "13900001234", "2026-11-01", 8000, "五险"],
        [good[1], "乙", None, 46327, "9000", "养老医疗工伤"],            # Excel date serial
        [WIDE(good[2][:2]) + good[2][2:], "丙", None, "2026/11/1", 8000, "五险"],  # full width
        [3.30106e17, "丁", None, "2026-11-01", 8000, "五险"],               # Excel made it a number
        ["3.30106E+17", "戊", None, "2026-11-01", 8000, "五险"],
        [good[0], "甲", None, "2026-11-01", 8000, "五险"],                  # duplicate of row 2
        [employee.person.id_no, employee.person.name, None, "2026-11-01", 8000, "五险"],
        [other.person.id_no, other.person.name, None, "2026-11-01", 8000, "五险"],
        [fresh_ids(1, 9)[0], "己", None, "2026-11-01", 10, "五险"],        # wage too low
        [fresh_ids(1, 11)[0], "庚", "12345", "2026-13-01", 8000, "六险"],
        [None, None, None, None, None, None],                               # blank trailing
    ]
    batch, page = upload(unit_a, filled(unit_a, rows))
    assert (batch.rows_total, batch.rows_good, batch.rows_bad) == (10, 3, 7)
    found = reasons(batch)
    assert "Excel转成了数字" in found[5] and "Excel转成了数字" in found[6]
    assert "与第2行重复" in found[7]
    assert "已在本单位参保" in found[8] and "其他单位" in found[9]
    assert "工资应在" in found[10]
    assert "手机号码" in found[11] and "日期" in found[11] and "参保险种" in found[11]
    assert {r["id_no"] for r in batch.rows} == set(good)
    dates = {r["id_no"]: r["start_date"] for r in batch.rows}
    assert dates[good[1]] == "2026-11-01"  # serial 46327
    assert "共 <strong>10</strong> 行" in page and "导入校验失败信息" in page


def test_missing_and_unknown_columns_are_named(unit_a):
    book = Workbook()
    book.active.append(["姓名", "身份证号", "工资"])
    out = io.BytesIO()
    book.save(out)
    batch, page = upload(unit_a, out.getvalue())
    assert "缺少列：身份证号码" in page and "无法识别的列：身份证号、工资" in page
    assert batch.rows_good == 0


def test_example_row_left_in_is_flagged(unit_a):
    batch, _ = upload(unit_a, filled(unit_a, [], keep_example=True))
    assert "示例行未删除" in reasons(batch)[2]


def test_gbk_csv_and_utf8_bom_csv(unit_a):
    ids = fresh_ids(2, 21)
    text = ",".join(HEADERS) + "\n" + f"{ids[0]},张三,,2026-11-01,8000,五险\n"
    for encoding, name in (("gbk", "gbk.csv"), ("utf-8-sig", "bom.csv")):
        batch, _ = upload(unit_a, text.encode(encoding), name)
        assert batch.rows_good == 1 and batch.rows[0]["name"] == "张三", encoding


def test_xls_fixture_with_columns_in_another_order(unit_a):
    batch, _ = upload(unit_a, (FIXTURES / "enroll.xls").read_bytes(), "enroll.xls")
    assert (batch.rows_good, batch.rows_bad) == (2, 1)
    assert "工资应在" in reasons(batch)[4]


def test_error_workbook_round_trip_and_atomic_save(unit_a):
    ids = fresh_ids(3, 31)
    rows = [[ids[0], "一", None, "2026-11-01", 8000, "五险"],
            [ids[1], "二", None, "2026-11-01", 5, "五险"],
            [ids[2], "三", None, "2026-11-01", 8000, "五险"]]
    batch, _ = upload(unit_a, filled(unit_a, rows))
    assert (batch.rows_good, batch.rows_bad) == (2, 1)
    errors = unit_a.get(f"/unit/import/batch/{batch.id}/errors/")
    book = load_workbook(io.BytesIO(errors.data))
    sheet = book["数据"]
    assert [c.value for c in sheet[1]] == [*HEADERS, "错误原因"]
    assert sheet["A2"].value == ids[1] and "工资应在" in sheet["G2"].value
    sheet["E2"] = 8500  # the user fixes the wage
    fixed = io.BytesIO()
    book.save(fixed)
    again, _ = upload(unit_a, fixed.getvalue(), "错误数据.xlsx")
    assert (again.rows_good, again.rows_bad) == (1, 0)

    before = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
    unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": csrf_token(unit_a)})
    twice = unit_a.post(f"/unit/import/batch/{batch.id}/save/",
                        data={"csrf_token": csrf_token(unit_a)}, follow_redirects=True)
    assert "请勿重复" in twice.get_data(as_text=True) or "已保存" in twice.get_data(
        as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == before + 1
    filing = db.session.get(Application, db.session.get(ImportBatch, batch.id).application_id)
    assert filing.state == "submitted" and len(filing.payload["rows"]) == 2

    same, page = upload(unit_a, filled(unit_a, rows))  # the same people again
    assert same.rows_good == 0
    assert f"已在办件{filing.id}中申报" in reasons(same)[2] and \
        f"已在办件{filing.id}中申报" in reasons(same)[4]
    refused = unit_a.post(f"/unit/import/batch/{same.id}/save/",
                          data={"csrf_token": csrf_token(unit_a)}, follow_redirects=True)
    assert "没有可保存的数据" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == before + 1

    switch(unit_a, "staff", "reviewer")
    page = unit_a.get(f"/admin/admin_application/details/?id={filing.id}").get_data(
        as_text=True)
    assert 'id="batch-count">2<' in page
    review(unit_a, filing.id, "accept")
    review(unit_a, filing.id, "approve")
    enrolled = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).join(
        Person).where(Person.id_no.in_([ids[0], ids[2]]), Enrollment.status == "active"))
    assert enrolled == 2


def test_approved_batch_stores_each_field_as_the_single_form_would(unit_a):
    """The approval's bulk insert (plain tuples, multi-row statements) writes values the
    ORM reads back as typed, and the new people are found by the contains-search."""
    from models import search
    from rules.search import person_search

    ids = fresh_ids(3, 71)
    rows = [[ids[0], "鲍批量", "13912345678", "2026-11-01", 8123.5, "五险"],
            [ids[1], "鲍二", None, "2026/11/02", 9000, "养老医疗工伤"],
            [ids[2], "鲍三", "13800001111", "2026-11-03", 7000, "五险"]]
    batch, _ = upload(unit_a, filled(unit_a, rows))
    assert (batch.rows_good, batch.rows_bad) == (3, 0)
    unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": csrf_token(unit_a)})
    filing_id = db.session.get(ImportBatch, batch.id).application_id
    switch(unit_a, "staff", "reviewer")
    review(unit_a, filing_id, "accept")
    review(unit_a, filing_id, "approve")
    db.session.expire_all()
    assert db.session.get(Application, filing_id).state == "completed"
    people = {p.id_no: p for p in db.session.scalars(sa.select(Person).where(
        Person.id_no.in_(ids)))}
    first, second = people[ids[0]], people[ids[1]]
    assert first.birth_date == dt.date(int(ids[0][6:10]), int(ids[0][10:12]),
                                       int(ids[0][12:14]))
    assert first.gender == ("M" if int(ids[0][16]) % 2 else "F")
    assert (first.name, first.phone, second.phone) == ("鲍批量", "13912345678", None)
    assert first.id_type == "01" and isinstance(first.created_at, dt.datetime)
    enrolments = {e.person_id: e for e in db.session.scalars(sa.select(Enrollment).where(
        Enrollment.person_id.in_([p.id for p in people.values()])))}
    one, two = enrolments[first.id], enrolments[second.id]
    assert (one.start_date, one.wage, one.insurance_kinds, one.status) == (
        dt.date(2026, 11, 1), Decimal("8123.50"), "110,210,310,410,510", "active")
    assert (two.start_date, two.wage, two.insurance_kinds) == (
        dt.date(2026, 11, 2), Decimal("9000.00"), "110,310,410")
    assert one.unit.uscc == UNIT_A and len(enrolments) == 3
    found = set(db.session.scalars(sa.select(Person.id).where(
        search.clause(Person, person_search("鲍批")))))
    assert found == {first.id}


def test_approval_of_a_batch_is_all_or_nothing(unit_a):
    ids = fresh_ids(2, 41)
    rows = [[i, f"批{n}", None, "2026-11-01", 8000, "五险"] for n, i in enumerate(ids)]
    batch, _ = upload(unit_a, filled(unit_a, rows))
    unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": csrf_token(unit_a)})
    filing_id = db.session.get(ImportBatch, batch.id).application_id
    # Meanwhile the second person got enrolled at another unit.
    other_unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == UNIT_B))
    person = Person(id_no=ids[1], name="批1")
    db.session.add(person)
    db.session.flush()
    db.session.add(Enrollment(person_id=person.id, unit_id=other_unit.id,
                              insurance_kinds="110", start_date=dt.date(2026, 1, 1), wage=5000))
    db.session.commit()
    switch(unit_a, "staff", "reviewer")
    review(unit_a, filing_id, "accept")
    html = review(unit_a, filing_id, "approve").get_data(as_text=True)
    assert "1行已不能办理" in html and "第3行" in html
    assert db.session.get(Application, filing_id).state == "in_review"
    assert db.session.scalar(sa.select(Person.id).where(Person.id_no == ids[0])) is None


def test_batch_suspension(unit_a):
    employees = db.session.scalars(sa.select(Enrollment).join(Unit).where(
        Unit.uscc == UNIT_A, Enrollment.status == "active").limit(3)).all()
    rows = [[e.person.id_no, e.person.name, "2026-11-30", "退休"] for e in employees]
    rows.append([fresh_ids(1, 51)[0], "外人", "2026-11-30", "退休"])
    batch, _ = upload(unit_a, filled(unit_a, rows, code="SB_SUSPEND_BATCH"),
                      code="SB_SUSPEND_BATCH")
    assert (batch.rows_good, batch.rows_bad) == (3, 1)
    assert "未在本单位参保" in reasons(batch)[5]
    unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": csrf_token(unit_a)})
    filing_id = db.session.get(ImportBatch, batch.id).application_id
    switch(unit_a, "staff", "reviewer")
    review(unit_a, filing_id, "accept")
    review(unit_a, filing_id, "approve")
    assert {db.session.get(Enrollment, e.id).status for e in employees} == {"suspended"}


def test_batch_enrolment_resumes_suspended_employees_with_their_new_wage(unit_a):
    unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_A))
    suspended = []
    for n, id_no in enumerate(fresh_ids(2, 61)):
        person = Person(id_no=id_no, name=f"停{n}")
        db.session.add(person)
        db.session.flush()
        enrolment = Enrollment(person_id=person.id, unit_id=unit_id, insurance_kinds="110",
                               start_date=dt.date(2020, 1, 1), wage=5000, status="suspended")
        db.session.add(enrolment)
        suspended.append(enrolment)
    db.session.commit()
    new_id = fresh_ids(1, 62)[0]
    rows = [[e.person.id_no, e.person.name, None, "2026-11-01", 9000 + n, "五险"]
            for n, e in enumerate(suspended)] + [[new_id, "新人", None, "2026-11-01", 8000,
                                                  "五险"]]
    batch, _ = upload(unit_a, filled(unit_a, rows))
    assert batch.rows_good == 3, reasons(batch)
    unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": csrf_token(unit_a)})
    filing_id = db.session.get(ImportBatch, batch.id).application_id
    switch(unit_a, "staff", "reviewer")
    review(unit_a, filing_id, "accept")
    review(unit_a, filing_id, "approve")
    db.session.expire_all()
    assert [(e.status, int(e.wage), e.end_date) for e in
            (db.session.get(Enrollment, e.id) for e in suspended)] == [
        ("active", 9000, None), ("active", 9001, None)]
    assert db.session.get(Enrollment, suspended[0].id).insurance_kinds == \
        "110,210,310,410,510"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).join(
        Person).where(Person.id_no == new_id, Enrollment.status == "active")) == 1


def test_template_of_another_item_or_version_is_refused(unit_a):
    data = filled(unit_a, [], code="SB_SUSPEND_BATCH")
    _, page = upload(unit_a, data)
    assert "不是本业务的模板" in page
    book = load_workbook(io.BytesIO(filled(unit_a, [])))
    book["_meta"]["B2"] = "2025.1"
    out = io.BytesIO()
    book.save(out)
    _, page = upload(unit_a, out.getvalue())
    assert "模板版本已更新" in page


def _xlsx_with(extra: dict[str, bytes]) -> bytes:
    book = Workbook()
    book.active.append(HEADERS)
    base = io.BytesIO()
    book.save(base)
    source = zipfile.ZipFile(io.BytesIO(base.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for name, data in extra.items():
            target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("data", "message"), [
    (b"this is just text, not a table\x00\x01", "不是表格文件"),
    (b"PK\x03\x04garbage", "不是有效的Excel"),
    ("external", "外部链接"),
    ("bomb", "解压后过大"),
    (b"%PDF-1.4 not a sheet", "缺少列"),
])
def test_hostile_files_are_refused_without_touching_the_database(unit_a, data, message):
    if data == "external":
        data = _xlsx_with({"xl/externalLinks/externalLink1.xml": b"<x/>"})
    elif data == "bomb":
        data = _xlsx_with({"xl/media/zeros.bin": b"\x00" * (250 * 1024 * 1024)})
    people = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
    batch, page = upload(unit_a, data, "x.xlsx")
    assert message in page and batch.rows_good == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == people


def test_formulas_are_refused(unit_a):
    ids = fresh_ids(1, 61)
    batch, _ = upload(unit_a, filled(unit_a, [[ids[0], '=HYPERLINK("http://x","y")', None,
                                               "2026-11-01", 8000, "五险"]]))
    assert "不接受公式" in reasons(batch)[2]


def test_limits_file_size(unit_a):
    response = post_file(unit_a, "/unit/import/upload/SB_ENROLL_BATCH/",
                         b"a" * (10 * 1024 * 1024 + 10), "big.csv", follow_redirects=True)
    assert "10MB" in response.get_data(as_text=True)


def test_twenty_thousand_rows_are_accepted(unit_a):
    rng = random.Random(3)
    used: set[str] = set()
    lines = [",".join(HEADERS)] + [
        f"{make_id_no(rng, used)},人{n},,2026-11-01,8000,五险" for n in range(20_000)]
    batch, _ = upload(unit_a, "\n".join(lines).encode(), "big.csv")
    assert batch.rows_total == 20_000 and batch.rows_good + batch.rows_bad == 20_000
    assert batch.rows_good > 19_900


def test_agents_import_only_granted_items(client):
    agent = member("agent", "RC_TALENT,JY_RECORD")
    assert login(client, "unit", agent.id_no, UNIT_A).status_code == 302
    assert client.get("/unit/import/template/SB_ENROLL_BATCH/").status_code == 403
    response = client.post("/unit/import/upload/SB_ENROLL_BATCH/", data={
        "csrf_token": csrf_token(client), "file": (io.BytesIO(b"x"), "a.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 403


def test_another_unit_cannot_see_or_save_a_batch(unit_a, app):
    batch, _ = upload(unit_a, filled(unit_a, [[fresh_ids(1, 71)[0], "某", None, "2026-11-01",
                                               8000, "五险"]]))
    switch(unit_a, "unit", "330902199002270055", UNIT_B)
    for url in (f"/unit/import/batch/{batch.id}/", f"/unit/import/batch/{batch.id}/errors/"):
        assert unit_a.get(url).status_code == 404
    assert unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={
        "csrf_token": csrf_token(unit_a)}).status_code == 404
    assert db.session.get(ImportBatch, batch.id).status == "checked"


# --- export ----------------------------------------------------------------------------------

def test_exports_mask_identifiers_for_agents_and_neutralise_formulas(client, unit_a, app):
    employee = db.session.scalar(sa.select(Enrollment).join(Unit).where(Unit.uscc == UNIT_A))
    employee.person.name = "=cmd|' /C calc'!A0"
    db.session.commit()
    full = unit_a.get("/unit/unit_enrollment/export/csv/").get_data(as_text=True)
    assert employee.person.id_no in full and "'=cmd" in full
    agent = app.test_client()
    login(agent, "unit", member("agent", "SB_ENROLL,SB_SUSPEND").id_no, UNIT_A)
    masked = agent.get("/unit/unit_enrollment/export/csv/").get_data(as_text=True)
    id_no = employee.person.id_no
    assert id_no not in masked and mask_id(id_no) in masked
    book = load_workbook(io.BytesIO(agent.get("/unit/unit_enrollment/export/xlsx/").data))
    values = [c.value for row in book.active.iter_rows() for c in row]
    assert mask_id(id_no) in values
    assert "'=cmd|' /C calc'!A0" in values and not any(
        c.data_type == "f" for row in book.active.iter_rows() for c in row)


def test_export_follows_the_current_filter(as_staff):
    client = as_staff("auditor")
    view = next(v for v in client.application.extensions["consoles"]["admin"]._views
                if v.endpoint == "admin_person")
    index = next(i for i, f in enumerate(view._filters) if f.name == "性别"
                 and "等于" in str(f.operation()))
    text = client.get(f"/admin/admin_person/export/csv/?flt0_{index}=F").get_data(
        as_text=True)
    lines = text.strip().splitlines()[1:]
    women = db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(
        Person.gender == "F"))
    assert len(lines) == women and all("女" in line for line in lines)
    assert "*" in lines[0]  # an auditor sees ID numbers masked


def test_overlong_cells_are_refused(unit_a):
    ids = fresh_ids(1, 81)
    batch, _ = upload(unit_a, filled(unit_a, [[ids[0], "名" * 300, None, "2026-11-01", 8000,
                                               "五险"]]))
    assert "超过200个字符" in reasons(batch)[2]


def test_a_failure_in_the_middle_of_saving_leaves_nothing(unit_a, monkeypatch):
    import models.operations

    ids = fresh_ids(2, 91)
    batch, _ = upload(unit_a, filled(unit_a, [[i, "中断", None, "2026-11-01", 8000, "五险"]
                                              for i in ids]))
    applications = db.session.scalar(sa.select(sa.func.count()).select_from(Application))

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(models.operations, "transition", broken)
    with pytest.raises(RuntimeError):
        unit_a.post(f"/unit/import/batch/{batch.id}/save/",
                    data={"csrf_token": csrf_token(unit_a)})
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == \
        applications
    assert db.session.get(ImportBatch, batch.id).status == "checked"


def test_nan_as_a_wage_in_an_import_file_is_a_row_error(app, unit_a):
    """月缴费工资 "NaN" in a 人员批量新参保 CSV is a row error, never a 500."""
    no_propagation(app)
    try:
        id_no = fresh_ids(1, 77)[0]
        csv = ",".join(HEADERS) + f"\n{id_no},新人,,2026-11-01,NaN,五险\n"
        response = post_file(unit_a, "/unit/import/upload/SB_ENROLL_BATCH/",
                             csv.encode("utf-8"), "x.csv", follow_redirects=True)
        assert response.status_code < 500, response.status_code
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
