"""Menus by task: short navbars, and each actor offered only what it may use."""
from __future__ import annotations

import re

from tests.conftest import REP_A, UNIT_A, login

AGENT = "340104199506243211"  # granted 参保登记、暂停参保
OTHER_AGENT = "320102200102123853"  # granted 人才备案、用工备案


def _menu(html: str) -> list[str]:
    """Top-level entries of the navbar's main menu, in order."""
    nav = re.search(r'<ul class="nav navbar-nav mr-auto">(.*?)</ul>\s*<ul', html, re.S).group(1)
    tops = re.findall(r'<a class="(?:dropdown-toggle )?nav-link[^"]*"[^>]*>(.*?)</a>', nav, re.S)
    return [re.sub(r"<!--.*?-->|<[^>]+>|\s+", "", t) for t in tops]


def test_the_unit_menu_is_grouped_by_task(client):
    assert login(client, "unit", REP_A, UNIT_A).status_code == 302
    html = client.get("/unit/").get_data(as_text=True)
    assert _menu(html) == ["首页", "办事", "查询", "单位管理", "账号设置"]
    assert "<title>单位网上办事 - 网办</title>" in html and '<html lang="zh-CN">' in html


def test_agents_are_not_offered_delegation_nor_imports_they_hold_no_item_for(client):
    assert login(client, "unit", AGENT, UNIT_A).status_code == 302
    html = client.get("/unit/").get_data(as_text=True)
    assert _menu(html) == ["首页", "办事", "查询", "账号设置"]
    assert "/unit/members/" not in html and "/unit/import/" in html  # 参保登记 covers its batch
    client.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', html).group(1)})
    assert login(client, "unit", OTHER_AGENT, UNIT_A).status_code == 302
    html = client.get("/unit/").get_data(as_text=True)
    assert "/unit/import/" not in html  # no batch item among 人才备案、用工备案


def test_the_staff_menu_is_grouped_by_task(as_staff):
    html = as_staff("admin").get("/admin/").get_data(as_text=True)
    assert _menu(html) == ["首页", "受理", "审核", "基础数据", "查询", "系统管理"]
    html = as_staff("reviewer").get("/admin/").get_data(as_text=True)  # logs in afresh
    assert "受理" not in _menu(html)  # reviewers do not work the counter


def _staff_client(app, username):
    from tests.conftest import IsolatedClient

    app.test_client_class = IsolatedClient
    client = app.test_client()
    assert login(client, "staff", username).status_code == 302
    return client


def test_menus_kept_per_actor_are_never_served_to_another(app):
    # Two staff sessions side by side in one process: each page shows its own actor's menu,
    # however the requests interleave (the menu is kept per actor, not per console).
    admin, reviewer = _staff_client(app, "admin"), _staff_client(app, "reviewer")
    for _ in range(2):
        assert "受理" in _menu(admin.get("/admin/admin_person/").get_data(as_text=True))
        html = reviewer.get("/admin/admin_person/").get_data(as_text=True)
        assert "受理" not in _menu(html) and "/admin/counter/" not in html
    # And a unit's agent never gets its legal representative's 单位管理.
    rep, agent = app.test_client(), app.test_client()
    assert login(rep, "unit", REP_A, UNIT_A).status_code == 302
    assert login(agent, "unit", AGENT, UNIT_A).status_code == 302
    for _ in range(2):
        assert "单位管理" in _menu(rep.get("/unit/").get_data(as_text=True))
        assert "单位管理" not in _menu(agent.get("/unit/").get_data(as_text=True))


def test_a_change_of_roles_changes_the_menu_at_once(app):
    import sqlalchemy as sa

    from models import Account, StaffRole, db

    reviewer = _staff_client(app, "reviewer")
    assert "受理" not in _menu(reviewer.get("/admin/").get_data(as_text=True))
    account = db.session.scalar(sa.select(Account).where(Account.username == "reviewer"))
    db.session.add(StaffRole(account_id=account.id, role="counter_clerk"))
    db.session.commit()
    assert "受理" in _menu(reviewer.get("/admin/").get_data(as_text=True))


def test_a_page_asks_no_menu_entry_for_its_access_once_the_actor_is_known(app, monkeypatch):
    from views.base import KindGate

    client = _staff_client(app, "admin")
    client.get("/admin/admin_person/")
    asked = []
    original = KindGate.is_accessible
    monkeypatch.setattr(KindGate, "is_accessible",
                        lambda self: asked.append(self.endpoint) or original(self))
    html = client.get("/admin/admin_unit/").get_data(as_text=True)
    assert "/admin/counter/" in html and "/admin/admin_person/" in html  # the full menu
    assert set(asked) == {"admin_unit"}, asked  # only the page's own gate was asked


def _active(html: str) -> list[str]:
    """The main menu's active entries (categories and items)."""
    nav = re.search(r'<ul class="nav navbar-nav mr-auto">(.*?)</ul>\s*<ul', html, re.S).group(0)
    return re.findall(r'<li class="active[^"]*">\s*<a[^>]*>([^<]*)', nav)


def test_the_main_menu_is_rendered_once_per_page_and_names_and_stays_current(app, monkeypatch):
    # views.menus.main_menu_html keeps the menu's HTML per actor, page and entry names: a
    # second visit renders no menu, another page marks its own entry, and a name that
    # changes (我的工作台 (N)) is shown at once (tests.test_unit_home covers the count).
    from jinja2 import Template

    for admin in app.extensions["admin"]:  # forget what earlier tests kept
        admin.__dict__.pop("_kept_menus", None)
    client = _staff_client(app, "admin")
    rendered = []
    original = Template.render
    monkeypatch.setattr(Template, "render", lambda self, *a, **k: (
        rendered.append(self.name) or original(self, *a, **k)))
    first = client.get("/admin/admin_person/").get_data(as_text=True)
    assert rendered.count("console_menu.html") == 1
    again = client.get("/admin/admin_person/").get_data(as_text=True)
    assert rendered.count("console_menu.html") == 1  # kept
    assert _menu(again) == _menu(first) and _active(again) == _active(first)
    other = client.get("/admin/admin_unit/").get_data(as_text=True)
    assert rendered.count("console_menu.html") == 2  # another page: its own active entry
    assert "/admin/admin_unit/" in other and _menu(other) == _menu(first)
    # A reviewer's menu is his own, never the admin's kept HTML.
    reviewer = _staff_client(app, "reviewer")
    assert "受理" not in _menu(reviewer.get("/admin/admin_person/").get_data(as_text=True))
