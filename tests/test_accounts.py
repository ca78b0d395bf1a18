"""Accounts and delegated authority, through the pages their users meet."""
from __future__ import annotations

import datetime as dt
import html
import io
import random
import re

import pytest
import sqlalchemy as sa

from models import (
    Account,
    AuditEvent,
    Grant,
    Institution,
    LegacyAccount,
    LoginLog,
    Person,
    SmsCode,
    SmsOutbox,
    StaffRole,
    Unit,
    db,
    hash_password,
    utcnow,
)
from models.demo import DEMO_PASSWORD, make_id_no
from rules.passwords import password_problems
from tests.conftest import PERSON, REP_A, UNIT_A, UNIT_B, csrf_token, login
from tests.helpers import member, switch

NEW_PASSWORD = "Xy9#kLm2pQ"


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client), **data},
                       follow_redirects=True)


def _latest_code(phone):
    text = db.session.scalar(sa.select(SmsOutbox.text).where(SmsOutbox.phone == phone)
                             .order_by(SmsOutbox.id.desc()).limit(1))
    return re.search(r"验证码为(\d{6})", text).group(1)


def _receipt_password(response):
    found = re.search(r'id="password">([^<]+)<', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return html.unescape(found.group(1))


def registered_individual(seed):
    """A person with an individual account, as the counter would open one."""
    used = set(db.session.scalars(sa.select(Person.id_no)))
    person = Person(id_no=make_id_no(random.Random(seed), used), name=f"人员{seed}",
                    phone=f"137{seed:08d}")
    db.session.add(person)
    db.session.flush()
    db.session.add(Account(kind="individual", person_id=person.id, display_name=person.name,
                           login_key=f"person:{person.id}", password_hash=hash_password("x"),
                           must_change_password=False))
    db.session.commit()
    return person


# --- the password rule -----------------------------------------------------------------------

@pytest.mark.parametrize(("password", "ok"), [
    ("Abcdef1!", True), ("abcdef12", False), ("ABCdef12", True), ("abc!@#12", True),
    ("Ab1!", False), ("A" * 10 + "b1!" + "c" * 8, False), ("Abc def1!", False),
])
def test_password_policy(password, ok):
    assert (password_problems(password) == []) == ok


def test_password_may_not_equal_the_id_number():
    assert password_problems("330106198507210020", "330106198507210020")


# --- counter services -------------------------------------------------------------------------

def test_counter_opens_a_person_who_must_change_the_password_first(as_staff, app):
    clerk = as_staff("clerk")
    used = set(db.session.scalars(sa.select(Person.id_no)))
    id_no = make_id_no(random.Random(77), used)
    receipt = _post(clerk, "/admin/counter/open_person/", form_no="GR2026001", id_no=id_no,
                    name="窗口新人", phone="13711112222")
    assert "个人网上办事开通回执单" in receipt.get_data(as_text=True)
    assert receipt.headers["Cache-Control"] == "no-store"
    password = _receipt_password(receipt)
    assert not password_problems(password) and id_no[-6:] not in password
    audit = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "counter:open_person"))
    assert audit.after["form_no"] == "GR2026001" and audit.actor_label == "窗口受理员"

    person = app.test_client()
    response = login(person, "person", id_no, password=password)
    assert response.location.endswith("/account/password")
    assert person.get("/me/").location.endswith("/account/password")
    weak = _post(person, "/account/password", old=password, password="abcdefgh",
                 confirm="abcdefgh")
    assert "至少三种" in weak.get_data(as_text=True)
    _post(person, "/account/password", old=password, password=NEW_PASSWORD,
          confirm=NEW_PASSWORD)
    assert person.get("/me/").status_code == 200


def test_counter_reset_and_cancel_of_a_unit(as_staff, app):
    unit_client = app.test_client()
    assert login(unit_client, "unit", REP_A, UNIT_A).status_code == 302
    clerk = as_staff("clerk")
    receipt = _post(clerk, "/admin/counter/reset/", form_no="CZ01", target="unit", code=UNIT_A)
    password = _receipt_password(receipt)
    assert unit_client.get("/unit/").status_code == 302  # the old session ended
    fresh = app.test_client()
    assert login(fresh, "unit", REP_A, UNIT_A, password=password).location.endswith(
        "/account/password")

    missing = _post(clerk, "/admin/counter/cancel/", form_no="ZX01", target="unit",
                    code=UNIT_A)
    assert "请填写注销原因" in missing.get_data(as_text=True)
    done = _post(clerk, "/admin/counter/cancel/", form_no="ZX01", target="unit", code=UNIT_A,
                 reason="单位申请注销")
    assert "即时失效" in done.get_data(as_text=True)
    assert db.session.scalar(sa.select(Unit.online_status).where(Unit.uscc == UNIT_A)) == \
        "cancelled"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Grant).join(Unit).where(
        Unit.uscc == UNIT_A)) >= 5  # nothing deleted
    refused = login(app.test_client(), "unit", REP_A, UNIT_A, password=password)
    assert refused.status_code == 403


def test_counter_opens_a_new_unit_with_its_legal_rep(as_staff, app):
    code = _fresh_uscc("91330106MA2C0")
    used = set(db.session.scalars(sa.select(Person.id_no)))
    rep_id = make_id_no(random.Random(88), used)
    clerk = as_staff("clerk")
    receipt = _post(clerk, "/admin/counter/open_unit/", form_no="KT01", uscc=code,
                    name="新开示例有限公司", unit_type="enterprise", region_code="330106",
                    address="文二路1号", rep_id_no=rep_id, rep_name="新法人",
                    rep_phone="13722223333")
    assert "单位网上办事开通回执单" in receipt.get_data(as_text=True)
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == code))
    assert unit.unit_no.startswith("330106") and unit.online_status == "active"
    again = _post(clerk, "/admin/counter/open_unit/", form_no="KT02", uscc=code,
                  name="新开示例有限公司", unit_type="enterprise", region_code="330106",
                  address="", rep_id_no=rep_id, rep_name="新法人", rep_phone="13722223333")
    assert "已开通网上办事" in again.get_data(as_text=True)
    client = app.test_client()
    assert login(client, "unit", "13722223333", unit.unit_no,
                 password=_receipt_password(receipt)).status_code == 302


def test_only_counter_roles_open_the_counter(as_staff):
    assert as_staff("reviewer").get("/admin/counter/").status_code == 403


# --- lockout ----------------------------------------------------------------------------------

def _person_account():
    return db.session.scalar(sa.select(Account).where(Account.login_key.like("person:%"),
                                                      Account.person.has(id_no=PERSON)))


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_five_failures_lock_strangers_out_but_not_the_owner(app, clock, as_staff):
    owner = _from(app, "10.0.0.5")
    assert login(owner, "person", PERSON).status_code == 302  # a known address and device
    attacker = _from(app, "198.51.100.7")
    answers = [login(attacker, "person", PERSON, password="Wrong#123") for _ in range(5)]
    assert {a.status_code for a in answers} == {401}
    assert all("登录信息有误" in a.get_data(as_text=True) for a in answers)  # tells nothing
    assert _person_account().locked_until == clock.now + dt.timedelta(minutes=15)

    # The attacker, even with the password, is kept out: one more check, a code sent to
    # the phone on file.
    checked = login(attacker, "person", PERSON)
    assert checked.location.endswith("/login/code")
    assert attacker.get("/me/").status_code == 302
    # The owner gets in from his known address, and with his device cookie from elsewhere.
    assert login(_from(app, "10.0.0.5"), "person", PERSON).status_code == 302
    owner.environ_base["REMOTE_ADDR"] = "172.16.0.9"
    assert login(owner, "person", PERSON).status_code == 302
    new_device = _from(app, "172.16.0.10")
    assert login(new_device, "person", PERSON).location.endswith("/login/code")
    wrong = _post(new_device, "/login/code", code="000000" if _latest_code(
        "13800000003") != "000000" else "111111")
    assert "验证码错误" in wrong.get_data(as_text=True)
    assert new_device.get("/me/").status_code == 302
    _post(new_device, "/login/code", code=_latest_code("13800000003"))
    assert new_device.get("/me/").status_code == 200
    # The attack goes on: the lock stays for strangers.
    assert _person_account().locked_until is not None

    clock.advance(minutes=15)
    assert login(attacker, "person", PERSON).status_code == 302
    outcomes = db.session.scalars(sa.select(LoginLog.outcome).where(
        LoginLog.account_id == _person_account().id).order_by(LoginLog.id)).all()
    assert outcomes.count("failure") == 4 and outcomes.count("locked") == 3
    assert "锁定期间经短信验证登录" in db.session.scalars(sa.select(LoginLog.reason)).all()


def test_the_counter_unlocks_a_locked_account(app, as_staff):
    stranger = _from(app, "198.51.100.8")
    for _ in range(5):
        login(stranger, "person", PERSON, password="Wrong#123")
    assert login(stranger, "person", PERSON).location.endswith("/login/code")
    clerk = as_staff("clerk")
    _post(clerk, "/admin/counter/unlock/", form_no="JS01", target="person", code=PERSON)
    assert login(stranger, "person", PERSON).status_code == 302
    assert db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "counter:unlock")).after["form_no"] == "JS01"


# --- online recovery and phone change ----------------------------------------------------------

def test_forgotten_password_by_sms(client):
    wrong = _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王小华")
    assert "信息不匹配" in wrong.get_data(as_text=True)
    _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    code = _latest_code("13800000001")
    bad = "000000" if code != "000000" else "111111"
    html = _post(client, "/forgot/finish", code=bad, password=NEW_PASSWORD,
                 confirm=NEW_PASSWORD).get_data(as_text=True)
    assert "验证码错误，还可尝试4次" in html
    _post(client, "/forgot/finish", code=code, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert login(client, "unit", REP_A, UNIT_A, password=NEW_PASSWORD).status_code == 302


def test_sms_codes_expire_and_stop_after_five_wrong_tries(client):
    _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    code = _latest_code("13800000001")
    bad = "000000" if code != "000000" else "111111"
    for _ in range(5):
        _post(client, "/forgot/finish", code=bad, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    html = _post(client, "/forgot/finish", code=code, password=NEW_PASSWORD,
                 confirm=NEW_PASSWORD).get_data(as_text=True)
    assert "次数过多" in html
    _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    code = _latest_code("13800000001")
    row = db.session.scalar(sa.select(SmsCode).order_by(SmsCode.id.desc()).limit(1))
    row.expires_at = utcnow() - dt.timedelta(seconds=1)  # 5 minutes passed
    db.session.commit()
    html = _post(client, "/forgot/finish", code=code, password=NEW_PASSWORD,
                 confirm=NEW_PASSWORD).get_data(as_text=True)
    assert "已失效" in html
    assert login(client, "unit", REP_A, UNIT_A, password=NEW_PASSWORD).status_code == 401


def test_phone_change_needs_codes_from_the_new_and_the_old_number(person_client):
    _post(person_client, "/account/phone", phone="13766667777")
    new_code, old_code = _latest_code("13766667777"), _latest_code("13800000003")
    no_password = _post(person_client, "/account/phone", phone="13766667777", code=new_code,
                        old_code=old_code)
    assert "请输入正确的登录密码" in no_password.get_data(as_text=True)
    _post(person_client, "/account/phone", phone="13766667777", code=new_code,
          old_code=old_code, current=DEMO_PASSWORD)
    assert db.session.scalar(sa.select(Person.phone).where(Person.id_no == PERSON)) == \
        "13766667777"


# --- delegation ------------------------------------------------------------------------------

def _add(client, person, level="agent", items=("SB_ENROLL",), valid_to=""):
    return _post(client, "/unit/members/add/", level=level, id_no=person.id_no,
                 name=person.name, phone=person.phone, valid_from=str(dt.date.today()),
                 valid_to=valid_to, items=list(items))


def test_limits_one_admin_and_ten_agents(unit_a):
    html = unit_a.get("/unit/members/").get_data(as_text=True)
    assert "法定代表人 1个 / 管理员 1个 / 经办人 2个" in html
    second_admin = _add(unit_a, registered_individual(1), level="admin")
    assert "最多1个管理员" in second_admin.get_data(as_text=True)
    for n in range(8):
        assert "单位经办人授权回执" in _add(unit_a, registered_individual(10 + n)).get_data(
            as_text=True)
    eleventh = _add(unit_a, registered_individual(30))
    assert "最多10个经办人" in eleventh.get_data(as_text=True)
    assert "经办人 10个" in unit_a.get("/unit/members/").get_data(as_text=True)


def test_a_member_must_be_a_registered_individual_with_matching_data(unit_a):
    person = registered_individual(40)
    html = _post(unit_a, "/unit/members/add/", level="agent", id_no=person.id_no,
                 name="别人", phone=person.phone, valid_from=str(dt.date.today()),
                 items=["SB_ENROLL"]).get_data(as_text=True)
    assert "不一致" in html
    stranger = member("agent", "SB_ENROLL,SB_SUSPEND", unit_uscc="91330902MA2XYW0Q7T")
    html = _add(unit_a, stranger).get_data(as_text=True)
    assert "尚未注册个人网上办事账号" in html


def test_new_agent_logs_in_acts_within_items_and_period(unit_a, app):
    person = registered_individual(50)
    receipt = _add(unit_a, person, items=("JY_RECORD",))
    password = _receipt_password(receipt)
    agent = app.test_client()
    assert login(agent, "unit", person.id_no, UNIT_A, password=password).location.endswith(
        "/account/password")
    _post(agent, "/account/password", old=password, password=NEW_PASSWORD,
          confirm=NEW_PASSWORD)
    assert agent.get("/unit/filing/new/JY_RECORD/").status_code == 200
    assert agent.get("/unit/filing/new/SB_ENROLL/").status_code == 403
    grant = db.session.scalar(sa.select(Grant).where(Grant.person_id == person.id))
    _post(unit_a, f"/unit/members/{grant.id}/edit/",
          valid_from=str(dt.date.today() - dt.timedelta(days=10)),
          valid_to=str(dt.date.today() - dt.timedelta(days=1)), items=["JY_RECORD"])
    assert agent.get("/unit/").status_code == 302  # ended yesterday: cannot act
    assert login(app.test_client(), "unit", person.id_no, UNIT_A,
                 password=NEW_PASSWORD).status_code == 403


def test_nobody_raises_his_own_rights(client, app):
    admin = member("admin")
    agent = member("agent", "SB_ENROLL,SB_SUSPEND")
    assert login(client, "unit", admin.id_no, UNIT_A).status_code == 302
    own = db.session.scalar(sa.select(Grant).where(Grant.person_id == admin.id))
    html = _post(client, f"/unit/members/{own.id}/edit/", valid_from="2020-01-01",
                 valid_to="").get_data(as_text=True)
    assert "不能修改本人的授权" in html
    rep = db.session.scalar(sa.select(Grant).join(Unit).where(
        Unit.uscc == UNIT_A, Grant.level == "legal_rep"))
    assert "不能管理法定代表人" in _post(client, f"/unit/members/{rep.id}/revoke/").get_data(
        as_text=True)
    promoted = _add(client, registered_individual(60), level="admin")
    assert "管理员不能管理管理员" in promoted.get_data(as_text=True)
    forever = _add(client, registered_individual(61), valid_to="2099-01-01")
    assert "不能超过您本人的授权期限" in forever.get_data(as_text=True)

    switch(client, "unit", agent.id_no, UNIT_A)
    html = _add(client, registered_individual(62)).get_data(as_text=True)
    assert "经办人不能授权他人" in html
    mine = db.session.scalar(sa.select(Grant).where(Grant.person_id == agent.id))
    html = _post(client, f"/unit/members/{mine.id}/edit/", valid_from=str(mine.valid_from),
                 valid_to="", items=["SB_ENROLL", "SB_SUSPEND", "JY_RECORD"]).get_data(
        as_text=True)
    assert "不能修改本人的授权" in html
    assert db.session.get(Grant, mine.id).item_codes == "SB_ENROLL,SB_SUSPEND"
    assert client.post("/unit/institutions/1/reset/", data={
        "csrf_token": csrf_token(client)}).status_code in (403, 404)


def test_revoking_a_grant_ends_its_session(unit_a, app):
    agent = member("agent", "SB_ENROLL,SB_SUSPEND")
    agent_client = app.test_client()
    assert login(agent_client, "unit", agent.id_no, UNIT_A).status_code == 302
    grant = db.session.scalar(sa.select(Grant).where(Grant.person_id == agent.id))
    _post(unit_a, f"/unit/members/{grant.id}/revoke/")
    assert agent_client.get("/unit/").status_code == 302


# --- institutions ------------------------------------------------------------------------------

def test_unit_opens_resets_and_hands_over_an_institution_account(unit_a, app):
    institution = db.session.scalar(sa.select(Institution).join(Unit).where(
        Unit.uscc == UNIT_A))
    first = registered_individual(70)
    receipt = _post(unit_a, f"/unit/institutions/{institution.id}/open/",
                    id_no=first.id_no, name=first.name, phone=first.phone)
    password = _receipt_password(receipt)
    assert first.id_no[-6:] not in password and not password_problems(password)
    inst_client = app.test_client()
    response = login(inst_client, "institution", first.id_no, institution.institution_no,
                     password=password)
    assert response.location.endswith("/account/password")

    reset = _post(unit_a, f"/unit/institutions/{institution.id}/reset/")
    assert _receipt_password(reset) != password
    second = registered_individual(71)
    handed = _post(unit_a, f"/unit/institutions/{institution.id}/open/",
                   id_no=second.id_no, name=second.name, phone=second.phone)
    assert login(app.test_client(), "institution", first.id_no, institution.institution_no,
                 password=_receipt_password(handed)).status_code == 401
    assert login(app.test_client(), "institution", second.id_no, institution.institution_no,
                 password=_receipt_password(handed)).status_code == 302


# --- self-registration and legacy upgrade ----------------------------------------------------

def _fresh_uscc(prefix):
    from stdnum.cn import uscc

    for n in range(10000):
        body = f"{prefix}{n:04d}"
        code = body + uscc.calc_check_digit(body)
        if uscc.is_valid(code) and not db.session.scalar(sa.select(Unit.id).where(
                Unit.uscc == code)):
            return code
    raise AssertionError


def test_self_registration_waits_for_the_counter(client, as_staff, app):
    code = _fresh_uscc("91330106MA2D0")
    used = set(db.session.scalars(sa.select(Person.id_no)))
    rep_id = make_id_no(random.Random(99), used)
    no_agree = _post(client, "/register", uscc=code, name="自助注册示例公司", rep_id_type="01",
                     rep_id_no=rep_id, rep_name="注册人", phone="13799990000")
    assert "同意服务协议" in no_agree.get_data(as_text=True)
    _post(client, "/register", uscc=code, name="自助注册示例公司", rep_id_type="01",
          rep_id_no=rep_id, rep_name="注册人", phone="13799990000", agree="y")
    sms = _latest_code("13799990000")
    done = _post(client, "/register/finish", code=sms, password=NEW_PASSWORD,
                 confirm=NEW_PASSWORD)
    assert "待核验" in done.get_data(as_text=True)
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == code))
    refused = login(app.test_client(), "unit", rep_id, code, password=NEW_PASSWORD)
    assert refused.status_code == 403 and "待受理点核验" in refused.get_data(as_text=True)

    clerk = as_staff("clerk")
    assert "自助注册示例公司" in clerk.get("/admin/counter/").get_data(as_text=True)
    _post(clerk, f"/admin/counter/verify/{unit.id}/", form_no="HY01", reason="人证核验一致")
    assert db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "counter:verify_registration")).after["form_no"] == "HY01"
    assert login(app.test_client(), "unit", rep_id, code, password=NEW_PASSWORD).status_code \
        == 302
    # A person the office did not know gets the registered phone only at verification.
    assert _phone_of(rep_id) == "13799990000"


def test_legacy_upgrade(as_staff, app):
    unit = Unit(uscc=_fresh_uscc("91330106MA2E0"), unit_no="L0001", name="历史示例有限公司",
                region_code="330106", online_status="cancelled")
    db.session.add(unit)
    db.session.commit()
    admin = as_staff("admin")
    _post(admin, "/admin/admin_legacy_account/new/", old_system="HZ_WB",
          old_login="hzold001", secret_hash="Old#Code99", unit=unit.id)
    legacy = db.session.scalar(sa.select(LegacyAccount))
    assert legacy.secret_hash.startswith("$argon2")

    client = app.test_client()
    bad = _post(client, "/upgrade", old_system="HZ_WB", old_login="hzold001",
                secret="wrong")
    assert "原系统账号或密码有误" in bad.get_data(as_text=True)
    _post(client, "/upgrade", old_system="HZ_WB", old_login="hzold001",
          secret="Old#Code99")
    used = set(db.session.scalars(sa.select(Person.id_no)))
    rep_id = make_id_no(random.Random(123), used)
    new_admin = registered_individual(80)
    done = _post(client, "/upgrade/finish", rep_id_no=rep_id, rep_name="历史法人",
                 rep_phone="13788880000", admin_id_no=new_admin.id_no,
                 admin_name=new_admin.name, admin_phone=new_admin.phone,
                 password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    html = done.get_data(as_text=True)
    unit_no = re.search(r'id="unit-no">(\d+)<', html).group(1)
    assert unit_no.startswith("330106") and unit_no != "L0001"
    # The administrator logs in with the password he chose: no one-time password, no
    # forced change; the legal representative got no password from this form.
    assert "初始密码" not in html
    assert login(app.test_client(), "unit", new_admin.id_no, unit_no,
                 password=NEW_PASSWORD).status_code == 302
    admin_account = db.session.scalar(sa.select(Account).where(
        Account.person_id == new_admin.id, Account.unit_id == unit.id))
    assert not admin_account.must_change_password
    assert login(app.test_client(), "unit", rep_id, unit_no,
                 password=NEW_PASSWORD).status_code == 401
    again = _post(app.test_client(), "/upgrade", old_system="HZ_WB",
                  old_login="hzold001", secret="Old#Code99")
    assert "已升级" in again.get_data(as_text=True)


def test_staff_import_legacy_accounts_all_or_nothing(as_staff):
    admin = as_staff("admin")
    header = "原系统名称,原登录名,原密码摘要或一次性验证码,统一社会信用代码\n"
    bad = header + f"杭州社保旧网办,old1,Code#1234,{UNIT_A}\nHZ_WB,old1,Code#1234,{UNIT_A}\n" \
        "杭州社保旧网办,old2,Code#1234,91330106MA2B00000X\n" \
        f"旧网办,old3,Code#1234,{UNIT_A}\n"
    html = admin.post("/admin/admin_legacy_account/import/", data={
        "csrf_token": csrf_token(admin), "file": (io.BytesIO(bad.encode("gbk")), "old.csv")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "第3行" in html and "重复" in html and "第4行" in html
    assert "第5行" in html and "不在历史系统列表中" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegacyAccount)) == 0
    # One old login may hold several units (a row each); the system by its name or its code.
    good = header + f"杭州社保旧网办,old1,Code#1234,{UNIT_A}\nHZ_WB,old1,Code#1234,{UNIT_B}\n" \
        f"舟山人社旧网办,old2,Code#5678,{UNIT_A}\n"
    admin.post("/admin/admin_legacy_account/import/", data={
        "csrf_token": csrf_token(admin), "file": (io.BytesIO(good.encode()), "old.csv")},
        content_type="multipart/form-data")
    rows = db.session.scalars(sa.select(LegacyAccount).order_by(LegacyAccount.id)).all()
    assert [(r.old_system, r.old_login) for r in rows] == [
        ("HZ_WB", "old1"), ("HZ_WB", "old1"), ("ZS_WB", "old2")]
    assert all(r.secret_hash.startswith("$argon2") for r in rows)
    listing = admin.get("/admin/admin_legacy_account/").get_data(as_text=True)
    assert "舟山人社旧网办" in listing


# --- takeover attacks (issue 10) ----------------------------------------------------------------

ATTACKER_PHONE = "13912345678"


def _register(client, uscc, rep_id, rep_name, phone=ATTACKER_PHONE):
    _post(client, "/register", uscc=uscc, name="冒名注册有限公司", rep_id_type="01",
          rep_id_no=rep_id, rep_name=rep_name, phone=phone, agree="y")
    code = _latest_code(phone)
    return _post(client, "/register/finish", code=code, password=NEW_PASSWORD,
                 confirm=NEW_PASSWORD)


def _phone_of(id_no):
    return db.session.scalar(sa.select(Person.phone).where(Person.id_no == id_no))


def test_registration_naming_a_legal_rep_cannot_redirect_the_units_recovery_codes(app):
    attacker = _from(app, "198.51.100.20")
    done = _register(attacker, _fresh_uscc("91330106MA2F0"), REP_A, "王丽华")
    assert "待核验" in done.get_data(as_text=True)
    assert _phone_of(REP_A) == "13800000001"  # the person on file is untouched

    # The victim unit's recovery code goes to the phone on file, not the attacker's.
    _post(attacker, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    sent_to = db.session.scalars(sa.select(SmsOutbox.phone).order_by(SmsOutbox.id)).all()
    assert sent_to[-1] == "13800000001" and sent_to.count(ATTACKER_PHONE) == 1
    stolen = _latest_code(ATTACKER_PHONE)  # the attacker only has his registration code
    page = _post(attacker, "/forgot/finish", code=stolen, password=NEW_PASSWORD,
                 confirm=NEW_PASSWORD)
    assert "验证码错误" in page.get_data(as_text=True)
    assert login(attacker, "unit", REP_A, UNIT_A, password=NEW_PASSWORD).status_code == 401


def test_registration_naming_an_individual_leaves_his_phone_login(app):
    attacker = _from(app, "198.51.100.21")
    _register(attacker, _fresh_uscc("91330106MA2G0"), PERSON, "张伟")
    assert _phone_of(PERSON) == "13800000003"
    assert login(_from(app, "10.0.0.8"), "person", "13800000003").status_code == 302
    assert login(attacker, "person", ATTACKER_PHONE).status_code == 401


def test_the_clerk_sees_both_phones_and_chooses_at_verification(app, as_staff):
    code = _fresh_uscc("91330106MA2H0")
    _register(_from(app, "10.0.0.9"), code, PERSON, "张伟", phone="13955556666")
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == code))
    clerk = as_staff("clerk")
    page = clerk.get("/admin/counter/").get_data(as_text=True)
    assert "登记在册：13800000003" in page and "注册填写：13955556666" in page
    _post(clerk, f"/admin/counter/verify/{unit.id}/", form_no="HY02", phone_choice="registered")
    assert _phone_of(PERSON) == "13955556666"
    audit = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "counter:verify_registration"))
    assert audit.after["phone_choice"] == "registered"


def test_a_recovery_code_works_only_for_the_phone_it_was_sent_to(client):
    _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    code = _latest_code("13800000001")
    person = db.session.scalar(sa.select(Person).where(Person.id_no == REP_A))
    person.phone = "13911110000"  # changed (at the counter) while the code was out
    db.session.commit()
    page = _post(client, "/forgot/finish", code=code, password=NEW_PASSWORD,
                 confirm=NEW_PASSWORD)
    assert "手机号码已变更" in page.get_data(as_text=True)
    assert login(client, "unit", REP_A, UNIT_A, password=NEW_PASSWORD).status_code == 401


def test_sms_codes_to_one_phone_are_capped_per_hour_and_per_day(app, client, clock,
                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_FORGOT_TARGET", "1000 per hour")
    monkeypatch.setitem(app.config, "RATELIMIT_FORGOT_ADDRESS", "1000 per hour")
    clock.now = dt.datetime(2026, 11, 30, 1, 0)  # 09:00 in Beijing

    def ask():
        return _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")

    for _ in range(5):
        assert "验证码已发送" in ask().get_data(as_text=True)
    sixth = ask()
    assert sixth.status_code == 429 and "过于频繁" in sixth.get_data(as_text=True)
    assert "2026-11-30 10:00" in sixth.get_data(as_text=True)
    clock.advance(hours=1)
    for _ in range(5):
        assert ask().status_code == 200
    clock.advance(hours=2)
    eleventh = ask()
    assert eleventh.status_code == 429 and "今日接收验证码已达上限" in eleventh.get_data(
        as_text=True)
    assert "2026-12-01 00:00" in eleventh.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SmsOutbox).where(
        SmsOutbox.phone == "13800000001")) == 10
    clock.now = dt.datetime(2026, 11, 30, 16, 0)  # midnight in Beijing: a new office day
    assert ask().status_code == 200


def test_ten_wrong_codes_across_fresh_codes_lock_the_flow_until_tomorrow(client, clock):
    clock.now = dt.datetime(2026, 11, 30, 2, 0)
    for _ in range(2):
        _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
        code = _latest_code("13800000001")
        bad = "000000" if code != "000000" else "111111"
        for _ in range(5):
            _post(client, "/forgot/finish", code=bad, password=NEW_PASSWORD,
                  confirm=NEW_PASSWORD)
    _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    locked = _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    assert locked.status_code == 429 and "今日已锁定" in locked.get_data(as_text=True)
    clock.now = dt.datetime(2026, 11, 30, 16, 1)
    _post(client, "/forgot", uscc=UNIT_A, id_type="01", id_no=REP_A, name="王丽华")
    code = _latest_code("13800000001")
    _post(client, "/forgot/finish", code=code, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert login(client, "unit", REP_A, UNIT_A, password=NEW_PASSWORD).status_code == 302


def test_registration_cannot_flood_a_phone_with_sms(client):
    answers = []
    for n in range(6):
        answers.append(_post(client, "/register", uscc=_fresh_uscc(f"91330106MA2J{n}"),
                             name="刷短信公司", rep_id_type="01", rep_id_no=PERSON,
                             rep_name="张伟", phone="13977778888", agree="y"))
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert answers[5].status_code == 429 and "后再试" in answers[5].get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SmsOutbox).where(
        SmsOutbox.phone == "13977778888")) == 5


def test_upgrade_attempts_are_limited_like_login(app):
    from models import Unit as UnitModel

    unit = UnitModel(uscc=_fresh_uscc("91330106MA2K0"), unit_no="L0002", name="历史二有限公司",
                     region_code="330106", online_status="cancelled")
    db.session.add(unit)
    db.session.flush()
    db.session.add(LegacyAccount(old_system="HZ_WB", old_login="hzold002",
                                 unit_id=unit.id, secret_hash=hash_password("Old#Code99")))
    db.session.commit()
    guesser = _from(app, "198.51.100.30")
    for n in range(5):
        wrong = _post(guesser, "/upgrade", old_system="HZ_WB", old_login="hzold002",
                      secret=f"guess{n}")
        assert "原系统账号或密码有误" in wrong.get_data(as_text=True)
    # The right secret now waits too, from any address: the target is limited.
    right = _post(_from(app, "198.51.100.31"), "/upgrade", old_system="HZ_WB",
                  old_login="hzold002", secret="Old#Code99")
    assert right.status_code == 429
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginLog).where(
        LoginLog.outcome == "rate_limited", LoginLog.login_name == "hzold002")) == 1


def test_a_counter_reset_never_reopens_a_cancelled_account(as_staff, app):
    clerk = as_staff("clerk")
    _post(clerk, "/admin/counter/cancel/", form_no="ZX02", target="person", code=PERSON,
          reason="本人申请")
    reset = _post(clerk, "/admin/counter/reset/", form_no="CZ02", target="person", code=PERSON)
    assert "已注销" in reset.get_data(as_text=True) and 'id="password"' not in \
        reset.get_data(as_text=True)
    assert _person_account().active is False
    assert login(app.test_client(), "person", PERSON).status_code == 403
    assert db.session.scalar(sa.select(AuditEvent.id).where(
        AuditEvent.action == "counter:reset_password")) is None


def _staff(username, *roles):
    account = Account(kind="staff", username=username, display_name=username,
                      login_key=f"staff:{username}", password_hash=hash_password(DEMO_PASSWORD),
                      must_change_password=False)
    account.roles = [StaffRole(role=role, region_code=region) for role, region in roles]
    db.session.add(account)
    db.session.commit()
    return account


@pytest.mark.parametrize("roles", [
    [("counter_clerk", "330902")],
    [("counter_clerk", "330902"), ("system_admin", "330903")],  # a union, never no limit
])
def test_a_clerk_serves_only_the_regions_of_his_roles(as_staff, roles):
    _staff("zhoushan", *roles)
    clerk = as_staff("zhoushan")
    for service in ("reset", "unlock", "cancel"):
        refused = _post(clerk, f"/admin/counter/{service}/", form_no="QY01", target="unit",
                        code=UNIT_A, reason="跨区")
        assert "不在您的受理区域内" in refused.get_data(as_text=True)
    opened = _post(clerk, "/admin/counter/open_unit/", form_no="QY02",
                   uscc=_fresh_uscc("91330106MA2L0"), name="跨区开通有限公司",
                   unit_type="enterprise", region_code="330106", address="",
                   rep_id_no=PERSON, rep_name="张伟", rep_phone="13800000003")
    assert "不在您的受理区域内" in opened.get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEvent.id).where(
        AuditEvent.action.like("counter:%"))) is None
    assert db.session.scalar(sa.select(Unit.online_status).where(Unit.uscc == UNIT_A)) == \
        "active"
    own = _post(clerk, "/admin/counter/reset/", form_no="QY03", target="unit", code=UNIT_B)
    assert "网上办事密码重置回执单" in own.get_data(as_text=True)


OTP = re.compile(r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{2}$")


def test_one_time_passwords_can_be_read_aloud(as_staff):
    from models.accounts import one_time_password

    assert all(OTP.match(one_time_password()) for _ in range(500))
    receipt = _post(as_staff("clerk"), "/admin/counter/reset/", form_no="CZ03", target="unit",
                    code=UNIT_A)
    assert OTP.match(_receipt_password(receipt))


# --- a unit's managers look after their agents (issue 14) ----------------------------------------

AGENT_A = "340104199506243211"
ADMIN_A = "370102199211175699"


def _grant_of(id_no):
    return db.session.scalar(sa.select(Grant).join(Person).join(Unit).where(
        Person.id_no == id_no, Unit.uscc == UNIT_A))


def test_the_legal_rep_unlocks_and_resets_an_agent(unit_a, app):
    agent = _from(app, "10.0.0.40")
    assert login(agent, "unit", AGENT_A, UNIT_A).status_code == 302
    stranger = _from(app, "198.51.100.40")
    for _ in range(5):
        login(stranger, "unit", AGENT_A, UNIT_A, password="Wrong#123")
    assert login(stranger, "unit", AGENT_A, UNIT_A).location.endswith("/login/code")

    grant = _grant_of(AGENT_A)
    _post(unit_a, f"/unit/members/{grant.id}/unlock/")
    assert login(stranger, "unit", AGENT_A, UNIT_A).status_code == 302

    receipt = unit_a.post(f"/unit/members/{grant.id}/reset/",
                          data={"csrf_token": csrf_token(unit_a)})
    assert receipt.headers["Cache-Control"] == "no-store"
    password = _receipt_password(receipt)
    assert OTP.match(password)
    assert agent.get("/unit/").status_code == 302  # the agent's old session ended
    fresh = _from(app, "10.0.0.41")
    assert login(fresh, "unit", AGENT_A, UNIT_A, password=password).location.endswith(
        "/account/password")
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.action.like("grant:%"))).all()
    assert sorted(actions) == ["grant:reset_password", "grant:unlock"]


def test_only_managers_reset_and_only_those_below_them(app, client):
    assert login(client, "unit", ADMIN_A, UNIT_A).status_code == 302
    rep = _grant_of(REP_A)
    refused = _post(client, f"/unit/members/{rep.id}/reset/")
    assert "不能管理法定代表人的授权" in refused.get_data(as_text=True)
    assert "重置回执" not in refused.get_data(as_text=True)
    assert OTP.match(_receipt_password(client.post(
        f"/unit/members/{_grant_of(AGENT_A).id}/reset/",
        data={"csrf_token": csrf_token(client)})))

    agent = _from(app, "10.0.0.42")
    assert login(agent, "unit", "320102200102123853", UNIT_A).status_code == 302
    by_agent = _post(agent, f"/unit/members/{_grant_of(AGENT_A).id}/reset/")
    assert "重置回执" not in by_agent.get_data(as_text=True)


def test_a_legacy_upgrade_does_not_move_a_known_persons_phone(app):
    unit = Unit(uscc=_fresh_uscc("91330106MA2M0"), unit_no="L0003", name="历史三有限公司",
                region_code="330106", online_status="cancelled")
    db.session.add(unit)
    db.session.flush()
    db.session.add(LegacyAccount(old_system="HZ_WB", old_login="hzold003",
                                 unit_id=unit.id, secret_hash=hash_password("Old#Code99")))
    db.session.commit()
    client = _from(app, "10.0.0.50")
    _post(client, "/upgrade", old_system="HZ_WB", old_login="hzold003",
          secret="Old#Code99")
    new_admin = registered_individual(81)
    done = _post(client, "/upgrade/finish", rep_id_no=PERSON, rep_name="张伟",
                 rep_phone=ATTACKER_PHONE, admin_id_no=new_admin.id_no,
                 admin_name=new_admin.name, admin_phone=new_admin.phone,
                 password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert 'id="unit-no"' in done.get_data(as_text=True)
    assert _phone_of(PERSON) == "13800000003"


def _legacy_for(admin_client, uscc, old_login="hzold777", secret="Old#Code99"):
    """A legacy account for ``uscc`` entered in the staff console (secret given in clear)."""
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == uscc))
    _post(admin_client, "/admin/admin_legacy_account/new/", old_system="HZ_WB",
          old_login=old_login, secret_hash=secret, unit=unit.id)
    legacy = db.session.scalar(sa.select(LegacyAccount).where(
        LegacyAccount.old_login == old_login))
    assert legacy is not None
    return legacy


def test_legacy_secrets_are_hashed_with_the_configured_argon2_profile(app, as_staff):
    """A legacy secret entered in the console (or imported) is hashed through
    models.account.hash_password: the configured argon2 profile, inside the
    PASSWORD_HASH_CONCURRENCY semaphore, never argon2's 64 MiB defaults."""
    from argon2 import extract_parameters

    legacy = _legacy_for(as_staff("admin"), UNIT_B)
    params = extract_parameters(legacy.secret_hash)
    assert params.memory_cost == app.config["ARGON2_PARAMS"]["memory_cost"], \
        f"legacy secret hashed with {params.memory_cost} KiB, not the configured profile"


def test_upgrade_costs_one_hash_verification_for_known_and_unknown_old_logins(
        app, as_staff, monkeypatch):
    """/upgrade verifies a dummy hash for an unknown old login, as it verifies the stored one
    for a known login: the answer time does not tell which legacy logins exist."""
    import argon2

    _legacy_for(as_staff("admin"), UNIT_B)
    calls = []
    original = argon2.PasswordHasher.verify
    monkeypatch.setattr(argon2.PasswordHasher, "verify",
                        lambda self, h, p: calls.append(h) or original(self, h, p))
    anonymous = app.test_client()
    _post(anonymous, "/upgrade", old_system="HZ_WB", old_login="hzold777",
          secret="wrong")
    known = len(calls)
    calls.clear()
    _post(anonymous, "/upgrade", old_system="HZ_WB", old_login="no-such-login",
          secret="wrong")
    assert known >= 1
    assert len(calls) == known, "an unknown old login costs no hash verification"


def test_upgrade_of_an_online_unit_is_refused_and_keeps_its_legal_representative(app, as_staff):
    """A legacy account imported for a unit that is already online: holding the old
    system's password does not make anyone its legal representative. /upgrade refuses (go
    to the counter) and the verified legal representative keeps his grant and the unit its
    单位编号 (models/accounts.upgrade_legacy)."""
    from tests.helpers import fresh_id_no

    _legacy_for(as_staff("admin"), UNIT_A)
    admin_grant = db.session.scalar(sa.select(Grant).join(Unit).where(
        Unit.uscc == UNIT_A, Grant.level == "admin", Grant.revoked_at.is_(None)))
    admin_grant.revoked_at = admin_grant.valid_from  # a unit without an administrator
    db.session.commit()
    rep_grant = db.session.scalar(sa.select(Grant).join(Person).where(
        Person.id_no == REP_A, Grant.level == "legal_rep"))
    assert rep_grant.revoked_at is None
    attacker = app.test_client()
    unit_no = db.session.scalar(sa.select(Unit.unit_no).where(Unit.uscc == UNIT_A))
    refused = _post(attacker, "/upgrade", old_system="HZ_WB", old_login="hzold777",
                    secret="Old#Code99")
    assert "已开通网上办事，不能通过历史账号升级" in refused.get_data(as_text=True)
    helper = registered_individual(91)
    db.session.commit()
    _post(attacker, "/upgrade/finish", rep_id_no=fresh_id_no(91), rep_name="冒名法人",
          rep_phone="13788880091", admin_id_no=helper.id_no, admin_name=helper.name,
          admin_phone=helper.phone, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    db.session.expire_all()
    assert db.session.get(Grant, rep_grant.id).revoked_at is None, \
        "an anonymous /upgrade revoked the active unit's legal representative"
    assert db.session.scalar(sa.select(Unit.unit_no).where(Unit.uscc == UNIT_A)) == unit_no


def test_upgrade_of_a_unit_with_an_administrator_is_refused_not_a_500(app, as_staff):
    """/upgrade for a unit that already has an administrator answers a refusal, never a
    500 (upgrade_finish catches the whole refusal family, add_grant's DelegationRefused
    included)."""
    from tests.helpers import fresh_id_no

    _legacy_for(as_staff("admin"), UNIT_B)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        client = app.test_client()
        _post(client, "/upgrade", old_system="HZ_WB", old_login="hzold777",
              secret="Old#Code99")
        helper = registered_individual(92)
        db.session.commit()
        response = client.post("/upgrade/finish", data={
            "csrf_token": csrf_token(client), "rep_id_no": fresh_id_no(92),
            "rep_name": "某法人", "rep_phone": "13788880092", "admin_id_no": helper.id_no,
            "admin_name": helper.name, "admin_phone": helper.phone,
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code < 500, response.status_code


def test_forgot_shows_the_representatives_phone_with_the_office_mask(app):
    """/forgot names the legal representative's phone with the office's mask (1*****01,
    rules.masking.mask), not seven of its eleven digits: the credit code and the
    representative's ID and name are public licence data."""
    from rules.masking import mask
    from tests.conftest import IsolatedClient

    rep = db.session.scalar(sa.select(Person).where(Person.id_no == REP_A))
    app.test_client_class = IsolatedClient
    client = app.test_client()
    page = client.post("/forgot", data={
        "csrf_token": csrf_token(client), "uscc": UNIT_A, "id_type": "01", "id_no": REP_A,
        "name": rep.name}, follow_redirects=True).get_data(as_text=True)
    assert f"验证码已发送至法定代表人手机 {mask(rep.phone)}" in page
    assert f"{rep.phone[:3]}****{rep.phone[-4:]}" not in page


def _forgot(app, uscc, address):
    from tests.conftest import IsolatedClient

    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/forgot", data={
        "csrf_token": csrf_token(client), "uscc": uscc, "id_type": "01", "id_no": REP_A,
        "name": "不是法人"})


def test_forgot_limit_per_credit_code_counts_every_spelling_of_the_code(app):
    """/forgot's per-credit-code limit (5 per hour) keys on the code as validate_uscc reads
    it (views/security.form_key with the field's normaliser): the same code spelt with inner
    spaces or full-width characters counts against the same limit."""
    plain = [_forgot(app, UNIT_A, f"10.0.0.{n}").status_code for n in range(1, 7)]
    assert plain[-1] == 429, plain  # the limit exists for one spelling
    from views.security import limiter
    limiter.reset()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in UNIT_A)
    spellings = [UNIT_A[:k] + " " + UNIT_A[k:] for k in range(1, 6)] + [full_width]
    spaced = [_forgot(app, code, f"10.0.1.{n}").status_code
              for n, code in enumerate(spellings, 1)]
    assert spaced[-1] == 429, f"6 spellings of one credit code, none limited: {spaced}"


def test_registration_limit_per_phone_counts_every_spelling_of_the_phone(client):
    """/register's per-phone limit keys on the phone as validate_mobile reads it: spaces,
    dashes, +86 or full-width digits do not open a new counter."""
    spellings = ["13977776666", "139 7777 6666", "+86 139 7777 6666", "139-7777-6666",
                 "".join(chr(ord(c) + 0xFEE0) for c in "13977776666"), "8613977776666"]
    answers = [_post(client, "/register", uscc=_fresh_uscc(f"91330106MA2K{n}"),
                     name="刷短信公司", rep_id_type="01", rep_id_no=PERSON, rep_name="张伟",
                     phone=phone, agree="y") for n, phone in enumerate(spellings)]
    assert answers[5].status_code == 429, [a.status_code for a in answers]


def _cancelled_unit(prefix, name, unit_no):
    unit = Unit(uscc=_fresh_uscc(prefix), unit_no=unit_no, name=name, region_code="330106",
                online_status="cancelled")
    db.session.add(unit)
    db.session.flush()
    return unit


def test_the_old_system_is_chosen_from_the_configured_list(client):
    page = client.get("/upgrade").get_data(as_text=True)
    for name in ("江苏省人社网办大厅", "江苏省社会保险基金管理中心网上业务大厅",
                 "泰州市人社网办大厅"):
        assert name in page
    typed = _post(client, "/upgrade", old_system="随便写的系统", old_login="x", secret="y")
    assert typed.status_code == 200 and "原系统账号或密码有误" not in typed.get_data(as_text=True)
    assert "Not a valid choice" not in typed.get_data(as_text=True)


def test_an_old_login_holding_several_units_chooses_which_to_bring_over(app):
    first = _cancelled_unit("91330106MA2P0", "历史甲有限公司", "L0011")
    second = _cancelled_unit("91330106MA2Q0", "历史乙有限公司", "L0012")
    online = db.session.scalar(sa.select(Unit).where(Unit.uscc == UNIT_A))
    for unit in (first, second, online):
        db.session.add(LegacyAccount(old_system="JS_WB", old_login="group01", unit_id=unit.id,
                                     secret_hash=hash_password("Old#Code99")))
    db.session.commit()
    client = _from(app, "10.0.0.61")
    page = _post(client, "/upgrade", old_system="JS_WB", old_login="group01",
                 secret="Old#Code99").get_data(as_text=True)
    assert "历史甲有限公司" in page and "历史乙有限公司" in page
    assert "已开通网上办事，不能通过历史账号升级" in page  # the online unit is offered, disabled
    ids = {row.unit_id: row.id for row in db.session.scalars(sa.select(LegacyAccount).where(
        LegacyAccount.old_login == "group01"))}
    none = _post(client, "/upgrade/units")
    assert "请至少选择一个要升级的单位" in none.get_data(as_text=True)
    wrong = _post(client, "/upgrade/units", unit=str(ids[first.id]),
                  **{f"code-{ids[first.id]}": second.uscc})
    assert "统一社会信用代码与登记信息不符" in wrong.get_data(as_text=True)
    forced = _post(client, "/upgrade/units", unit=str(ids[online.id]),
                   **{f"code-{ids[online.id]}": UNIT_A})
    assert "已开通网上办事" in forced.get_data(as_text=True)
    assert db.session.get(Unit, first.id).unit_no == "L0011"  # nothing changed yet
    client.post("/upgrade/units", data={
        "csrf_token": csrf_token(client), "unit": [str(ids[first.id]), str(ids[second.id])],
        f"code-{ids[first.id]}": first.uscc, f"code-{ids[second.id]}": second.unit_no})
    used = set(db.session.scalars(sa.select(Person.id_no)))
    new_admin = registered_individual(83)
    weak = _post(client, "/upgrade/finish", rep_id_no=make_id_no(random.Random(7), used),
                 rep_name="集团法人", rep_phone="13788880083", admin_id_no=new_admin.id_no,
                 admin_name=new_admin.name, admin_phone=new_admin.phone, password="abcdefgh",
                 confirm="abcdefgh")
    assert 'id="unit-no"' not in weak.get_data(as_text=True)
    done = _post(client, "/upgrade/finish", rep_id_no=make_id_no(random.Random(7), used),
                 rep_name="集团法人", rep_phone="13788880083", admin_id_no=new_admin.id_no,
                 admin_name=new_admin.name, admin_phone=new_admin.phone,
                 password=NEW_PASSWORD, confirm=NEW_PASSWORD).get_data(as_text=True)
    numbers = re.findall(r'class="unit-no"[^>]*>(\d+)<', done)
    assert len(numbers) == 2
    for unit_no in numbers:
        assert login(app.test_client(), "unit", new_admin.phone, unit_no,
                     password=NEW_PASSWORD).status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, online.id).unit_no != numbers[0]
    left = db.session.scalar(sa.select(LegacyAccount).where(
        LegacyAccount.id == ids[online.id]))
    assert left.upgraded_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "legacy_upgraded")) == 2
