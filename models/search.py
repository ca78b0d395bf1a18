"""Contains-search on people and units, served by an index on either database.

``rules.search`` says what a search text looks for; ``clause(model, search)`` turns it into
a filter on ``Person`` or ``Unit`` that the database answers from an index:

- PostgreSQL: ``pg_trgm`` GIN indexes (``ILIKE '%term%'``). For names, a GIN index on the
  name's characters (``regexp_split_to_array(lower(name), '')``) serves names searched by
  2 characters, which have no trigram.
- SQLite: FTS5 tables kept in step by triggers (migrations 7a3c1f2e9b10, 158ba099213d):
  ``person_trigram`` (name, ID number) and ``unit_trigram`` (name, credit code, unit number)
  with the trigram tokenizer, and ``person_bigrams``, the name's bigrams (张伟明 → 张伟 伟明,
  unicode61 tokens): a name searched by 2 characters is one token's rows. The triggers
  fire for bulk inserts too (``models.bulk``'s multi-row INSERT): filling the tables
  set-based after each page measured no faster, the cost being FTS5's own per row.

Every indexed match is checked again with LIKE on the row itself, so both databases give
exactly ``rules.search.matches``. Terms of 1-2 characters in an ID number, credit code or
unit name, and names searched by one character, hit a large share of the rows: the list
reads them in order and stops at the page (``bounded``) instead of counting them.
"""
from __future__ import annotations

import sqlalchemy as sa

from models.base import db
from models.person import Person
from models.unit import Unit
from rules.search import Search

#: FTS5 tables (SQLite) and their columns.
FTS = {"person_trigram": ("name", "id_no"), "person_bigrams": ("name",),
       "unit_trigram": ("name", "uscc", "unit_no")}
#: GIN indexes (PostgreSQL): (name, table, expression).
GIN = [("ix_person_name_trgm", "person", "name gin_trgm_ops"),
       ("ix_person_id_no_trgm", "person", "id_no gin_trgm_ops"),
       ("ix_person_name_chars", "person", "regexp_split_to_array(lower(name), '')"),
       ("ix_unit_name_trgm", "unit", "name gin_trgm_ops"),
       ("ix_unit_uscc_trgm", "unit", "uscc gin_trgm_ops"),
       ("ix_unit_unit_no_trgm", "unit", "unit_no gin_trgm_ops")]
_FTS_TABLE = {Person: "person_trigram", Unit: "unit_trigram"}


def is_search_object(name: str | None) -> bool:
    """Whether a schema object is one of these indexes (the models do not declare them)."""
    return bool(name) and (name.startswith(tuple(FTS)) or name in {g[0] for g in GIN})


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contains(column, term: str, dialect: str):
    if dialect == "postgresql":
        return column.ilike(_like(term), escape="\\")
    return column.like(_like(term), escape="\\")  # SQLite's LIKE folds ASCII case


def _fts(table: str, columns: tuple[str, ...] | None, phrase: str):
    """Row ids whose ``columns`` (all, for None) in FTS5 ``table`` hold ``phrase``."""
    query = '"%s"' % phrase.replace('"', '""')
    if columns:
        query = "{%s} : %s" % (" ".join(columns), query)
    return sa.text(f"SELECT rowid FROM {table} WHERE {table} MATCH :q").bindparams(
        q=query).columns(sa.column("rowid", sa.Integer))


def bounded(model, search: Search | None) -> bool:
    """A search no index serves (1-2 characters, not of a person's name): the list pages it
    without counting and reads rows in order until the page is full."""
    if search is None or search.exact or not search.short:
        return False
    if model is Person and search.fields == ("name",) and search.term.isalnum():
        return len(search.term) == 1  # one character hits a large share of a city
    return True


def clause(model, search: Search):
    """The filter on ``model`` (Person or Unit) that finds exactly ``search``'s hits."""
    dialect = db.session.get_bind().dialect.name
    columns = [getattr(model, f) for f in search.fields]
    if search.exact:
        return sa.or_(*(c == search.term for c in columns))
    check = sa.or_(*(_contains(c, search.term, dialect) for c in columns))
    if bounded(model, search):
        return check
    if dialect == "postgresql":
        if search.short:  # a name of 1-2 characters: the characters' index, then the check
            chars = sa.func.regexp_split_to_array(sa.func.lower(model.name),
                                                  sa.literal_column("''"))
            wanted = sa.cast(list(search.term.lower()), sa.ARRAY(sa.Text))
            return sa.and_(chars.op("@>")(wanted), check)
        return check  # pg_trgm serves ILIKE
    if search.short:  # a name of 2 characters (bounded above took the rest): one bigram
        ids = _fts("person_bigrams", None, search.term)  # one column, no filter (detail=none)
    else:
        ids = _fts(_FTS_TABLE[model], search.fields, search.term)
    return sa.and_(model.id.in_(ids), check)
