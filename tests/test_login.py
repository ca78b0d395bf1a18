"""The one login page: every kind of account, and the ways a login is refused."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from models import (
    Account,
    AuditEvent,
    Grant,
    Institution,
    LoginLog,
    LoginSession,
    Person,
    Unit,
    db,
)
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


# --- sessions that end (issue 10, item 5) ------------------------------------------------------

def test_the_cookie_from_before_logout_no_longer_opens_the_console(person_client):
    old_cookie = person_client.get_cookie("session").value
    person_client.post("/logout", data={"csrf_token": csrf_token(person_client)})
    person_client.set_cookie("session", old_cookie)
    assert person_client.get("/me/").status_code == 302
    ended = db.session.scalar(sa.select(LoginSession).order_by(LoginSession.id.desc()))
    assert ended.end_reason == "logout"


def test_idle_timeout_ends_the_session_on_the_server(client, clock):
    assert login(client, "person", PERSON).status_code == 302
    clock.advance(minutes=29)
    assert client.get("/me/").status_code == 200  # and counts as activity
    clock.advance(minutes=29)
    assert client.get("/me/").status_code == 200
    clock.advance(minutes=30)
    assert client.get("/me/").status_code == 302
    assert db.session.scalar(sa.select(LoginLog.reason).where(
        LoginLog.outcome == "expired")) == "空闲超时"


def test_absolute_lifetime_ends_even_a_busy_session(client, clock):
    assert login(client, "person", PERSON).status_code == 302
    for _ in range(11 * 3):  # a page every 20 minutes for 11 hours
        clock.advance(minutes=20)
        assert client.get("/me/").status_code == 200
    clock.advance(minutes=59)
    assert client.get("/me/").status_code == 302


def test_session_lifetimes_are_settings(app, client, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 60)
    assert login(client, "person", PERSON).status_code == 302
    clock.advance(seconds=61)
    assert client.get("/me/").status_code == 302


# --- login reveals nothing, holds nothing (items 4; issue 13) -----------------------------------

def test_an_unknown_name_answers_like_a_wrong_password_and_costs_a_hash(client, monkeypatch):
    from argon2 import PasswordHasher

    verified = []
    original = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify",
                        lambda self, h, p: verified.append(h) or original(self, h, p))
    known = login(client, "person", PERSON, password="Wrong@2026")
    unknown = login(client, "person", "360426199101019999", password="Wrong@2026")
    assert known.status_code == unknown.status_code == 401
    assert _message(known) == _message(unknown)
    assert len(verified) == 2 and all(h.startswith("$argon2id$") for h in verified)


def _message(response):
    import re

    return re.findall(r'role="alert">([^<]+)<', response.get_data(as_text=True))


def test_no_transaction_is_open_while_the_password_is_verified(client, monkeypatch):
    import models.auth

    seen = []
    original = models.auth.verify_password
    monkeypatch.setattr(models.auth, "verify_password",
                        lambda h, p: seen.append(db.session().in_transaction()) or original(h, p))
    assert login(client, "person", PERSON).status_code == 302
    assert login(client, "person", PERSON, password="Wrong@2026").status_code == 401
    assert seen == [False, False]


def test_hashing_uses_the_owasp_profile_and_a_bounded_number_of_slots(app):
    from app import ARGON2_PRODUCTION
    from models.account import _hash_slots

    assert ARGON2_PRODUCTION == {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
    slots = _hash_slots()
    assert all(slots.acquire(blocking=False) for _ in range(app.config[
        "PASSWORD_HASH_CONCURRENCY"]))
    assert not slots.acquire(blocking=False)  # a fifth computation would wait
    for _ in range(app.config["PASSWORD_HASH_CONCURRENCY"]):
        slots.release()


# --- rate limits per address (item 2) -----------------------------------------------------------

def test_failed_logins_per_address_are_limited_with_a_chinese_429(client, app):
    from freezegun import freeze_time

    with freeze_time() as frozen:
        for n in range(10):
            assert login(client, "person", f"1380000{n:04d}", password="x").status_code == 401
        limited = login(client, "person", PERSON)
        assert limited.status_code == 429
        body = limited.get_data(as_text=True)
        assert "后再试" in body and "北京时间" in body and int(limited.headers["Retry-After"]) <= 60
        # A header the client sets does not choose its address (no trusted proxy configured).
        spoofed = client.post("/login", headers={"X-Forwarded-For": "203.0.113.1"}, data={
            "kind": "person", "login": PERSON, "password": "x", "csrf_token": csrf_token(client)})
        assert spoofed.status_code == 429
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "10.1.1.1"
        assert login(other, "person", PERSON).status_code == 302
        frozen.tick(61)
        assert login(client, "person", PERSON).status_code == 302
    limited = db.session.scalars(sa.select(LoginLog).where(
        LoginLog.outcome == "rate_limited")).all()
    assert [(row.ip, row.kind, row.login_name) for row in limited] == [
        ("127.0.0.1", "individual", PERSON)] * 2


def test_behind_a_trusted_proxy_the_forwarded_address_counts(app):
    from app import create_app

    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})
    client = proxied.test_client()
    login(client, "person", PERSON, password="x")
    client.post("/login", headers={"X-Forwarded-For": "203.0.113.5"}, data={
        "kind": "person", "login": PERSON, "password": "x", "csrf_token": csrf_token(client)})
    ips = db.session.scalars(sa.select(LoginLog.ip).order_by(LoginLog.id)).all()
    assert ips == ["127.0.0.1", "203.0.113.5"]


# --- staff pages: 在线用户, 登录日志, the SMS outbox (items 5, 6, 7) ----------------------------

def test_online_users_lists_live_sessions_and_an_admin_forces_one_out(app, as_staff):
    victim = app.test_client()
    victim.environ_base["REMOTE_ADDR"] = "10.0.0.77"
    assert login(victim, "unit", REP_A, UNIT_A).status_code == 302
    record = db.session.scalar(sa.select(LoginSession).order_by(LoginSession.id.desc()))

    auditor = as_staff("auditor")
    page = auditor.get("/admin/admin_online/").get_data(as_text=True)
    assert "10.0.0.77" in page and "杭州西湖示例科技有限公司" in page and "单位用户" in page
    auditor.post("/admin/admin_online/action/", data={
        "action": "force_logout", "rowid": str(record.id), "csrf_token": csrf_token(auditor)})
    assert victim.get("/unit/").status_code == 200  # an auditor cannot end it

    admin = as_staff("admin")
    done = admin.post("/admin/admin_online/action/", data={
        "action": "force_logout", "rowid": str(record.id), "csrf_token": csrf_token(admin)},
        follow_redirects=True)
    assert "已强制退出1个会话" in done.get_data(as_text=True)
    assert victim.get("/unit/").status_code == 302
    assert "10.0.0.77" not in admin.get("/admin/admin_online/").get_data(as_text=True)
    audit = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "session:force_logout"))
    assert audit.object_id == str(record.id) and audit.actor_label == "系统管理员"


def test_login_log_is_filterable_and_exportable(client, as_staff):
    login(client, "person", PERSON, password="Wrong@2026")
    login(client, "person", PERSON)
    auditor = as_staff("auditor")
    failures = auditor.get("/admin/admin_login_log/?flt0_0=failure").get_data(as_text=True)
    assert set(re.findall(r'class="col-outcome">\s*(\S+)\s*<', failures)) == {"登录失败"}
    csv = auditor.get("/admin/admin_login_log/export/csv/").get_data(as_text=True)
    assert "登录结果" in csv.splitlines()[0] and "登录失败" in csv and "登录成功" in csv


def test_the_sms_outbox_is_for_system_admins_and_masks_codes(client, as_staff):
    client.post("/forgot", data={"uscc": UNIT_A, "id_type": "01", "id_no": REP_A,
                                 "name": "王丽华", "csrf_token": csrf_token(client)})
    assert as_staff("auditor").get("/admin/admin_sms_outbox/").status_code == 403
    assert as_staff("clerk").get("/admin/admin_sms_outbox/").status_code == 403
    page = as_staff("admin").get("/admin/admin_sms_outbox/").get_data(as_text=True)
    assert "验证码为******" in page


# --- headers and cookies (item 6) ---------------------------------------------------------------

def test_security_headers_and_a_csp_without_inline_script(client, person_client):
    for url in ("/login", "/me/"):
        headers = person_client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split(
            "script-src")[1].split(";")[0]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    assert "/static/js/actions.js" in person_client.get("/me/").get_data(as_text=True)


def test_no_template_writes_an_inline_handler():
    import pathlib
    import re

    inline = re.compile(r"\son(click|change|submit|load)=|javascript:", re.I)
    offenders = [str(path) for path in pathlib.Path("templates").rglob("*.html")
                 if inline.search(path.read_text())]
    assert offenders == []


def test_session_cookie_flags_follow_the_https_setting(app, client):
    cookie = login(client, "person", PERSON).headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie
    from app import create_app

    secure = create_app({**app.config, "HTTPS": True}).test_client()
    cookie = login(secure, "person", PERSON).headers.getlist("Set-Cookie")
    assert all("Secure" in c for c in cookie)


def test_rate_limits_live_in_redis_when_redis_url_is_set(app):
    import pytest
    import redis

    from app import create_app
    from views.security import limiter

    url = "redis://127.0.0.1:6379/10"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    try:
        shared = create_app({**app.config, "REDIS_URL": url, "RATELIMIT_STORAGE_URI": None})
        assert type(limiter.storage).__name__ == "RedisStorage"
        limiter.reset()
        client = shared.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
        for n in range(10):
            assert login(client, "person", f"1380000{n:04d}", password="x").status_code == 401
        assert login(client, "person", PERSON).status_code == 429
        assert any(b"10.9.9.9" in key for key in redis.Redis.from_url(url).keys("LIMITS*"))
    finally:
        limiter.reset()
        create_app({**app.config})  # the limiter shared by the apps goes back to memory
    assert type(limiter.storage).__name__ == "MemoryStorage"


def test_a_phone_two_people_share_logs_nobody_in_and_answers_401(client):
    other = db.session.scalar(sa.select(Person).where(Person.phone.is_(None)).limit(1))
    other.phone = "13800000003"  # 张伟's phone, recorded twice by an old import
    db.session.add(Account(kind="individual", person_id=other.id, login_key=f"person:{other.id}",
                           password_hash="!", display_name=other.name))
    db.session.commit()
    assert login(client, "person", "13800000003").status_code == 401
    assert login(client, "person", PERSON).status_code == 302


# --- who acts, read once per request ------------------------------------------------------

def _who_acts_statements(client, url):
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    tables = ("from account", "login_session", "from grant", "from unit", "staff_role",
              "from institution", "join grant", "join unit")
    return [s for s in statements if any(t in s for t in tables)]


@pytest.mark.parametrize("who", ["unit", "staff", "institution"])
def test_the_actor_is_read_in_one_statement_per_request(client, who):
    if who == "unit":
        assert login(client, "unit", REP_A, UNIT_A).status_code == 302
        url = "/unit/unit_enrollment/"
    elif who == "staff":
        assert login(client, "staff", "clerk").status_code == 302
        url = "/admin/admin_service_item/"
    else:
        account = db.session.scalar(sa.select(Account).where(Account.kind == "institution"))
        institution = db.session.get(Institution, account.institution_id)
        person = db.session.get(Person, account.person_id)
        assert login(client, "institution", person.id_no,
                     institution.institution_no).status_code == 302
        url = "/unit/"
    client.get(url)
    found = _who_acts_statements(client, url)
    assert len(found) == 1, found
    assert "login_session" in found[0]
