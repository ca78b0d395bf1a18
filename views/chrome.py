"""The chrome every page shares: favicon, page titles, and the filters templates use to show
values in plain Chinese (Beijing time, 是/否)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Response

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
    app.jinja_env.globals["office_now"] = utcnow  # stored-time now, shown through office_time
    from views.labels import batch_columns, item_names
    from views.menus import menu_entries, menu_links

    app.jinja_env.globals["menu_entries"] = menu_entries
    app.jinja_env.globals["menu_links"] = menu_links

    app.jinja_env.filters["item_names"] = item_names
    app.jinja_env.globals["batch_columns"] = batch_columns
