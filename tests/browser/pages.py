"""What every journey checks on every page: problems the browser saw, layout, accessibility."""
from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from models.demo import DEMO_PASSWORD

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 740}
AXE = Axe()
#: axe-core impacts a page may not have.
BLOCKING = {"serious", "critical"}

NAVBAR_JS = """() => {
  const nav = document.querySelector('nav.navbar');
  if (!nav) return null;
  const items = [...nav.querySelectorAll('.navbar-brand, .navbar-nav > li')]
      .filter(e => e.offsetParent !== null);
  const tops = items.map(e => Math.round(e.getBoundingClientRect().top));
  return {height: Math.round(nav.getBoundingClientRect().height),
          spread: Math.max(...tops) - Math.min(...tops),
          wrapped: items.filter(e => e.getBoundingClientRect().height > 50)
                        .map(e => e.innerText.trim())};
}"""
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def cancelled(request) -> bool:
    """A script's fetch the browser dropped because the page moved on (a live preview still
    in flight when 发布 navigates): nothing failed for the user. A page, stylesheet or script
    that fails to load, or any answer of 4xx/5xx, is still a problem."""
    return request.resource_type in ("fetch", "xhr") and request.failure == "net::ERR_ABORTED"


class Visitor:
    """One person's browser tab: navigation plus the checks every journey repeats."""

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console: {m.text} ({page.url})"))
        page.on("pageerror", lambda e: self.problems.append(f"script error: {e} ({page.url})"))
        page.on("requestfailed", lambda r: cancelled(r) or self.problems.append(
            f"failed load: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"HTTP {r.status}: {r.url}"))

    # --- moving around ----------------------------------------------------------------
    def goto(self, path: str):
        """Open a path of the live server and return the response."""
        return self.page.goto(path)

    def login(self, kind: str, login: str, unit_code: str = "", password: str = DEMO_PASSWORD):
        """Log in through the login page as a person would: tab, fields, button."""
        page = self.page
        page.goto("/login")
        page.get_by_text(kind, exact=True).click()
        if unit_code:
            page.locator("#unit_code").fill(unit_code)
        page.locator("#login").fill(login)
        page.locator("#password").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()

    def logout(self):
        """The 退出 button where the page has one (receipts have none: forget the session)."""
        button = self.page.get_by_role("button", name="退出")
        if button.count():
            # Wait for the page 退出 leads to: a login page still loading when the next
            # login opens its own would set its session cookie last and void that form's
            # CSRF token (a 400 seen under load).
            with self.page.expect_navigation():
                button.click()
        self.page.context.clear_cookies()

    def text(self) -> str:
        """The visible text of the page."""
        return self.page.inner_text("body")

    # --- checks -------------------------------------------------------------------------
    def check_page(self, axe: bool = False) -> None:
        """The current page: navbar on one line at 1366 px, no sideways scroll at 375 px,
        no raw codes, and (if asked) no serious or critical axe-core violation."""
        page = self.page
        navbar = page.evaluate(NAVBAR_JS)
        if navbar is not None:
            assert navbar["spread"] <= 8 and not navbar["wrapped"], (page.url, navbar)
            assert navbar["height"] <= 72, (page.url, navbar)
        assert_plain_chinese(self.text(), page.url)
        page.set_viewport_size(PHONE)
        try:
            overflow = page.evaluate(OVERFLOW_JS)
            assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 375px"
        finally:
            page.set_viewport_size(DESKTOP)
        if axe:
            self.check_axe()

    def check_axe(self) -> None:
        """No serious or critical axe-core violation on the current page."""
        results = AXE.run(self.page).response
        bad = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
               for v in results["violations"] if v["impact"] in BLOCKING]
        assert not bad, (self.page.url, bad)

    def assert_clean(self) -> None:
        """No console error, script error, failed or 4xx/5xx load in the whole journey."""
        assert not self.problems, self.problems


#: What a person must never read: English states, booleans, raw codes, microseconds, UTC.
RAW = [
    re.compile(r"\b(SUBMITTED|IN_REVIEW|APPROVED|REJECTED|COMPLETED|WITHDRAWN|DRAFT)\b"),
    re.compile(r"\b(submitted|in_review|approved|rejected|completed|withdrawn|awaiting_unit)\b"),
    re.compile(r"\b(True|False|None)\b"),
    re.compile(r"\bSB_[A-Z_]+\b"),
    re.compile(r"\b\d{2}:\d{2}:\d{2}\.\d+"),
    re.compile(r"\b(110|210|310|410|510)(,(110|210|310|410|510))+\b"),
    re.compile(r"\b(id_no|start_date|insurance_kinds|unit_code)\b"),
    re.compile(r"\b\d+ items\b|\b(Unit|Person|Account|Item) Id\b|\bRating\b"),
    re.compile(r"\b(login_failed|application:\w+|grant:\w+|counter:\w+)"),
    re.compile(r"\b(Account|Unit|Person|Application|Grant) \d+\b"),
]


def assert_plain_chinese(text: str, where: str) -> None:
    """The page's visible text holds none of the raw values in ``RAW``."""
    for pattern in RAW:
        match = pattern.search(text)
        assert match is None, f"{where}: raw value {match.group(0)!r} in the page"
