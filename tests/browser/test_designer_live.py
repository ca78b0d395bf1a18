"""事项设计 in Chromium: the live preview follows the administrator's typing under the CSP
(static/js/designer.js, no inline script), and publishing offers the item to units."""
from __future__ import annotations

from tests.conftest import REP_A, UNIT_A


def test_the_live_preview_follows_typing_and_the_published_item_is_offered(visitor):
    page = visitor.page
    visitor.login("工作人员", "admin")
    visitor.goto("/admin/designer/")
    page.locator("input[name=code]").fill("JY_LIVE")
    page.locator("input[name=name]").fill("灵活就业登记（试点）")
    page.get_by_role("button", name="新建事项").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="添加字段").click()
    page.wait_for_load_state()
    page.locator("#fields-0-name").fill("since")
    page.locator("#fields-0-type").select_option("date")
    page.locator("#fields-0-label").fill("开始灵活就业日期")
    page.locator("#fields-0-help").fill("以社保缴费记录为准")
    page.locator("#preview").get_by_text("以社保缴费记录为准").wait_for()
    assert page.locator("#preview input[type=date]").count() == 1
    page.get_by_role("button", name="发布").click()
    page.wait_for_load_state()
    assert "已发布第1版" in visitor.text()

    visitor.logout()
    visitor.login("单位", REP_A, UNIT_A)
    visitor.goto("/unit/filing/new/JY_LIVE/")
    assert "开始灵活就业日期" in visitor.text() and "以社保缴费记录为准" in visitor.text()
    visitor.assert_clean()
