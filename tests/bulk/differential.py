"""
The differential harness of the bulk-write properties: a write run twice,
once as Django runs it (no receiver: the methods call Django's own) and once
with receivers of every bulk signal, each time from the same rows, undone
after. Both runs must leave the same rows, return the same value or raise
the same error; the receivers must have heard each written row once, with
the values the database holds.

``Scenario`` is one generated case; ``run_both()`` runs it and returns the
two ``Outcome``; ``assert_same()`` and the ``assert_*_heard()`` checks
compare them. Rows are made with explicit keys, so that both runs use the
same ones (PostgreSQL's sequences are not rolled back).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, models, transaction
from django.db.models import QuerySet
from django.test import override_settings
from hypothesis import HealthCheck, settings

from signals_app.bulk import (
    BulkSignalsQuerySet,
    NewValues,
    OldValues,
    post_bulk_create,
    post_bulk_update,
    post_update,
    pre_bulk_create,
    pre_bulk_update,
    pre_update,
)
from testproject.shop.models import Customer, GiftOrder, Parcel, Product, Warehouse
from tests.bulk.routers import PRIMARY_REPLICA
from tests.recorder import Recorder

settings.register_profile(
    "bulk-differential",
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples every run, as the dispatcher's
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Hypothesis settings of every property: modest, the suite stays fast.
BUDGET = settings.get_profile("bulk-differential")


class ShopQuerySet(QuerySet):
    """A project's own ``QuerySet`` subclass, with a method of its own."""

    def cheap(self) -> "ShopQuerySet":
        return self


#: How applications reach the rows: the default manager, their own
#: ``QuerySet`` subclass, and ours.
QUERYSETS: dict[str, Callable[[type[models.Model]], QuerySet]] = {
    "manager": lambda model: model._default_manager.all(),
    "subclass": lambda model: ShopQuerySet(model),
    "ours": lambda model: BulkSignalsQuerySet(model),
}

#: What the receivers ask for, which picks the way an update runs.
LISTENING = ("keys", "values", "old-values", "pre-update")


#: The one creation time of every order, so that the two runs' rows agree.
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


class Undo(Exception):
    """Raised to roll a run back."""


# --- tables -------------------------------------------------------------------


def key_of(model: type[models.Model], number: int) -> Any:
    """The ``number``-th key of ``model``: an integer, a text or a UUID."""
    if model is Warehouse:
        return f"w{number:03d}"
    if model is Parcel:
        return uuid.UUID(int=number + 1)
    return number + 1


def make_rows(model: type[models.Model], numbers: list[int]) -> None:
    """Rows of ``model`` with the keys ``numbers`` and values derived from them."""
    if model is Product:
        Product.objects.bulk_create(
            Product(id=key_of(model, n), name=f"p{n}", price=n) for n in numbers
        )
    elif model is Warehouse:
        Warehouse.objects.bulk_create(
            Warehouse(code=key_of(model, n), name=f"w{n}") for n in numbers
        )
    elif model is Parcel:
        Parcel.objects.bulk_create(
            Parcel(id=key_of(model, n), weight=Decimal(n) / 4) for n in numbers
        )
    else:
        customer, _ = Customer.objects.get_or_create(
            id=1, defaults={"name": "Ada", "email": "a@e.com"}
        )
        for n in numbers:
            GiftOrder.objects.create(
                id=key_of(model, n),
                created=CREATED,
                customer=customer,
                number=f"g{n}",
                total=n,
                message=f"m{n}",
            )


def stored(model: type[models.Model]) -> dict[Any, tuple]:
    """Every row of ``model`` in the write database, by key."""
    names = [each.attname for each in model._meta.concrete_fields]
    return {
        row[0]: row for row in model._base_manager.using("default").values_list(*names)
    }


# --- the two runs -------------------------------------------------------------


@dataclass
class Scenario:
    """One generated case: a table, a write on it, and where it runs."""

    model: type[models.Model]
    numbers: list[int]
    #: The write, given a queryset of the model: returns what it returns.
    write: Callable[[QuerySet], Any]
    queryset: str = "manager"
    listening: str = "old-values"
    chunk_size: int = 10_000
    routed: bool = False
    #: None: no atomic() of the caller's; "commit" or "rollback" its end.
    caller: str | None = None
    #: The rows the write is meant for, given a queryset (an update's).
    select: Callable[[QuerySet], QuerySet] | None = None


@dataclass
class Outcome:
    """What one run left: rows, result or error, and what receivers heard."""

    before: dict[Any, tuple]
    after: dict[Any, tuple]
    result: Any = None
    error: tuple[type, str] | None = None
    #: The keys ``Scenario.select`` matched before the write.
    matched: list[Any] = field(default_factory=list)
    heard: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def run_both(scenario: Scenario) -> tuple[Outcome, Outcome]:
    """The scenario as Django runs it, then with receivers."""
    return _run(scenario, listen=False), _run(scenario, listen=True)


def _run(scenario: Scenario, listen: bool) -> Outcome:
    model = scenario.model
    recorders: dict[str, Recorder] = {}
    options = override_settings(
        SIGNALS_APP_BULK_CHUNK_SIZE=scenario.chunk_size,
        DATABASE_ROUTERS=PRIMARY_REPLICA if scenario.routed else [],
    )
    outcome = Outcome({}, {})
    try:
        with options, transaction.atomic("default"):
            make_rows(model, scenario.numbers)
            outcome.before = stored(model)
            if scenario.select is not None:
                outcome.matched = _matched(scenario)
            if listen:
                recorders = _listen(model, scenario.listening)
                guard = _Guard(len(outcome.before))
                post_update.connect(guard, sender=model, weak=False)
            try:
                _write(scenario, outcome)
            finally:
                for recorder in recorders.values():
                    recorder.disconnect()
                if listen:
                    post_update.disconnect(guard, sender=model)
            outcome.after = stored(model)
            raise Undo
    except Undo:
        pass
    outcome.heard = {name: rec.received() for name, rec in recorders.items()}
    return outcome


def _matched(scenario: Scenario) -> list[Any]:
    # The rows the write is for; none when the read fails (the write then
    # fails too, and the errors are compared).
    assert scenario.select is not None
    queryset = scenario.select(QUERYSETS[scenario.queryset](scenario.model))
    try:
        with transaction.atomic("default"):
            return list(queryset.using("default").values_list("pk", flat=True))
    except (DatabaseError, TypeError):
        return []


def _write(scenario: Scenario, outcome: Outcome) -> None:
    queryset = QUERYSETS[scenario.queryset](scenario.model)
    try:
        if scenario.caller is None:
            # A savepoint of the harness's own, so that after an error the
            # rows can still be read (the test's transaction holds it all).
            with transaction.atomic("default"):
                outcome.result = _plain(scenario.write(queryset))
            return
        with transaction.atomic("default"):
            outcome.result = _plain(scenario.write(queryset))
            if scenario.caller == "rollback":
                transaction.set_rollback(True, using="default")
    except Undo:
        raise
    except Exception as error:  # the error itself is what is compared
        # Its first line: PostgreSQL's next ones quote the statement, and
        # the statement that failed may be ours rather than Django's.
        outcome.error = (type(error), (str(error).splitlines() or [""])[0])


def _plain(result: Any) -> Any:
    # bulk_create() returns instances: compared by what they hold.
    if isinstance(result, list):
        return [
            tuple(getattr(obj, each.attname) for each in obj._meta.concrete_fields)
            for obj in result
        ]
    return result


class _Guard:
    # Fails a write that reports more rows than the table holds, rather
    # than let one that keeps meeting its own rows run forever.
    def __init__(self, rows: int) -> None:
        self.left = rows

    def __call__(self, pks: list[Any], **kwargs: Any) -> None:
        self.left -= len(pks)
        if self.left < 0:
            raise AssertionError("more rows reported than the table holds")


def _listen(model: type[models.Model], listening: str) -> dict[str, Recorder]:
    when = {"keys": None, "values": NewValues()}.get(listening, OldValues())
    made = {
        "post_update": Recorder().connect(post_update, model, when=when),
        "pre_bulk_create": Recorder().connect(pre_bulk_create, model),
        "post_bulk_create": Recorder().connect(post_bulk_create, model),
        "pre_bulk_update": Recorder().connect(pre_bulk_update, model, when=when),
        "post_bulk_update": Recorder().connect(post_bulk_update, model, when=when),
    }
    if listening == "pre-update":
        made["pre_update"] = Recorder().connect(pre_update, model, when=when)
    return made


# --- checks -------------------------------------------------------------------


def assert_same(django: Outcome, ours: Outcome) -> None:
    """Same rows before and after, same result, same error."""
    assert ours.before == django.before
    assert ours.error == django.error
    assert ours.result == django.result
    assert ours.after == django.after


def assert_sent_with_the_write_database(ours: Outcome) -> None:
    """Every signal named the database written: "default", router or not."""
    usings = {call["using"] for calls in ours.heard.values() for call in calls}
    assert usings <= {"default"}, usings


def sent(outcome: Outcome, signal: str, argument: str = "pks") -> list[Any]:
    """One argument of every call of ``signal``, joined across its chunks."""
    joined: list[Any] = []
    for call in outcome.heard.get(signal, []):
        joined.extend(call[argument])
    return joined


def columns(outcome: Outcome, signal: str, argument: str) -> list[dict[str, Any]]:
    """``values`` or ``old_values`` of every call, as one dict per row."""
    found = []
    for call in outcome.heard.get(signal, []):
        table = call[argument]
        for index in range(len(call["pks"])):
            found.append({name: column[index] for name, column in table.items()})
    return found


def attnames(model: type[models.Model]) -> list[str]:
    return [each.attname for each in model._meta.concrete_fields]


def assert_rows_heard(
    ours: Outcome, signal: str, pks: list[Any], values: bool, old: bool
) -> None:
    """
    ``signal`` carried each of ``pks`` once, the values the database holds
    after the write and, if asked, those it held before (by the old key,
    which ``old_values`` carries when the write changed it).
    """
    got = sent(ours, signal)
    assert len(got) == len(set(got)), f"a row sent twice: {got}"
    assert sorted(got, key=str) == sorted(pks, key=str)
    if not got:
        return
    names = attnames(_model_of(ours, signal))
    if values:
        for pk, row in zip(got, columns(ours, signal, "values"), strict=True):
            held = dict(zip(names, ours.after[pk], strict=True))
            assert row == {name: held[name] for name in row}, (pk, row, held)
    if old:
        pk_name = names[0]
        olds = columns(ours, signal, "old_values")
        for pk, row in zip(got, olds, strict=True):
            before = dict(zip(names, ours.before[row.get(pk_name, pk)], strict=True))
            assert row == {name: before[name] for name in row}, (pk, row, before)


def _model_of(outcome: Outcome, signal: str) -> type[models.Model]:
    return outcome.heard[signal][0]["sender"]
