"""List exports column by column: the database returns plain tuples a chunk at a time
(``fetched``), and each column of a chunk is converted in one pass: repeated values once
per distinct value, distinct text by one search for formula starts over the whole column.

A view's export columns take this path when each is a column of the model or of a
many-to-one relation (``person.id_no``) and its formatter, if any, is column-wise
(``views.labels.of_value``: masking, 险种 labels). The conversions are the ones the row-by-row
path applies (Flask-Admin's ``_get_list_value``): the column formatter, the column's choices,
the first matching type formatter (labels, Beijing time, 是/否), then ``cell`` (formula
neutralising). Any other column sends the whole export down the row-by-row path.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import RelationshipDirection, aliased

from views.spreadsheets import FORMULA_PREFIXES, cell

#: Converted values remembered per column across chunks (labels, dates, statuses repeat).
MEMO_LIMIT = 4096
_MISSING = object()


def _target(model, name: str):
    """(relationship name or None, column attribute name) for an exportable column, or None."""
    parts = name.split(".")
    mapper = sa.inspect(model)
    if len(parts) == 1:
        prop = mapper.attrs.get(name)
        return (None, name) if isinstance(prop, sa.orm.ColumnProperty) else None
    if len(parts) == 2:
        rel = mapper.relationships.get(parts[0])
        if rel is None or rel.direction is not RelationshipDirection.MANYTOONE:
            return None
        prop = rel.mapper.attrs.get(parts[1])
        return (parts[0], parts[1]) if isinstance(prop, sa.orm.ColumnProperty) else None
    return None


def _enum_lookup(model, target) -> dict | None:
    """stored text → member, for a column of an Enum type (None for other columns)."""
    relation, key = target
    mapper = sa.inspect(model)
    if relation is not None:
        mapper = mapper.relationships[relation].mapper
    column_type = mapper.columns[key].type if key in mapper.columns else None
    return getattr(column_type, "_object_lookup", None) if isinstance(
        column_type, sa.Enum) else None


def _after(lookup: dict, then: Callable | None) -> Callable:
    def member(value):
        value = lookup.get(value, value)
        return then(value) if then is not None else value
    return member


def _converter(view, name: str) -> Callable:
    """value → exported cell, as ``_get_list_value`` then ``cell`` would make it, after the
    column formatter (``first``, applied by ``ExportColumn``)."""
    choices = view._column_choices_map.get(name, {})
    type_formatters = list((view.column_type_formatters_export or {}).items())
    by_type: dict = {}

    def convert(value):
        if choices:
            value = choices.get(value) or value
        kind = type(value)
        formatter = by_type.get(kind, _MISSING)
        if formatter is _MISSING:
            formatter = by_type[kind] = next(
                (f for t, f in type_formatters if isinstance(value, t)), None)
        if formatter is not None:
            value = formatter(view, value, name)
        if type(value) is str:  # the common case of ``cell``, inline
            return "'" + value if value.startswith(FORMULA_PREFIXES) else value
        return cell(value)

    return convert


def _plain_text_stays(view, name: str) -> bool:
    """Whether ``_converter`` leaves a plain ``str`` as it is (but for formula quotes): no
    choices for the column, no type formatter that takes a ``str``."""
    return not view._column_choices_map.get(name) and not any(
        issubclass(str, t) for t in (view.column_type_formatters_export or {}))


#: A formula's first character after a value's start, in values joined by NUL (``_texts``).
_FORMULA_START = re.compile("\x00[" + re.escape("".join(FORMULA_PREFIXES)) + "]")


def _texts(values: list) -> list | None:
    """Cells of a column of plain strings in one pass: a quote before each formula (found by
    one search over the joined column, mostly finding none). None if a value is not a
    plain ``str``."""
    if set(map(type, values)) != {str}:
        return None
    if _FORMULA_START.search("\x00" + "\x00".join(values)) is None:
        return values
    return ["'" + v if v.startswith(FORMULA_PREFIXES) else v for v in values]


class ExportColumn:
    """One export column's conversion, applied to a whole fetched column at a time."""

    def __init__(self, first: Callable | None, convert: Callable, plain_text_stays: bool):
        self.first, self.convert = first, convert
        self.plain_text_stays = plain_text_stays
        self.memo: dict = {}  # converted values, across chunks (labels, dates, statuses)

    def one(self, value):
        """The cell for one value."""
        return self.convert(value if self.first is None else self.first(value))

    def cells(self, values: tuple) -> list:
        """One fetched column converted: mostly-repeated values (labels, dates, statuses)
        once per distinct value, mostly-distinct ones (ID numbers, names) in passes over
        the column, plain text by ``_texts``."""
        try:
            distinct = set(values)
        except TypeError:  # unhashable values
            return list(map(self.one, values))
        if len(distinct) * 2 > len(values):
            firsts = list(values) if self.first is None else list(map(self.first, values))
            texts = _texts(firsts) if self.plain_text_stays else None
            return texts if texts is not None else list(map(self.convert, firsts))
        memo = self.memo
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        for value in distinct - memo.keys():
            memo[value] = self.one(value)
        return list(map(memo.__getitem__, values))


class ExportPlan:
    """The columns of one export, as SQL expressions and per-column conversions."""

    def __init__(self, targets, columns):
        self.targets = targets
        self.columns = columns

    @classmethod
    def of(cls, view, names: list[str], actor) -> ExportPlan | None:
        """The plan for these export columns, or None if one needs the model row by row."""
        targets, columns = [], []
        for name in names:
            target = _target(view.model, name)
            formatter = (view.column_formatters_export or {}).get(name)
            column_wise = getattr(formatter, "column_wise", None)
            if target is None or (formatter is not None and column_wise is None):
                return None
            first = column_wise(actor) if column_wise else None
            lookup = _enum_lookup(view.model, target)
            if lookup is not None:  # fetched as stored text, made a member once per value
                first = _after(lookup, first)
            targets.append(target)
            columns.append(ExportColumn(first, _converter(view, name),
                                  _plain_text_stays(view, name)))
        return cls(targets, columns)

    def query(self, model, query):
        """``query`` (scoped, filtered, sorted, limited) selecting just the export columns;
        each relation is outer-joined once, under its own alias."""
        aliases = {}
        # The limit is already on: many-to-one outer joins change no row count under it.
        query = query.enable_assertions(False)
        for relation, _ in self.targets:
            if relation is not None and relation not in aliases:
                target = getattr(model, relation).property.mapper.class_
                aliases[relation] = alias = aliased(target)
                query = query.outerjoin(alias, getattr(model, relation).of_type(alias))
        columns = [getattr(aliases[r] if r else model, c) for r, c in self.targets]
        columns = [sa.type_coerce(c, sa.String()).label(f"c{n}")
                   if _enum_lookup(model, t) is not None else c
                   for n, (c, t) in enumerate(zip(columns, self.targets))]
        return query.options(sa.orm.lazyload("*")).with_entities(*columns)

    def chunks(self, fetched: Iterable[Sequence[Sequence]]) -> Iterator[list[tuple]]:
        """Converted rows, a list for each fetched chunk (given as its columns): one pass per
        column."""
        columns = self.columns
        for chunk in fetched:
            yield list(zip(*[column.cells(values) for column, values in zip(columns, chunk)]))


def fetched(connection, statement, size: int) -> Iterator[list[Sequence]]:
    """The statement's rows, ``size`` at a time, each chunk as its columns' values.

    Where the database has server-side cursors (PostgreSQL: the rows stay on the server
    until fetched), SQLAlchemy's rows. Elsewhere (SQLite, whose cursor steps as rows are
    fetched) the DBAPI cursor's tuples, each column through the result processor
    SQLAlchemy would apply to it (text to dates, numbers to Decimal), without building a
    row object per row."""
    dialect = connection.dialect
    if dialect.supports_server_side_cursors:
        result = connection.execute(statement, execution_options={"yield_per": size})
        while chunk := result.fetchmany(size):
            yield list(zip(*chunk))
        return
    result = connection.execute(statement)
    try:
        cursor = result.cursor
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, described[1])
                      for column, described in zip(statement.selected_columns,
                                                   cursor.description)]
        while chunk := cursor.fetchmany(size):
            yield [values if process is None else list(map(process, values))
                   for process, values in zip(processors, zip(*chunk))]
    finally:
        result.close()
