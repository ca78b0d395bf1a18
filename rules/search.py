"""What a clerk's search text means: which field it looks in, and whether a row matches.

Pure (no database): ``models.search`` turns a ``Search`` into SQL served by an index, and the
tests compare its hits with ``matches`` applied in Python to the same rows.

- A person: an ID number of 15 or 18 characters is looked up exactly, 11 digits are a
  mobile phone (exact), other digits (with a final X) are part of an ID number, anything else
  is part of a name: 伟 finds 张伟 and 王伟明.
- A unit: letters and digits are part of its credit code or unit number, anything else part
  of its name.

Contains is case-insensitive for ASCII letters only (x finds an ID number ending in X), as
both SQLite's LIKE and PostgreSQL's ILIKE under the C.UTF-8 collation agree on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rules.identity import normalise

#: Shorter than this, a trigram index cannot serve the term (see models.search).
TRIGRAM = 3

_ID_PART = re.compile(r"^\d+X?$")
_ID_FULL = re.compile(r"^(\d{15}|\d{17}[\dX])$")
_PHONE = re.compile(r"^1\d{10}$")
_CODE_PART = re.compile(r"^[0-9A-Z]+$")


@dataclass(frozen=True)
class Search:
    """``exact`` or ``contains`` ``term`` in ``fields`` (any of them)."""

    fields: tuple[str, ...]
    term: str
    exact: bool = False

    @property
    def short(self) -> bool:
        """Too short for a trigram index."""
        return not self.exact and len(self.term) < TRIGRAM


def person_search(text: str | None) -> Search | None:
    """What a search of the people list looks for; None for an empty text."""
    code = normalise(text)
    if not code:
        return None
    if _ID_FULL.match(code):
        return Search(("id_no",), code, exact=True)
    if _PHONE.match(code):
        return Search(("phone",), code, exact=True)
    if _ID_PART.match(code):
        return Search(("id_no",), code)
    return Search(("name",), " ".join((text or "").split()))


def unit_search(text: str | None) -> Search | None:
    """What a search of the units list looks for; None for an empty text."""
    code = normalise(text)
    if not code:
        return None
    if _CODE_PART.match(code):
        return Search(("uscc", "unit_no"), code)
    return Search(("name",), " ".join((text or "").split()))


def _fold(value: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in value)


def matches(search: Search, row: dict) -> bool:
    """Whether ``row`` (field -> value) is a hit: the reference the SQL must agree with."""
    for field in search.fields:
        value = row.get(field) or ""
        if search.exact and value == search.term:
            return True
        if not search.exact and _fold(search.term) in _fold(value):
            return True
    return False
