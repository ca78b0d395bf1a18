"""search: a bigram index for two-character names, cheap to keep on a bulk insert

SQLite only (PostgreSQL keeps its GIN indexes itself, for bulk inserts too).

- ``person_bigrams`` replaces ``person_chars``: a name's bigrams (张伟明 → 张伟 伟明) as
  unicode61 tokens. A 2-character term is one token (伟明: its 730 rows among a million,
  not a phrase over the positions of 伟's 53,000 rows and 明's); 1 character is searched
  by reading names in order (models.search.bounded), never through this table.
  ``detail=none`` and ``columnsize=0``: the queries are single tokens, so no positions and
  no per-row size record are kept.
- The bigrams are computed by a CASE on the name's length (up to 8 characters spelled
  out, else all 50 positions): 50 ``substr`` calls on every row cost about 13 µs a row, as
  much as the FTS5 insert itself.

Building it over a million people took 8 s (the scale database, flask db upgrade).

Revision ID: 158ba099213d
Revises: 00a9b9b56c84
Create Date: 2026-11-29 23:21:32.491399

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '158ba099213d'
down_revision = '00a9b9b56c84'
branch_labels = None
depends_on = None

# Spelled out here, not imported from models.search: a migration must not change later.
NAME_WIDTH = 50
SHORT = 8


def spaced(expression: str, width: int) -> str:
    """The old person_chars value (migration 7a3c1f2e9b10), for the downgrade."""
    return " || ' ' || ".join(f"substr({expression}, {i}, 1)" for i in range(1, width + 1))


def bigrams(expression: str) -> str:
    """``expression``'s bigrams, space separated: the tokens of person_bigrams."""
    def grams(k):
        return " || ' ' || ".join(f"substr({expression}, {i}, 2)" for i in range(1, k))
    cases = " ".join(f"WHEN {k} THEN {grams(k)}" for k in range(2, SHORT + 1))
    return (f"CASE length({expression}) WHEN 0 THEN '' WHEN 1 THEN '' {cases} "
            f"ELSE {grams(NAME_WIDTH)} END")


def _triggers(table: str, values: str):
    add = f"INSERT INTO {table}(rowid, name) VALUES (new.id, {values.format(ref='new')});"
    drop = (f"INSERT INTO {table}({table}, rowid, name) "
            f"VALUES ('delete', old.id, {values.format(ref='old')});")
    op.execute(f"CREATE TRIGGER {table}_ai AFTER INSERT ON person BEGIN {add} END")
    op.execute(f"CREATE TRIGGER {table}_ad AFTER DELETE ON person BEGIN {drop} END")
    op.execute(f"CREATE TRIGGER {table}_au AFTER UPDATE OF name ON person "
               f"BEGIN {drop} {add} END")


def _drop(table: str):
    for suffix in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER {table}_{suffix}")
    op.execute(f"DROP TABLE {table}")


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop("person_chars")
    op.execute("CREATE VIRTUAL TABLE person_bigrams USING fts5(name, content='', "
               "columnsize=0, detail=none, tokenize='unicode61')")
    op.execute(f"INSERT INTO person_bigrams(rowid, name) SELECT id, {bigrams('name')} "
               f"FROM person")
    _triggers("person_bigrams", bigrams("{ref}.name"))


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop("person_bigrams")
    op.execute("CREATE VIRTUAL TABLE person_chars USING fts5(name, content='', "
               "tokenize='unicode61')")
    op.execute(f"INSERT INTO person_chars(rowid, name) SELECT id, "
               f"{spaced('name', NAME_WIDTH)} FROM person")
    _triggers("person_chars", spaced("{ref}.name", NAME_WIDTH))
