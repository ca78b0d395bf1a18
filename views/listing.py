"""List and details rows computed in one pass in Python, for the lean list and details
templates (``templates/admin/model/list.html``, ``details.html``).

Flask-Admin's templates call a macro per row action and ``get_value`` per cell through
Jinja's call machinery (context lookups, ``pass_context`` checks, a URL built by the
router per link). Here each page:

- resolves every column's formatter once (column formatter, choices map) and each value
  type's formatter once per type, with Flask-Admin's own precedence (first match wins); a
  formatter of the value alone (``views.labels.of_value``: labels, masking for this actor)
  is turned into its value function once per page, as exports do (``column_wise``), instead
  of asking who reads on every cell;
- renders each stock row action (view, edit, delete) once, for a placeholder id, and
  fills in each row's id: the same markup as rendering it per row. A custom row action, or
  an id that is not plain letters and digits, is rendered per row as Flask-Admin does.
"""
from __future__ import annotations

import re
import secrets
from types import SimpleNamespace

from flask_admin.model import template as row_templates
from flask_admin.tools import rec_getattr
from jinja2 import pass_context
from markupsafe import Markup

#: Row actions whose macros use nothing of the row but its id.
STOCK_ACTIONS = (row_templates.ViewRowAction, row_templates.ViewPopupRowAction,
                 row_templates.EditRowAction, row_templates.EditPopupRowAction,
                 row_templates.DeleteRowAction)
#: An id that reads the same in a URL and in HTML (needs neither quoting nor escaping).
PLAIN_ID = re.compile(r"[0-9A-Za-z_-]+\Z")
#: The id a stock row action is rendered for once per page, then replaced by each row's.
#: Random per process (never shown, so never guessed into a page's text), not per page:
#: the action's URL is then one the URL memory (views.chrome.view_url) already holds.
PLACEHOLDER = "rowid" + secrets.token_hex(8)
#: The actor not read yet (None is a reader too: no one signed in).
_UNREAD = object()


class _Formatters:
    """A view's formatters for one set of columns, resolved once per page."""

    def __init__(self, view, column_formatters, type_formatters):
        self.view = view
        self.column_formatters = column_formatters
        self.type_formatters = type_formatters
        self.by_type: dict[type, object] = {}
        self.by_value: dict[str, object] = {}  # column → value function (column-wise)
        self.actor = _UNREAD

    def reader(self):
        """Who reads this page (read once)."""
        if self.actor is _UNREAD:
            from views.auth import current_actor
            self.actor = current_actor()
        return self.actor

    def value_function(self, name: str, column_fmt):
        """``column_fmt``'s value function for this page, or None if it needs the row."""
        if name not in self.by_value:
            column_wise = getattr(column_fmt, "column_wise", None)
            self.by_value[name] = column_wise(self.reader()) if column_wise is not None else None
        return self.by_value[name]

    def type_formatter(self, kind: type):
        """(is a function of the value, formatter) for values of ``kind``, or None: the first
        type formatter that matches, as its value function when it has one (office time:
        the zone read once a page)."""
        if kind not in self.by_type:
            fmt = next((fmt for typeobj, fmt in self.type_formatters.items()
                        if issubclass(kind, typeobj)), None)
            column_wise = getattr(fmt, "column_wise", None)
            self.by_type[kind] = (None if fmt is None else
                                  (True, column_wise(self.reader())) if column_wise is not None
                                  else (False, fmt))
        return self.by_type[kind]

    def cells(self, context, row, columns) -> list[tuple[str, object]]:
        """(column, shown value) of ``row``: what Flask-Admin's ``_get_list_value`` gives."""
        view, out = self.view, []
        for name in columns:
            column_fmt = self.column_formatters.get(name)
            if column_fmt is not None:
                by_value = self.value_function(name, column_fmt)
                value = (column_fmt(view, context, row, name) if by_value is None
                         else by_value(rec_getattr(row, name)))
            else:
                value = view._get_field_value(row, name)
            choices = view._column_choices_map.get(name)
            if choices:
                out.append((name, choices.get(value) or value))
                continue
            type_fmt = self.type_formatter(type(value))
            if type_fmt is None:
                out.append((name, value))
            else:
                of_value, fmt = type_fmt
                out.append((name, fmt(value) if of_value else fmt(view, value, name)))
        return out


def _row_action_renderer(context, view, action):
    """A function (row id, row) → the action's markup for that row."""
    if type(action) in STOCK_ACTIONS and isinstance(view._primary_key, str):
        fake_row = SimpleNamespace(**{view._primary_key: PLACEHOLDER})
        parts = str(action.render_ctx(context, PLACEHOLDER, fake_row)).split(PLACEHOLDER)

        def render(row_id, row):
            if PLAIN_ID.match(row_id):
                return Markup(row_id.join(parts))
            return action.render_ctx(context, row_id, row)
        return render
    return lambda row_id, row: action.render_ctx(context, row_id, row)


@pass_context
def list_rows(context, view, data, columns, row_actions):
    """(row, id, row actions' markup, [(column, shown value)]) for each row of a list page."""
    formatters = _Formatters(view, view.column_formatters, view.column_type_formatters)
    renderers = [_row_action_renderer(context, view, a) for a in row_actions]
    names = [c for c, _ in columns]
    rows = []
    for row in data:
        row_id = str(view.get_pk_value(row))
        actions = Markup("").join(render(row_id, row) for render in renderers)
        rows.append((row, row_id, actions, formatters.cells(context, row, names)))
    return rows


@pass_context
def detail_cells(context, view, model, columns):
    """(label, shown value) of each details column: Flask-Admin's ``get_detail_value``."""
    formatters = _Formatters(view, view.column_formatters_detail,
                             view.column_type_formatters_detail)
    values = formatters.cells(context, model, [c for c, _ in columns])
    return [(name, value) for (_, name), (_, value) in zip(columns, values, strict=True)]


__all__ = ["list_rows", "detail_cells"]
