"""The catalogue as data: files in the repository, in every fresh database, exported and
imported between consoles (checked before accepted); any accepted definition renders,
validates and round-trips (property test)."""
from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from types import SimpleNamespace

import flask_migrate
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app import create_app
from models import ServiceItem, ServiceItemVersion, db
from models.catalogue import CATALOGUE_DIR, export_definition, parse_definition, problems_of
from rules.definition import FORMAT, MATERIAL_TYPES, STEP_ROLES, Spec, check_definition
from tests.conftest import CHEAP_ARGON2, PERSON, UNIT_A, csrf_token
from views.item_form import form_for, labelled_payload, payload_of


def _catalogue_codes() -> set[str]:
    return {json.loads(p.read_text())["code"] for p in CATALOGUE_DIR.glob("*.json")}


def test_a_fresh_database_has_the_catalogue_without_demo_data(tmp_path, monkeypatch):
    # The suite's session is bound to the shared test database: this app gets its own.
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "ARGON2_PARAMS": CHEAP_ARGON2,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"})
    with app.app_context():
        flask_migrate.upgrade()
        result = app.test_cli_runner().invoke(args=["load-catalogue"])
        assert result.exit_code == 0 and "新增7项" in result.output, result.output
        again = app.test_cli_runner().invoke(args=["load-catalogue"])
        assert "新增0项" in again.output
        items = db.session.scalars(sa.select(ServiceItem)).all()
        assert {i.code for i in items} == _catalogue_codes()
        assert all(i.active for i in items)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            ServiceItemVersion)) == len(items)
        db.session.remove()
        db.engine.dispose()


def test_every_catalogue_file_is_a_publishable_definition(app):
    for path in CATALOGUE_DIR.glob("*.json"):
        assert problems_of(parse_definition(path.read_bytes())) == [], path.name


def test_the_demo_filings_record_the_version_they_were_filed_under():
    from models import Application

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.item_version_id.is_(None))) == 0


def _import(client, data: bytes, name="item.json"):
    return client.post("/admin/designer/import/", data={
        "csrf_token": csrf_token(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data", follow_redirects=True)


def test_export_then_import_into_another_console_as_a_checked_draft(as_staff):
    admin = as_staff("admin")
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "SB_SUSPEND"))
    exported = admin.get(f"/admin/designer/{item.id}/export/")
    assert exported.status_code == 200 and "SB_SUSPEND_v1.json" in exported.headers[
        "Content-Disposition"]
    definition = json.loads(exported.data)
    assert definition["format"] == FORMAT and definition["fields"] == item.form_fields

    copy = {**definition, "code": "SB_SUSPEND_COPY", "name": "暂停参保（试点）"}
    page = _import(admin, json.dumps(copy, ensure_ascii=False).encode()).get_data(as_text=True)
    assert "已导入" in page
    imported = db.session.scalar(sa.select(ServiceItem).where(
        ServiceItem.code == "SB_SUSPEND_COPY"))
    assert imported.draft["fields"] == definition["fields"] and not imported.active
    admin.post(f"/admin/designer/{imported.id}/", data={
        "csrf_token": csrf_token(admin), **_form_of(imported.draft, "publish")})
    assert db.session.get(ServiceItem, imported.id).active

    # The same code again is a new draft of that item, published on its own.
    again = {**copy, "time_limit_days": 3}
    _import(admin, json.dumps(again).encode())
    assert db.session.get(ServiceItem, imported.id).draft["time_limit_days"] == 3
    assert db.session.get(ServiceItem, imported.id).time_limit_days == 5


def _form_of(definition, op):
    from tests.test_designer import designer_form

    return designer_form(definition, op)


def test_a_bad_definition_file_is_refused_and_changes_nothing(as_staff):
    admin = as_staff("admin")
    count = db.session.scalar(sa.select(sa.func.count()).select_from(ServiceItem))
    bad = {"format": FORMAT, "code": "JY_BAD", "name": "坏定义", "filer": "unit",
           "time_limit_days": 0, "handler": "rocket",
           "fields": [{"name": "x", "label": "X", "type": "rocket"},
                      {"name": "k", "label": "K", "type": "choice", "code_table": "nope"}]}
    page = _import(admin, json.dumps(bad).encode()).get_data(as_text=True)
    for message in ("导入失败", "办理时限应为1至365个工作日", "类型无效", "代码表“nope”不存在",
                    "办结处理“rocket”不存在"):
        assert message in page, message
    for data in (b"\xff\xfe not json", b"[1, 2]", json.dumps({"code": "JY_X"}).encode(), b""):
        assert "事项定义" in _import(admin, data).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceItem)) == count


# --- property: whatever the designer accepts renders, validates and round-trips -------------

TABLES = ("insurance_kind", "unit_type", "region")
VALID = {"text": "文本", "id_no": PERSON, "person": PERSON, "phone": "13912345678",
         "unit": UNIT_A}


@st.composite
def field_specs(draw, name):
    kind = draw(st.sampled_from(["text", "number", "date", "choice", "id_no", "phone",
                                 "unit", "person"]))
    spec = {"name": name, "label": draw(st.text(st.characters(categories=["Lo"]),
                                                min_size=1, max_size=8)),
            "type": kind, "required": draw(st.booleans())}
    if draw(st.booleans()):
        spec["help"] = draw(st.text(max_size=30))
    if draw(st.booleans()):
        spec["import"] = True
    if kind == "text" and draw(st.booleans()):
        spec["max_length"] = draw(st.integers(1, 200))
    if kind == "number":
        low = draw(st.integers(-1000, 1000))
        spec.update(min=str(low), max=str(low + draw(st.integers(0, 1000))))
    if kind == "date":
        low = dt.date(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 3000)))
        spec.update(min=low.isoformat(),
                    max=(low + dt.timedelta(days=draw(st.integers(0, 400)))).isoformat())
    if kind == "choice":
        spec["code_table"] = draw(st.sampled_from(TABLES))
    return spec


@st.composite
def definitions(draw):
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
                          min_size=1, max_size=8, unique=True))
    shares = draw(st.sampled_from([[100], [30, 70], [20, 30, 50]]))
    return {
        "code": draw(st.from_regex(r"[A-Z][A-Z0-9_]{1,20}", fullmatch=True)),
        "name": draw(st.text(st.characters(categories=["Lo"]), min_size=1, max_size=20)),
        "category": "就业服务", "filer": draw(st.sampled_from(["unit", "both"])),
        "needs_unit_submit": False, "time_limit_days": draw(st.integers(1, 365)),
        "handler": None, "fields": [draw(field_specs(n)) for n in names],
        "materials": [{"code": "m1", "label": "材料", "required": draw(st.booleans()),
                       "types": draw(st.lists(st.sampled_from(list(MATERIAL_TYPES)),
                                              min_size=1, unique=True)),
                       "max_mb": draw(st.integers(1, 10)), "auto": False}],
        "steps": [{"name": f"环节{n}", "role": draw(st.sampled_from(list(STEP_ROLES))),
                   "share": share} for n, share in enumerate(shares, 1)],
    }


def _valid_value(spec: dict, choices: dict) -> str:
    kind = spec["type"]
    if kind == "number":
        return spec["min"]
    if kind == "date":
        return spec["max"]
    if kind == "choice":
        return choices[spec["code_table"]]
    if kind == "text":
        return VALID["text"][: spec.get("max_length") or 200]
    return VALID[kind]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(definition=definitions())
def test_any_accepted_definition_renders_validates_and_round_trips(app, definition):
    from models.codes import choices_of

    problems = problems_of(definition)
    assert problems == [], problems
    with app.test_request_context():
        spec = Spec.of(definition)
        html = "".join(str(form_for(spec, strict=True, csrf=False)[f["name"]]())
                       for f in spec.form_fields)
        assert all(f'name="{f["name"]}"' in html for f in spec.form_fields)
        choices = {t: choices_of(t)[0][0] for t in TABLES}
        answers = {f["name"]: _valid_value(f, choices) for f in spec.form_fields}
        form = form_for(spec, strict=True, formdata=MultiDict(answers), csrf=False)
        assert form.validate(), form.errors
        payload = payload_of(spec, form)
        assert len(labelled_payload(spec, payload, None)) == len(spec.form_fields)
        empty = form_for(spec, strict=True, formdata=MultiDict({}), csrf=False)
        assert empty.validate() == (not any(f["required"] for f in spec.form_fields))
    exported = export_definition(SimpleNamespace(), SimpleNamespace(definition=definition))
    assert parse_definition(exported) == definition
    assert check_definition(parse_definition(exported), tables=set(TABLES)) == []


def test_the_catalogue_directory_is_in_the_repository():
    assert CATALOGUE_DIR == Path(__file__).resolve().parent.parent / "catalogue"
    assert len(list(CATALOGUE_DIR.glob("*.json"))) >= 7


def test_items_and_filings_from_before_versions_are_adopted_as_version_1(app):
    from models import Application
    from models.catalogue import load_catalogue, versions_of
    from rules.workflow import State

    legacy = ServiceItem(code="JY_OLD", name="旧事项", category="就业服务", filer="unit",
                         time_limit_days=3, form_fields=[
                             {"name": "note", "label": "说明", "type": "text", "required": True}],
                         materials=[])
    db.session.add(legacy)
    db.session.flush()
    filing = Application(item_id=legacy.id, state=State.DRAFT, payload={"note": "x"})
    db.session.add(filing)
    db.session.flush()
    assert load_catalogue() == []
    (v1,) = versions_of(legacy)
    assert v1.number == 1 and v1.definition["fields"] == legacy.form_fields
    db.session.refresh(filing)
    assert filing.item_version_id == v1.id and filing.spec.number == 1


def test_a_required_number_accepts_zero(app):
    """Found by the property test: WTForms' DataRequired refused a 0 typed into a number."""
    spec = Spec.of({"code": "JY_Z", "name": "z", "filer": "unit", "time_limit_days": 1,
                    "fields": [{"name": "n", "label": "人数", "type": "number",
                                "required": True, "min": "0", "max": "0"}]})
    with app.test_request_context():
        assert form_for(spec, strict=True, formdata=MultiDict({"n": "0"}), csrf=False).validate()
        empty = form_for(spec, strict=True, formdata=MultiDict({"n": ""}), csrf=False)
        assert not empty.validate() and empty.errors["n"] == ["请填写“人数”"]
