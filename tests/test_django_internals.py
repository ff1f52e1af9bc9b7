"""
The parts of Django that signals_app uses without Django promising them.

Each is named here with the module that relies on it, and checked for the
shape signals_app expects: that it exists, takes the arguments we pass, and
gives back the kind of thing we read. A Django release that changes one fails
its case here, by name, before anything subtler breaks. The table in the
documentation (docs/_incoming/core14.md, "Django internals") says why each is
used and what public alternative there is, if any.

Private (underscore) names:

* ``QuerySet._for_write`` (bulk/writes.py, bulk/statements.py): set so
  ``QuerySet.db`` names the write database, as Django's ``update()`` does.
* ``QuerySet._check_bulk_create_options()`` (bulk/patch.py): Django's checks
  of ``bulk_create()``'s conflict options, run before anything is sent.
* ``Model._state`` (``adding``, ``db``; changes/, delivery/):
  documented by Django, though underscored.
* ``Model._base_manager`` (bulk/writes.py, bulk/statements.py,
  delivery/decoding.py): documented likewise.
* ``ConnectionHandler._connections._storage`` (changes/transactions.py):
  asgiref's per-thread storage of the connections, read directly outside an
  event loop because the public lookup costs a save more than the rest of
  change tracking; any other shape takes ``connections[alias]``.
* ``Apps._pending_operations`` (signals.py): where a lazy sender given to
  Django's ``connect()`` before the app loads waits.
* ``Signal._live_receivers``, ``Signal._clear_dead_receivers``,
  ``Signal._dead_receivers``, and the entries of ``Signal.receivers``
  (dispatch/): names and shapes of Django's dispatcher that ours mirrors,
  since tools patch or read them, and that ``Signal.adopt()`` reads from the
  built-in signals.

Undocumented names (no underscore, no promise either):

* The ORM's SQL layer (bulk/): ``django.db.models.sql.UpdateQuery``,
  ``Query.chain()``, ``UpdateQuery.add_update_values()``, ``.values``,
  ``.related_updates``, ``.get_related_updates()``, ``Query.annotations``,
  ``Query.get_meta()``, ``Query.is_sliced``, ``Query.combinator``,
  ``Query.get_compiler()``, ``SQLCompiler.as_sql()`` raising
  ``EmptyResultSet``, ``.select``, ``.get_converters()``, ``.connection``,
  ``.execute_sql(ROW_COUNT)``.
* ``Model.save_base()``'s positional arguments and ``refresh_from_db()``'s
  (changes/tracking.py wraps both), ``Model.__getstate__()``, and the
  ``DeferredAttribute`` descriptors on model classes that it wraps.
* ``connection.run_on_commit`` and ``connection.in_atomic_block``
  (changes/tracking.py, delivery/queued.py, testing.py).
* ``Apps.get_registered_model()`` (lazy.py).
* The call Django's ``ModelSignal.connect()`` leaves waiting for a lazy
  sender (signals.py).

``sys._getframe()`` was one too; signals_app reads frames through
``inspect.currentframe()`` instead.
"""

import asyncio
import inspect
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import django
import pytest
from django.apps import apps
from django.apps.registry import Apps
from django.contrib.auth.models import Permission
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Manager, Model, QuerySet, sql
from django.db.models import signals as model_signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.sql.constants import ROW_COUNT
from django.dispatch import Signal as DjangoSignal
from django.test import override_settings

from testproject.shop.models import Customer, Order

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Internal:
    """One piece of Django that signals_app relies on, and how to check it."""

    name: str
    used_by: str
    check: Callable[[], None]


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def _customer() -> Customer:
    return Customer.objects.create(name="Ada", email="ada@example.com")


def _for_write() -> None:
    class Router:
        def db_for_read(self, model: Any, **hints: Any) -> str:
            return "reading"

        def db_for_write(self, model: Any, **hints: Any) -> str:
            return "writing"

    with override_settings(DATABASE_ROUTERS=[Router()]):
        queryset = Order.objects.all()
        assert queryset._for_write is False
        assert queryset.db == "reading"
        queryset._for_write = True
        assert queryset.db == "writing", "QuerySet.db no longer follows _for_write"


def _check_bulk_create_options() -> None:
    check = QuerySet._check_bulk_create_options
    assert _parameters(check) == [
        "self",
        "ignore_conflicts",
        "update_conflicts",
        "update_fields",
        "unique_fields",
    ]
    queryset = Order.objects.all()
    assert check(queryset, False, False, [], []) is None
    assert check(queryset, True, False, [], []).name == "IGNORE"
    with pytest.raises(ValueError, match="ignore_conflicts and update_conflicts"):
        check(queryset, True, True, [], [])


def _state() -> None:
    order = Order(number="n", total=1)
    assert isinstance(order._state, ModelState)
    assert order._state.adding is True
    assert order._state.db is None
    saved = Customer.objects.get(pk=_customer().pk)
    assert saved._state.adding is False
    assert saved._state.db == DEFAULT_DB_ALIAS


def _base_manager() -> None:
    manager = Order._base_manager
    assert isinstance(manager, Manager)
    assert manager.db_manager(DEFAULT_DB_ALIAS).all().model is Order


def _pending_operations() -> None:
    registry = Apps(installed_apps=())

    def receiver(**kwargs: Any) -> None:
        pass

    model_signals.ModelSignal().connect(
        receiver, sender="shop.Nothing", apps=registry, dispatch_uid="uid"
    )

    [operation] = registry._pending_operations[("shop", "nothing")]
    call = operation.func
    assert call.func.__func__ is DjangoSignal.connect
    assert call.args == (receiver,)
    assert call.keywords == {"weak": True, "dispatch_uid": "uid"}


def _receiver_entries() -> None:
    signal = DjangoSignal()

    def receiver(**kwargs: Any) -> None:
        pass

    signal.connect(receiver, sender=Order)
    [entry] = signal.receivers
    size = 4 if django.VERSION >= (6, 0) else 3
    assert len(entry) == size, f"entries have {len(entry)} items, not {size}"
    key, reference, *rest = entry
    assert isinstance(key, tuple)
    assert len(key) == 2
    assert isinstance(reference, weakref.ReferenceType)
    assert reference() is receiver
    assert rest[-1] is False  # is_async
    if size == 4:
        assert rest[0]() is Order  # the sender, weakly


def _sender_receivers_cache() -> None:
    signal = DjangoSignal(use_caching=True)
    assert isinstance(signal.sender_receivers_cache, weakref.WeakKeyDictionary)
    assert isinstance(DjangoSignal().sender_receivers_cache, dict)


def _dead_receivers() -> None:
    assert DjangoSignal()._dead_receivers is False


def _live_receivers() -> None:
    signal = DjangoSignal()

    def receiver(**kwargs: Any) -> None:
        pass

    signal.connect(receiver)
    assert _parameters(DjangoSignal._live_receivers) == ["self", "sender"]
    assert signal._live_receivers(None) == ([receiver], [])


def _clear_dead_receivers() -> None:
    assert _parameters(DjangoSignal._clear_dead_receivers) == ["self"]


def _update_query() -> None:
    query = Order.objects.all().query.chain(sql.UpdateQuery)
    assert isinstance(query, sql.UpdateQuery)


def _add_update_values() -> None:
    query = Order.objects.all().query.chain(sql.UpdateQuery)
    query.add_update_values({"status": "paid"})
    [(field, model, value)] = query.values
    assert (field.attname, value) == ("status", "paid")
    assert model is None or model is Order


def _related_updates() -> None:
    query = Order.objects.all().query.chain(sql.UpdateQuery)
    query.add_update_values({"status": "paid"})
    assert query.related_updates == {}
    assert query.get_related_updates() == []


def _annotations() -> None:
    query = Order.objects.all().query.chain(sql.UpdateQuery)
    assert isinstance(query.annotations, dict)
    query.annotations = {}


def _get_meta() -> None:
    assert Order.objects.all().query.get_meta() is Order._meta


def _is_sliced() -> None:
    assert Order.objects.all().query.is_sliced is False
    assert Order.objects.all()[:2].query.is_sliced is True


def _combinator() -> None:
    assert Order.objects.all().query.combinator is None
    both = Order.objects.all().union(Order.objects.all())
    assert both.query.combinator == "union"


def _get_compiler() -> None:
    query = Order.objects.all().query.chain(sql.UpdateQuery)
    query.add_update_values({"status": "paid"})
    text, params = query.get_compiler(DEFAULT_DB_ALIAS).as_sql()
    assert isinstance(text, str)
    assert text.startswith("UPDATE ")
    assert list(params) == ["paid"]


def _empty_result_set() -> None:
    compiler = Order.objects.filter(pk__in=[]).query.get_compiler(DEFAULT_DB_ALIAS)
    with pytest.raises(EmptyResultSet):
        compiler.as_sql()


def _execute_sql_row_count() -> None:
    customer = _customer()
    query = Customer.objects.filter(pk=customer.pk).query.chain(sql.UpdateQuery)
    query.add_update_values({"name": "Grace"})
    assert query.get_compiler(DEFAULT_DB_ALIAS).execute_sql(ROW_COUNT) == 1


def _select_and_converters() -> None:
    queryset = Order.objects.values_list("pk", "total")
    compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
    compiler.as_sql()
    assert all(len(item) == 3 for item in compiler.select)
    expressions = [expression for expression, _, _ in compiler.select]
    converters = compiler.get_converters(expressions)
    assert isinstance(converters, dict)
    for index, (functions, expression) in converters.items():
        assert 0 <= index < len(expressions)
        assert all(callable(function) for function in functions)
        assert expression is expressions[index]
    # Each converter takes (value, expression, connection): a total comes
    # back a Decimal where the database gives something else.
    for index, (functions, expression) in converters.items():
        value: Any = 1
        for function in functions:
            value = function(value, expression, compiler.connection)
        if index == 1:
            assert isinstance(value, Decimal)
    assert compiler.connection.alias == DEFAULT_DB_ALIAS


def _save_base() -> None:
    assert _parameters(Model.save_base)[:6] == [
        "self",
        "raw",
        "force_insert",
        "force_update",
        "using",
        "update_fields",
    ]


def _refresh_from_db() -> None:
    assert _parameters(Model.refresh_from_db)[:3] == ["self", "using", "fields"]


def _getstate() -> None:
    state = Customer(name="Ada").__getstate__()
    assert isinstance(state, dict)
    assert isinstance(state["_state"], ModelState)


def _deferred_attribute() -> None:
    name = Permission.__dict__["name"]
    key = Permission.__dict__["content_type_id"]
    assert type(name) is DeferredAttribute
    assert type(key) is ForeignKeyDeferredAttribute
    assert callable(type(key).__set__)
    assert name.__get__(None, Permission) is name


def _run_on_commit() -> None:
    def hook() -> None:
        pass

    with transaction.atomic():
        transaction.on_commit(hook)
        entry = connection.run_on_commit[-1]
        assert isinstance(connection.run_on_commit, list)
        assert entry[1] is hook


def _in_atomic_block() -> None:
    with transaction.atomic():
        assert connection.in_atomic_block is True


def _connections_storage() -> None:
    # changes.transactions.connection() falls back to connections[alias]
    # when this shape is gone: correct still, but no longer cheap.
    from django.db import connections

    assert asyncio._get_running_loop() is None
    storage = connections._connections._storage
    assert type(storage) is threading.local
    assert getattr(storage, DEFAULT_DB_ALIAS) is connections[DEFAULT_DB_ALIAS]


def _get_registered_model() -> None:
    assert apps.get_registered_model("shop", "order") is Order
    with pytest.raises(LookupError):
        apps.get_registered_model("shop", "nothing")


INTERNALS = [
    Internal("QuerySet._for_write", "bulk/writes.py, bulk/statements.py", _for_write),
    Internal(
        "QuerySet._check_bulk_create_options",
        "bulk/patch.py",
        _check_bulk_create_options,
    ),
    Internal("Model._state", "changes/, delivery/", _state),
    Internal("Model._base_manager", "bulk/, delivery/decoding.py", _base_manager),
    Internal("Apps._pending_operations", "signals.py", _pending_operations),
    Internal("Signal.receivers entries", "dispatch/registry.py", _receiver_entries),
    Internal(
        "Signal.sender_receivers_cache",
        "dispatch/dispatcher.py",
        _sender_receivers_cache,
    ),
    Internal("Signal._dead_receivers", "dispatch/dispatcher.py", _dead_receivers),
    Internal("Signal._live_receivers", "dispatch/registry.py", _live_receivers),
    Internal(
        "Signal._clear_dead_receivers", "dispatch/registry.py", _clear_dead_receivers
    ),
    Internal(
        "sql.UpdateQuery via Query.chain()",
        "bulk/writes.py, bulk/statements.py",
        _update_query,
    ),
    Internal(
        "UpdateQuery.add_update_values",
        "bulk/writes.py, bulk/statements.py",
        _add_update_values,
    ),
    Internal("UpdateQuery.related_updates", "bulk/writes.py", _related_updates),
    Internal("Query.annotations", "bulk/writes.py, bulk/statements.py", _annotations),
    Internal("Query.get_meta", "bulk/statements.py", _get_meta),
    Internal("Query.is_sliced", "bulk/patch.py", _is_sliced),
    Internal("Query.combinator", "bulk/patch.py", _combinator),
    Internal("Query.get_compiler", "bulk/writes.py, bulk/statements.py", _get_compiler),
    Internal(
        "SQLCompiler.as_sql EmptyResultSet",
        "bulk/writes.py, bulk/statements.py",
        _empty_result_set,
    ),
    Internal(
        "SQLCompiler.execute_sql(ROW_COUNT)",
        "bulk/statements.py",
        _execute_sql_row_count,
    ),
    Internal(
        "SQLCompiler.select and get_converters",
        "bulk/statements.py",
        _select_and_converters,
    ),
    Internal("Model.save_base", "changes/tracking.py", _save_base),
    Internal("Model.refresh_from_db", "changes/tracking.py", _refresh_from_db),
    Internal("Model.__getstate__", "changes/tracking.py", _getstate),
    Internal("DeferredAttribute", "changes/tracking.py", _deferred_attribute),
    Internal(
        "connection.run_on_commit", "changes/tracking.py, testing.py", _run_on_commit
    ),
    Internal(
        "connection.in_atomic_block",
        "changes/tracking.py, delivery/queued.py",
        _in_atomic_block,
    ),
    Internal(
        "ConnectionHandler._connections._storage (asgiref Local)",
        "changes/transactions.py",
        _connections_storage,
    ),
    Internal("Apps.get_registered_model", "lazy.py", _get_registered_model),
]


@pytest.mark.parametrize("internal", INTERNALS, ids=lambda internal: internal.name)
def test_a_django_internal_keeps_the_shape_signals_app_relies_on(internal):
    try:
        internal.check()
    except Exception as error:  # each way a shape can change: say which
        pytest.fail(
            f"Django {django.get_version()} changed {internal.name}, which "
            f"signals_app's {internal.used_by} relies on: {type(error).__name__}: "
            f"{error}. Adapt that module (and this check) to the new shape.",
            pytrace=True,
        )
