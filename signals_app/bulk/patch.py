"""
How the bulk signals hear every model: ``QuerySet``'s three bulk methods, replaced.

``install()`` (run once, as Django loads the app) puts wrappers in
place of Django's ``QuerySet.update``, ``bulk_create`` and ``bulk_update``.
Each first asks the signals whether anyone listens for the queryset's model
(``has_listeners()``, the dispatcher's cached plan for that sender) and, if
no one does, calls Django's own method at once: the same SQL, no query more.
``BulkSignalsQuerySet`` and ``BulkSignalsManager`` send the same signals
through ordinary subclassing, for a model whose author prefers that; they do
nothing more than the replaced methods do.
"""

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet

from ..signals import (
    post_bulk_create,
    post_bulk_update,
    post_update,
    pre_bulk_create,
    pre_bulk_update,
    pre_update,
)
from . import statements, writes

__all__ = [
    "BulkSignalsManager",
    "BulkSignalsMixin",
    "BulkSignalsQuerySet",
    "django_bulk_create",
    "django_bulk_update",
    "install",
    "installed",
]

django_update = writes.django_update
#: Django's own ``QuerySet.bulk_create``, as it was before ``install()``.
django_bulk_create = QuerySet.bulk_create
#: Django's own ``QuerySet.bulk_update``, as it was before ``install()``.
django_bulk_update = QuerySet.bulk_update


logger = logging.getLogger("signals_app.bulk")

# Models already warned about, so the log says it once per model.
_warned: set[type] = set()


def _unsupported(model: type) -> bool:
    """
    Whether the bulk signals cannot be sent for ``model``'s writes: those of
    a model with a composite primary key go through as Django's own, with a
    warning logged once, rather than fail the user's write.
    """
    if not getattr(model._meta, "is_composite_pk", False):  # type: ignore[attr-defined]
        return False
    if model not in _warned:
        _warned.add(model)
        logger.warning(
            "The bulk signals are not sent for %s: its primary key is "
            "composite, which they do not support yet. Its bulk writes run "
            "as Django's own.",
            model._meta.label,  # type: ignore[attr-defined]
        )
    return True


def _update(self: QuerySet, **kwargs: Any) -> int:
    # Inside bulk_update(): Django's own batches, whose rows that call's
    # signals carry; they send nothing themselves.
    collector = writes.collecting.get()
    if collector is not None:
        if not kwargs or self.query.is_sliced:
            return django_update(self, **kwargs)
        done = statements.write(self, kwargs, collector.values)
        collector.written.append(done)
        return done.count
    model = self.model
    if not (pre_update.has_listeners(model) or post_update.has_listeners(model)):
        return django_update(self, **kwargs)
    if _unsupported(model):
        return django_update(self, **kwargs)
    # What Django refuses, it refuses before anything is sent.
    if not kwargs or self.query.is_sliced or self.query.combinator:
        return django_update(self, **kwargs)
    return writes.run_update(self, kwargs)


def _bulk_update(
    self: QuerySet, objs: Iterable[Any], fields: Sequence[str], batch_size: Any = None
) -> int:
    model = self.model
    if not (
        pre_bulk_update.has_listeners(model) or post_bulk_update.has_listeners(model)
    ):
        if pre_update.has_listeners(model) or post_update.has_listeners(model):
            if _unsupported(model):
                return django_bulk_update(self, objs, fields, batch_size)
            # Its internal update() calls are not updates of their own.
            token = writes.collecting.set(writes.Collector(values=False))
            try:
                return django_bulk_update(self, objs, fields, batch_size)
            finally:
                writes.collecting.reset(token)
        return django_bulk_update(self, objs, fields, batch_size)
    if _unsupported(model):
        return django_bulk_update(self, objs, fields, batch_size)
    return _signalled_bulk_update(self, list(objs), fields, batch_size)


def _signalled_bulk_update(
    queryset: QuerySet, objs: list[Any], fields: Sequence[str], batch_size: Any
) -> int:
    model = queryset.model
    # Django's own checks of the arguments, with no rows to write yet.
    django_bulk_update(queryset, [], fields, batch_size)
    if not objs:
        return 0
    if any(obj.pk is None for obj in objs):
        return django_bulk_update(queryset, objs, fields, batch_size)
    meta = model._meta
    names = tuple(meta.get_field(name).attname for name in fields)
    queryset._for_write = True  # as Django's bulk_update(): the write database
    using = queryset.db
    size = writes.chunk_size()
    wanted = writes.asked(model, pre_bulk_update, post_bulk_update)
    old = "old_values" in wanted
    with transaction.atomic(using=using, savepoint=False):
        old_by_pk: dict[Any, tuple] = {}
        for start in range(0, len(objs), size):
            chunk = objs[start : start + size]
            pks = [obj.pk for obj in chunk]
            old_values = None
            if old:
                reading = statements.locked(statements.only(model, using, pks), fields)
                for row in reading.values_list("pk", *names):
                    old_by_pk[row[0]] = row[1:]
                old_values = _aligned(old_by_pk, pks, names)
            pre_bulk_update.send(
                model,
                using=using,
                fields=names,
                objs=chunk,
                pks=pks,
                old_values=old_values,
            )
        collector = writes.Collector(values="values" in wanted)
        token = writes.collecting.set(collector)
        try:
            count = django_bulk_update(queryset, objs, fields, batch_size)
        finally:
            writes.collecting.reset(token)
        written: dict[Any, list[Any] | None] = {}
        for done in collector.written:
            # A batch matching no row may lack the columns of a parent
            # table, whose statement Django then skips.
            if done.values is None or not done.pks:
                written.update(dict.fromkeys(done.pks))
                continue
            columns = [done.values[name] for name in names]
            for index, pk in enumerate(done.pks):
                written[pk] = [column[index] for column in columns]
        by_pk = {obj.pk: obj for obj in objs}
        keys = list(written)
        for start in range(0, len(keys), size):
            pks = keys[start : start + size]
            post_bulk_update.send(
                model,
                using=using,
                fields=names,
                objs=[by_pk[pk] for pk in pks],
                pks=pks,
                values=(
                    {
                        name: [written[pk][i] for pk in pks]  # type: ignore[index]
                        for i, name in enumerate(names)
                    }
                    if collector.values
                    else None
                ),
                old_values=_aligned(old_by_pk, pks, names) if old else None,
            )
    return count


def _aligned(
    by_pk: dict[Any, tuple], pks: list[Any], names: tuple[str, ...]
) -> dict[str, list[Any]]:
    # A row missing from by_pk (deleted before the read) has no old values.
    return {
        name: [by_pk[pk][i] if pk in by_pk else None for pk in pks]
        for i, name in enumerate(names)
    }


def _bulk_create(
    self: QuerySet,
    objs: Iterable[Any],
    batch_size: Any = None,
    ignore_conflicts: bool = False,
    update_conflicts: bool = False,
    update_fields: Any = None,
    unique_fields: Any = None,
) -> list[Any]:
    model = self.model
    # Passed on as they came, by name.
    options = {
        "batch_size": batch_size,
        "ignore_conflicts": ignore_conflicts,
        "update_conflicts": update_conflicts,
        "update_fields": update_fields,
        "unique_fields": unique_fields,
    }
    if not (
        pre_bulk_create.has_listeners(model) or post_bulk_create.has_listeners(model)
    ) or _unsupported(model):
        return django_bulk_create(self, objs, **options)
    objs = list(objs)
    if not objs:  # Django checks the conflict options only of rows it writes
        return django_bulk_create(self, objs, **options)
    conflicts = "ignore" if ignore_conflicts else "update" if update_conflicts else None
    # Django's own checks of the arguments, before anything is sent.
    django_bulk_create(self, [], batch_size, ignore_conflicts, update_conflicts)
    meta = model._meta
    self._check_bulk_create_options(
        ignore_conflicts,
        update_conflicts,
        [meta.get_field(name) for name in update_fields or ()],
        [
            meta.get_field(meta.pk.name if name == "pk" else name)
            for name in unique_fields or ()
        ],
    )
    self._for_write = True  # as Django's bulk_create(): the write database
    using = self.db
    size = writes.chunk_size()
    with transaction.atomic(using=using, savepoint=False):
        for start in range(0, len(objs), size):
            pre_bulk_create.send(
                model, using=using, objs=objs[start : start + size], conflicts=conflicts
            )
        created = django_bulk_create(self, objs, **options)
        names = [
            field.attname
            for field in model._meta.concrete_fields
            if not getattr(field, "generated", False)
        ]
        for start in range(0, len(created), size):
            chunk = created[start : start + size]
            pks = [obj.pk if _pk_known(obj) else None for obj in chunk]
            post_bulk_create.send(
                model,
                using=using,
                objs=chunk,
                conflicts=conflicts,
                pks=pks,
                created=[None if conflicts or pk is None else True for pk in pks],
                values={name: [getattr(obj, name) for obj in chunk] for name in names},
            )
    return created


def _pk_known(obj: Any) -> bool:
    pk = obj.pk
    if isinstance(pk, tuple):
        return all(part is not None for part in pk)
    return pk is not None


class BulkSignalsMixin:
    """
    A ``QuerySet`` mixin whose ``update()``, ``bulk_create()`` and
    ``bulk_update()`` send the bulk signals, for those who would rather not
    rely on ``install()``: mix it in before ``QuerySet``.
    """

    def update(self, **kwargs: Any) -> int:
        """``QuerySet.update()``, sending ``pre_update`` and ``post_update``."""
        return _update(self, **kwargs)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list:
        """``QuerySet.bulk_create()``, sending the bulk-create signals."""
        return _bulk_create(self, objs, *args, **kwargs)

    def bulk_update(
        self, objs: Iterable[Any], fields: Sequence[str], batch_size: Any = None
    ) -> int:
        """``QuerySet.bulk_update()``, sending the bulk-update signals."""
        return _bulk_update(self, objs, fields, batch_size)


class BulkSignalsQuerySet(BulkSignalsMixin, QuerySet):
    """A ``QuerySet`` sending the bulk signals (see ``BulkSignalsMixin``)."""


BulkSignalsManager = models.Manager.from_queryset(BulkSignalsQuerySet)
BulkSignalsManager.__doc__ = "A manager whose querysets send the bulk signals."


def install() -> None:
    """
    Put the signalling methods in place of ``QuerySet``'s own, once.

    Idempotent. Querysets of every model get them, third-party ones too.
    """
    QuerySet.update = _update
    QuerySet.bulk_create = _bulk_create
    QuerySet.bulk_update = _bulk_update
    QuerySet.update.alters_data = True
    QuerySet.bulk_create.alters_data = True
    QuerySet.bulk_update.alters_data = True


def installed() -> bool:
    """Whether ``install()`` replaced Django's methods."""
    return QuerySet.update is _update
