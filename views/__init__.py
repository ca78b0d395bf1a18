"""Presentation: the login blueprint and the three consoles."""
from models import clock
from rules.masking import mask
from rules.workflow import Action
from views import account, auth, chrome, hardening, portal, queries
from views.base import shown_identifier
from views.consoles import build_consoles


def code_label(code: str | None, table: str) -> str:
    """A code of a code table (字典) by its label: ``{{ unit.competent_dept|code_label(
    'competent_dept') }}``; no code is an empty string."""
    from models.codes import labels_of

    return labels_of(table).get(code, code) if code else ""


def init_app(app) -> None:
    hardening.init_app(app)  # before any route: bounded <int:…> arguments
    app.jinja_env.filters["action_label"] = Action.label_of
    app.jinja_env.filters["office_time"] = clock.shown
    app.jinja_env.filters["office_date"] = lambda value: clock.shown(value)[:10]
    app.jinja_env.filters["identifier"] = shown_identifier
    app.jinja_env.filters["mask"] = mask
    app.jinja_env.filters["code_label"] = code_label
    chrome.init_app(app)
    auth.init_app(app)
    account.init_app(app)
    app.register_blueprint(queries.bp)
    portal.init_app(app)
    app.extensions["consoles"] = build_consoles(app)
