"""The seven journeys of issue 14, in Chromium, as each kind of user walks them.

Every journey asserts what the person sees and the buttons offered, and checks each page it
reaches: navbar on one line at 1366×768, no sideways scroll at 375 px, no raw code, English
state, boolean or microsecond time; axe-core on login, unit home, a filing form, the import
page and the reviewer's page; and, at the end, no console error and no failed load.
"""
from __future__ import annotations

import random
import re

from playwright.sync_api import expect
from stdnum.cn import uscc as uscc_check

from models.demo import DEMO_PASSWORD, make_id_no
from rules.masking import mask
from tests.conftest import PERSON, REP_A, UNIT_A
from tests.helpers import PDF

NEW_PASSWORD = "Xinmima#2026"
AGENT = "340104199506243211"  # 韩浩萍: 参保登记、暂停参保
RNG = random.Random(1414)
USED: set[str] = set()


def fresh_uscc() -> str:
    body = "91330106MA2" + "".join(RNG.choice("0123456789ABCDEFGHJKLMNPQRTUWXY")
                                   for _ in range(6))
    return body + uscc_check.calc_check_digit(body)


def fresh_id() -> str:
    return make_id_no(RNG, USED)


def fresh_phone() -> str:
    return "139" + "".join(RNG.choice("0123456789") for _ in range(8))


def menu(visitor, category: str, entry: str) -> None:
    """Open a menu category and click one of its entries, as a mouse user would."""
    page = visitor.page
    page.locator("nav.navbar").get_by_role("link", name=category, exact=True).click()
    # An entry may carry a count ("我的工作台 (1)"): match its name, then an optional count.
    name = re.compile(rf"^{re.escape(entry)}( \(\d+\))?$")
    page.locator("nav.navbar .dropdown-menu").get_by_role("link", name=name).click()
    page.wait_for_load_state()


def open_unit_at_counter(visitor) -> dict:
    """A counter clerk opens a new unit; returns what the receipt says."""
    visitor.login("工作人员", "clerk")
    menu(visitor, "受理", "窗口服务")
    visitor.page.get_by_role("link", name="开通单位网上办事").click()
    facts = {"uscc": fresh_uscc(), "rep": fresh_id(), "phone": fresh_phone(),
             "name": f"杭州浏览器测试{RNG.randint(100, 999)}有限公司"}
    page = visitor.page
    page.get_by_label("申请单号").fill("SQ-2026-0001")
    page.get_by_label("统一社会信用代码").fill(facts["uscc"])
    page.get_by_label("单位名称").fill(facts["name"])
    page.get_by_label("行政区划代码").fill("330106")
    page.get_by_label("法定代表人身份证号码").fill(facts["rep"])
    page.get_by_label("法定代表人姓名").fill("周明")
    page.get_by_label("法定代表人手机号码").fill(facts["phone"])
    page.get_by_role("button", name="办理").click()
    page.wait_for_load_state()
    facts["password"] = page.locator("#password").inner_text().strip()
    facts["receipt"] = visitor.text()
    return facts


def test_counter_opens_a_unit(visitor):
    facts = open_unit_at_counter(visitor)
    receipt = facts["receipt"]
    assert "单位网上办事开通回执单" in receipt
    assert facts["name"] in receipt and facts["uscc"] in receipt and facts["rep"] in receipt
    assert facts["password"] and "首次登录须修改密码" in receipt
    assert re.search(r"办理时间：\d{4}-\d{2}-\d{2} \d{2}:\d{2}", receipt)
    visitor.check_page()
    visitor.assert_clean()


def test_legal_representatives_first_login(visitor):
    facts = open_unit_at_counter(visitor)
    visitor.logout()
    visitor.login("单位", facts["rep"], facts["uscc"], password=facts["password"])
    page = visitor.page
    assert page.url.endswith("/account/password")
    why = page.locator("#why-change").inner_text()
    assert "初始密码" in why and "只有您本人知道" in why
    visitor.check_page(axe=True)
    page.get_by_label("原密码").fill(facts["password"])
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert page.url.endswith("/unit/")
    assert "密码已修改" in visitor.text()
    nav = page.locator("nav.navbar")
    for category in ("办事", "查询", "单位管理"):
        assert nav.get_by_role("link", name=category, exact=True).is_visible()
    visitor.check_page(axe=True)
    visitor.assert_clean()


def test_login_tabs_keep_the_chosen_kind_after_an_error(visitor):
    visitor.login("单位", REP_A, UNIT_A, password="wrong-password")
    page = visitor.page
    # expect(): Playwright waits for the state instead of reading it once (no flake under load).
    expect(page.locator("body")).to_contain_text("登录信息有误")
    expect(page.locator("input[name=kind][value=unit]")).to_be_checked()
    expect(page.locator("#unit_code")).to_be_visible()
    expect(page.get_by_role("link", name="单位注册")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("忘记密码"))).to_be_visible()
    page.get_by_text("个人", exact=True).click()
    expect(page.locator("#unit_code")).to_be_hidden()  # individuals have no unit code
    visitor.check_page(axe=True)
    # Keyboard only: the kind tabs are radios, the arrow keys move between them.
    page.locator("input[name=kind][value=person]").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name=kind][value=unit]")).to_be_checked()
    problems = [p for p in visitor.problems if "/login" not in p]  # the 401 itself
    assert not problems


def test_adding_an_agent(visitor):
    visitor.login("单位", REP_A, UNIT_A)
    menu(visitor, "单位管理", "经办人管理")
    page = visitor.page
    assert page.locator("#level").input_value() == "agent"  # a new member starts at 经办人
    visitor.check_page()
    page.get_by_label("身份证号码").fill(PERSON)
    page.get_by_label("姓名").fill("张伟")
    page.get_by_label("手机号码").fill("13800000003")
    page.get_by_label("社会保险职工参保登记", exact=True).check()
    page.get_by_role("button", name="授权").click()
    page.wait_for_load_state()
    receipt = visitor.text()
    assert "单位经办人授权回执" in receipt and "张伟" in receipt and "经办人" in receipt
    password = page.locator("#password").inner_text().strip()
    page.goto("/unit/members/")
    row = page.locator("tbody tr", has_text="张伟")
    assert "经办人" in row.inner_text() and "社会保险职工参保登记" in row.inner_text()
    assert "SB_ENROLL" not in visitor.text()
    visitor.logout()
    # The new agent sets his own password, then is offered his items only, no delegation.
    visitor.login("单位", PERSON, UNIT_A, password=password)
    page.get_by_label("原密码").fill(password)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    nav = page.locator("nav.navbar")
    assert nav.get_by_role("link", name="办事", exact=True).is_visible()
    assert not nav.get_by_role("link", name="单位管理", exact=True).count()
    nav.get_by_role("link", name="办事", exact=True).click()
    assert nav.get_by_role("link", name="批量导入").is_visible()  # SB_ENROLL covers its batch
    visitor.check_page()
    visitor.assert_clean()


def test_an_agents_batch_import(visitor):
    visitor.login("单位", AGENT, UNIT_A)
    visitor.check_page(axe=True)  # unit home
    menu(visitor, "办事", "批量导入")
    page = visitor.page
    card = page.locator(".card", has_text="人员批量新参保")
    assert card.get_by_role("link", name="下载模板").is_visible()
    visitor.check_page(axe=True)  # the import page
    good = [fresh_id() for _ in range(3)]
    lines = ["身份证号码,姓名,手机号码,参保日期,月缴费工资,参保险种"]
    lines += [f"{id_no},浏览器{n},,2026-11-01,8000,五险" for n, id_no in enumerate(good)]
    lines.append("123,坏行,,2026-11-01,8000,五险")
    card.get_by_label("选择文件").set_input_files(files=[{
        "name": "人员.csv", "mimeType": "text/csv",
        "buffer": "\n".join(lines).encode("utf-8")}])
    card.get_by_role("button", name="导入").click()
    page.wait_for_load_state()
    assert "合格 3 行，错误 1 行" in re.sub(r"\s+", " ", visitor.text())
    assert page.locator("#errors").inner_text().count("坏行") == 1
    visitor.check_page()
    page.get_by_role("button", name=re.compile("保存")).click()
    page.wait_for_load_state()
    assert "已保存3行" in visitor.text()
    table = page.locator(".batch-rows table")
    headers = table.locator("th").all_inner_texts()
    assert headers[:7] == ["行号", "身份证号码", "姓名", "手机号码", "参保日期", "月缴费工资",
                           "参保险种"]
    first = table.locator("tbody tr").first.locator("td").all_inner_texts()
    # An agent reads the batch's ID numbers masked (rules.masking.shown), like every page.
    assert first[1] == mask(good[0]) and first[3] == "" and first[6] == "五险"
    assert "待受理" in page.locator("#state").inner_text()
    visitor.check_page()
    visitor.assert_clean()


def _file_unit_change(visitor, reason: str) -> str:
    """The legal representative files 单位参保信息变更登记 with its licence; returns its URL."""
    page = visitor.page
    menu(visitor, "办事", "网上办事")
    page.locator("tr", has_text="社会保险单位参保信息变更登记").get_by_role(
        "link", name=re.compile("办理|申报")).click()
    page.wait_for_load_state()
    visitor.check_page(axe=True)  # a filing form
    page.get_by_label("变更后地址").fill("杭州市西湖区文三路200号")
    page.get_by_label(re.compile("变更原因")).fill(reason)
    page.get_by_role("button", name="暂存").click()
    page.wait_for_load_state()
    page.get_by_label("上传营业执照（变更后）").set_input_files(files=[{
        "name": "执照.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("form", has=page.get_by_label("上传营业执照（变更后）")).get_by_role(
        "button", name="上传", exact=True).click()
    page.wait_for_load_state()
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    assert "待受理" in page.locator("#state").inner_text()
    return page.url


def test_review_reject_fix_and_approve(visitor):
    visitor.login("单位", REP_A, UNIT_A)
    filing_url = _file_unit_change(visitor, "迁址")
    filing_id = re.search(r"/filing/(\d+)/", filing_url).group(1)
    page = visitor.page
    assert page.get_by_role("link", name="打印回执").is_visible()
    page.goto(filing_url + "receipt/")
    assert page.locator("#receipt-no").inner_text() == filing_id
    assert page.locator("#qr svg").is_visible()
    assert "文三路200号" in visitor.text()
    visitor.check_page()
    visitor.logout()

    visitor.login("工作人员", "reviewer")
    page.goto(f"/admin/admin_application/details/?id={filing_id}")
    assert page.locator("#case-state").inner_text() == "待受理"
    buttons = page.locator("button[name=action]").all_inner_texts()
    assert buttons == ["受理"]
    facts = page.locator("#facts").inner_text()
    assert "变更后地址" in facts and "文三路200号" in facts
    assert "剩余" in page.locator("#deadline").inner_text()
    visitor.check_page(axe=True)  # the reviewer's page
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2 * 768, height
    page.get_by_role("button", name="受理").click()
    page.wait_for_load_state()
    assert "已受理" in visitor.text()
    assert set(page.locator("button[name=action]").all_inner_texts()) == {"审核通过"}
    page.get_by_role("button", name="审核不通过，退回").click()
    page.wait_for_load_state()
    assert "审核不通过须填写原因" in visitor.text()
    page.get_by_label(re.compile("退回原因")).select_option("材料不清晰，请重新上传清晰的扫描件或照片")
    page.get_by_role("button", name="审核不通过，退回").click()
    page.wait_for_load_state()
    text = visitor.text()
    assert "已退回" in text and "审核不通过成功" not in text
    assert "退回原因：材料不清晰" in page.locator("#reject-reason").inner_text()
    visitor.logout()

    visitor.login("单位", REP_A, UNIT_A)
    page.goto(filing_url)
    assert "材料不清晰" in page.locator("#reject-reason").inner_text()
    page.get_by_role("button", name="修改后重新提交").click()
    page.wait_for_load_state()
    assert "待受理" in page.locator("#state").inner_text()
    visitor.check_page()
    visitor.logout()

    visitor.login("工作人员", "reviewer")
    page.goto(f"/admin/admin_application/details/?id={filing_id}")
    page.get_by_role("button", name="受理").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="审核通过").click()
    page.wait_for_load_state()
    assert "已审核通过" in visitor.text()
    visitor.assert_clean()


def test_a_talent_filing(visitor):
    visitor.login("个人", PERSON)
    page = visitor.page
    page.locator("nav.navbar").get_by_role("link", name="我的办件").click()
    page.wait_for_load_state()
    visitor.check_page()
    page.locator("td.col-id a").first.click()
    page.wait_for_load_state()
    assert "请联系所属企业进行提交" in page.locator("#state").inner_text()
    page.get_by_label("上传《认定备案申请表》（本人签名、单位盖章）").set_input_files(files=[{
        "name": "申请表.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("form", has=page.get_by_label("上传《认定备案申请表》（本人签名、单位盖章）")).get_by_role(
        "button", name="上传", exact=True).click()
    page.wait_for_load_state()
    assert "材料已上传" in visitor.text()
    filing_url = page.url
    visitor.goto("/me/talent/")
    assert "请联系所属企业进行提交" in page.locator("#talent-list").inner_text()
    visitor.check_page()
    visitor.goto("/me/certificates/")
    page.get_by_role("button", name="生成新证书").first.click()
    page.wait_for_load_state()
    assert "操作成功" in visitor.text()
    visitor.check_page()
    visitor.check_page()
    visitor.logout()

    visitor.login("单位", REP_A, UNIT_A)
    menu(visitor, "办事", "我的工作台")
    page.get_by_role("link", name="查看并提交").first.click()
    page.wait_for_load_state()
    assert page.url.replace("/unit/", "/me/") == filing_url
    state = page.locator("#state").inner_text()
    assert "待本单位提交" in state and "请联系所属企业" not in state
    assert page.locator("#photo-photo img").count() == 1  # the applicant's photo
    page.get_by_role("button", name="上报", exact=True).click()
    page.wait_for_load_state()
    assert "待受理" in page.locator("#state").inner_text()
    visitor.check_page()
    visitor.assert_clean()


def test_queries_and_certificates(visitor):
    visitor.login("单位", REP_A, UNIT_A)
    menu(visitor, "查询", "信息查询")
    page = visitor.page
    visitor.check_page()
    page.get_by_role("link", name=re.compile("社保应付")).first.click()
    page.wait_for_load_state()
    assert page.locator("#payables tr[data-kind]").count() == 5  # opens on a settled period
    assert page.locator("#period").input_value() == "202610"  # the demo's last period
    visitor.check_page()
    page.goto("/unit/query/certificate/")
    visitor.check_page()
    response = page.request.get(page.url + "?pdf=1&period=" + page.locator("#period").input_value())
    assert response.headers["content-type"] == "application/pdf"
    visitor.assert_clean()


def tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused control reads ``name``; fails if it is not reachable."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => (document.activeElement.innerText || "
                                "document.activeElement.value || '').trim()")
        if focused == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with the Tab key on {page.url}")


def keyboard_login(page, kind_value: str, login: str, unit_code: str = "") -> None:
    """Log in with the keyboard alone: arrow keys pick the kind, Tab moves, Enter submits."""
    page.goto("/login")
    page.locator("input[name=kind][value=person]").focus()
    order = ["person", "unit", "institution", "staff"]
    for _ in range(order.index(kind_value)):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    if unit_code:
        page.keyboard.type(unit_code)
        page.keyboard.press("Tab")
    page.keyboard.type(login)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_keyboard_only_login_filing_and_review(visitor):
    page = visitor.page
    keyboard_login(page, "unit", REP_A, UNIT_A)
    assert page.url.endswith("/unit/")
    page.goto("/unit/unit_enrollment/")
    employee = page.locator("td.col-person\\.id_no").first.inner_text().strip()
    page.goto("/unit/filing/new/JY_RECORD/")
    page.locator("#id_no").focus()
    page.keyboard.type(employee)
    page.keyboard.press("Tab")
    # The date picker's segment order follows the browser's own locale: set it directly.
    page.locator("#hire_date").fill("2026-11-20")
    page.keyboard.press("Tab")
    page.keyboard.type("仓库管理员")
    tab_to(page, "保存并提交")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "待受理" in page.locator("#state").inner_text()
    filing_id = re.search(r"/filing/(\d+)/", page.url).group(1)
    visitor.logout()

    keyboard_login(page, "staff", "reviewer")
    page.goto(f"/admin/admin_application/details/?id={filing_id}")
    tab_to(page, "受理")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#case-state").inner_text() == "审核中"
    tab_to(page, "审核通过")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "已审核通过" in visitor.text()
    visitor.assert_clean()


def test_a_phone_change_at_the_counter(visitor):
    """The clerk who opened a unit changes its legal representative's login phone after
    checking his ID; the new phone logs in."""
    facts = open_unit_at_counter(visitor)
    page = visitor.page
    visitor.goto("/admin/counter/")  # the receipt has no menu
    page.get_by_role("link", name="变更登录手机号码").click()
    page.wait_for_load_state()
    visitor.check_page(axe=True)
    new_phone = fresh_phone()
    page.get_by_label("申请单号").fill("SJ-2026-0001")
    page.get_by_label("身份证号码").fill(facts["rep"])
    page.get_by_label("姓名（核对证件）").fill("周明")
    page.get_by_label("新手机号码（留空：清除多人共用的号码）").fill(new_phone)
    page.get_by_role("button", name="办理").click()
    page.wait_for_load_state()
    assert f"已变更“周明”的登录手机号码为 {mask(new_phone)}" in visitor.text()
    visitor.logout()
    visitor.login("单位", new_phone, facts["uscc"], password=facts["password"])
    assert page.url.endswith("/account/password")  # his first login, now by the new phone
    visitor.assert_clean()


def test_the_public_portal_sections(visitor):
    """A visitor before login: 个人办事, 查询服务 and a 地市频道, as the manual's portal."""
    visitor.goto("/portal/")
    page = visitor.page
    visitor.check_page(axe=True)
    nav = page.get_by_role("navigation", name="网办大厅")
    nav.get_by_role("link", name="个人办事").click()
    page.wait_for_load_state()
    expect(page.locator("#section-title")).to_have_text("个人办事")
    assert "人才认定备案" in visitor.text()
    visitor.check_page(axe=True)
    nav.get_by_role("link", name="查询服务").click()
    page.wait_for_load_state()
    assert "认定结果查询" in visitor.text() and "无需登录" in visitor.text()
    visitor.check_page(axe=True)
    nav.get_by_role("link", name="地市频道").click()
    page.wait_for_load_state()
    page.locator("#channels").get_by_role("link", name="西湖区").click()
    page.wait_for_load_state()
    expect(page.locator("#channel-name")).to_have_text("西湖区频道")
    visitor.check_page(axe=True)
    visitor.assert_clean()
