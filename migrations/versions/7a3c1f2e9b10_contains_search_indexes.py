"""contains-search: pg_trgm GIN indexes on PostgreSQL, FTS5 trigram tables on SQLite

A clerk types part of a name, ID number or unit name; Flask-Admin's LIKE '%term%' scans
every row. models.search reads these indexes. SQLite's FTS5 tables are contentless and kept
in step with person and unit by triggers; person_chars (the name's characters spaced, for
terms of 1-2 characters) is SQLite's counterpart of ix_person_name_chars.

Revision ID: 7a3c1f2e9b10
Revises: 5094efc29545
Create Date: 2026-11-29 20:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7a3c1f2e9b10'
down_revision = '5094efc29545'
branch_labels = None
depends_on = None

# Spelled out here, not imported from models.search: a migration must not change later.
FTS = {"person_trigram": ("name", "id_no"), "person_chars": ("name",),
       "unit_trigram": ("name", "uscc", "unit_no")}
GIN = [("ix_person_name_trgm", "person", "name gin_trgm_ops"),
       ("ix_person_id_no_trgm", "person", "id_no gin_trgm_ops"),
       ("ix_person_name_chars", "person", "regexp_split_to_array(lower(name), '')"),
       ("ix_unit_name_trgm", "unit", "name gin_trgm_ops"),
       ("ix_unit_uscc_trgm", "unit", "uscc gin_trgm_ops"),
       ("ix_unit_unit_no_trgm", "unit", "unit_no gin_trgm_ops")]
#: person.name is String(50).
NAME_WIDTH = 50
SOURCES = {"person_trigram": "person", "person_chars": "person", "unit_trigram": "unit"}
TOKENIZERS = {"person_trigram": "trigram", "person_chars": "unicode61",
              "unit_trigram": "trigram"}


def spaced(expression: str, width: int) -> str:
    """``expression``'s first ``width`` characters with spaces between (models.search)."""
    return " || ' ' || ".join(f"substr({expression}, {i}, 1)" for i in range(1, width + 1))


def _values(table: str, ref: str) -> str:
    if table == "person_chars":
        return spaced(f"{ref}.name", NAME_WIDTH)
    return ", ".join(f"{ref}.{c}" for c in FTS[table])


def _sqlite_upgrade():
    for table, columns in FTS.items():
        source, cols = SOURCES[table], ", ".join(columns)
        op.execute(f"CREATE VIRTUAL TABLE {table} USING fts5({cols}, content='', "
                   f"tokenize='{TOKENIZERS[table]}')")
        op.execute(f"INSERT INTO {table}(rowid, {cols}) SELECT id, {_values(table, source)} "
                   f"FROM {source}")
        add = f"INSERT INTO {table}(rowid, {cols}) VALUES (new.id, {_values(table, 'new')});"
        drop = (f"INSERT INTO {table}({table}, rowid, {cols}) "
                f"VALUES ('delete', old.id, {_values(table, 'old')});")
        watched = ", ".join(("name",) if table == "person_chars" else columns)
        op.execute(f"CREATE TRIGGER {table}_ai AFTER INSERT ON {source} BEGIN {add} END")
        op.execute(f"CREATE TRIGGER {table}_ad AFTER DELETE ON {source} BEGIN {drop} END")
        op.execute(f"CREATE TRIGGER {table}_au AFTER UPDATE OF {watched} ON {source} "
                   f"BEGIN {drop} {add} END")


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # The extension lives in one schema per database (public, as a rule); a schema whose
        # search path leaves it out (the browser tests' own) must name the operator class.
        home = op.get_bind().exec_driver_sql(
            "SELECT extnamespace::regnamespace::text FROM pg_extension "
            "WHERE extname = 'pg_trgm'").scalar()
        for name, table, expression in GIN:
            expression = expression.replace("gin_trgm_ops", f"{home}.gin_trgm_ops")
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression})")
    elif dialect == "sqlite":
        _sqlite_upgrade()


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name, _table, _expression in GIN:
            op.execute(f"DROP INDEX {name}")
    elif dialect == "sqlite":
        for table in FTS:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER {table}_{suffix}")
            op.execute(f"DROP TABLE {table}")
