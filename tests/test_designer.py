"""事项设计: a system administrator designs an item, previews, publishes; units file it; a
changed item (v2) leaves the filings made under v1 shown, checked and printed as v1."""
from __future__ import annotations

import sqlalchemy as sa

from models import Application, AuditEvent, Enrollment, Person, ServiceItem, Unit, db
from models.catalogue import latest_version, versions_of
from tests.conftest import REP_A, UNIT_A, csrf_token
from tests.helpers import PDF, PNG, act, filing_id, new_filing, switch, upload

CODE = "JY_SUBSIDY"


def designer_form(definition: dict, op: str = "save") -> dict:
    """A definition as the designer page posts it."""
    data = {"op": op, "code": definition["code"], "name": definition["name"],
            "category": definition.get("category", ""), "filer": definition["filer"],
            "time_limit_days": str(definition["time_limit_days"]),
            "handler": definition.get("handler") or ""}
    if definition.get("needs_unit_submit"):
        data["needs_unit_submit"] = "y"
    for n, f in enumerate(definition.get("fields", [])):
        row = f"fields-{n}-"
        data.update({row + "name": f["name"], row + "label": f["label"], row + "type": f["type"],
                     row + "help": f.get("help", ""),
                     row + "max_length": str(f.get("max_length") or ""),
                     row + "min": f.get("min", ""), row + "max": f.get("max", ""),
                     row + "code_table": f.get("code_table", "")})
        if f.get("required"):
            data[row + "required"] = "y"
        if f.get("import"):
            data[row + "import_column"] = "y"
    for n, m in enumerate(definition.get("materials", [])):
        row = f"materials-{n}-"
        data.update({row + "code": m["code"], row + "label": m["label"],
                     row + "types": m.get("types", ["pdf", "jpg", "png"]),
                     row + "max_mb": str(m.get("max_mb", 10))})
        if m.get("required"):
            data[row + "required"] = "y"
        if m.get("auto"):
            data[row + "auto"] = "y"
    for n, s in enumerate(definition.get("steps", [])):
        row = f"steps-{n}-"
        data.update({row + "name": s["name"], row + "role": s["role"],
                     row + "share": str(s["share"])})
    return data


def post_design(client, item_id: int, definition: dict, op: str = "save", **kwargs):
    return client.post(f"/admin/designer/{item_id}/", data={
        "csrf_token": csrf_token(client), **designer_form(definition, op)}, **kwargs)


V1 = {
    "code": CODE, "name": "灵活就业社保补贴申领", "category": "就业服务", "filer": "unit",
    "needs_unit_submit": False, "time_limit_days": 10, "handler": None,
    "fields": [
        {"name": "id_no", "label": "申领人员", "type": "person", "required": True, "import": True,
         "help": "本单位参保人员的身份证号码"},
        {"name": "note", "label": "情况说明", "type": "text", "required": True, "max_length": 20,
         "import": True},
        {"name": "months", "label": "补贴月数", "type": "number", "required": True, "min": "1",
         "max": "12", "import": True},
        {"name": "since", "label": "就业日期", "type": "date", "required": True,
         "min": "2026-01-01", "max": "2026-12-31", "import": True},
        {"name": "kind", "label": "补贴险种", "type": "choice", "required": True,
         "code_table": "insurance_kind", "import": True},
        {"name": "spouse_id", "label": "配偶身份证号码", "type": "id_no", "required": False},
        {"name": "phone", "label": "联系电话", "type": "phone", "required": False},
        {"name": "employer", "label": "原就业单位", "type": "unit", "required": False},
    ],
    "materials": [{"code": "contract", "label": "劳动合同", "required": True, "types": ["pdf"],
                   "max_mb": 2}],
    "steps": [{"name": "预审", "role": "reviewer", "share": 30},
              {"name": "审核", "role": "reviewer", "share": 70}],
}


def _item() -> ServiceItem:
    return db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == CODE))


def _employee_id_no() -> str:
    return db.session.scalar(sa.select(Person.id_no).join(Enrollment).join(Unit).where(
        Unit.uscc == UNIT_A).limit(1))


def _create(client) -> ServiceItem:
    response = client.post("/admin/designer/new/", data={
        "csrf_token": csrf_token(client), "code": CODE, "name": V1["name"]})
    assert response.status_code == 302
    return _item()


def _filing_data(**changes) -> dict:
    return {"id_no": _employee_id_no(), "note": "失业后灵活就业", "months": "10",
            "since": "2026-03-01", "kind": "110", "spouse_id": "", "phone": "13912345678",
            "employer": "", **changes}


def test_design_preview_publish_file_change_and_v1_stays_v1(client, as_staff):
    admin = as_staff("admin")
    item = _create(admin)
    assert not item.active and latest_version(item) is None  # not offered before publishing

    # Add / remove / reorder rows on the page.
    post_design(admin, item.id, {**V1, "fields": V1["fields"][:2]}, op="add:fields")
    assert len(_item().draft["fields"]) == 3
    post_design(admin, item.id, {**V1, "fields": V1["fields"][:2]}, op="down:fields:0")
    assert [f["name"] for f in _item().draft["fields"]] == ["note", "id_no"]
    post_design(admin, item.id, {**V1, "fields": V1["fields"][:2]}, op="remove:fields:1")
    assert [f["name"] for f in _item().draft["fields"]] == ["id_no"]

    # Every field type, materials, two review steps and import columns, saved as a draft.
    post_design(admin, item.id, V1)
    assert _item().draft["fields"] == V1["fields"]
    assert _item().draft["steps"] == V1["steps"]
    page = admin.get(f"/admin/designer/{item.id}/").get_data(as_text=True)
    assert "发布前须改正" not in page and "有未发布的草稿" in page

    # The preview is the filers' form: labels, help, code-table options, materials, steps.
    preview = admin.get(f"/admin/designer/{item.id}/preview/").get_data(as_text=True)
    for label in ("申领人员 *", "补贴月数 *", "就业日期 *", "配偶身份证号码", "原就业单位",
                  "本单位参保人员的身份证号码", "企业职工基本养老保险", "劳动合同 *",
                  "预审 → 审核"):
        assert label in preview, label
    # The live preview renders the unsaved page and saves nothing.
    live = admin.post(f"/admin/designer/{item.id}/preview/?fragment=1", data={
        "csrf_token": csrf_token(admin), **designer_form({**V1, "name": "改名预览"})})
    assert "改名预览" in live.get_data(as_text=True) and "<html" not in live.get_data(as_text=True)
    assert _item().draft["name"] == V1["name"]

    # A definition with problems is kept as a draft but not published.
    bad = {**V1, "steps": [{**V1["steps"][0], "share": 30}, {**V1["steps"][1], "share": 60}]}
    page = post_design(admin, item.id, bad, op="publish", follow_redirects=True)
    assert "之和应为100" in page.get_data(as_text=True) and latest_version(_item()) is None

    page = post_design(admin, item.id, V1, op="publish", follow_redirects=True)
    assert "已发布第1版" in page.get_data(as_text=True)
    item = _item()
    v1 = latest_version(item)
    assert v1.number == 1 and item.active and item.draft is None
    assert db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "item:publish", AuditEvent.object_id == str(item.id)))

    # The unit files it: the ranges, the length and the material's type are enforced.
    switch(client, "unit", REP_A, UNIT_A)
    form = client.get(f"/unit/filing/new/{CODE}/").get_data(as_text=True)
    assert "补贴险种" in form and "本单位参保人员的身份证号码" in form
    page = new_filing(client, "unit", CODE, _filing_data(months="13", since="2025-12-31",
                                                         note="很" * 21), "submit")
    text = page.get_data(as_text=True)
    assert "“补贴月数”应在1至12之间" in text and "“就业日期”应在2026-01-01至2026-12-31之间" in text
    assert "“情况说明”不能超过20个字符" in text
    filed = filing_id(new_filing(client, "unit", CODE, _filing_data()))
    kept = filing_id(new_filing(client, "unit", CODE, _filing_data(months="11")))
    assert "只接受PDF" in upload(client, "unit", filed, "contract", PNG, "合同.png").get_data(
        as_text=True)
    upload(client, "unit", filed, "contract", PDF)
    act(client, "unit", filed, "submit")
    application = db.session.get(Application, filed)
    assert application.state == "submitted" and application.item_version_id == v1.id

    # The administrator changes the item: a new required field, a narrower range, a field
    # dropped; v2 is published.
    switch(client, "staff", "admin")
    v2 = {**V1, "fields": [*[f if f["name"] != "months" else {**f, "max": "6"}
                             for f in V1["fields"] if f["name"] != "phone"],
                           {"name": "bank", "label": "银行账号", "type": "text",
                            "required": True}]}
    post_design(client, item.id, v2, op="publish")
    assert [v.number for v in versions_of(_item())] == [1, 2]
    diff = client.get(f"/admin/designer/{item.id}/diff/?a=1&b=2").get_data(as_text=True)
    assert "字段“银行账号”" in diff and "字段“联系电话”" in diff and "（删除）" in diff
    assert "max=12" in diff and "max=6" in diff

    # New filings use v2; the v1 filings are shown, printed and checked as v1.
    switch(client, "unit", REP_A, UNIT_A)
    assert "银行账号" in client.get(f"/unit/filing/new/{CODE}/").get_data(as_text=True)
    detail = client.get(f"/unit/filing/{filed}/").get_data(as_text=True)
    assert "事项第1版" in detail and "联系电话" in detail and "银行账号" not in detail
    sheet = client.get(f"/unit/filing/{filed}/print/form/").get_data(as_text=True)
    assert "事项版本：第1版" in sheet and "联系电话" in sheet
    edit = client.get(f"/unit/filing/{kept}/edit/").get_data(as_text=True)
    assert "联系电话" in edit and "银行账号" not in edit
    upload(client, "unit", kept, "contract", PDF)
    act(client, "unit", kept, "submit")  # 11 months: valid under v1 (v2 allows 6)
    kept_filing = db.session.get(Application, kept)
    assert kept_filing.state == "submitted" and kept_filing.item_version.number == 1
    v2_filing = filing_id(new_filing(client, "unit", CODE, _filing_data(months="5",
                                                                        bank="6222000011112222")))
    assert db.session.get(Application, v2_filing).item_version.number == 2


def test_the_designer_is_for_system_admins_only(as_staff):
    for role in ("clerk", "reviewer", "auditor"):
        client = as_staff(role)
        assert client.get("/admin/designer/").status_code == 403
        before = db.session.scalar(sa.select(sa.func.count()).select_from(ServiceItem))
        client.post("/admin/designer/new/", data={"csrf_token": csrf_token(client),
                                                   "code": "JY_X", "name": "x"})
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceItem)) == before
        client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_a_handler_missing_its_fields_cannot_be_published(as_staff):
    admin = as_staff("admin")
    item = _create(admin)
    page = post_design(admin, item.id, {**V1, "handler": "enroll"}, op="publish",
                       follow_redirects=True).get_data(as_text=True)
    assert "办结处理“enroll”需要字段：name、start_date、wage" in page
    assert latest_version(_item()) is None


def test_a_designed_item_is_filed_in_bulk_from_its_generated_template(client, as_staff):
    from tests.test_imports import filled, post_file, reasons, template, upload

    admin = as_staff("admin")
    item = _create(admin)
    post_design(admin, item.id, V1, op="publish")
    switch(client, "unit", REP_A, UNIT_A)
    assert CODE in client.get("/unit/import/").get_data(as_text=True)
    book = template(client, CODE)
    headers = [c.value for c in book["数据"][1]]
    assert headers == ["申领人员", "情况说明", "补贴月数", "就业日期", "补贴险种"]

    employees = list(db.session.scalars(sa.select(Person.id_no).join(Enrollment).join(Unit)
                                        .where(Unit.uscc == UNIT_A).limit(3)))
    rows = [[employees[0], "灵活就业", "10", "2026-03-01", "企业职工基本养老保险"],
            [employees[1], "灵活就业", "13", "2026-03-01", "失业保险"],  # out of range
            [employees[2], "灵活就业", "6", "2026-04-01", "工伤保险"]]
    batch, page = upload(client, filled(client, rows, code=CODE), code=CODE)
    assert batch.rows_good == 2 and batch.rows_bad == 1
    assert "补贴月数" in reasons(batch)[3] and "应在1至12之间" in reasons(batch)[3]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
    saved = client.post(f"/unit/import/batch/{batch.id}/save/",
                        data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "生成2个办件" in saved.get_data(as_text=True)
    filings = db.session.scalars(sa.select(Application).where(
        Application.item_id == item.id).order_by(Application.id)).all()
    assert len(filings) == 2 == db.session.scalar(
        sa.select(sa.func.count()).select_from(Application)) - before
    assert {f.item_version.number for f in filings} == {1}
    assert filings[0].payload["kind"] == "110" and filings[0].payload["months"] == "10"
    assert all(f.state == "draft" for f in filings)  # the contract is still to be attached
    again = client.post(f"/unit/import/batch/{batch.id}/save/",
                        data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "已保存" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) - before == 2

    # After v2 the v1 template is refused: a batch is imported with the version in force.
    old_template = filled(client, rows[:1], code=CODE)
    switch(client, "staff", "admin")
    post_design(client, item.id, {**V1, "time_limit_days": 7}, op="publish")
    switch(client, "unit", REP_A, UNIT_A)
    response = post_file(client, f"/unit/import/upload/{CODE}/", old_template, "旧模板.xlsx",
                         follow_redirects=True)
    assert "模板版本已更新" in response.get_data(as_text=True)


def test_a_two_step_review_passes_预审_before_审核_approves(client, as_staff):
    from tests.helpers import review

    admin = as_staff("admin")
    item = _create(admin)
    post_design(admin, item.id, V1, op="publish")
    switch(client, "unit", REP_A, UNIT_A)
    filed = filing_id(new_filing(client, "unit", CODE, _filing_data()))
    upload(client, "unit", filed, "contract", PDF)
    act(client, "unit", filed, "submit")

    switch(client, "staff", "reviewer")
    review(client, filed, "accept")
    case = client.get(f"/admin/admin_application/details/?id={filed}").get_data(as_text=True)
    assert "预审（约3个工作日） ← 当前环节" in case and "审核（约7个工作日）" in case
    assert 'value="approve"' not in case and 'value="next_step"' in case
    refused = review(client, filed, "approve").get_data(as_text=True)
    assert "当前环节为“预审”（第1/2环节），不能审核通过" in refused
    assert db.session.get(Application, filed).state == "in_review"
    queue = client.get("/admin/admin_application/").get_data(as_text=True)
    assert "预审（1/2）" in queue

    review(client, filed, "next_step")
    application = db.session.get(Application, filed)
    assert application.state == "in_review" and application.step == 1
    assert "审核（2/2）" in client.get("/admin/admin_application/").get_data(as_text=True)
    assert 'value="approve"' in client.get(
        f"/admin/admin_application/details/?id={filed}").get_data(as_text=True)
    review(client, filed, "approve")
    assert db.session.get(Application, filed).state == "completed"  # approved: nothing to bring
    assert [e.action for e in db.session.get(Application, filed).events][-4:] == [
        "accept", "next_step", "approve", "complete"]


def test_step_rules_are_a_pure_table():
    from rules.workflow import Action, step_allows, step_days

    assert step_allows(Action.NEXT_STEP, 0, 2) and not step_allows(Action.APPROVE, 0, 2)
    assert step_allows(Action.APPROVE, 1, 2) and not step_allows(Action.NEXT_STEP, 1, 2)
    assert step_allows(Action.APPROVE, 0, 1) and step_allows(Action.REJECT, 0, 3)
    assert step_days(10, [30, 70]) == [3, 7] and step_days(1, [50, 50]) == [1, 1]


def test_bad_input_gets_a_chinese_message_and_publishes_nothing(as_staff):
    admin = as_staff("admin")
    page = admin.post("/admin/designer/new/", data={"csrf_token": csrf_token(admin),
                                                    "code": "测试", "name": "x"},
                      follow_redirects=True).get_data(as_text=True)
    assert "事项编码应为大写字母开头" in page
    item = _create(admin)
    garbage = {**designer_form(V1, "publish"), "time_limit_days": "abc", "filer": "alien",
               "fields-0-type": "rocket", "fields-2-min": "many", "steps-0-share": "-5",
               "materials-0-types": ["exe"], "materials-0-max_mb": "999"}
    response = admin.post(f"/admin/designer/{item.id}/", data={
        "csrf_token": csrf_token(admin), **garbage}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "未发布：请先改正下列问题" in text
    for message in ("办理时限应为1至365个工作日", "申报主体应为", "类型无效", "范围无效",
                    "时限占比应为1至100", "文件类型应为", "大小限制应为1至10MB"):
        assert message in text, message
    assert latest_version(_item()) is None
    assert admin.get(f"/admin/designer/{item.id}/preview/").status_code == 200
    assert admin.get(f"/admin/designer/{item.id}/diff/?a=9&b=1").status_code == 302
    assert admin.get(f"/admin/designer/{item.id}/export/?version=9").status_code == 404
    assert admin.post(f"/admin/designer/{item.id}/", data={
        "csrf_token": csrf_token(admin), **designer_form(V1), "op": "up:nothing:x"}
    ).status_code == 302
