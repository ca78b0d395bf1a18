"""The chrome every page shares: favicon, page titles, and the filters templates use to show
values in plain Chinese (Beijing time, 是/否)."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from flask import Flask, Response, current_app, g, has_request_context, request, url_for
from flask_admin import babel
from flask_babel import get_locale
from jinja2 import pass_eval_context
from markupsafe import Markup

from models.base import utcnow


def yes_no(value) -> str:
    """是 / 否 for a boolean, blank for none."""
    return "" if value is None else ("是" if value else "否")


def page_title(view) -> str:
    """The page part of "页面 - 网办": the view's name, or the console's on its home page."""
    admin = getattr(view, "admin", None)
    if admin is not None and view is admin.index_view:
        return str(admin.name).split(" · ")[-1]
    return str(getattr(view, "name", "") or "")


def admin_static_url(console: str, filename: str, **kwargs) -> str:
    """The URL of a console's static asset (Flask-Admin's ``admin_static.url``), built by
    the router once per script root, console, file and version, then read from memory."""
    key = (request.script_root, console, filename, tuple(sorted(kwargs.items())))
    urls = current_app.extensions.setdefault("wangban_static_urls", {})
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for(f"{console}.static", filename=filename, **kwargs)
    return url


class Kept(dict):
    """A per-process memo of things built from what requests ask for, bounded in number:
    emptied when full, so whatever a request sends, it holds at most ``limit`` entries."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def keep(self, key, make):
        """The value kept for ``key``, made by ``make()`` the first time; made every time
        when ``key`` cannot be a key (an unhashable part)."""
        try:
            value = self.get(key)
        except TypeError:
            return make()
        if value is None:
            if len(self) >= self.limit:
                self.clear()
            value = self[key] = make()
        return value


#: A request whose query string is longer than this (a long search, many filters) builds its
#: URLs and fragments without keeping them: each would weigh as much as the text it carries.
KEPT_QUERY_MAX = 512
#: URLs a page built, by (script root, blueprint, endpoint, arguments).
_URLS = Kept(10_000)
#: Flask-Admin's template strings translated so far, by (locale, text, variables).
_TRANSLATED = Kept(10_000)
#: Template fragments rendered so far (``kept_html``), by what they are a function of. A
#: fragment is ~3 KB: at most ~3 MB a worker, however many searches and sorts are asked for.
_FRAGMENTS = Kept(1_000)


def _admin_locale() -> str:
    """The request's locale as text, looked up once per request."""
    locale = g.get("_admin_locale")
    if locale is None:
        locale = g._admin_locale = str(get_locale())
    return locale


def view_url(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` built by the router once per script root, current
    blueprint (a relative ``.endpoint`` names its own) and arguments, then read from memory:
    a list page asks for some thirty (sort headers, pager, page sizes, exports, filters, the
    chrome's links). It is the templates' ``url_for`` and the model views' ``get_url``.
    Arguments flagged with ``_`` (external, anchor, scheme) go to the router every time."""
    if (not has_request_context() or len(request.query_string) > KEPT_QUERY_MAX
            or any(name.startswith("_") for name in values)):
        # A job's template has nothing to key on; a long query string (a long search) would
        # make each kept URL as heavy as the text it carries; an external URL carries the
        # request's host.
        return url_for(endpoint, **values)
    key = (request.script_root, request.blueprint, endpoint, tuple(sorted(values.items())))
    return _URLS.keep(key, lambda: url_for(endpoint, **values))


class KeptJson(OrderedDict):
    """A mapping built once and shown on every page as JSON (a list's filter groups): its
    ``tojson`` text is made once too (``tojson_kept``). Never changed once built."""

    json_text = None


@pass_eval_context
def tojson_kept(eval_ctx, value):
    """``value|tojson``, made once for a ``KeptJson`` (the filter groups' JSON was encoded
    on every list page), as Jinja's ``tojson`` filter makes it for anything else."""
    tojson = eval_ctx.environment.filters["tojson"]
    if not isinstance(value, KeptJson):
        return tojson(eval_ctx, value)
    if value.json_text is None:
        value.json_text = tojson(eval_ctx, value)
    return value.json_text


def admin_gettext(string: str, **variables) -> str:
    """Flask-Admin's ``_gettext`` for its templates, each (locale, text, variables)
    translated once per process: a page asks for some fifty, each of which costs Flask-Babel
    a locale and catalogue lookup."""
    key = (_admin_locale(), string, tuple(sorted(variables.items())))
    return _TRANSLATED.keep(key, lambda: babel.gettext(string, **variables))


def kept_html(*key, caller) -> Markup:
    """``{% call kept_html(k1, k2, ...) %}fragment{% endcall %}``: the fragment rendered
    once per key (plus the locale, script root and the request's query arguments) and then
    read from memory. Only for fragments that are a function of exactly those: a list's
    header row (its sort links are built from the query arguments), its tabs (keyed by the
    actor and the count too)."""
    if len(request.query_string) > KEPT_QUERY_MAX:
        return Markup(caller())
    full = (key, _admin_locale(), request.script_root, request.path,
            tuple(request.args.items(multi=True)))
    return _FRAGMENTS.keep(full, lambda: Markup(caller()))


def init_app(app: Flask) -> None:
    """Serve the favicon at the address browsers ask for, and register the helpers."""
    icon = (Path(app.static_folder) / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon():
        # From memory: browsers drop this request freely, and an open file would leak.
        response = Response(icon, mimetype="image/vnd.microsoft.icon")
        response.cache_control.max_age = 86400
        return response

    app.jinja_env.filters["yes_no"] = yes_no
    app.jinja_env.globals["page_title"] = page_title
    app.jinja_env.globals["admin_static_url"] = admin_static_url
    app.jinja_env.globals["url_for"] = view_url
    app.jinja_env.globals["kept_html"] = kept_html
    from views.auth import current_actor

    app.jinja_env.globals["current_actor"] = current_actor
    app.jinja_env.filters["tojson_kept"] = tojson_kept
    app.jinja_env.globals["office_now"] = utcnow  # stored-time now, shown through office_time
    from views.labels import batch_columns, item_names
    from views.listing import detail_cells, list_rows
    from views.menus import main_menu_html, menu_entries, menu_links

    app.jinja_env.globals["list_rows"] = list_rows
    app.jinja_env.globals["detail_cells"] = detail_cells

    app.jinja_env.globals["menu_entries"] = menu_entries
    app.jinja_env.globals["menu_links"] = menu_links
    app.jinja_env.globals["main_menu_html"] = main_menu_html

    app.jinja_env.filters["item_names"] = item_names
    app.jinja_env.globals["batch_columns"] = batch_columns
