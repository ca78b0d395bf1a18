"""A list's count asked only when its page cannot tell it.

Flask-Admin counts the rows (one statement) before it reads the page (another). A page
shorter than the page size already tells the count: the rows before it plus its own. So a
list reads its page first, with the count query built as usual (scope, search, filters) but
held back (``CountQuery``), and runs it only when the page is full, or empty past the first
page. A unit's 参保职工 of ten people is then one statement, not two.
"""
from __future__ import annotations

import contextvars

from sqlalchemy.orm import Query

#: While a list's page is read: the count queries held back instead of run.
_HELD: contextvars.ContextVar[list | None] = contextvars.ContextVar("held_counts",
                                                                     default=None)


class CountQuery(Query):
    """A count query that, while a page is being read, is held instead of run."""

    def scalar(self):
        held = _HELD.get()
        if held is None:
            return super().scalar()
        held.append(self)
        return None


def page_then_count(read, page: int | None, page_size: int) -> tuple[int | None, list]:
    """(count, rows) of ``read()`` (Flask-Admin's ``get_list``, executed): the count from the
    page itself when it is short, else from the held count query."""
    held: list[CountQuery] = []
    token = _HELD.set(held)
    try:
        count, rows = read()
    finally:
        _HELD.reset(token)
    if not held:  # nothing was held: Flask-Admin counted (or was told not to)
        return count, rows
    if not page_size:  # every row on one page
        return len(rows), rows
    if len(rows) < page_size and (rows or not page):
        return (page or 0) * page_size + len(rows), rows
    return held[0].scalar(), rows
