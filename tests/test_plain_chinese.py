"""A crawl of the three consoles as every kind of user: no raw code, English state, boolean
or microsecond timestamp in what a person reads (issue 14's "done when")."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.browser.pages import assert_plain_chinese
from tests.conftest import PERSON, REP_A, UNIT_A, login

USERS = {
    "admin": ("staff", "admin", ""), "clerk": ("staff", "clerk", ""),
    "reviewer": ("staff", "reviewer", ""), "auditor": ("staff", "auditor", ""),
    "legal_rep": ("unit", REP_A, UNIT_A), "agent": ("unit", "340104199506243211", UNIT_A),
    "institution": ("institution", "370102199211175699", "JG3301060001"),
    "person": ("person", PERSON, ""),
}
#: Pages whose subject is the codes themselves (the item catalogue and designer, the code
#: tables of 字典管理), for the administrators who maintain them.
CODE_PAGES = ("/admin/admin_service_item/", "/admin/designer/", "/admin/admin_code/")


class _Text(HTMLParser):
    """The text a person reads (no scripts, styles or hidden data), and the console links."""

    def __init__(self):
        super().__init__()
        self.parts, self.links = [], []
        self._skip = 0  # depth inside script/style
        self._hidden = 0  # div depth inside a hidden div (Flask-Admin's filter data)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "div" and (self._hidden or "d-none" in (attrs.get("class") or "").split()):
            self._hidden += 1
        href = attrs.get("href") or ""
        if tag == "a" and re.match(r"^/(admin|unit|me)/[\w/]*$", href):
            self.links.append(href)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "div" and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._skip and not self._hidden:
            self.parts.append(data)


def _read(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("who", sorted(USERS))
def test_every_page_a_user_reaches_from_the_menu_is_plain_chinese(client, who):
    kind, name, code = USERS[who]
    assert login(client, kind, name, code).status_code == 302
    home = {"staff": "/admin/", "unit": "/unit/", "institution": "/unit/", "person": "/me/"}[kind]
    start = _read(client.get(home).get_data(as_text=True))
    pages = [home, *dict.fromkeys(start.links)]
    seen = 0
    for path in pages:
        if path.startswith(CODE_PAGES):
            continue
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = _read(response.get_data(as_text=True))
        assert_plain_chinese(" ".join(page.parts), f"{who} {path}")
        seen += 1
    assert seen >= 4, pages
