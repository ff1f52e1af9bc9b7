"""
How a watched ``QuerySet.update()`` runs: the write itself, with ``RETURNING``.

Two ways, chosen per call from what the receivers for the model ask for
(``signals_app.bulk.rows.asks``):

* Only ``post_update`` receivers, none asking for old values: the statement
  Django would run, with ``RETURNING`` the primary key (and the written
  columns, if asked) appended, inside one transaction. The rows are read
  from the cursor a chunk at a time and ``post_update`` is sent for each.
* A ``pre_update`` receiver, or one asking for old values: the rows the
  queryset matches (keys, and old values if asked) are read once, before
  any is written, locking them (``FOR UPDATE`` where the database has it),
  into a server-side cursor or a temporary table
  (``signals_app.bulk.matched``); then chunk after chunk: send
  ``pre_update``, ``UPDATE`` exactly those rows (the keys travel as one
  parameter: an array on PostgreSQL, JSON on SQLite) with ``RETURNING``,
  send ``post_update``; all in one transaction. An update that writes the
  primary key and wants old values writes a row at a time.

Databases without ``UPDATE ... RETURNING`` (Django's MySQL and Oracle
backends here) always take the second way, and read the written values back
by key.

Each ``UPDATE`` itself runs in ``signals_app.bulk.statements``.
"""

import contextvars
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import QuerySet, sql

from ..dispatch.connections import NONE_ID
from ..signals import post_update, pre_update
from .matched import matched_rows
from .rows import asks
from .statements import (
    Columns,
    Written,
    by_column,
    can_return,
    executed,
    locked,
    merge,
    only,
    read_converters,
    write,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Collector",
    "asked",
    "chunk_size",
    "collecting",
    "django_update",
    "run_update",
]

#: Rows per send (and per locking read) unless ``SIGNALS_APP_BULK_CHUNK_SIZE``
#: says otherwise.
DEFAULT_CHUNK_SIZE = 10_000

#: Django's own ``QuerySet.update``, as it was before ``signals_app.bulk``
#: replaced it.
django_update = QuerySet.update


@dataclass
class Collector:
    """Where ``bulk_update()``'s internal ``update()`` calls leave their rows."""

    #: Whether to read the written values back.
    values: bool
    written: list[Written] = field(default_factory=list)


# Set by bulk_update() around Django's own: its internal update() calls
# append their rows here instead of sending update signals.
collecting: contextvars.ContextVar[Collector | None] = contextvars.ContextVar(
    "signals_app_bulk_collecting", default=None
)


def chunk_size() -> int:
    """Rows per send: ``SIGNALS_APP_BULK_CHUNK_SIZE``, else 10,000."""
    return int(getattr(settings, "SIGNALS_APP_BULK_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


def asked(model: Any, *signals: Any) -> frozenset[str]:
    """What the receivers of ``signals`` that hear ``model`` ask for."""
    heard = (id(model), NONE_ID)
    found: frozenset[str] = frozenset()
    for signal in signals:
        for each in signal.connections():
            if each.sender_id in heard and each.condition is not None:
                found |= asks(each.condition)
    return found


def run_update(queryset: QuerySet, kwargs: dict[str, Any]) -> int:
    """``queryset.update(**kwargs)`` sending the update signals; the row count."""
    model = queryset.model
    queryset._for_write = True  # as Django's update(): the write database
    using = queryset.db
    # Django's UPDATE leaves DISTINCT out; so do the reads that match its
    # rows (PostgreSQL refuses FOR UPDATE beside it).
    queryset = queryset.all()
    queryset.query.distinct, queryset.query.distinct_fields = False, ()
    wanted = asked(model, pre_update, post_update)
    new, old = "values" in wanted, "old_values" in wanted
    before = pre_update.has_listeners(model)
    if old and not before and connections[using].vendor == "postgresql":
        count = _update_with_old_in_one(queryset, kwargs, using)
        if count is not None:
            return count
    if before or old or not can_return(using):
        return _update_in_chunks(queryset, kwargs, using, new, old)
    return _update_returning(queryset, kwargs, using, new)


# --- the two ways --------------------------------------------------------------


def _update_returning(
    queryset: QuerySet, kwargs: dict[str, Any], using: str, new: bool
) -> int:
    model, size = queryset.model, chunk_size()
    fields = [model._meta.get_field(name).attname for name in kwargs]
    with transaction.atomic(using=using, savepoint=False):
        statements = executed(queryset, kwargs, using, new, batch=size)
        if len(statements) == 1:
            # One table: stream the rows, a chunk per send.
            rows, width, names, converters = statements[0]
            count = 0
            for chunk in _in_chunks(rows, size):
                part = by_column(chunk, width, names, converters)
                count += len(part.pks)
                _send_post(model, using, fields, part.pks, part.values, None)
            return count
        results = [
            by_column([row for batch in batches for row in batch], width, names, conv)
            for batches, width, names, conv in statements
        ]
        merged = merge(results, new)
        for start in range(0, len(merged.pks), size):
            _send_post(
                model,
                using,
                fields,
                merged.pks[start : start + size],
                _slice(merged.values, start, size),
                None,
            )
        return merged.count


def _update_in_chunks(
    queryset: QuerySet, kwargs: dict[str, Any], using: str, new: bool, old: bool
) -> int:
    model = queryset.model
    meta = model._meta
    names = [meta.get_field(name).attname for name in kwargs]
    # An update that moves keys is written a row at a time when old values
    # are asked for: the keys it returns are the new ones, and only a row
    # written alone says which old row each new one was.
    by_row = old and _moves_keys(meta, kwargs)
    # SQLite with no pre_update receiver: nothing runs between the read and
    # the write of a lone chunk, and the database stays locked, so the
    # queryset within the keys' range is exactly the rows read, cheaper to
    # name than the list of their keys.
    ranged = connections[using].vendor == "sqlite" and not pre_update.has_listeners(
        model
    )
    size = chunk_size()
    total = 0
    with transaction.atomic(using=using, savepoint=False):
        reading = locked(queryset, list(kwargs))
        with matched_rows(reading, names if old else (), size) as chunks:
            for found, where in chunks:
                pks = [row[0] for row in found]
                old_values = (
                    {n: [row[i + 1] for row in found] for i, n in enumerate(names)}
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
                if by_row:
                    done = _joined(
                        [write(only(model, using, [pk]), kwargs, new) for pk in pks]
                    )
                else:
                    if ranged and where is None:
                        these = queryset.filter(pk__gte=pks[0], pk__lte=pks[-1])
                    else:
                        these = _these(model, using, pks, where)
                    done = write(these, kwargs, new)
                    if old_values is not None and done.pks != pks:
                        old_values = _realigned(old_values, pks, done.pks)
                total += done.count
                if done.pks:
                    _send_post(model, using, names, done.pks, done.values, old_values)
    return total


def _update_with_old_in_one(
    queryset: QuerySet, kwargs: dict[str, Any], using: str
) -> int | None:
    # PostgreSQL, old values wanted and no pre_update to send between read
    # and write: an update of at most one chunk in one statement, as
    # Django's own, the locking read a CTE the UPDATE joins, its RETURNING
    # giving the old values beside the new (and the old key beside a new):
    #   WITH old (k, o0, ...) AS (SELECT pk, ... ORDER BY pk LIMIT n + 1
    #   FOR UPDATE) UPDATE t SET ... FROM old WHERE t.pk = old.k AND t.pk =
    #   ANY(ARRAY(SELECT k FROM old)) RETURNING t.pk, old.o0, ..., t.c0
    # In a savepoint: when it wrote more than a chunk, it is undone and the
    # update goes in chunks. The LIMIT keeps the planner from a join it
    # would misjudge on a large table. None when the update spans parent
    # tables, the key is composite or the rows are more than a chunk.
    model = queryset.model
    meta = model._meta
    if meta.is_composite_pk:
        return None
    update = model._base_manager.db_manager(using).all().query.chain(sql.UpdateQuery)
    update.add_update_values(kwargs)
    update.annotations = {}
    if update.related_updates:
        return None
    compiler = update.get_compiler(using)
    set_sql, set_params = compiler.as_sql()  # no WHERE: every row, joined below
    connection = connections[using]
    qn = connection.ops.quote_name
    fields = [each for each, _, _ in update.values]
    names = [each.attname for each in fields]
    table, key = qn(meta.db_table), qn(meta.pk.column)
    alias = qn("signals_app_old")
    olds = [qn(f"o{index}") for index in range(len(fields))]
    returning = ", ".join(
        [f"{table}.{key}"]
        + [f"{alias}.{old}" for old in olds]
        + [f"{table}.{qn(each.column)}" for each in fields]
    )
    converters = read_converters(compiler, [meta.pk, *fields, *fields], meta.db_table)
    size = chunk_size()
    reading = locked(queryset.order_by("pk"), list(kwargs))
    reading = reading.values_list("pk", *names)[: size + 1]
    # The keys read are also listed for the UPDATE's own scan: an index
    # lookup each, whatever the planner believes of the table (joined by
    # key alone, a stale estimate can make it scan the whole table once per
    # row). By key, not by physical address: a row another transaction
    # updated while we waited for its lock is found through its old
    # version, as PostgreSQL's UPDATE follows it to the new one.
    with transaction.atomic(using=using, savepoint=False):
        try:  # in the transaction: Django refuses FOR UPDATE outside one
            select_sql, select_params = reading.query.get_compiler(using).as_sql()
        except EmptyResultSet:
            return 0
        text = (
            f"WITH {alias} ({', '.join([qn('k'), *olds])}) AS "
            f"({select_sql}) {set_sql} FROM {alias} "
            f"WHERE {table}.{key} = {alias}.{qn('k')} AND {table}.{key} = "
            f"ANY(ARRAY(SELECT {qn('k')} FROM {alias})) RETURNING {returning}"
        )
        try:
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute(text, (*select_params, *set_params))
                rows = cursor.fetchall()
                if len(rows) > size:
                    raise _MoreThanAChunk
        except _MoreThanAChunk:
            return None
        if not rows:
            return 0
        done = by_column(rows, 1, [*(f"old {n}" for n in names), *names], converters)
        columns = list((done.values or {}).values())
        old_values = dict(zip(names, columns[: len(names)], strict=True))
        values = dict(zip(names, columns[len(names) :], strict=True))
        _send_post(model, using, names, done.pks, values, old_values)
    return done.count


class _MoreThanAChunk(Exception):
    """Raised to undo a one-statement update that wrote more than a chunk."""


def _these(
    model: Any, using: str, pks: list[Any], where: tuple[str, list[Any]] | None
) -> QuerySet:
    # The rows of one chunk, by the condition that names them if there is
    # one, else by their keys.
    if where is None:
        return only(model, using, pks)
    condition, params = where
    return model._base_manager.db_manager(using).extra(where=[condition], params=params)


def _moves_keys(meta: Any, kwargs: dict[str, Any]) -> bool:
    return any(meta.get_field(name).primary_key for name in kwargs)


def _joined(parts: list[Written]) -> Written:
    # The writes of one row each, as one.
    values: Columns | None = None
    if parts and parts[0].values is not None:
        values = {name: [] for name in parts[0].values}
        for part in parts:
            for name, column in (part.values or {}).items():
                values[name].extend(column)
    pks = [pk for part in parts for pk in part.pks]
    return Written(sum(part.count for part in parts), pks, values)


def _realigned(old_values: Columns, pks: list[Any], written: list[Any]) -> Columns:
    # The old values in the order of the keys written; None for a key read
    # but not written back (a row gone between the two).
    where = {pk: index for index, pk in enumerate(pks)}
    return {
        name: [column[where[pk]] if pk in where else None for pk in written]
        for name, column in old_values.items()
    }


def _send_post(
    model: Any,
    using: str,
    fields: Sequence[str],
    pks: list[Any],
    values: Columns | None,
    old_values: Columns | None,
) -> None:
    post_update.send(
        model,
        using=using,
        fields=tuple(fields),
        pks=pks,
        values=values,
        old_values=old_values,
    )


def _in_chunks(batches: Iterator[list[Any]], size: int) -> Iterator[list[Any]]:
    # The cursor's batches are of ``size`` already; this only guards the
    # sends against a driver that returns fewer at a time.
    chunk: list[Any] = []
    for batch in batches:
        if not chunk and len(batch) == size:
            yield batch
            continue
        chunk.extend(batch)
        while len(chunk) >= size:
            yield chunk[:size]
            chunk = chunk[size:]
    if chunk:
        yield chunk


def _slice(values: Columns | None, start: int, size: int) -> Columns | None:
    if values is None:
        return None
    return {name: column[start : start + size] for name, column in values.items()}
