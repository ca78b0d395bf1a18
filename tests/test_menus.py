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
