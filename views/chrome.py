"""The chrome every page shares: favicon, and the filters templates use to show values in
plain Chinese (Beijing time, 是/否, insurance kinds, code labels)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Response


def init_app(app: Flask) -> None:
    """Serve the favicon at the address browsers ask for, and register the filters."""
    icon = (Path(app.static_folder) / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon():
        # From memory: browsers drop this request freely, and an open file would leak.
        response = Response(icon, mimetype="image/vnd.microsoft.icon")
        response.cache_control.max_age = 86400
        return response
