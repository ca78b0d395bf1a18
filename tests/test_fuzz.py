"""No input answers 500: every list and form of the three consoles, fed hostile values.

The cases are generated from the running app: its URL map gives every list, create and edit
view; Flask-Admin's filters give the filter arguments; each form's own HTML gives the field
names and kinds. Hypothesis picks the hostile values deterministically (derandomize, a
bounded number of examples), so the test is the same on every run and on either database.
Each answer must be a page, a redirect or 400/403/404, never a 500; a posted form full of
hostile values writes nothing.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import db
from tests.conftest import PERSON, REP_A, UNIT_A, csrf_token, login

HOSTILE_TEXT = ["长" * 300, "a\x00b", "x" * 201, "<script>alert(1)</script>", "' OR 1=1 --",
                "\ud7ff\ufffe", "　", ""]
HOSTILE_NUMBER = ["99999999999999999999999999", "-1", "-99999999999", "NaN", "Infinity",
                  "-Infinity", "1e999", "0x1F", "１２", "3.30106E+17"]
HOSTILE_DATE = ["0001-01-01", "9999-12-31", "2026-13-45", "2026-02-30", "yesterday",
                "1900-01-01", "20261101", "2026-11-01T25:61"]
HOSTILE_CHOICE = ["__unknown__", "0", "-1", "../../etc/passwd", "\x00"]
HOSTILE = HOSTILE_TEXT + HOSTILE_NUMBER + HOSTILE_DATE + HOSTILE_CHOICE
LIST_ARGS = {
    "page": ["-1", "99999999999999999999999", "abc", "1e3", "NaN"],
    "page_size": ["0", "-5", "99999999999", "abc"],
    "sort": ["999", "-1", "abc", "99999999999999999999"],
    "desc": ["x", "-1", "99999999999999999999"],
    "search": HOSTILE_TEXT,
}
CONSOLES = {"admin": ("staff", "admin", ""), "unit": ("unit", REP_A, UNIT_A),
            "me": ("person", PERSON, "")}
FUZZ = settings(derandomize=True, max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def model_views(app, console):
    """(url, view) of every Flask-Admin ModelView registered in ``console``."""
    admin = app.extensions["consoles"][console]
    return [(view.url, view) for view in admin._views if hasattr(view, "_filter_args")]


def counts():
    """Rows per table, to prove that nothing was written."""
    tables = db.Model.metadata.sorted_tables
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in tables if t.name not in ("audit_event", "login_log")}  # logs of refusals


class Forms(HTMLParser):
    """The POST forms of a page: action, and the names they post with a kind (text, number,
    date, choice, check, hidden)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.current: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.current = {}
            self.forms.append((attrs.get("action") or "", self.current))
        name = attrs.get("name")
        if self.current is None or not name or name == "csrf_token":
            return
        if tag == "select":
            self.current[name] = "choice"
        elif tag == "textarea":
            self.current[name] = "text"
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "file"):
                return
            self.current[name] = {"number": "number", "date": "date", "checkbox": "check",
                                  "radio": "choice", "hidden": "hidden"}.get(kind, "text")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def forms_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def fields_of(html: str) -> dict[str, str]:
    """The visible fields of a page's POST forms (the page's own form, for a form page)."""
    return {name: kind for _, fields in forms_of(html) for name, kind in fields.items()
            if kind != "hidden"}


def logged_in(client, console):
    kind, name, unit = CONSOLES[console]
    assert login(client, kind, name, unit).status_code == 302
    return client


def assert_answered(response, url):
    assert response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize("console", list(CONSOLES))
def test_list_views_survive_malformed_arguments(app, client, console):
    logged_in(client, console)
    views = model_views(app, console)
    assert views

    @FUZZ
    @given(data=st.data())
    def run(data):
        url, view = data.draw(st.sampled_from(views))
        args = {k: data.draw(st.sampled_from(v)) for k, v in LIST_ARGS.items()
                if data.draw(st.booleans())}
        for key in list(view._filter_args or {})[:3]:
            args[f"flt{data.draw(st.sampled_from(['0', '1', 'x']))}_{key}"] = \
                data.draw(st.sampled_from(HOSTILE))
        response = client.get(url + "/", query_string=args)
        assert_answered(response, (url, args))

    run()


# --- forms -----------------------------------------------------------------------------------

#: A value each kind of field surely refuses: one field of every post gets it.
SURELY_INVALID = {"text": "a\x00b", "number": "NaN", "date": "9999-12-31",
                  "choice": "__unknown__", "hidden": "__unknown__\x00"}
BY_KIND = {"text": HOSTILE_TEXT + HOSTILE_NUMBER + HOSTILE_DATE, "number": HOSTILE_NUMBER,
           "date": HOSTILE_DATE, "choice": HOSTILE_CHOICE + HOSTILE_NUMBER,
           "check": ["y", "\x00", "长" * 300], "hidden": HOSTILE_CHOICE + HOSTILE_NUMBER}
PAGES = {"admin": ["/account/password", "/account/phone", "/admin/designer/new/",
                   "/admin/exports/"],
         "unit": ["/account/password", "/account/phone", "/unit/delegation/new/",
                  "/unit/settings/", "/unit/members/", "/unit/imports/", "/unit/exports/"],
         "me": ["/account/password", "/account/phone", "/me/settings/", "/me/certificates/",
                "/me/exports/"]}
OUTSIDE = ["/register", "/forgot", "/login", "/upgrade"]


def form_urls(app, client, console) -> list[str]:
    """Every form of the console the logged-in account may open (GET answers 200)."""
    from models import ServiceItem
    from views.counter import FORMS

    urls = []
    for url, _view in model_views(app, console):
        urls.append(url + "/new/")
        listing = client.get(url + "/").get_data(as_text=True)
        if match := re.search(r'/edit/\?id=(\d+)', listing):
            urls.append(f"{url}/edit/?id={match.group(1)}")
    if console in ("unit", "me"):
        codes = db.session.scalars(sa.select(ServiceItem.code)).all()
        urls += [f"/{console}/filing/new/{code}/" for code in codes]
    if console == "admin":
        urls += [f"/admin/counter/{service}/" for service in FORMS]
    urls += PAGES[console]
    found = []
    for url in urls:
        response = client.get(url)
        if response.status_code == 200 and fields_of(response.get_data(as_text=True)):
            found.append(url)
    return found


def post_hostile(client, url, fields, data) -> None:
    kinds = [name for name, kind in fields.items() if kind in SURELY_INVALID]
    form = {name: data.draw(st.sampled_from(BY_KIND[kind])) for name, kind in fields.items()}
    if kinds:
        victim = data.draw(st.sampled_from(kinds))
        form[victim] = SURELY_INVALID[fields[victim]]
    form["csrf_token"] = csrf_token(client)
    before = counts()
    response = client.post(url, data=form)
    assert_answered(response, (url, form))
    if kinds:
        db.session.expire_all()
        assert counts() == before, (url, form)


@pytest.mark.parametrize("console", list(CONSOLES))
def test_forms_refuse_hostile_values_and_write_nothing(app, client, console):
    logged_in(client, console)
    urls = form_urls(app, client, console)
    assert len(urls) >= 3
    fields = {url: fields_of(client.get(url).get_data(as_text=True)) for url in urls}

    @settings(FUZZ, max_examples=max(40, 2 * len(urls)))
    @given(data=st.data())
    def run(data):
        url = data.draw(st.sampled_from(urls))
        post_hostile(client, url, fields[url], data)

    run()


def test_pages_outside_the_consoles_refuse_hostile_values(client):
    fields = {url: fields_of(client.get(url).get_data(as_text=True)) for url in OUTSIDE}

    @FUZZ
    @given(data=st.data())
    def run(data):
        url = data.draw(st.sampled_from(OUTSIDE))
        post_hostile(client, url, fields[url], data)

    run()


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_date_fields_state_the_range_that_fits_them(unit_a, value):
    from tests.helpers import fresh_id_no, new_filing

    before = counts()
    response = new_filing(unit_a, "unit", "SB_ENROLL", {
        "id_no": fresh_id_no(91), "name": "日期", "phone": "13912345678",
        "start_date": value, "wage": "8000", "insurance_kinds": "110,210,310,410,510"})
    assert response.status_code == 200
    assert "日期应在1951-01-01至" in response.get_data(as_text=True)
    assert counts() == before


def test_staff_forms_state_date_ranges_and_column_lengths(as_staff):
    client = as_staff("admin")
    before = counts()
    page = client.post("/admin/admin_person/new/", data={
        "csrf_token": csrf_token(client), "id_type": "01", "id_no": "330106198507210020",
        "name": "名" * 51}).get_data(as_text=True)
    assert "不能超过50个字符" in page
    page = client.post("/admin/admin_holiday/new/", data={
        "csrf_token": csrf_token(client), "day": "1999-12-31", "name": "元旦"}).get_data(
        as_text=True)
    assert "日期应在2000-01-01至2100-12-31之间" in page
    assert counts() == before


# --- the other pages: every link and button of a console ------------------------------------

QUERY_KEYS = ["period", "year", "id_no", "name", "kind", "page", "code", "q"]
NUMERIC_KEYS = {"year", "page", "period", "id"}
#: Links the list and form fuzz above already cover.
LISTS = ("/new/", "/edit/", "/details/", "sort=", "page_size=", "flt")
SKIPPED = ("/logout", "/export/", "/delete/", "/static/", "/attachment/", ".pdf",
           "/certificate", "/template/", "/errors/", "/print/")


def crawl(client, start: str, extra: list[str] = (), limit: int = 120):
    """Pages (GET urls) and POST forms (url, fields) reachable from ``start`` in its console."""
    from html import unescape

    prefix = start.rstrip("/")
    seen, queue, pages, forms = set(), [start, *extra], [], []
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages.append(url)
        html = response.get_data(as_text=True)
        for href in re.findall(r'href="([^"#]+)"', html):
            href = unescape(href)
            if href.startswith(prefix) and not any(s in href for s in SKIPPED + LISTS):
                queue.append(href)
        for action, fields in forms_of(html):
            action = unescape(action) or url
            if action.startswith(prefix) and fields and not any(s in action for s in SKIPPED):
                forms.append((action, fields))
    return pages, list(dict.fromkeys((a, tuple(sorted(f.items()))) for a, f in forms))


@pytest.mark.parametrize("console", list(CONSOLES))
def test_every_page_and_button_survives_hostile_arguments(client, console):
    from urllib.parse import parse_qsl, urlsplit

    logged_in(client, console)
    review = []
    if console == "admin":  # the review buttons live on the filings' detail pages
        listing = client.get("/admin/admin_application/").get_data(as_text=True)
        review = [f"/admin/admin_application/details/?id={n}"
                  for n in re.findall(r"details/\?id=(\d+)", listing)[:6]]
    pages, forms = crawl(client, f"/{console}/", review)
    assert len(pages) >= 5 and forms

    # Every page with every query key at once, in rounds that rotate the hostile values
    # over keys and pages (a generated table, so that no page is left to chance).
    for p, url in enumerate(pages):
        parts = urlsplit(url)
        keys = list(dict.fromkeys([k for k, _ in parse_qsl(parts.query)] + QUERY_KEYS))
        for round_ in range(len(HOSTILE_NUMBER)):
            args = {k: HOSTILE_NUMBER[round_] if k in NUMERIC_KEYS else
                    HOSTILE[(round_ * 7 + n + p) % len(HOSTILE)] for n, k in enumerate(keys)}
            assert_answered(client.get(parts.path, query_string=args), (parts.path, args))

    @settings(FUZZ, max_examples=40)
    @given(data=st.data())
    def run(data):
        action, fields = data.draw(st.sampled_from(forms))
        post_hostile(client, action, dict(fields), data)

    run()


@pytest.mark.parametrize("url", [
    "/unit/query/pension/?id_no=330106198507210020&name=x&year=99999999999999999999",
    "/unit/filing/99999999999999999999/",
    "/unit/unit_enrollment/details/?id=99999999999999999999",
    "/unit/import/batch/2147483648/",
])
def test_huge_numbers_in_urls_answer_a_page_or_404(unit_a, url):
    assert unit_a.get(url).status_code in (200, 404)


def test_nul_in_any_argument_answers_400_in_chinese(unit_a):
    response = unit_a.get("/unit/query/pension/?id_no=a%00b&name=x")
    assert response.status_code == 400 and "无效字符" in response.get_data(as_text=True)
