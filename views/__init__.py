"""Presentation: the login blueprint and the three consoles."""
from rules.workflow import Action
from views import account, auth, chrome, queries
from views.consoles import build_consoles


def init_app(app) -> None:
    app.jinja_env.filters["action_label"] = Action.label_of
    chrome.init_app(app)
    auth.init_app(app)
    account.init_app(app)
    app.register_blueprint(queries.bp)
    app.extensions["consoles"] = build_consoles(app)
