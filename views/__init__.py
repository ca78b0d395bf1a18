"""Presentation: the login blueprint and the three consoles."""
from models import clock
from rules.workflow import Action
from views import account, auth, hardening, queries
from views.consoles import build_consoles


def init_app(app) -> None:
    hardening.init_app(app)  # before any route: bounded <int:…> arguments
    app.jinja_env.filters["action_label"] = Action.label_of
    app.jinja_env.filters["office_time"] = clock.shown
    auth.init_app(app)
    account.init_app(app)
    app.register_blueprint(queries.bp)
    app.extensions["consoles"] = build_consoles(app)
