"""
How a watched ``QuerySet.update()`` runs: the write itself, with ``RETURNING``.

Two ways, chosen per call from who listens for the model:

* Only ``post_update`` receivers, none asking for old values: the statement
  Django would run, with ``RETURNING`` the primary key and the written
  columns appended, inside one transaction. The rows are read from the
  cursor a chunk at a time and ``post_update`` is sent for each chunk.
* A ``pre_update`` receiver, or one asking for old values: chunk after
  chunk, ``SELECT`` the keys (and the old values) of the next rows the
  queryset matches in key order, locking them (``FOR UPDATE`` where the
  database has it), send ``pre_update``, ``UPDATE`` exactly those rows with
  ``RETURNING``, send ``post_update``; all in one transaction.

Databases without ``UPDATE ... RETURNING`` (Django's MySQL and Oracle
backends here) always take the second way and read the written values back
by key.
"""

import contextvars
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import QuerySet, sql
from django.db.models.sql.constants import ROW_COUNT

from ..dispatch.connections import NONE_ID
from .rows import wants_old_values
from .signals import post_update, pre_update

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Collected",
    "asks_old_values",
    "chunk_size",
    "collecting",
    "django_update",
    "locked",
    "run_update",
    "write",
]

#: Rows per send (and per locking read) unless ``SIGNALS_APP_BULK_CHUNK_SIZE``
#: says otherwise.
DEFAULT_CHUNK_SIZE = 10_000

#: Django's own ``QuerySet.update``, as it was before ``signals_app.bulk``
#: replaced it.
django_update = QuerySet.update

# Set by bulk_update() around Django's own: the list its internal update()
# calls append their written rows to, instead of sending update signals.
collecting: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "signals_app_bulk_collecting", default=None
)

Collected = tuple[int, list[Any], dict[str, list[Any]]]


def chunk_size() -> int:
    """Rows per send: ``SIGNALS_APP_BULK_CHUNK_SIZE``, else 10,000."""
    return int(getattr(settings, "SIGNALS_APP_BULK_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


def asks_old_values(model: Any, *signals: Any) -> bool:
    """Whether a receiver of ``signals`` that hears ``model`` asks for old values."""
    heard = (id(model), NONE_ID)
    return any(
        each.sender_id in heard and wants_old_values(each.condition)
        for signal in signals
        for each in signal.connections()
    )


def run_update(queryset: QuerySet, kwargs: dict[str, Any]) -> int:
    """``queryset.update(**kwargs)`` sending the update signals; the row count."""
    model = queryset.model
    queryset._for_write = True  # as Django's update(): the write database
    using = queryset.db
    old = asks_old_values(model, pre_update, post_update)
    if pre_update.has_listeners(model) or old or not _can_return(using):
        return _update_in_chunks(queryset, kwargs, using, old)
    return _update_returning(queryset, kwargs, using)


def write(queryset: QuerySet, kwargs: dict[str, Any]) -> Collected:
    """
    Run ``queryset.update(**kwargs)``, sending nothing; return the row count,
    the keys written and ``{attname: [value per key]}`` as stored.
    """
    queryset._for_write = True
    using = queryset.db
    if not _can_return(using):
        return _write_then_read(queryset, kwargs, using)
    with transaction.atomic(using=using, savepoint=False):
        results = [
            (len(rows), *_columns(rows, width, names))
            for _, rows, width, names in _executed(queryset, kwargs, using)
        ]
    return _merged(results)


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


# --- the two ways --------------------------------------------------------------


def _update_returning(queryset: QuerySet, kwargs: dict[str, Any], using: str) -> int:
    model, size = queryset.model, chunk_size()
    with transaction.atomic(using=using, savepoint=False):
        statements = _executed(queryset, kwargs, using, streaming=True)
        if len(statements) == 1:
            # One table: stream the rows, a chunk per send.
            _, rows, width, names = statements[0]
            count = 0
            for chunk in _in_chunks(rows, size):
                pks, values = _columns(chunk, width, names)
                count += len(pks)
                _send_post(model, using, pks, values, None)
            return count
        results = []
        for _, rows, width, names in statements:
            rows = list(rows)
            results.append((len(rows), *_columns(rows, width, names)))
        count, pks, values = _merged(results)
        for start in range(0, len(pks), size):
            _send_post(
                model,
                using,
                pks[start : start + size],
                _slice(values, start, size),
                None,
            )
        return count


def _update_in_chunks(
    queryset: QuerySet, kwargs: dict[str, Any], using: str, old: bool
) -> int:
    model, size = queryset.model, chunk_size()
    meta = model._meta
    names = [meta.get_field(name).attname for name in kwargs]
    size = min(size, _max_keys(using))
    reading = locked(queryset.order_by("pk"), list(kwargs))
    total = 0
    last: Any = None
    with transaction.atomic(using=using, savepoint=False):
        while True:
            page = reading if last is None else reading.filter(pk__gt=last)
            found = list(page.values_list("pk", *(names if old else ()))[:size])
            if not found:
                break
            pks = [row[0] for row in found]
            old_values = (
                {name: [row[i + 1] for row in found] for i, name in enumerate(names)}
                if old
                else None
            )
            pre_update.send(
                model,
                using=using,
                fields=tuple(names),
                pks=pks,
                old_values=old_values,
            )
            rows = meta.model._base_manager.db_manager(using).filter(pk__in=pks)
            count, written, values = write(rows, kwargs)
            total += count
            if old_values is not None and written != pks:
                where = {pk: index for index, pk in enumerate(pks)}
                old_values = {
                    name: [column[where[pk]] for pk in written]
                    for name, column in old_values.items()
                }
            if written:
                _send_post(model, using, written, values, old_values)
            if len(found) < size:
                break
            last = pks[-1]
    return total


def _send_post(
    model: Any,
    using: str,
    pks: list[Any],
    values: dict[str, list[Any]],
    old_values: dict[str, list[Any]] | None,
) -> None:
    post_update.send(
        model,
        using=using,
        fields=tuple(values),
        pks=pks,
        values=values,
        old_values=old_values,
    )


# --- statements ------------------------------------------------------------------


def _executed(
    queryset: QuerySet, kwargs: dict[str, Any], using: str, streaming: bool = False
) -> list[tuple[int, Any, int, list[str]]]:
    # Django's statements for the update (its own table's, then one per
    # parent table holding a written field), each run with RETURNING. For
    # each: its row count, its rows (an iterator when streaming), the number
    # of key columns leading each row, and the attnames of the rest.
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(kwargs)
    query.annotations = {}
    connection = connections[using]
    done = []
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
    for part_compiler, (text, params), part in parts:
        if not text:
            continue
        meta = part.get_meta()
        keys = _key_fields(meta)
        fields = [field for field, _, _ in part.values]
        returned = [*keys, *fields]
        qn = connection.ops.quote_name
        text = f"{text} RETURNING {', '.join(qn(f.column) for f in returned)}"
        converters = part_compiler.get_converters(
            [f.get_col(meta.db_table) for f in returned]
        )
        cursor = connection.cursor()
        cursor.execute(text, params)
        if streaming:
            rows: Any = _fetched(cursor, chunk_size())
        else:
            with cursor:
                rows = cursor.fetchall()
        if converters:
            rows = part_compiler.apply_converters(rows, converters)
            if not streaming:
                rows = list(rows)
        # RETURNING gives one row per row written: the count, once read.
        done.append((-1, rows, len(keys), [f.attname for f in fields]))
    return done


def _fetched(cursor: Any, size: int) -> Iterator[Any]:
    try:
        while batch := cursor.fetchmany(size):
            yield from batch
    finally:
        cursor.close()


def _in_chunks(rows: Any, size: int) -> Iterator[list[Any]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _columns(
    rows: list[Any], width: int, names: list[str]
) -> tuple[list[Any], dict[str, list[Any]]]:
    if not rows:
        return [], {name: [] for name in names}
    columns = list(zip(*rows, strict=True))
    pks = list(columns[0]) if width == 1 else list(zip(*columns[:width], strict=True))
    return pks, {name: list(columns[width + i]) for i, name in enumerate(names)}


def _merged(results: list[tuple[int, list[Any], dict[str, list[Any]]]]) -> Collected:
    # One row set from the statements of one update: the first statement's
    # keys in its order (a parent table's rows share their child's keys).
    if not results:
        return 0, [], {}
    count, pks, values = results[0]
    if len(results) == 1:
        return count, pks, values
    pks = list(pks)
    values = {name: list(column) for name, column in values.items()}
    where = {pk: index for index, pk in enumerate(pks)}
    for other_count, other_pks, other_values in results[1:]:
        count = count or other_count
        for pk in other_pks:
            if pk not in where:
                where[pk] = len(pks)
                pks.append(pk)
                for column in values.values():
                    column.append(None)
        for name, column in other_values.items():
            merged = values.setdefault(name, [None] * len(pks))
            merged.extend([None] * (len(pks) - len(merged)))
            for pk, value in zip(other_pks, column, strict=True):
                merged[where[pk]] = value
    return count, pks, values


def _slice(values: dict[str, list[Any]], start: int, size: int) -> dict[str, list[Any]]:
    return {name: column[start : start + size] for name, column in values.items()}


def _key_fields(meta: Any) -> list[Any]:
    pk = meta.pk
    return list(pk.fields) if getattr(pk, "fields", None) else [pk]


def _write_then_read(
    queryset: QuerySet, kwargs: dict[str, Any], using: str
) -> Collected:
    # No RETURNING: the keys first, then the write, then the values read back.
    meta = queryset.model._meta
    names = [meta.get_field(name).attname for name in kwargs]
    with transaction.atomic(using=using, savepoint=False):
        pks = list(locked(queryset, list(kwargs)).values_list("pk", flat=True))
        if not pks:
            return 0, [], {name: [] for name in names}
        query = queryset.query.chain(sql.UpdateQuery)
        query.add_update_values(kwargs)
        query.annotations = {}
        count = query.get_compiler(using).execute_sql(ROW_COUNT) or 0
        back = meta.model._base_manager.db_manager(using).filter(pk__in=pks)
        found = list(back.values_list("pk", *names))
    return (
        count,
        [row[0] for row in found],
        {name: [row[i + 1] for row in found] for i, name in enumerate(names)},
    )


def _can_return(using: str) -> bool:
    connection = connections[using]
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)


def _max_keys(using: str) -> int:
    # How many keys one "pk IN (...)" may list, leaving room for the SET
    # clause's own parameters.
    connection = connections[using]
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        getlimit = getattr(connection.connection, "getlimit", None)
        if getlimit is not None:
            return max(1, getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 100)
        return 900
    if connection.vendor == "postgresql":
        return 65_000
    limit = connection.features.max_query_params
    return max(1, limit - 100) if limit else 1_000_000
