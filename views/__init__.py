"""Presentation: the login blueprint and the three consoles."""
from views import auth
from views.consoles import build_consoles


def init_app(app) -> None:
    auth.init_app(app)
    app.extensions["consoles"] = build_consoles(app)
