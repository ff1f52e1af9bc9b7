"""
The rows an update matches, fixed before it writes the first of them.

Django's ``update()`` is one statement: the database decides which rows it
matches once, before writing any. An update sent in chunks (for
``pre_update``, for old values) must do the same, or a chunk read after an
earlier chunk was written sees that write: a row whose key moved ahead is met
again, a row another row's new value made match (or stop matching) is
written when Django would not have. So ``matched_rows()`` reads the matched
rows (their keys, and the old values if asked) once, in the database's key
order, into a place that the update's own writes do not reach, and hands
them out a chunk at a time:

* PostgreSQL: a server-side cursor (``DECLARE``, then ``FETCH`` a chunk at
  a time) over the locking read. A cursor reads the snapshot taken when it
  was opened, which the transaction's later writes are not part of, and it
  locks each row as it hands it out.
* SQLite: a temporary table filled by one ``INSERT ... SELECT``, read back
  in insertion order while the update writes the real table.
* Other databases: a list in memory.

Keys are never compared in Python (whose order is not the database's for
text under a collation): the chunks come in the order the database sorted
them, and each is written by its list of keys.
"""

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet

__all__ = ["Chunk", "convert", "matched_rows"]

# Names of temporary tables and cursors: one per update running at once on a
# connection (a receiver of pre_update may run an update of its own).
_names = itertools.count()


class Chunk(NamedTuple):
    """Some of the matched rows, and how an ``UPDATE`` can name them."""

    #: ``(key, *fields)`` tuples, in the database's key order.
    rows: list[tuple]
    #: A SQL condition and its parameters holding for exactly these rows, if
    #: cheaper than listing their keys; else None.
    where: tuple[str, list[Any]] | None


@contextmanager
def matched_rows(
    queryset: QuerySet, fields: Sequence[str], size: int
) -> Iterator[Iterator[Chunk]]:
    """
    Yield an iterator over the rows ``queryset`` matches now, as tuples of
    the key and the ``fields`` (attnames), in chunks of at most ``size``, in
    the database's key order: the rows of a write that spans several chunks
    are read into a cursor or a temporary table before the first is
    written. A locking ``queryset`` (``select_for_update()``) locks each row
    as it is handed out. Run it inside a transaction.
    """
    reading = queryset.order_by("pk").values_list("pk", *fields)
    # Most updates fit in one chunk: one read of a chunk and a row more says
    # so, and is then the whole snapshot, with no cursor or table to make.
    first = reading[: size + 1]
    compiler = first.query.get_compiler(first.db)
    try:
        text, params = compiler.as_sql()
    except EmptyResultSet:
        yield iter(())
        return
    converters = _converters(compiler)
    connection = compiler.connection
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        rows = cursor.fetchall()
    if len(rows) <= size:
        yield iter([Chunk(_converted(rows, converters), None)] if rows else [])
        return
    text, params = reading.query.get_compiler(reading.db).as_sql()
    if connection.vendor == "postgresql":
        with _server_cursor(connection, text, params) as fetch:
            yield _fetched(fetch, size, converters)
    elif connection.vendor == "sqlite":
        meta = queryset.model._meta
        qn = connection.ops.quote_name
        key = f"{qn(meta.db_table)}.{qn(meta.pk.column)}"
        with _temporary_table(connection, text, params, 1 + len(fields)) as table:
            yield _numbered(connection, table, key, size, converters)
    else:
        with connection.cursor() as cursor:
            cursor.execute(text, params)
            rows = cursor.fetchall()
        yield (
            Chunk(_converted(rows[start : start + size], converters), None)
            for start in range(0, len(rows), size)
        )


def _fetched(fetch: Any, size: int, converters: Any) -> Iterator[Chunk]:
    while rows := fetch(size):
        yield Chunk(_converted(rows, converters), None)


def _numbered(
    connection: Any, table: tuple[str, str], key: str, size: int, converters: Any
) -> Iterator[Chunk]:
    # The rows of the temporary table by rowid, a chunk at a time; the chunk
    # is named by its rowid range, which the update's writes cannot change.
    name, columns = table
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, {columns} FROM {name} WHERE rowid > %s "
                f"ORDER BY rowid LIMIT %s",
                [last, size],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        where = f"{key} IN (SELECT c0 FROM {name} WHERE rowid BETWEEN %s AND %s)"
        rows = [row[1:] for row in rows]
        yield Chunk(_converted(rows, converters), (where, [first, last]))


def _converted(rows: list[Any], converters: Any) -> list[tuple]:
    # Column by column, each converted as a whole.
    if not converters:
        return [tuple(row) for row in rows]
    columns = [list(column) for column in zip(*rows, strict=True)]
    for index, convert_one in converters:
        columns[index] = list(map(convert_one, columns[index]))
    return list(zip(*columns, strict=True))


@contextmanager
def _server_cursor(connection: Any, text: str, params: Any) -> Iterator[Any]:
    # Inside the update's transaction, so a plain DECLARE: it needs no
    # holdable cursor, and works behind a pooler in transaction mode too.
    name = connection.ops.quote_name(f"signals_app_rows_{next(_names)}")
    with connection.cursor() as cursor:
        cursor.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {text}", params)

        def fetch(size: int) -> list[Any]:
            cursor.execute(f"FETCH FORWARD {int(size)} FROM {name}")
            return cursor.fetchall()

        yield fetch
        cursor.execute(f"CLOSE {name}")


@contextmanager
def _temporary_table(
    connection: Any, text: str, params: Any, width: int
) -> Iterator[tuple[str, str]]:
    # The rowid numbers the rows in the order the SELECT gave them. Columns
    # without a type keep each value as the SELECT gave it. Made in the
    # update's transaction: a rollback takes the table away with it.
    name = connection.ops.quote_name(f"signals_app_rows_{next(_names)}")
    columns = ", ".join(f"c{index}" for index in range(width))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
        cursor.execute(f"INSERT INTO {name} ({columns}) {text}", params)
        yield name, columns
        cursor.execute(f"DROP TABLE {name}")


def _converters(compiler: Any) -> list[tuple[int, Any]]:
    # Django's conversions of the columns that have some (a UUID from
    # SQLite's text, a decimal, a field's from_db_value()...), by position.
    found = compiler.get_converters([column for column, _, _ in compiler.select])
    return [
        (index, partial(convert, tuple(convs), expression, compiler.connection))
        for index, (convs, expression) in found.items()
    ]


def convert(convs: tuple, expression: Any, connection: Any, value: Any) -> Any:
    """``value`` from the database through Django's converters ``convs``."""
    for conv in convs:
        value = conv(value, expression, connection)
    return value
