"""The lean list and details pages (views/listing.py): the same rows, links and values as
Flask-Admin's per-cell templates gave, for every viewer."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Person, db
from tests.conftest import UNIT_A, login

AGENT = "340104199506243211"


def _rows(html: str) -> list[str]:
    body = html.split("</thead>", 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_each_rows_actions_name_that_row(as_staff):
    html = as_staff("admin").get("/admin/admin_person/").get_data(as_text=True)
    rows = _rows(html)
    assert len(rows) == 20
    seen = set()
    for row in rows:
        ids = (re.findall(r'class="action-checkbox" value="(\d+)"', row)
               + re.findall(r"/details/\?id=(\d+)&amp;url=", row)
               + re.findall(r"/edit/\?id=(\d+)&amp;url=", row)
               + re.findall(r'name="id" type="hidden" value="(\d+)"', row))
        assert len(ids) == 4 and len(set(ids)) == 1, ids  # checkbox, view, edit, delete
        seen.add(ids[0])
        person = db.session.get(Person, int(ids[0]))
        cells = dict(re.findall(r'<td class="col-(\w+)">\s*(.*?)\s*</td>', row, re.S))
        assert cells["name"] == person.name and cells["id_no"] == person.id_no
    assert len(seen) == 20


def test_a_viewer_without_the_right_gets_no_row_actions_and_masked_cells(as_staff):
    html = as_staff("auditor").get("/admin/admin_person/").get_data(as_text=True)
    rows = _rows(html)
    assert rows and not any("/edit/" in r or 'name="id"' in r for r in rows)
    id_nos = [re.search(r'<td class="col-id_no">\s*(\S+)\s*<', r).group(1) for r in rows]
    assert all(re.fullmatch(r"\d\*+[\dX]{2}", n) for n in id_nos), id_nos  # 3*****71


def test_row_links_keep_the_list_a_search_came_from(as_staff):
    person = db.session.scalar(sa.select(Person).limit(1))
    html = as_staff("admin").get(
        f"/admin/admin_person/?search={person.id_no}").get_data(as_text=True)
    (row,) = _rows(html)
    assert f"/admin/admin_person/details/?id={person.id}&amp;url=" in row
    assert f"search%3D{person.id_no}" in row  # back to the same search


def test_an_agent_sees_the_details_values_masked(client):
    assert login(client, "unit", AGENT, UNIT_A).status_code == 302
    listing = client.get("/unit/unit_enrollment/").get_data(as_text=True)
    row_id = re.search(r"/details/\?id=(\d+)", listing).group(1)
    html = client.get(f"/unit/unit_enrollment/details/?id={row_id}").get_data(as_text=True)
    cells = dict(re.findall(r"<b>(.*?)</b>\s*</td>\s*<td>\s*(.*?)\s*</td>", html, re.S))
    assert re.fullmatch(r"\S+（\d\*+[\dX]{2}）", cells["人员"]), cells  # 杨玉华（3*****29）
    assert cells["状态"] in {"参保缴费", "暂停参保"} and re.fullmatch(  # labels, Beijing time
        r"\d{4}-\d\d-\d\d \d\d:\d\d", cells["创建时间"]), cells
    assert "javascript:" not in html


def test_view_urls_kept_in_memory_are_the_routers_for_each_console_and_script_root(app):
    """views.chrome.view_url keeps the URLs list pages build; a relative endpoint names the
    current console's view, so one console's URL is never served to another's page."""
    from flask import url_for

    from views.chrome import view_url

    asked = ((".index_view", {"page": 2, "search": "张 伟"}), (".index_view", {}),
             (".export", {"export_type": "csv"}), ("auth.login", {"next": "/unit/"}))
    for path, root in (("/unit/unit_enrollment/", ""), ("/admin/admin_person/", ""),
                       ("/unit/unit_enrollment/", "/wb"), ("/admin/admin_person/", "/wb")):
        with app.test_request_context(path, base_url=f"http://localhost{root}"):
            for endpoint, values in asked:
                for _ in range(2):  # built, then read from memory
                    assert view_url(endpoint, **values) == url_for(endpoint, **values), (
                        path, root, endpoint)


def test_list_times_are_the_office_clocks_zone_read_for_each_page(as_staff, app, monkeypatch):
    """A list's timestamps go through one value function a page (views.hardening.office_time,
    column-wise): the office's zone as configured, the same text as clock.shown."""
    from models import clock

    client = as_staff("admin")
    seen = set()
    for zone in ("Asia/Shanghai", "America/New_York"):
        monkeypatch.setitem(app.config, "OFFICE_TIMEZONE", zone)
        html = client.get("/admin/admin_person/").get_data(as_text=True)
        row = _rows(html)[0]
        person = db.session.get(Person, int(re.search(r"[?&;]id=(\d+)", row).group(1)))
        with app.app_context():
            expected = clock.shown(person.created_at)
        cell = re.search(r'class="col-created_at">\s*([^<]*?)\s*</td>', row).group(1)
        assert cell == expected, zone
        seen.add(cell)
    assert len(seen) == 2


def test_a_lists_filter_groups_json_is_made_once_and_is_flask_admins(unit_a, app):
    """The filter groups' JSON (views.chrome.tojson_kept) is encoded once per view and locale
    and is the JSON of Flask-Admin's own groups, page after page."""
    import html as html_lib
    import json

    from flask import render_template_string
    from flask_admin.model import BaseModelView

    view = next(v for v in app.extensions["consoles"]["unit"]._views
                if v.endpoint == "unit_enrollment")
    texts = []
    for _ in range(2):
        page = unit_a.get("/unit/unit_enrollment/").get_data(as_text=True)
        texts.append(re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>',
                               page, re.S).group(1))
    assert texts[0] == texts[1]
    with app.test_request_context("/unit/unit_enrollment/"):
        stock = BaseModelView._get_filter_groups(view)
        expected = render_template_string("{{ groups|tojson|safe }}", groups=stock)
        assert view._get_filter_groups().json_text == texts[0]
    assert texts[0] == expected
    assert json.loads(html_lib.unescape(texts[0])) == json.loads(html_lib.unescape(expected))


def _header(html: str) -> str:
    return re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)


def test_a_lists_header_row_is_kept_per_sort_and_query_and_its_links_follow_them(as_staff,
                                                                                 monkeypatch):
    # views.chrome.kept_html: the header row is rendered once per view, sort and query
    # arguments; each list's sort links keep its own search, and the arrow its own column.
    from views import chrome

    def kept():
        return sum(1 for key in chrome._FRAGMENTS if key[0][0] == "header")

    client = as_staff("admin")
    chrome._FRAGMENTS.clear()
    plain = _header(client.get("/admin/admin_unit/").get_data(as_text=True))
    assert kept() == 1
    assert _header(client.get("/admin/admin_unit/").get_data(as_text=True)) == plain
    assert kept() == 1  # read from memory
    searched = _header(client.get("/admin/admin_unit/?search=abc").get_data(as_text=True))
    assert "search=abc" in searched and "search=abc" not in plain
    by_first = _header(client.get("/admin/admin_unit/?sort=0&desc=1").get_data(as_text=True))
    assert by_first.count("glyphicon-chevron-down") == 1 and "glyphicon-chevron" not in plain
    assert kept() == 3


def test_kept_fragments_stay_few_whatever_is_searched(as_staff, monkeypatch):
    # Every search and sort is another key: the kept fragments are bounded in number, and a
    # long query string (hostile or not) renders the same page without being kept at all.
    from urllib.parse import quote

    from views import chrome

    monkeypatch.setattr(chrome._FRAGMENTS, "limit", 5)
    client = as_staff("admin")
    chrome._FRAGMENTS.clear()
    for n in range(12):
        assert client.get(f"/admin/admin_unit/?search=t{n}").status_code == 200
        assert len(chrome._FRAGMENTS) <= 5
    chrome._FRAGMENTS.clear()
    term = quote("长" * 200)  # 1,800 bytes
    response = client.get(f"/admin/admin_unit/?search={term}")
    assert response.status_code == 200 and "list-checkbox-column" in _header(
        response.get_data(as_text=True))
    assert not chrome._FRAGMENTS
    chrome._URLS.clear()
    assert client.get(f"/admin/admin_unit/?search={term}").status_code == 200
    assert not any("长" * 200 in str(key) for key in chrome._URLS)  # nor are its URLs


def _tabs(html: str) -> str:
    return re.search(r'<ul class="nav nav-tabs">(.*?)</ul>', html, re.S).group(1)


def test_a_lists_tabs_are_kept_per_actor_and_never_shown_to_another(app):
    # The tabs above a list (create, exports, actions) depend on what the actor may do:
    # kept per actor (views.chrome.kept_html), each staff member sees his own, however the
    # requests interleave, and the same as when nothing was kept.
    from tests.test_menus import _staff_client
    from views import chrome

    admin, reviewer = _staff_client(app, "admin"), _staff_client(app, "reviewer")
    fresh = {}
    for name, client in (("admin", admin), ("reviewer", reviewer)):
        chrome._FRAGMENTS.clear()
        fresh[name] = _tabs(client.get("/admin/admin_unit/").get_data(as_text=True))
    assert fresh["admin"] != fresh["reviewer"]
    chrome._FRAGMENTS.clear()
    for _ in range(2):
        assert _tabs(admin.get("/admin/admin_unit/").get_data(as_text=True)) == fresh["admin"]
        assert _tabs(reviewer.get("/admin/admin_unit/").get_data(as_text=True)) == \
            fresh["reviewer"]


def test_a_lists_count_tab_follows_a_new_row_at_once(unit_a):
    # The tabs are kept per count too: a member added to the unit shows in 列表 (N) at once.
    import datetime as dt

    from models import Enrollment, Unit

    def shown() -> int:
        html = unit_a.get("/unit/unit_enrollment/").get_data(as_text=True)
        return int(re.search(r'nav-link active">列表 \((\d+)\)', _tabs(html)).group(1))

    before = shown()
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == UNIT_A))
    enrolled = sa.select(Enrollment.person_id).where(Enrollment.unit_id == unit.id)
    newcomer = db.session.scalar(sa.select(Person.id).where(Person.id.not_in(enrolled)).limit(1))
    db.session.add(Enrollment(person_id=newcomer, unit_id=unit.id, insurance_kinds="110",
                              start_date=dt.date(2026, 1, 1), wage=5000))
    db.session.commit()
    assert shown() == before + 1
