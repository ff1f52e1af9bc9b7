"""
One ``UPDATE`` as Django builds it, run with ``RETURNING``, and what it wrote.

``write()`` runs the statements of an update (the model's own table, then a
parent table per written field it holds) and gives back the keys of the rows
written, with their new values converted as Django converts what it reads.
``only()`` and ``locked()`` name rows for such a write and keep them still.
Without ``RETURNING`` (``can_return()`` False) the keys are read first and
the values read back after.

``signals_app.bulk.writes`` decides which updates to run and sends the
signals around them.
"""

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import QuerySet, sql
from django.db.models.sql.constants import ROW_COUNT

from .matched import convert

__all__ = [
    "Columns",
    "Statement",
    "Written",
    "by_column",
    "can_return",
    "executed",
    "locked",
    "merge",
    "only",
    "read_converters",
    "write",
]

Columns = dict[str, list[Any]]


@dataclass
class Written:
    """What one write did: its row count, the keys, the values if read back."""

    count: int
    pks: list[Any]
    values: Columns | None


def write(queryset: QuerySet, kwargs: dict[str, Any], values: bool) -> Written:
    """
    Run ``queryset.update(**kwargs)``, sending nothing; return what it wrote
    (the values as stored, if ``values``).
    """
    queryset._for_write = True
    using = queryset.db
    if not can_return(using):
        return _write_then_read(queryset, kwargs, using, values)
    with transaction.atomic(using=using, savepoint=False):
        results = [
            by_column(rows, width, names, converters)
            for rows, width, names, converters in executed(
                queryset, kwargs, using, values
            )
        ]
    return merge(results, values)


def only(model: Any, using: str, pks: list[Any]) -> QuerySet:
    """
    The rows of ``model`` with these keys, in one parameter where the
    database takes a list in one (PostgreSQL's arrays, SQLite's JSON), so
    that ten thousand keys cost one parameter, not ten thousand.
    """
    manager = model._base_manager.db_manager(using)
    connection = connections[using]
    meta = model._meta
    if meta.is_composite_pk or connection.vendor not in ("postgresql", "sqlite"):
        return manager.filter(pk__in=pks)
    if not set(map(type, pks)) <= {int, str}:
        pks = [meta.pk.get_db_prep_value(pk, connection) for pk in pks]
    qn = connection.ops.quote_name
    column = f"{qn(meta.db_table)}.{qn(meta.pk.column)}"
    if connection.vendor == "postgresql":
        return manager.extra(where=[f"{column} = ANY(%s)"], params=[pks])
    try:
        listed = json.dumps(pks)
    except TypeError:
        return manager.filter(pk__in=pks)
    return manager.extra(
        where=[f"{column} IN (SELECT value FROM json_each(%s))"], params=[listed]
    )


def locked(queryset: QuerySet, written: Sequence[str]) -> QuerySet:
    """
    ``queryset`` locking the rows it reads (and those of the parent tables
    holding ``written`` fields) until the transaction ends, where the
    database can; unchanged elsewhere (SQLite locks the whole database).
    """
    features = connections[queryset.db].features
    if not features.has_select_for_update:
        return queryset
    if not features.has_select_for_update_of:
        return queryset.select_for_update()
    meta = queryset.model._meta
    of = ["self"]
    for name in written:
        owner = meta.get_field(name).model._meta.concrete_model
        if owner is not meta.concrete_model:
            path = meta.get_path_to_parent(owner)
            link = "__".join(step.join_field.name for step in path)
            if link not in of:
                of.append(link)
    return queryset.select_for_update(of=tuple(of))


#: What ``executed()`` gives for each statement: its rows (an iterator of
#: lists when read in batches), how many key columns lead each row, the
#: attnames of the value columns after them, and the converters of the
#: columns that have some.
Statement = tuple[Any, int, list[str], list[tuple[int, Callable[[Any], Any]]]]


def executed(
    queryset: QuerySet,
    kwargs: dict[str, Any],
    using: str,
    values: bool,
    batch: int | None = None,
) -> list[Statement]:
    """
    Run Django's statements for the update, each with ``RETURNING`` its keys
    (and the written columns, if ``values``): the model's own table first,
    then each parent table that holds a written field. With ``batch``, the
    rows come as an iterator of lists of up to that many, read as needed.
    """
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(kwargs)
    query.annotations = {}
    connection = connections[using]
    compiler = query.get_compiler(using)
    try:
        statement = compiler.as_sql()  # also sets up the parent tables' keys
    except EmptyResultSet:
        return []
    parts = [(compiler, statement, query)]
    for related in query.get_related_updates():
        related_compiler = related.get_compiler(using)
        try:
            parts.append((related_compiler, related_compiler.as_sql(), related))
        except EmptyResultSet:
            continue
    done = []
    qn = connection.ops.quote_name
    for part_compiler, (text, params), part in parts:
        if not text:
            continue
        meta = part.get_meta()
        keys = _key_fields(meta)
        fields = [each for each, _, _ in part.values] if values else []
        returned = [*keys, *fields]
        text = f"{text} RETURNING {', '.join(qn(f.column) for f in returned)}"
        converters = read_converters(part_compiler, returned, meta.db_table)
        cursor = connection.cursor()
        cursor.execute(text, params)
        rows: Any
        if batch:
            rows = _fetched(cursor, batch)
        else:
            with cursor:
                rows = cursor.fetchall()
        done.append((rows, len(keys), [f.attname for f in fields], converters))
    return done


def read_converters(
    compiler: Any, returned: list[Any], table: str
) -> list[tuple[int, Callable[[Any], Any]]]:
    """
    The converters Django applies to what it reads of ``returned`` (decimals
    on SQLite, a field's ``from_db_value()``...), by column index.
    """
    connection = compiler.connection
    expressions = [each.get_col(table) for each in returned]
    found: list[tuple[int, Callable[[Any], Any]]] = []
    for index, (convs, expression) in compiler.get_converters(expressions).items():
        found.append((index, partial(convert, tuple(convs), expression, connection)))
    return found


def _fetched(cursor: Any, size: int) -> Iterator[list[Any]]:
    try:
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        cursor.close()


def by_column(
    rows: list[Any],
    width: int,
    names: list[str],
    converters: list[tuple[int, Callable[[Any], Any]]],
) -> Written:
    """
    ``rows`` of a statement as a ``Written``: the ``width`` leading key
    columns as keys, the columns after them as ``names``' values, each
    column converted as a whole.
    """
    columns = [[row[index] for row in rows] for index in range(width + len(names))]
    for index, convert_one in converters:
        columns[index] = list(map(convert_one, columns[index]))
    pks = columns[0] if width == 1 else list(zip(*columns[:width], strict=True))
    values = {name: columns[width + i] for i, name in enumerate(names)}
    return Written(len(rows), pks, values if names else None)


def merge(results: list[Written], values: bool) -> Written:
    """
    The rows of one update's statements as one: the keys in the first
    statement's order (a parent table's rows share their child's keys).
    """
    if not results:
        return Written(0, [], {} if values else None)
    if len(results) == 1:
        only_one = results[0]
        if values and only_one.values is None:
            only_one.values = {}
        return only_one
    first = results[0]
    pks = list(first.pks)
    merged: Columns = {name: list(col) for name, col in (first.values or {}).items()}
    where = {pk: index for index, pk in enumerate(pks)}
    count = first.count
    for other in results[1:]:
        count = count or other.count
        for pk in other.pks:
            if pk not in where:
                where[pk] = len(pks)
                pks.append(pk)
                for column in merged.values():
                    column.append(None)
        for name, column in (other.values or {}).items():
            target = merged.setdefault(name, [None] * len(pks))
            target.extend([None] * (len(pks) - len(target)))
            for pk, value in zip(other.pks, column, strict=True):
                target[where[pk]] = value
    return Written(count, pks, merged if values else None)


def _key_fields(meta: Any) -> list[Any]:
    pk = meta.pk
    return list(pk.fields) if meta.is_composite_pk else [pk]


def _write_then_read(
    queryset: QuerySet, kwargs: dict[str, Any], using: str, values: bool
) -> Written:
    # No RETURNING: the keys first, then the write, then the values read back.
    meta = queryset.model._meta
    names = [meta.get_field(name).attname for name in kwargs]
    with transaction.atomic(using=using, savepoint=False):
        pks = list(locked(queryset, list(kwargs)).values_list("pk", flat=True))
        if not pks:
            return Written(0, [], {name: [] for name in names} if values else None)
        query = queryset.query.chain(sql.UpdateQuery)
        query.add_update_values(kwargs)
        query.annotations = {}
        count = query.get_compiler(using).execute_sql(ROW_COUNT) or 0
        if not values:
            return Written(count, pks, None)
        found = list(only(meta.model, using, pks).values_list("pk", *names))
    return Written(
        count,
        [row[0] for row in found],
        {name: [row[i + 1] for row in found] for i, name in enumerate(names)},
    )


def can_return(using: str) -> bool:
    """Whether the database behind ``using`` has ``UPDATE ... RETURNING``."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)
