"""单位主页: 推荐 (most-used items), 收藏, 办事, 查询, the workbench count; 单位快递."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Application, FavouriteItem, ServiceItem, Unit, db
from rules.workflow import State
from tests.conftest import UNIT_A, csrf_token


def _unit_a():
    return db.session.scalar(sa.select(Unit).where(Unit.uscc == UNIT_A))


def _awaiting(unit):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.unit_id == unit.id, Application.state == State.AWAITING_UNIT))


def test_recommended_lists_the_units_most_filed_items_first(unit_a):
    unit = _unit_a()
    used = db.session.execute(sa.select(ServiceItem.code, sa.func.count()).join(
        Application, Application.item_id == ServiceItem.id).where(
        Application.unit_id == unit.id).group_by(ServiceItem.code)
        .order_by(sa.func.count().desc())).all()
    html = unit_a.get("/unit/").get_data(as_text=True)
    section = re.search(r'id="recommended".*?</section>', html, re.S).group(0)
    shown = re.findall(r'data-item="([A-Z_]+)"', section)
    assert shown and shown[0] == used[0][0]
    assert 'href="/unit/filing/"' in html and 'href="/unit/query/"' in html


def test_workbench_count_on_the_home_and_in_the_menu(unit_a):
    count = _awaiting(_unit_a())
    html = unit_a.get("/unit/").get_data(as_text=True)
    assert f"我的工作台 ({count})" in re.search(r'id="workbench-link"[^>]*>([^<]*)', html).group(1)
    assert html.count(f"我的工作台 ({count})") >= 2  # the menu says it too


def test_favourite_an_item_then_remove_it(unit_a):
    unit_a.post("/unit/home/favourite/SB_ENROLL/", data={"csrf_token": csrf_token(unit_a)})
    html = unit_a.get("/unit/").get_data(as_text=True)
    favourites = re.search(r'id="favourites".*?</section>', html, re.S).group(0)
    assert "社会保险职工参保登记" in favourites
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FavouriteItem)) == 1
    unit_a.post("/unit/home/favourite/SB_ENROLL/", data={"csrf_token": csrf_token(unit_a)})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FavouriteItem)) == 0


def test_an_item_one_may_not_file_cannot_be_favoured(client):
    from tests.conftest import login
    from tests.helpers import member

    agent = member("agent", "SB_ENROLL,SB_SUSPEND")
    assert login(client, "unit", agent.id_no, UNIT_A).status_code == 302
    refused = client.post("/unit/home/favourite/RC_TALENT/",
                          data={"csrf_token": csrf_token(client)})
    assert refused.status_code == 404
    assert client.post("/unit/home/favourite/NOPE/",
                       data={"csrf_token": csrf_token(client)}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FavouriteItem)) == 0


def test_deliveries_list_the_units_tracking_numbers_and_default_address(unit_a):
    unit = _unit_a()
    mine = db.session.scalar(sa.select(Application).where(Application.unit_id == unit.id)
                             .limit(1))
    theirs = db.session.scalar(sa.select(Application).where(
        Application.unit_id != unit.id, Application.unit_id.is_not(None)).limit(1))
    mine.courier, mine.tracking_no = "EMS", "EMS1234567890"
    theirs.courier, theirs.tracking_no = "顺丰", "SF9999999999"
    db.session.commit()
    unit_a.post("/unit/settings/address/add/", data={
        "csrf_token": csrf_token(unit_a), "recipient": "王丽华", "phone": "13800000001",
        "address": "杭州市西湖区文三路100号"})
    html = unit_a.get("/unit/deliveries/").get_data(as_text=True)
    assert "EMS1234567890" in html and "SF9999999999" not in html
    assert "杭州市西湖区文三路100号" in html.split('id="deliveries"')[0]


def test_individual_home_recommends_items_he_may_file(person_client):
    html = person_client.get("/me/").get_data(as_text=True)
    section = re.search(r'id="recommended".*?</section>', html, re.S).group(0)
    assert "人才认定备案" in section
    assert "社会保险职工参保登记" not in section


def _address(client, address, default=False):
    from models import DeliveryAddress

    client.post("/unit/settings/address/add/", data={
        "csrf_token": csrf_token(client), "recipient": "王丽华", "phone": "13800000001",
        "address": address, **({"is_default": "y"} if default else {})})
    return db.session.scalar(sa.select(DeliveryAddress.id).where(
        DeliveryAddress.address == address))


def test_a_filing_by_post_proposes_the_default_address_and_keeps_a_copy(unit_a):
    from tests.conftest import REP_A
    from tests.helpers import act, filing_id, fresh_id_no, new_filing, switch, upload

    enroll = {"name": "快递新人", "phone": "13912340001", "start_date": "2026-11-01",
              "wage": "8000", "insurance_kinds": "110,210,310,410,510"}
    first = _address(unit_a, "杭州市西湖区文三路100号")
    second = _address(unit_a, "杭州市拱墅区教工路200号", default=True)
    page = unit_a.get("/unit/filing/new/SB_ENROLL/").get_data(as_text=True)
    assert "结果领取方式" in page
    assert re.search(rf'<option value="{second}" selected>', page), "the default is proposed"
    no_address = new_filing(unit_a, "unit", "SB_ENROLL", {
        **enroll, "id_no": fresh_id_no(61), "delivery_method": "post"})
    assert no_address.status_code == 200
    assert "快递寄送请选择收件地址" in no_address.get_data(as_text=True)
    response = new_filing(unit_a, "unit", "SB_ENROLL", {
        **enroll, "id_no": fresh_id_no(62), "delivery_method": "post",
        "delivery_address": str(second)})
    application = db.session.get(Application, filing_id(response))
    assert application.delivery_method == "post"
    assert application.delivery_address == "杭州市拱墅区教工路200号"
    from models import AuditEvent

    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "application:delivery_choice",
        AuditEvent.object_id == str(application.id)))
    assert event.after == {"method": "post", "address": "杭州市拱墅区教工路200号"}
    # Later edits of the address book do not rewrite where this filing goes.
    unit_a.post(f"/unit/settings/address/{second}/remove/",
                data={"csrf_token": csrf_token(unit_a)})
    db.session.expire_all()
    assert db.session.get(Application, application.id).delivery_address == \
        "杭州市拱墅区教工路200号"
    listing = unit_a.get("/unit/deliveries/").get_data(as_text=True)
    row = re.search(rf'<tr><td><a href="/unit/filing/{application.id}/".*?</tr>', listing, re.S)
    assert row and "杭州市拱墅区教工路200号" in row.group(0)
    # The reviewer's delivery record reads the filing's copy.
    upload(unit_a, "unit", application.id, "contract")
    act(unit_a, "unit", application.id, "submit")
    switch(unit_a, "staff", "reviewer")
    case = unit_a.get(f"/admin/admin_application/details/?id={application.id}").get_data(
        as_text=True)
    assert "快递寄送，寄往" in case and "杭州市拱墅区教工路200号" in case
    switch(unit_a, "unit", REP_A, UNIT_A)
    assert first is not None


def test_a_filing_cannot_be_sent_to_another_units_address(unit_a, client):
    from models import DeliveryAddress
    from tests.helpers import fresh_id_no, new_filing

    unit_b = db.session.scalar(sa.select(Unit).where(Unit.uscc != UNIT_A).limit(1))
    theirs = DeliveryAddress(unit_id=unit_b.id, recipient="李海明", phone="13800000002",
                             address="舟山市定海区某路1号", is_default=True)
    db.session.add(theirs)
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
    response = new_filing(unit_a, "unit", "SB_ENROLL", {
        "name": "快递新人", "phone": "13912340002", "start_date": "2026-11-01", "wage": "8000",
        "insurance_kinds": "110,210,310,410,510", "id_no": fresh_id_no(63),
        "delivery_method": "post", "delivery_address": str(theirs.id)})
    assert "快递寄送请选择收件地址" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == before
    unknown = new_filing(unit_a, "unit", "SB_ENROLL", {
        "name": "快递新人", "phone": "13912340002", "start_date": "2026-11-01", "wage": "8000",
        "insurance_kinds": "110,210,310,410,510", "id_no": fresh_id_no(64),
        "delivery_method": "pigeon"})
    assert unknown.status_code == 200 and "请选择结果领取方式" in unknown.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == before


def test_the_delivery_choice_of_a_filing_already_submitted_is_refused(unit_a):
    """models.deliveries asks the policy itself: once submitted, the choice stays."""
    import datetime as dt

    import pytest

    from models import Account
    from models.auth import actor_for
    from models.deliveries import choose_delivery
    from models.errors import Refusal
    from models.operations import By
    from tests.conftest import REP_A

    address = _address(unit_a, "杭州市西湖区文三路100号")
    unit = _unit_a()
    submitted = db.session.scalar(sa.select(Application).where(
        Application.unit_id == unit.id, Application.state == State.SUBMITTED).limit(1))
    account = db.session.scalar(sa.select(Account).join(Account.person).where(
        Account.unit_id == unit.id, Account.kind == "unit_member").filter_by(id_no=REP_A))
    by = By(actor_for(account, dt.date.today()), "王丽华")
    with pytest.raises(Refusal) as refused:
        choose_delivery(by, submitted, "post", address)
    assert refused.value.status == 403
    assert submitted.delivery_method == "window" and submitted.delivery_address == ""


def _menu_count(client) -> int:
    html = client.get("/unit/unit_enrollment/").get_data(as_text=True)
    return int(re.search(r"我的工作台 \((\d+)\)", html).group(1))


def test_the_workbench_count_follows_a_filing_at_once_and_is_each_actors_own(unit_a, app):
    """The menu's count (its statement kept per Actor, views.unit_home) moves with the next
    page, and an agent counts only the items granted to it, not its legal rep's."""
    from models import Account, Person, clock
    from models.auth import actor_for
    from models.scope import scope_clause
    from tests.conftest import login

    unit = _unit_a()
    before = _awaiting(unit)
    assert _menu_count(unit_a) == before
    individual = db.session.scalar(sa.select(Account).where(Account.kind == "individual"))
    talent = db.session.scalar(sa.select(ServiceItem.id).where(ServiceItem.code == "RC_TALENT"))
    db.session.add(Application(item_id=talent, unit_id=unit.id, filed_by_id=individual.id,
                               subject_person_id=individual.person_id,
                               state=State.AWAITING_UNIT, payload={"x": 1}))
    db.session.commit()
    assert _menu_count(unit_a) == before + 1

    agent_id_no = "340104199506243211"  # 韩浩萍: 参保登记、暂停参保 only
    agent = app.test_client()
    assert login(agent, "unit", agent_id_no, UNIT_A).status_code == 302
    account = db.session.scalar(sa.select(Account).join(Person, Account.person_id == Person.id)
                                .where(Person.id_no == agent_id_no, Account.unit_id == unit.id))
    actor = actor_for(account, clock.today())
    own = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        scope_clause(Application, actor), Application.state == State.AWAITING_UNIT))
    assert own < before + 1
    assert _menu_count(agent) == own
    assert _menu_count(unit_a) == before + 1
