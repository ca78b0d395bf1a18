"""The access test, generated from the app's URL map.

Every rule × every actor (anonymous; a unit's legal representative, administrator, an agent
with and one without the object's item; an institution; an individual; each staff role with
no region and limited to another region) × objects of unit A, of unit B and of the
individual. The expected answer comes from the policy (the consoles' account kinds, the staff
permission matrix, ``models.scope`` and ``rules.policy``), never from a list per view; a rule
whose endpoint or argument the test does not know fails it.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_admin.contrib.sqla import ModelView

from app import create_app
from models import (
    Account,
    Application,
    Attachment,
    DeliveryAddress,
    Enrollment,
    Grant,
    ImportBatch,
    Institution,
    Person,
    ServiceItem,
    StaffRole,
    TalentRecognition,
    Unit,
    db,
)
from models import jobs, storage
from models.auth import actor_for
from models.jobs import Job
from models.scope import scope_clause
from rules import permissions as p
from rules import policy
from rules.codes import AccountKind, JobKind
from tests.conftest import PERSON, REP_A, UNIT_A, UNIT_B, csrf_token, login
from tests.helpers import PDF, member

LOGIN, DENY, ALLOW, ANY = "login", "deny", "allow", "any"

#: Pages outside the consoles: open to anyone, or to any logged-in account.
PUBLIC = {"auth.login", "auth.logout", "auth.login_code", "account.forgot",
          "account.forgot_finish", "account.register", "account.register_finish",
          "account.upgrade", "account.upgrade_units", "account.upgrade_finish",
          "verify.check", "home", "favicon",
          "health.healthz", "health.metrics",
          "portal.index", "portal.items", "portal.item", "portal.notices", "portal.notice",
          "portal.agreement", "portal.paper_form", "portal.talent_publicity",
          "portal.talent_result", "portal.section", "portal.queries", "portal.channels",
          "portal.channel"}
LOGGED_IN = {"account.password", "account.phone"}

#: Flask-Admin's ModelView endpoints → the operation they need and where the row id goes.
MODEL_ENDPOINTS = {
    "index_view": (p.READ, None), "export": (p.READ, None), "ajax_lookup": (p.READ, None),
    "details_view": (p.READ, "args"), "create_view": (p.WRITE, None),
    "edit_view": (p.WRITE, "args"), "ajax_update": (p.WRITE, "list_form_pk"),
    "delete_view": (p.DELETE, "id"), "action_view": (p.READ, "rowid"),
}
#: Custom endpoints: the operation (for staff views) and, when the policy says more than
#: "reach the row", the predicate (actor, row) → allowed.
CUSTOM = {
    "admin_application.review": (p.REVIEW, None),
    "admin_application.delivery": (p.REVIEW, None),
    "admin_application.attachment": (p.READ, None),
    "admin_application.preview": (p.READ, None),
    "admin_legacy_account.import_view": (p.WRITE, None),
    # The counter's own region check (reset, cancel, unlock, open, verify) is issue 10's
    # (views/counter.py); here: the staff kind and the COUNTER right.
    "admin_counter.index": (p.WRITE, None),
    "admin_counter.service": (p.WRITE, None),
    "admin_counter.verify": (p.WRITE, "unchecked"),
}
FILING_DESK = {
    "index": None, "new": "may_file", "detail": None, "edit": "may_change",
    "act": None, "delete": None, "upload": None, "attachment": None, "rate": None,
    "print_sheet": None, "certificate": "certificate", "lookup": "unit_only",
    "workbench": "unit_only", "batch_drop_row": None, "batch_file": None, "receipt": None,
    "lookup_suspend": "unit_only", "remove_attachment": "may_file_material",
    "units": "individual_only",
}
UNIT_DESKS = {
    "unit_import.index": None, "unit_import.template": "may_file",
    "unit_import.upload": "may_file", "unit_import.batch": None, "unit_import.errors": None,
    "unit_import.save": None, "unit_import.confirm": None,
    "unit_query.index": None, "unit_query.payables": None, "unit_query.payable_detail": None,
    "unit_query.benefits": None, "unit_query.benefit_detail": None,
    "unit_query.pension": None, "unit_query.payments": None, "unit_query.certificate": None,
    "unit_members.index": None, "unit_members.add": None, "unit_members.edit": None,
    "unit_members.revoke": None, "unit_members.reset": None,
    "unit_members.unlock": None, "unit_institutions.index": None,
    "unit_institutions.open": "manager", "unit_institutions.reset": "manager",
    "me_query.index": None, "me_query.certificate": None,
    "unit_settings.index": None, "unit_settings.add": None, "unit_settings.make_default": None,
    "unit_settings.remove": None, "me_settings.index": None, "me_settings.add": None,
    "me_settings.make_default": None, "me_settings.remove": None,
    "unit_home.index": None, "unit_home.favourite": None, "me_home.index": None,
    "me_home.favourite": None, "unit_deliveries.index": None,
    "unit_talent.index": None, "me_talent.index": None,
    "unit_settings.competent_dept": "manager", "me_settings.competent_dept": "unit_only",
    "me_certificates.index": None, "me_certificates.renew": None, "me_certificates.show": None,
    # 我的导入 / 我的导出: a job is its owner's only; a desk shows only its own kind of job
    **{f"{console}_exports.{name}": "export_job" for console in ("admin", "unit", "me")
       for name in ("index", "job", "status", "download")},
    **{f"unit_imports.{name}": "import_job" for name in ("index", "job", "status", "download")},
}
#: Rule arguments: a row of this model, or a fixed value.
ARG_MODELS = {"application_id": Application, "attachment_id": Attachment, "grant_id": Grant,
              "institution_id": Institution, "batch_id": ImportBatch, "unit_id": Unit,
              "address_id": DeliveryAddress, "item_id": ServiceItem,
              "recognition_id": TalentRecognition, "job_id": Job}
ARG_VALUES = {"export_type": "csv", "sheet": "form", "period": "202610", "service": "reset",
              "code": None, "kind": None, "notice_id": 1, "slug": "open"}
KIND_VALUES = {"unit_query.payable_detail": "110", "unit_query.benefit_detail": "pension",
               "portal.section": "unit"}
CODE_VALUES = {"unit_import.template": "SB_ENROLL_BATCH", "unit_import.upload": "SB_ENROLL_BATCH",
               "unit_filing.new": "SB_ENROLL", "me_filing.new": "RC_TALENT",
               "unit_home.favourite": "SB_ENROLL", "me_home.favourite": "RC_TALENT",
               "verify.check": "NOSUCHCODE", "portal.channel": "330106"}

ACTORS = ["anonymous", "legal_rep", "admin", "agent_with_item", "agent_without_item",
          "institution", "individual",
          *[f"{role}{where}" for role in ("system_admin", "counter_clerk", "reviewer", "auditor")
            for where in ("", "@330902")]]
STAFF_USER = {"system_admin": "admin", "counter_clerk": "clerk", "reviewer": "reviewer",
              "auditor": "auditor"}


def _rules():
    probe = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "probe"})
    return [(r.rule, r.endpoint, sorted(r.methods - {"HEAD", "OPTIONS"}),
             sorted(r.arguments)) for r in probe.url_map.iter_rules()
            if not r.endpoint.endswith("static")]


RULES = _rules()


def _views(app):
    return {view.endpoint: (console, view)
            for console, admin in app.extensions["consoles"].items()
            for view in [admin.index_view, *admin._views]}


def _unit_id(uscc):
    return db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc))


def _objects(app):
    """Rows the matrix asks for: unit A's, unit B's and the individual's, per model."""
    upload_dir = Path(app.config["UPLOAD_DIR"])
    (upload_dir / "matrix.pdf").write_bytes(PDF)
    enroll = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "SB_ENROLL"))
    batch_item = db.session.scalar(sa.select(ServiceItem.id).where(
        ServiceItem.code == "SB_ENROLL_BATCH"))
    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    rows = {}
    for owner, uscc in (("A", UNIT_A), ("B", UNIT_B)):
        unit_id = _unit_id(uscc)
        employee = db.session.scalar(sa.select(Enrollment.person_id).where(
            Enrollment.unit_id == unit_id).limit(1))
        filing = Application(item_id=enroll.id, unit_id=unit_id, state="submitted",
                             subject_person_id=employee, payload={"id_no": "x"})
        db.session.add(filing)
        db.session.flush()
        rows[(Application, owner)] = filing.id
        batch = ImportBatch(unit_id=unit_id, item_id=batch_item, file_name="m.xlsx",
                            sha256=owner * 64, rows=[{"row_no": 2}], errors=[])
        db.session.add(batch)
        db.session.flush()
        rows[(ImportBatch, owner)] = batch.id
        rows[(Job, owner)] = _export_job(app, db.session.scalar(sa.select(Account.id).where(
            Account.kind == "unit_member", Account.unit_id == unit_id,
            Account.person_id.in_(sa.select(Person.id).where(Person.id_no == REP_A))
            if owner == "A" else sa.true()).order_by(Account.id).limit(1)))
    rows[(Job, "ME")] = _export_job(app, db.session.scalar(sa.select(Account.id).where(
        Account.kind == "individual")))
    talent = db.session.scalar(sa.select(Application.id).where(
        Application.subject_person_id == zhang.id, Application.state == "awaiting_unit"))
    rows[(Application, "ME")] = talent
    for owner in ("A", "B", "ME"):
        attachment = Attachment(application_id=rows[(Application, owner)], material="form",
                                file_name="m.pdf", content_type="application/pdf",
                                size=len(PDF), sha256="0" * 64, stored_path="matrix.pdf")
        db.session.add(attachment)
        db.session.flush()
        rows[(Attachment, owner)] = attachment.id
    db.session.commit()
    return rows


def _export_job(app, account_id):
    """A finished export of ``account_id``'s, its file in storage."""
    job = jobs.create(account_id, JobKind.EXPORT, "matrix.csv", {"export_type": "csv"})
    key = f"exports/matrix-{job.id}.csv"
    storage.save(key, io.BytesIO(b"a,b\n"))
    jobs.finish(job, {"key": key, "file_name": "matrix.csv", "size": 4}, hours=1)
    return job.id


def _row_for(model, owner, rows):
    """The id of a row of ``model`` owned by A, B or the individual (None if none)."""
    if (model, owner) in rows:
        return rows[(model, owner)]
    if owner == "ME":
        me = db.session.scalar(sa.select(Account).where(Account.kind == "individual"))
        where = scope_clause(model, actor_for(me, dt.date.today()))
    else:
        unit_id = _unit_id(UNIT_A if owner == "A" else UNIT_B)
        region = db.session.get(Unit, unit_id).region_code
        other = db.session.scalar(sa.select(Unit.region_code).where(Unit.id != unit_id,
                                                                      Unit.uscc.in_([UNIT_A,
                                                                                     UNIT_B])))
        mine = p.Actor(0, AccountKind.STAFF, roles=frozenset(), regions=frozenset({region}))
        theirs = p.Actor(0, AccountKind.STAFF, roles=frozenset(), regions=frozenset({other}))
        where = sa.and_(scope_clause(model, mine), sa.not_(scope_clause(model, theirs)))
        if model is Person:  # not the individual himself: he is the third party here
            where = sa.and_(where, Person.id_no != PERSON)
    return db.session.scalar(sa.select(model.id).where(where).order_by(model.id).limit(1))


def _log_in(client, name):
    """Log ``name`` in; returns its Actor (None for anonymous)."""
    if name == "anonymous":
        return None
    role, _, region = name.partition("@")
    if role in STAFF_USER:
        account = db.session.scalar(sa.select(Account).where(
            Account.username == STAFF_USER[role]))
        if region:
            for staff_role in db.session.scalars(sa.select(StaffRole).where(
                    StaffRole.account_id == account.id)):
                staff_role.region_code = region
            db.session.commit()
        assert login(client, "staff", STAFF_USER[role]).status_code == 302
    elif name == "institution":
        account = db.session.scalar(sa.select(Account).join(
            Institution, Institution.id == Account.institution_id).where(
            Account.kind == "institution", Institution.unit_id == _unit_id(UNIT_A)))
        person = db.session.get(Person, account.person_id)
        institution = db.session.get(Institution, account.institution_id)
        assert login(client, "institution", person.id_no,
                     institution.institution_no).status_code == 302
    elif name == "individual":
        account = db.session.scalar(sa.select(Account).where(Account.kind == "individual"))
        assert login(client, "person", PERSON).status_code == 302
    else:
        person = {"legal_rep": lambda: db.session.scalar(sa.select(Person).where(
                      Person.id_no == REP_A)),
                  "admin": lambda: member("admin"),
                  "agent_with_item": lambda: member("agent", "SB_ENROLL,SB_SUSPEND"),
                  "agent_without_item": lambda: member("agent", "RC_TALENT,JY_RECORD")}[name]()
        assert person is not None, name
        account = db.session.scalar(sa.select(Account).where(
            Account.kind == "unit_member", Account.person_id == person.id,
            Account.unit_id == _unit_id(UNIT_A)))
        assert login(client, "unit", person.id_no, UNIT_A).status_code == 302
    return actor_for(db.session.get(Account, account.id), dt.date.today())


def _reach(model, row_id, actor) -> bool:
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(
        model.id == row_id, scope_clause(model, actor))))


def _admitted(console, view, actor) -> bool:
    """The policy's first question: may this kind of account open this page at all?"""
    from views.consoles import CONSOLES

    if actor.kind not in CONSOLES[console][2]:
        return False
    kinds = getattr(view, "kinds", None)
    return not kinds or actor.kind in kinds


def _item(code):
    return db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == code))


def _expected(endpoint, console, view, actor, model, row_id):
    """What the policy answers for ``actor`` on ``endpoint`` with this row (or none)."""
    if actor is None:
        return LOGIN
    if not _admitted(console, view, actor):
        return DENY
    name = endpoint.split(".", 1)[1]
    staff_view = console == "admin" and endpoint not in ("admin.index",)
    if isinstance(view, ModelView):
        operation, _ = MODEL_ENDPOINTS.get(name) or CUSTOM[endpoint]
        if staff_view:
            if not p.staff_may(actor.roles, view.resource, operation):
                return DENY
            if operation == p.WRITE and not view.can_edit and name != "create_view" or \
                    name == "create_view" and not view.can_create or \
                    operation == p.DELETE and not view.can_delete:
                return DENY
        elif operation in (p.WRITE, p.DELETE):
            return DENY  # the unit and personal consoles change data only by operations
        if name == "export" and not view.can_export:
            return DENY
    elif getattr(view, "staff_right", None) and actor.kind == AccountKind.STAFF:
        if not p.staff_may(actor.roles, *view.staff_right):
            return DENY
    if row_id is not None and not _reach(model, row_id, actor):
        return DENY
    extra = FILING_DESK.get(name) if endpoint.split(".")[0].endswith("_filing") else \
        UNIT_DESKS.get(endpoint)
    row = db.session.get(model, row_id) if row_id is not None else None
    if extra == "may_file":
        code = CODE_VALUES[endpoint]
        if not policy.may_file(actor, _item(code)):
            return DENY
    elif extra == "may_change" and not policy.may_change_filing(actor, row, row.item):
        return DENY
    elif extra == "may_file_material" and not policy.may_file(actor, row.application.item):
        return DENY
    elif extra in ("export_job", "import_job") and row is not None and \
            row.kind != extra.removesuffix("_job"):
        return DENY
    elif extra == "unit_only" and actor.kind != AccountKind.UNIT_MEMBER:
        return DENY
    elif extra == "individual_only" and actor.kind != AccountKind.INDIVIDUAL:
        return DENY
    elif extra == "manager" and actor.grant_level == "agent":
        return DENY
    elif extra == "certificate":
        employed = bool(db.session.scalar(sa.select(sa.func.count()).select_from(
            Enrollment).where(Enrollment.person_id == row.subject_person_id,
                              Enrollment.unit_id == actor.unit_id)))
        if not (actor.kind == AccountKind.INDIVIDUAL or policy.may_issue_certificate(
                actor, employed)):
            return DENY
    return ALLOW


def _known(endpoint, views):
    """Where the test knows an endpoint from; unknown endpoints fail the test."""
    if endpoint in PUBLIC or endpoint in LOGGED_IN:
        return True
    prefix, _, name = endpoint.partition(".")
    if prefix not in views:
        return False
    _, view = views[prefix]
    if endpoint in CUSTOM or endpoint in UNIT_DESKS:
        return True
    if getattr(view, "staff_right", None):
        return True  # a staff desk: the right it declares is the policy for every page
    if prefix.endswith("_filing"):
        return name in FILING_DESK
    if prefix in ("admin", "unit", "me"):
        return name == "index"
    return isinstance(view, ModelView) and name in MODEL_ENDPOINTS


def _check(response, expected, where):
    status = response.status_code
    assert status < 500, where
    to_login = status == 302 and "/login" in (response.location or "")
    if expected == LOGIN:
        assert to_login, where
    elif expected == DENY:
        assert status in (403, 404), where
    elif expected == ALLOW:
        assert not to_login and status not in (403, 404), where
    # ANY: the policy allows it; the page may still refuse for the object's state


def test_every_endpoint_is_known_to_the_matrix(app):
    views = _views(app)
    unknown = [endpoint for _, endpoint, _, _ in RULES if not _known(endpoint, views)]
    arguments = {a for _, _, _, args in RULES for a in args}
    assert not unknown, f"endpoints the access matrix does not know: {unknown}"
    assert arguments <= set(ARG_MODELS) | set(ARG_VALUES) | {"id"}, arguments


@pytest.mark.parametrize("actor_name", ACTORS)
def test_access_matrix(app, client, actor_name):
    views = _views(app)
    rows = _objects(app)
    actor = _log_in(client, actor_name)
    token = csrf_token(client)
    checked = 0
    for rule, endpoint, methods, arguments in RULES:
        assert _known(endpoint, views), f"unknown endpoint {endpoint}"
        if endpoint in PUBLIC:
            continue
        if endpoint in LOGGED_IN:
            # staff accounts have no phone of their own: account.phone sends them home
            _check(client.get(rule), LOGIN if actor is None else ANY
                   if actor.kind == AccountKind.STAFF else ALLOW, (actor_name, rule))
            checked += 1
            continue
        console, view = views[endpoint.partition(".")[0]]
        name = endpoint.partition(".")[2]
        model_arg = next((a for a in arguments if a in ARG_MODELS), None)
        model = ARG_MODELS[model_arg] if model_arg else None
        via = None
        if isinstance(view, ModelView) and endpoint not in CUSTOM:
            via = MODEL_ENDPOINTS[name][1]
            model = view.model if via else None
        if endpoint in CUSTOM and CUSTOM[endpoint][1] == "unchecked":
            model = None  # the row's own check lives with its owner (see CUSTOM)
        owners = ("A", "B", "ME") if model is not None or model_arg else (None,)
        if owners == (None,) and "@" in actor_name:
            continue  # a region changes rows, not which pages open: the rows are checked
        for owner in owners:
            row_id = _row_for(model or ARG_MODELS[model_arg], owner, rows) if owner else None
            if owner and row_id is None:
                continue
            url = rule
            for arg in arguments:
                value = row_id if arg in ARG_MODELS else \
                    KIND_VALUES.get(endpoint) if arg == "kind" else \
                    CODE_VALUES.get(endpoint) if arg == "code" else ARG_VALUES[arg]
                url = url.replace(f"<int:{arg}>", str(value)).replace(f"<{arg}>", str(value))
            data = {"csrf_token": token, "action": "noop", "rating": 5}
            if via == "args":
                url += f"?id={row_id}"
            elif via:
                data[via] = row_id
            expected = _expected(endpoint, console, view, actor, model, row_id) \
                if model is not None or not model_arg else \
                _expected(endpoint, console, view, actor, ARG_MODELS[model_arg], None)
            if endpoint == "admin_counter.verify" or name == "ajax_lookup":
                # verify: see CUSTOM; ajax lookups answer 404 to a loader name they lack
                expected = ANY if expected == ALLOW else expected
            for method in methods:
                if method == "POST" and expected == ALLOW:
                    expected_here = ANY  # a state may refuse; the policy did not
                else:
                    expected_here = expected
                if method == "POST" and "GET" in methods and via != "list_form_pk" and \
                        name not in ("delete_view", "action_view"):
                    continue  # the GET says whether the page opens; its form posts back
                response = client.open(url, method=method, data=data if method == "POST"
                                       else None)
                _check(response, expected_here, (actor_name, method, url, owner, expected))
                checked += 1
    assert checked > 250
