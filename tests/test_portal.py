"""The public portal: 服务清单, search, notices staff publish and retire, agreement, forms."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import AuditEvent, ServiceItem, db
from models.notice import Notice, NoticeKind
from tests.conftest import csrf_token


def _notice(client, title, kind="notice", body="正文第一段\n正文第二段"):
    response = client.post("/admin/admin_notice/new/", data={
        "csrf_token": csrf_token(client), "kind": kind, "title": title, "body": body},
        follow_redirects=True)
    assert response.status_code == 200
    return db.session.scalar(sa.select(Notice).where(Notice.title == title))


def _action(client, name, *notices):
    return client.post("/admin/admin_notice/action/", data={
        "csrf_token": csrf_token(client), "action": name,
        "rowid": [str(n.id) for n in notices]}, follow_redirects=True)


def test_service_list_needs_no_login_and_groups_items_with_materials_and_limits(client):
    page = client.get("/portal/items/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "社会保险登记" in html and "人才服务" in html
    assert "社会保险职工参保登记" in html and "劳动合同" in html
    assert "5个工作日" in html and "单位" in html


def test_inactive_items_are_not_offered(client):
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "SB_UNIT_CHANGE"))
    item.active = False
    db.session.commit()
    assert item.name not in client.get("/portal/items/").get_data(as_text=True)
    assert client.get("/portal/items/SB_UNIT_CHANGE/").status_code == 404


def test_item_page_shows_who_may_file_its_limit_materials_and_fields(client):
    html = client.get("/portal/items/RC_TALENT/").get_data(as_text=True)
    assert "人才认定备案" in html
    assert re.search(r'id="item-filer">[^<]*所在单位上报', html)
    assert "10个工作日" in html
    assert client.get("/portal/items/NO_SUCH/").status_code == 404


def test_search_finds_items_by_name_and_says_when_nothing_matches(client):
    html = client.get("/portal/items/?q=暂停").get_data(as_text=True)
    assert "社会保险职工暂停参保" in html and "社会保险职工参保登记<" not in html
    assert "共 2 项" in html and "人员批量暂停参保" in html
    none = client.get("/portal/items/?q=%25_不存在").get_data(as_text=True)
    assert "没有找到" in none
    assert client.get("/portal/items/?q=" + "长" * 500).status_code == 200


def test_staff_publish_and_retire_notices_the_portal_shows_only_published(as_staff):
    client = as_staff("admin")
    draft = _notice(client, "关于调整社保缴费基数的通知")
    publicity = _notice(client, "2026年度人才认定结果公示", kind="publicity")
    assert draft.published_at is None
    assert "关于调整社保缴费基数的通知" not in client.get("/portal/").get_data(as_text=True)
    assert client.get(f"/portal/notices/{draft.id}/").status_code == 404

    _action(client, "publish", draft, publicity)
    home = client.get("/portal/").get_data(as_text=True)
    assert "关于调整社保缴费基数的通知" in home and "2026年度人才认定结果公示" in home
    listing = client.get("/portal/notices/?kind=publicity").get_data(as_text=True)
    assert "2026年度人才认定结果公示" in listing and "关于调整社保缴费基数的通知" not in listing
    page = client.get(f"/portal/notices/{draft.id}/").get_data(as_text=True)
    assert "<p>正文第二段</p>" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "notice.publish")) == 2

    _action(client, "retire", draft)
    assert client.get(f"/portal/notices/{draft.id}/").status_code == 404
    assert "关于调整社保缴费基数的通知" not in client.get("/portal/").get_data(as_text=True)
    again = _action(client, "retire", draft).get_data(as_text=True)
    assert "该公告已撤下" in again


def test_published_notices_show_on_unit_and_personal_home(as_staff, client):
    from tests.conftest import PERSON, REP_A, UNIT_A
    from tests.helpers import switch

    staff = as_staff("admin")
    notice = _notice(staff, "春节期间网办大厅服务安排")
    _action(staff, "publish", notice)
    switch(client, "unit", REP_A, UNIT_A)
    assert "春节期间网办大厅服务安排" in client.get("/unit/").get_data(as_text=True)
    switch(client, "person", PERSON)
    assert "春节期间网办大厅服务安排" in client.get("/me/").get_data(as_text=True)


def test_only_the_system_admin_publishes(as_staff, client):
    notice = Notice(kind=NoticeKind.NOTICE, title="草稿公告", body="")
    db.session.add(notice)
    db.session.commit()
    clerk = as_staff("clerk")
    response = _action(clerk, "publish", notice)
    assert response.status_code in (200, 403)
    assert db.session.get(Notice, notice.id).published_at is None


def test_empty_title_is_refused_in_chinese(as_staff):
    client = as_staff("admin")
    html = client.post("/admin/admin_notice/new/", data={
        "csrf_token": csrf_token(client), "kind": "notice", "title": "  ", "body": "x"},
        follow_redirects=True).get_data(as_text=True)
    assert "请填写公告标题" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0


def test_agreement_text_is_public_and_linked_from_registration(client):
    html = client.get("/portal/agreement/").get_data(as_text=True)
    assert "法人用户注册协议" in html and "个人信息保护" in html
    register = client.get("/register").get_data(as_text=True)
    assert 'href="/portal/agreement/"' in register


def test_paper_forms_download_as_pdf(client):
    for slug in ("open", "reset", "cancel"):
        response = client.get(f"/portal/forms/{slug}.pdf")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        assert "attachment" in response.headers["Content-Disposition"]
    assert client.get("/portal/forms/other.pdf").status_code == 404
    assert "网上办事权限注销申请表" in client.get("/portal/").get_data(as_text=True)


def _recognise_zhang():
    import datetime as dt

    from models import Person, TalentRecognition, clock
    from tests.conftest import PERSON

    zhang = db.session.scalar(sa.select(Person).where(Person.id_no == PERSON))
    recognition = db.session.scalar(sa.select(TalentRecognition).where(
        TalentRecognition.person_id == zhang.id))
    recognition.valid_until = clock.today() + dt.timedelta(days=365)
    db.session.commit()
    return zhang, recognition


def test_talent_publicity_is_public_with_masked_id_numbers(client):
    zhang, recognition = _recognise_zhang()
    html = client.get("/portal/talent/").get_data(as_text=True)
    assert "张伟" in html and recognition.certificate_no in html and "D类" in html
    assert zhang.id_no not in html and f"{zhang.id_no[0]}*****{zhang.id_no[-2:]}" in html


def test_talent_result_needs_name_and_id_number_together(client):
    zhang, recognition = _recognise_zhang()
    found = client.get(f"/portal/talent/result/?name=张伟&id_no={zhang.id_no}")
    assert recognition.certificate_no in found.get_data(as_text=True)
    wrong = client.get(f"/portal/talent/result/?name=李四&id_no={zhang.id_no}")
    text = wrong.get_data(as_text=True)
    assert "未查询到认定结果" in text and recognition.certificate_no not in text
    half = client.get(f"/portal/talent/result/?id_no={zhang.id_no}").get_data(as_text=True)
    assert "请同时填写姓名和身份证号码" in half and recognition.certificate_no not in half


def test_talent_result_queries_are_limited_per_address_in_chinese(client):
    """认定结果查询 takes a name and an ID number: one address cannot walk the city's numbers
    through it. The empty form is never counted."""
    for _ in range(25):
        assert client.get("/portal/talent/result/").status_code == 200
    answers = [client.get(f"/portal/talent/result/?name=张三&id_no=3301061990010{n:04d}")
               .status_code for n in range(21)]
    assert answers[:20] == [200] * 20 and answers[20] == 429
    refused = client.get("/portal/talent/result/?name=张三&id_no=330106199001010000")
    assert refused.status_code == 429 and "请" in refused.get_data(as_text=True)


# --- the portal's sections: 个人办事, 单位办事, 查询服务, 地市频道 ------------------------------

def _section(client, kind):
    page = client.get(f"/portal/section/{kind}/")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_personal_and_unit_sections_list_the_items_each_may_file(client):
    personal, unit = _section(client, "personal"), _section(client, "unit")
    # 人才认定备案 is the individual's alone (manual 003); his unit only forwards it.
    assert "个人办事" in personal and "人才认定备案" in personal
    assert "社会保险职工参保登记" not in personal
    assert "单位办事" in unit and "社会保险职工参保登记" in unit and "劳动合同" in unit
    assert "人才认定备案" not in unit
    talent = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "RC_TALENT"))
    talent.filer = "unit"
    db.session.commit()
    assert "人才认定备案" not in _section(client, "personal")
    assert "人才认定备案" in _section(client, "unit")
    assert client.get("/portal/section/nobody/").status_code == 404


def test_query_services_say_which_need_a_login(client):
    html = client.get("/portal/queries/").get_data(as_text=True)
    assert "认定结果查询" in html and "无需登录" in html
    assert "个人参保及缴费查询" in html and "个人登录后查询" in html
    assert 'href="/me/query/"' in html
    # A console query asks for the login first.
    assert client.get("/me/query/").status_code in (302, 401)


def test_city_channels_are_the_configured_list(client, as_staff):
    from models.codes import Code, CodeTable

    html = client.get("/portal/channels/").get_data(as_text=True)
    assert "西湖区" in html and "定海区" in html
    city = client.get("/portal/channels/330100/").get_data(as_text=True)
    assert "杭州市频道" in city and "西湖区" in city and "定海区" not in city
    district = client.get("/portal/channels/330106/").get_data(as_text=True)
    assert "西湖区频道" in district and 'href="/portal/channels/330100/"' in district
    assert client.get("/portal/channels/999999/").status_code == 404
    # Staff keep the list in 字典管理: a retired channel is no longer offered.
    code = db.session.scalar(sa.select(Code).join(CodeTable).where(
        CodeTable.code == "city_channel", Code.code == "330903"))
    code.retired = True
    db.session.commit()
    assert "普陀区" not in client.get("/portal/channels/").get_data(as_text=True)
    assert client.get("/portal/channels/330903/").status_code == 404


def test_the_portal_home_links_every_section(client):
    html = client.get("/portal/").get_data(as_text=True)
    for href in ("/portal/section/personal/", "/portal/section/unit/", "/portal/queries/",
                 "/portal/channels/", "/portal/items/"):
        assert f'href="{href}"' in html
    assert 'id="home-channels"' in html and "舟山市" in html


def test_the_staff_dashboard_shows_the_current_notices(as_staff):
    admin = as_staff("admin")
    notice = _notice(admin, "窗口延时服务通知")
    _action(admin, "publish", notice)
    dashboard = as_staff("reviewer").get("/admin/").get_data(as_text=True)
    assert 'id="home-notices"' in dashboard and "窗口延时服务通知" in dashboard
    admin = as_staff("admin")
    _action(admin, "retire", notice)
    assert "窗口延时服务通知" not in as_staff("clerk").get("/admin/").get_data(as_text=True)
