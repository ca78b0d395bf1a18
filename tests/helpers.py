"""Small factories and page helpers shared by the journey tests."""
from __future__ import annotations

import random
import re

import sqlalchemy as sa

from models import Application, Grant, Person, Unit, db
from models.demo import make_id_no
from tests.conftest import UNIT_A, csrf_token, login

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
#: A talent filing's every required answer (manual 003's form), for 张伟 at unit A.
TALENT = {"name": "张伟", "gender": "M", "id_type": "01", "id_no": "360426199101010071",
          "phone": "13800000003", "birth_date": "1991-01-01", "nation": "汉族",
          "birthplace": "江西星子", "political_status": "13", "arrived_on": "2015-07-01",
          "industry": "digital", "work_status": "employed", "unit_uscc": "91330106MA2ABCDE1G",
          "unit_category": "enterprise", "specialty": "软件工程", "education": "20",
          "school": "浙江大学", "degree": "3", "level": "C",
          "condition": "省级重点企业研究院核心技术骨干"}


def fresh_id_no(seed: int = 7) -> str:
    """A valid resident ID number nobody in the database has."""
    used = set(db.session.scalars(sa.select(Person.id_no)))
    return make_id_no(random.Random(seed), used)


def filing_id(response) -> int:
    """The filing id a redirect to its detail page names."""
    match = re.search(r"/filing/(\d+)/", response.location)
    assert match, response.location
    return int(match.group(1))


def new_filing(client, console, code, data, intent="draft", token=None):
    """Post the filing form of ``code``; returns the response."""
    form = {"csrf_token": csrf_token(client), "intent": intent, **data}
    if token:
        form["client_token"] = token
    return client.post(f"/{console}/filing/new/{code}/", data=form)


def act(client, console, application_id, action, comment="", version=None):
    """Press an action button on a filing's page."""
    if version is None:
        version = db.session.get(Application, application_id).version
    return client.post(f"/{console}/filing/{application_id}/act/", data={
        "csrf_token": csrf_token(client), "action": action, "version": version,
        "comment": comment}, follow_redirects=True)


def upload(client, console, application_id, material, data=PDF, name="合同.pdf"):
    """Upload one material file."""
    import io

    return client.post(f"/{console}/filing/{application_id}/upload/", data={
        "csrf_token": csrf_token(client), "material": material,
        "file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
        follow_redirects=True)


def review(client, application_id, action, comment="", version=None):
    """A reviewer presses a button on the review page."""
    if version is None:
        version = db.session.get(Application, application_id).version
    return client.post(f"/admin/admin_application/review/{application_id}/", data={
        "csrf_token": csrf_token(client), "action": action, "comment": comment,
        "version": version}, follow_redirects=True)


def switch(client, kind, login_name, unit_code=""):
    """Log out and log in as someone else."""
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert login(client, kind, login_name, unit_code).status_code == 302


def member(level: str, items: str | None = None, unit_uscc: str = UNIT_A) -> Person:
    """A current member of a demo unit at ``level`` (and with these item codes)."""
    query = sa.select(Person).join(Grant, Grant.person_id == Person.id).join(Unit).where(
        Unit.uscc == unit_uscc, Grant.level == level, Grant.valid_to.is_(None) |
        (Grant.valid_to > sa.func.current_date()))
    if items is not None:
        query = query.where(Grant.item_codes == items)
    return db.session.scalars(query).first()


def no_propagation(app):
    """An exception in a view answers 500 as in production (reset PROPAGATE_EXCEPTIONS to None
    afterwards)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
