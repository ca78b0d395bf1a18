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
    assert "杭州市西湖区文三路100号（默认）" in html


def test_individual_home_recommends_items_he_may_file(person_client):
    html = person_client.get("/me/").get_data(as_text=True)
    section = re.search(r'id="recommended".*?</section>', html, re.S).group(0)
    assert "人才认定备案" in section
    assert "社会保险职工参保登记" not in section
