"""Console menus decided once per actor, not once per entry on every page.

Flask-Admin's navbar asks every entry's ``is_accessible`` and ``is_visible`` on every page,
and a category asks its children twice. Which entries an actor may see depends on the
actor alone: every ``is_accessible`` (``views.base.KindGate``, the staff matrix, the unit
links) and every ``SHOWN_TO`` rule (``views.consoles``) reads only the
``rules.permissions.Actor`` (account, kind, roles, regions, grant level and items). So the
entries are decided once per console and actor and kept, keyed by the whole Actor: another
account, or the same account after a change of roles or grant (a new Actor), is decided
afresh, and one actor's menu is never served to another.

What may change between two requests of one actor is read per request from the entries
kept: names (我的工作台 (N) counts filings), links' URLs and which entry is active.

The main menu's HTML is a function of the entries, the page (which entry is active) and the
entries' names, nothing else (``templates/console_menu.html``): it is rendered once per
actor, page and names, and kept with the actor's entries. Names are read on every page, so
a count in a name is as current as before.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app, request
from flask_admin.menu import BaseMenu
from markupsafe import Markup

from views.auth import current_actor

#: Actors whose menus a console keeps (least recently used dropped first).
KEPT = 2048
#: Rendered main menus kept per actor (pages × name variants); dropped all at once beyond.
KEPT_HTML = 64


@dataclass(frozen=True)
class Entry:
    """A menu entry the actor may see, with its visible children if it is a category.

    ``views`` are the pages that make it the active entry; ``url`` is read once (a view's
    URL, or a link's, under this script root); the name stays on ``item``, read per page.
    """

    item: BaseMenu
    children: tuple[Entry, ...] = ()
    is_category: bool = False
    url: str | None = None
    class_name: str = ""
    target: str | None = None
    views: tuple = ()


def _decide(items) -> tuple[Entry, ...]:
    entries = []
    for item in items:
        if item.is_category():
            children = _decide(item._children)
            if children:
                entries.append(Entry(item, children, True, None, item.get_class_name() or "",
                                     item.target,
                                     tuple(v for c in children for v in c.views)))
        elif item.is_accessible() and item.is_visible():
            view = getattr(item, "_view", None)
            entries.append(Entry(item, (), False, item.get_url(), item.get_class_name() or "",
                                 item.target, (view,) if view is not None else ()))
    return tuple(entries)


class _Kept:
    """A small thread-safe LRU of (main menu, links) by actor, one per console."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.menus: OrderedDict = OrderedDict()

    def get(self, actor, decide):
        with self.lock:
            if actor in self.menus:
                self.menus.move_to_end(actor)
                return self.menus[actor]
        menus = decide()
        with self.lock:
            self.menus[actor] = menus
            while len(self.menus) > KEPT:
                self.menus.popitem(last=False)
        return menus


def visible_menus(admin) -> tuple[tuple[Entry, ...], tuple[Entry, ...], dict]:
    """(main menu, menu links, rendered main menus) of ``admin`` that the current actor may
    see; the third is where ``main_menu_html`` keeps this actor's HTML."""
    kept = admin.__dict__.get("_kept_menus")
    if kept is None:
        kept = admin.__dict__.setdefault("_kept_menus", _Kept())
    key = (current_actor(), request.script_root)
    return kept.get(key, lambda: (_decide(admin.menu()), _decide(admin.menu_links()), {}))


def menu_entries(admin) -> tuple[Entry, ...]:
    """The main menu of ``admin`` as the current actor may see it (Jinja global)."""
    return visible_menus(admin)[0]


def menu_links(admin) -> tuple[Entry, ...]:
    """The menu links of ``admin`` as the current actor may see them (Jinja global)."""
    return visible_menus(admin)[1]


def _names(entries: tuple[Entry, ...]) -> tuple:
    return tuple((str(e.item.name), _names(e.children)) for e in entries)


def main_menu_html(admin_view) -> Markup:
    """The main menu of ``admin_view``'s console as the current actor sees it on this page
    (Jinja global): rendered from ``templates/console_menu.html`` once per page and entry
    names, then kept with the actor's entries."""
    entries, _, rendered = visible_menus(admin_view.admin)
    key = (admin_view, _names(entries))
    html = rendered.get(key)
    if html is None:
        if len(rendered) >= KEPT_HTML:
            rendered.clear()
        template = current_app.jinja_env.get_template("console_menu.html")
        html = rendered[key] = Markup(template.render(entries=entries, admin_view=admin_view))
    return html
