"""The cross-unit access matrix, generated from the registered views of /unit/ and /me/.

A user of unit A (or individual A) asks for rows of unit B (or individual B) through every
endpoint Flask-Admin exposes; each must answer 403/404 and show or change nothing. A view
added to either console is covered without touching this file.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_admin.contrib.sqla import ModelView

from app import create_app
from models import Application, Person, Unit, db
from models.scope import scope_clause
from rules.codes import AccountKind
from rules.permissions import Actor
from tests.conftest import PERSON, UNIT_A, UNIT_B, csrf_token


def _registered_views():
    probe = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "probe"})
    consoles = probe.extensions["consoles"]
    return [(name, view.endpoint) for name in ("unit", "me")
            for view in consoles[name]._views if isinstance(view, ModelView)]


VIEWS = _registered_views()


def _view(app, console, endpoint):
    return next(v for v in app.extensions["consoles"][console]._views if v.endpoint == endpoint)


def _unit_id(uscc):
    return db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc))


def _actors(console):
    """(own actor, foreign actor) for the console, as policy sees them."""
    if console == "unit":
        return (Actor(0, AccountKind.UNIT_MEMBER, unit_id=_unit_id(UNIT_A)),
                Actor(0, AccountKind.UNIT_MEMBER, unit_id=_unit_id(UNIT_B)))
    me = db.session.scalar(sa.select(Person.id).where(Person.id_no == PERSON))
    other = db.session.scalar(sa.select(Application.subject_person_id).where(
        Application.unit_id == _unit_id(UNIT_B)).limit(1))
    return Actor(0, AccountKind.INDIVIDUAL, person_id=me), \
        Actor(0, AccountKind.INDIVIDUAL, person_id=other)


def _ids(model, where):
    return set(db.session.scalars(sa.select(model.id).where(where)))


@pytest.fixture
def logged_in(client, unit_a, person_client):
    return client


def _login_for(console, request):
    return request.getfixturevalue("unit_a" if console == "unit" else "person_client")


@pytest.mark.parametrize(("console", "endpoint"), VIEWS, ids=[e for _, e in VIEWS])
def test_other_units_rows_are_unreachable(app, request, console, endpoint):
    client = _login_for(console, request)
    view = _view(app, console, endpoint)
    model = view.model
    own, foreign = _actors(console)
    mine = _ids(model, scope_clause(model, own))
    theirs = _ids(model, sa.and_(scope_clause(model, foreign),
                                 sa.not_(scope_clause(model, own))))
    assert mine and theirs, f"{endpoint}: the demo data must give both sides rows"
    base = f"/{console}/{endpoint}/"
    token = csrf_token(client)
    total_before = db.session.scalar(sa.select(sa.func.count()).select_from(model))

    # the list shows none of their rows
    html = client.get(base).get_data(as_text=True)
    for fid in theirs:
        assert f"id={fid}&" not in html
        assert f'name="rowid" class="action-checkbox" value="{fid}"' not in html
    # an own row opens (so the 404s below are about scope, not a broken view)
    if view.can_view_details:
        assert client.get(f"{base}details/?id={min(mine)}").status_code == 200

    for fid in theirs:
        assert client.get(f"{base}details/?id={fid}").status_code in (403, 404)
        assert client.get(f"{base}edit/?id={fid}").status_code in (403, 404)
        assert client.post(f"{base}edit/?id={fid}",
                           data={"csrf_token": token}).status_code in (403, 404)
        assert client.post(f"{base}delete/",
                           data={"id": fid, "csrf_token": token}).status_code in (403, 404)
        assert client.post(f"{base}action/", data={
            "action": "delete", "rowid": fid, "csrf_token": token}).status_code in (403, 404)
        assert client.post(f"{base}ajax/update/", data={
            "list_form_pk": fid, "csrf_token": token}).status_code in (403, 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == total_before
    assert _ids(model, model.id.in_(theirs)) == theirs

    # the export holds exactly the own rows
    response = client.get(f"{base}export/csv/")
    if view.can_export:
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert len(rows) - 1 == len(mine)
    else:
        assert response.status_code == 403

    # ajax lookups find only rows in scope
    for name, loader in view._form_ajax_refs.items():
        remote = loader.model
        remote_theirs = _ids(remote, sa.and_(scope_clause(remote, foreign),
                                             sa.not_(scope_clause(remote, own))))
        for rid in list(remote_theirs)[:5]:
            row = db.session.get(remote, rid)
            term = getattr(row, "name", None) or str(rid)
            found = json.loads(client.get(f"{base}ajax/lookup/",
                                          query_string={"name": name, "query": term}).data)
            assert not {item[0] for item in found} & remote_theirs
    if not view._form_ajax_refs:
        assert client.get(f"{base}ajax/lookup/?name=unit&query=a").status_code == 404


def test_a_new_filing_cannot_name_another_units_person(unit_a):
    own, foreign = _actors("unit")
    stranger = db.session.scalar(sa.select(Person.id_no).where(
        scope_clause(Person, foreign), sa.not_(scope_clause(Person, own))).limit(1))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
    response = unit_a.post("/unit/filing/new/JY_RECORD/", data={
        "id_no": stranger, "hire_date": "2026-11-01", "csrf_token": csrf_token(unit_a)})
    assert response.status_code == 200 and "本单位没有该人员" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == before


def test_the_generic_filing_list_is_read_only(app, unit_a):
    """Finding: /unit/unit_application/ created filings of any item, changed a filing's item
    and answered 500 on a batch draft. One flow (the filing desk) serves all filings now."""
    own, _ = _actors("unit")
    view = _view(app, "unit", "unit_application")
    employee = db.session.scalar(sa.select(Person.id).where(
        scope_clause(Person, own)).limit(1))
    item_id = db.session.scalar(sa.text("SELECT id FROM service_item WHERE code='JY_RECORD'"))
    draft = db.session.scalar(sa.select(Application.id).where(
        Application.unit_id == own.unit_id, Application.state == "draft").limit(1))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
    token = csrf_token(unit_a)
    assert unit_a.post("/unit/unit_application/new/", data={
        "item": item_id, "subject_person": employee, "csrf_token": token}).status_code == 403
    assert unit_a.post(f"/unit/unit_application/edit/?id={draft}", data={
        "item": item_id, "csrf_token": token}).status_code == 403
    assert unit_a.post("/unit/unit_application/delete/", data={
        "id": draft, "csrf_token": token}).status_code == 403
    assert not (view.can_create or view.can_edit or view.can_delete)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == before


@pytest.mark.parametrize("console", ["admin", "unit", "me"])
def test_consoles_refuse_other_kinds_and_anonymous(app, client, request, console):
    urls = [v.url.rstrip("/") + "/" for v in app.extensions["consoles"][console]._views]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location, url
    others = {"admin": "person_client", "unit": "person_client", "me": "unit_a"}
    request.getfixturevalue(others[console])
    for url in urls:
        assert client.get(url).status_code == 403, url


def _custom_rules(app, console):
    """URL rules of a console that take a row id (custom pages, not Flask-Admin's)."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith(f"/{console}/") and rule.arguments & ID_ARGUMENTS]


ID_ARGUMENTS = {"application_id", "attachment_id", "grant_id", "institution_id", "batch_id"}


@pytest.mark.parametrize("console", ["unit", "me"])
def test_every_page_taking_an_id_refuses_foreign_rows(app, request, console):
    from models import Attachment

    client = _login_for(console, request)
    own, foreign = _actors(console)
    theirs = db.session.scalar(sa.select(Application).where(
        scope_clause(Application, foreign), sa.not_(scope_clause(Application, own))).limit(1))
    (Path(app.config["UPLOAD_DIR"]) / "probe").write_bytes(b"%PDF-1.4 secret")
    material = "contract"
    attachment = Attachment(application_id=theirs.id, material=material, file_name="x.pdf",
                            content_type="application/pdf", size=15, sha256="0" * 64,
                            stored_path="probe")
    db.session.add(attachment)
    db.session.commit()
    from models import Grant, ImportBatch, Institution, ServiceItem

    if foreign.unit_id:
        item_id = db.session.scalar(sa.select(ServiceItem.id).where(
            ServiceItem.code == "SB_ENROLL_BATCH"))
        db.session.add(ImportBatch(unit_id=foreign.unit_id, item_id=item_id, file_name="x",
                                   sha256="0" * 64, rows=[{"id_no": "x", "row_no": 2}]))
        db.session.commit()

    def their_id(model):
        return db.session.scalar(sa.select(model.id).where(
            scope_clause(model, foreign), sa.not_(scope_clause(model, own))).limit(1))

    values = {"application_id": theirs.id, "attachment_id": attachment.id, "sheet": "form",
              "code": "SB_ENROLL", "grant_id": their_id(Grant),
              "institution_id": their_id(Institution), "batch_id": their_id(ImportBatch)}
    rules = _custom_rules(app, console)
    assert rules, "the filing desk takes ids"
    token = csrf_token(client)
    state = theirs.state
    for rule in rules:
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(values[name])).replace(
                f"<{name}>", str(values[name]))
        for method in rule.methods & {"GET", "POST"}:
            response = client.open(url, method=method, data={
                "csrf_token": token, "action": "withdraw", "rating": 5, "material": material,
                "courier": "x", "tracking_no": "y"})
            assert response.status_code in (403, 404), (method, url, response.status_code)
    assert db.session.get(Application, theirs.id).state == state
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment).where(
        Attachment.application_id == theirs.id)) == 1


def test_a_scope_clause_kept_for_one_actor_is_never_another_actors():
    """scope_clause keeps each clause per (model, Actor): a narrower grant, another unit or
    another kind is another Actor and gets its own clause, at once."""
    import dataclasses

    from rules.codes import GrantLevel

    def sql(actor):
        return str(sa.select(Application.id).where(scope_clause(Application, actor)).compile(
            compile_kwargs={"literal_binds": True}))

    rep = Actor(1, AccountKind.UNIT_MEMBER, person_id=1, unit_id=7,
                grant_level=GrantLevel.LEGAL_REP, grant_items=frozenset())
    agent = dataclasses.replace(rep, grant_level=GrantLevel.AGENT,
                                grant_items=frozenset({"SB_ENROLL"}))
    other_unit = dataclasses.replace(rep, unit_id=8)
    assert scope_clause(Application, rep) is scope_clause(Application, rep)
    seen = [sql(rep), sql(agent), sql(other_unit), sql(rep)]
    assert seen[0] == seen[3] and len(set(seen)) == 3
    assert "SB_ENROLL" in seen[1] and "= 8" in seen[2] and "= 7" in seen[0]
