"""The one login page: every kind of account, and the ways a login is refused."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models import Account, Grant, Institution, LoginLog, Person, Unit, db
from rules.codes import GrantLevel, OnlineStatus
from tests.conftest import PERSON, REP_A, UNIT_A, csrf_token, login


def test_login_page_offers_the_four_kinds(client):
    html = client.get("/login").get_data(as_text=True)
    for label in ("个人", "单位", "机构", "工作人员"):
        assert label in html


def test_staff_login_lands_on_staff_console(client):
    response = login(client, "staff", "admin")
    assert response.status_code == 302 and response.location.endswith("/admin/")
    assert "系统管理员" in client.get("/admin/").get_data(as_text=True)


def test_unit_login_by_credit_code_or_unit_no_and_id_or_phone(client):
    assert login(client, "unit", REP_A, UNIT_A).location.endswith("/unit/")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert login(client, "unit", "13800000001", "3301060001").location.endswith("/unit/")
    assert "法定代表人" in client.get("/unit/").get_data(as_text=True)


def test_person_login_by_id_or_phone(client):
    assert login(client, "person", PERSON).location.endswith("/me/")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert login(client, "person", "13800000003").location.endswith("/me/")


def test_institution_login(client):
    admin_id = db.session.scalar(sa.select(Person.id_no).join(
        Institution, Institution.admin_person_id == Person.id).where(
        Institution.institution_no == "JG3301060001"))
    response = login(client, "institution", admin_id, "JG3301060001")
    assert response.status_code == 302 and response.location.endswith("/unit/")


def test_wrong_password_is_refused_and_logged(client):
    response = login(client, "person", PERSON, password="Wrong@2026")
    assert response.status_code == 401
    assert "登录信息有误" in response.get_data(as_text=True)
    assert client.get("/me/").status_code == 302
    account = db.session.scalar(sa.select(Account).where(Account.login_key.like("person:%")))
    assert account.failed_logins == 1
    row = db.session.scalar(sa.select(LoginLog).where(LoginLog.outcome == "failure"))
    assert (row.account_id, row.ip, row.login_name) == (account.id, "127.0.0.1", PERSON)


def test_unknown_kind_or_wrong_unit_is_refused(client):
    assert login(client, "unit", REP_A, "91330902MA2XYW0Q7T").status_code == 401
    assert login(client, "staff", REP_A).status_code == 401


def test_expired_grant_cannot_log_in(client):
    expired = db.session.scalars(sa.select(Grant).where(Grant.valid_to < dt.date.today())).first()
    response = login(client, "unit", expired.person.id_no, expired.unit.uscc)
    assert response.status_code == 403
    assert "授权已过期" in response.get_data(as_text=True)


def test_grant_expiring_ends_an_open_session(unit_a):
    grant = db.session.scalar(sa.select(Grant).join(Unit).where(
        Unit.uscc == UNIT_A, Grant.level == GrantLevel.LEGAL_REP))
    assert unit_a.get("/unit/").status_code == 200
    grant.valid_to = dt.date.today() - dt.timedelta(days=1)
    db.session.commit()
    assert unit_a.get("/unit/").status_code == 302


def test_cancelled_online_rights_refuse_login_and_end_sessions(unit_a, app):
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == UNIT_A))
    unit.online_status = OnlineStatus.CANCELLED
    db.session.commit()
    assert unit_a.get("/unit/").status_code == 302  # the open session is gone
    other = app.test_client()
    response = login(other, "unit", REP_A, UNIT_A)
    assert response.status_code == 403 and "已注销" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"kind": "person", "login": PERSON,
                                           "password": "Demo@2026"})
    assert response.status_code == 400
    assert client.get("/me/").status_code == 302


def test_admin_post_without_csrf_token_is_refused(as_staff):
    client = as_staff("admin")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
    response = client.post("/admin/admin_unit/new/", data={
        "uscc": "91330106MA2ABCDE1G", "unit_no": "X1", "name": "x", "unit_type": "enterprise",
        "region_code": "330106", "status": "normal", "online_status": "active"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == before


def test_next_redirect_stays_on_site(client):
    token = csrf_token(client)
    data = {"kind": "person", "login": PERSON, "password": "Demo@2026", "csrf_token": token}
    response = client.post("/login?next=https://evil.example/x", data=data)
    assert response.location.endswith("/me/")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    data["csrf_token"] = csrf_token(client)
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.location.endswith("/me/")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    data["csrf_token"] = csrf_token(client)
    response = client.post("/login?next=/me/me_enrollment/", data=data)
    assert response.location.endswith("/me/me_enrollment/")


def test_logout_ends_the_session(person_client):
    assert person_client.get("/me/").status_code == 200
    person_client.post("/logout", data={"csrf_token": csrf_token(person_client)})
    assert person_client.get("/me/").status_code == 302


def test_password_change_ends_other_sessions(person_client, app):
    account = db.session.scalar(sa.select(Account).where(Account.login_key.like("person:%")))
    account.set_password("New@Pass2026")
    db.session.commit()
    assert person_client.get("/me/").status_code == 302


def test_passwords_are_argon2id_hashes():
    account = db.session.scalar(sa.select(Account).where(Account.username == "admin"))
    assert account.password_hash.startswith("$argon2id$")
