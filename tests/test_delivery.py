"""
connect(..., delivery=...): receivers called after commit, or queued for a worker.

Real transactions on the test databases (``transactional_db``): commits,
rollbacks and savepoints are the point. Queued receivers run in the real
django-tasks-db worker, in this process (``tests.queued.run_worker``).
"""

import asyncio
import gc
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django_tasks_db.models import DBTaskResult

from signals_app import delivery, signals
from signals_app.delivery import Scheduled, get_delivery
from signals_app.dispatch import Signal, receiver
from signals_app.payload import NotSerializable
from testproject.shop.models import Customer, Order, Tag
from tests.factories import CustomerFactory, OrderFactory
from tests.helpers import Recorder, live_receivers
from tests.queued import backend, run_worker, task_backends

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

# Queued receivers need a signal a worker can find by name: a module-level one.
custom = Signal()


class Boom(Exception):
    pass


Connect = Callable[..., Any]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """``connect(signal, receiver, **options)``, undone after the test."""
    made: list[tuple[Any, Any, dict[str, Any]]] = []

    def connect(signal: Any, receiver: Any, **options: Any) -> Any:
        signal.connect(receiver, **options)
        made.append((signal, receiver, options))
        return receiver

    yield connect
    for signal, connected, options in reversed(made):
        signal.disconnect(
            connected,
            sender=options.get("sender"),
            dispatch_uid=options.get("dispatch_uid"),
        )


def instances(recorder: Recorder) -> list[Any]:
    return [call["instance"] for call in recorder.calls]


def other_customer(email: str) -> Customer:
    return Customer.objects.using("other").create(name=email, email=email)


# --- on_commit ------------------------------------------------------------------


def test_on_commit_waits_for_the_transaction(connect):
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )
    now = connect(signals.post_save, Recorder(), sender=Customer)

    with transaction.atomic():
        customer = CustomerFactory()
        assert instances(now) == [customer]
        assert later.calls == []

    assert instances(later) == [customer]
    assert later.calls[0]["signal"] is signals.post_save
    assert later.calls[0]["sender"] is Customer
    assert later.calls[0]["created"] is True


def test_on_commit_drops_a_rolled_back_transaction(connect):
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )

    with transaction.atomic():
        CustomerFactory()
        transaction.set_rollback(True)

    assert later.calls == []
    assert not Customer.objects.exists()


def test_on_commit_drops_a_rolled_back_savepoint(connect):
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )

    with transaction.atomic():
        kept = CustomerFactory()
        with transaction.atomic():
            CustomerFactory()
            transaction.set_rollback(True)
        assert later.calls == []

    assert instances(later) == [kept]


def test_on_commit_runs_at_once_in_autocommit(connect):
    journal: list[str] = []
    connect(
        signals.post_save,
        lambda **kwargs: journal.append("on_commit"),
        sender=Customer,
        delivery="on_commit",
        weak=False,
    )

    CustomerFactory()
    journal.append("save returned")

    assert journal == ["on_commit", "save returned"]


def test_on_commit_follows_the_database_the_signal_names(connect):
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )

    with transaction.atomic(using="other"):
        customer = other_customer("ann@example.com")
        # A commit on the default database is not the one it waits for.
        with transaction.atomic():
            CustomerFactory()
        assert instances(later) == [Customer.objects.get()]
    assert instances(later)[1:] == [customer]

    # Autocommit on "other": called at once, whatever the default database does.
    with transaction.atomic():
        bo = other_customer("bo@example.com")
        assert instances(later)[2:] == [bo]
        transaction.set_rollback(True)
    assert instances(later)[2:] == [bo]


def test_on_commit_errors_are_logged_and_others_still_run(connect, caplog):
    def explode(**kwargs: Any) -> None:
        raise Boom("after commit")

    connect(
        signals.post_save, explode, sender=Customer, delivery="on_commit", weak=False
    )
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )
    theirs: list[str] = []

    with caplog.at_level(logging.ERROR, "signals_app.dispatch"), transaction.atomic():
        customer = CustomerFactory()
        transaction.on_commit(lambda: theirs.append("ran"))

    assert instances(later) == [customer]
    assert theirs == ["ran"]
    [record] = caplog.records
    assert record.name == "signals_app.dispatch"
    assert record.getMessage() == (
        "Error calling test_on_commit_errors_are_logged_and_others_still_run."
        "<locals>.explode after commit (after commit)"
    )
    assert isinstance(record.exc_info[1], Boom)


def test_on_commit_async_receivers_are_run_to_completion(connect):
    calls: list[Any] = []

    async def later(instance: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        calls.append(instance)

    connect(signals.post_save, later, sender=Customer, delivery="on_commit")

    with transaction.atomic():
        customer = CustomerFactory()
        assert calls == []

    assert calls == [customer]


def test_on_commit_holds_a_weak_receiver_until_the_commit(connect):
    calls: list[Any] = []

    class Receiver:
        def __call__(self, instance: Any, **kwargs: Any) -> None:
            calls.append(instance)

    weakly = Receiver()
    signals.post_save.connect(weakly, sender=Customer, delivery="on_commit")

    with transaction.atomic():
        customer = CustomerFactory()
        del weakly
        gc.collect()

    # Called once the transaction committed, then gone with its last reference.
    assert calls == [customer]
    CustomerFactory()
    assert calls == [customer]
    assert not signals.post_save.has_listeners(Customer)


def test_send_returns_scheduled_for_deferred_receivers_after_the_others():
    signal = Signal()
    now, later = Recorder(result="now"), Recorder(result="later")
    signal.connect(later, delivery="on_commit")
    signal.connect(now)

    with transaction.atomic():
        responses = signal.send(sender=None)
        robust = signal.send_robust(sender=None)
        assert later.calls == []

    scheduled = Scheduled("on_commit", "default")
    assert responses == robust == [(now, "now"), (later, scheduled)]
    assert len(later.calls) == 2


def test_scheduled_names_the_database_it_waits_for():
    signal = Signal()
    later = Recorder()
    signal.connect(later, delivery="on_commit")

    with transaction.atomic(using="other"):
        [(_, response)] = signal.send(sender=None, using="other")

    assert response == Scheduled("on_commit", "other")
    assert response.task_result is None


def test_asend_on_an_event_loop_calls_on_commit_receivers_soon():
    signal = Signal()
    calls: list[str] = []

    async def later_async(**kwargs: Any) -> None:
        calls.append("async")

    def later_sync(**kwargs: Any) -> None:
        calls.append("sync")

    signal.connect(later_async, delivery="on_commit")
    signal.connect(later_sync, delivery="on_commit")

    async def main() -> list[Any]:
        responses = await signal.asend(sender=None)
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0)
        return responses

    responses = asyncio.run(main())

    assert sorted(calls) == ["async", "sync"]
    assert [response for _, response in responses] == [
        Scheduled("on_commit", "default")
    ] * 2


def test_the_receiver_decorator_takes_delivery():
    signal = Signal()
    calls: list[Any] = []

    @receiver(signal, delivery="on_commit")
    def later(**kwargs: Any) -> None:
        calls.append(kwargs)

    with transaction.atomic():
        signal.send(sender=None)
        assert calls == []
    assert len(calls) == 1


# --- task: the outbox -------------------------------------------------------------


def test_task_is_written_inside_the_transaction(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.outbox",
    )

    with transaction.atomic():
        customer = CustomerFactory()
        [task] = DBTaskResult.objects.all()
        assert task.status == "READY"
        assert task.task_path == "signals_app.tasks.deliver"

    assert later.calls == []
    run_worker()

    [call] = later.calls
    assert call["instance"] == customer
    assert call["instance"] is not customer  # loaded again
    assert call["created"] is True
    assert call["using"] == "default"
    assert call["signal"] is signals.post_save
    assert call["sender"] is Customer
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_task_rolls_back_with_the_data(connect):
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.rollback",
    )

    with transaction.atomic():
        CustomerFactory()
        transaction.set_rollback(True)
    with transaction.atomic():
        kept = CustomerFactory()
        with transaction.atomic():
            CustomerFactory()
            transaction.set_rollback(True)

    [task] = DBTaskResult.objects.all()
    instance = task.args_kwargs["args"][0]["kwargs"]["instance"]
    assert instance["pk"] == kept.pk


def test_task_response_is_scheduled_with_the_task_result(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.response",
    )
    customer = CustomerFactory()

    responses = signals.post_save.send(
        sender=Customer,
        instance=customer,
        created=False,
        update_fields=frozenset({"name"}),
        raw=False,
        using="default",
    )

    [(receiver_, response)] = responses
    assert receiver_ is later
    assert response == Scheduled("task", "default")
    assert str(response.task_result.id) == str(
        DBTaskResult.objects.order_by("enqueued_at").last().id
    )
    run_worker()
    assert later.calls[-1]["update_fields"] == frozenset({"name"})


def test_task_a_save_runs_in_the_worker_also_an_async_receiver(connect):
    calls: list[Any] = []

    async def later(instance: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        calls.append(instance)

    connect(
        signals.post_save,
        later,
        sender=Order,
        delivery="task",
        dispatch_uid="test.async",
    )
    order = OrderFactory()
    assert calls == []

    run_worker()

    assert calls == [order]


def test_task_post_delete_gets_the_row_as_it_was(connect):
    later = connect(
        signals.post_delete,
        Recorder(),
        sender=Order,
        delivery="task",
        dispatch_uid="test.deleted",
    )
    order = OrderFactory(number="A-7")
    customer = order.customer
    order_pk, customer_pk = order.pk, customer.pk

    customer.delete()
    run_worker()

    [call] = later.calls
    gone = call["instance"]
    assert (gone.pk, gone.number, gone.total, gone.customer_id) == (
        order_pk,
        "A-7",
        order.total,
        customer_pk,
    )
    assert gone._state.adding is True
    assert isinstance(call["origin"], Customer)
    assert call["origin"].pk == customer_pk


def test_task_errors_fail_the_task_and_nothing_else(connect):
    def explode(**kwargs: Any) -> None:
        raise Boom("in the worker")

    connect(
        signals.post_save,
        explode,
        sender=Customer,
        delivery="task",
        dispatch_uid="test.explode",
        weak=False,
    )
    customer = CustomerFactory()

    run_worker()

    task = DBTaskResult.objects.get()
    assert Customer.objects.get() == customer
    assert task.status == "FAILED"
    assert task.exception_class_path == "tests.test_delivery.Boom"
    assert "in the worker" in task.traceback


# --- task: other backends and other databases -----------------------------------


def test_task_on_another_backend_is_enqueued_on_commit(connect, settings):
    settings.TASKS = backend("dummy")
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.dummy",
    )
    results = task_backends["default"].results

    with transaction.atomic():
        CustomerFactory()
        assert results == []
    with transaction.atomic():
        CustomerFactory()
        transaction.set_rollback(True)

    [result] = results
    assert result.args[0]["receiver"] == (
        "signals_app.signals.post_save:tests.helpers.Recorder#test.dummy"
    )
    assert not DBTaskResult.objects.exists()


def test_task_round_trip_on_the_immediate_backend(connect, settings):
    settings.TASKS = backend("immediate")
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.immediate",
    )

    with transaction.atomic():
        customer = CustomerFactory()
        assert later.calls == []

    assert instances(later) == [customer]


def test_task_for_another_database_is_enqueued_on_its_commit(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.other",
    )

    with transaction.atomic(using="other"):
        customer = other_customer("cy@example.com")
        assert not DBTaskResult.objects.exists()
    assert DBTaskResult.objects.count() == 1

    with transaction.atomic(using="other"):
        other_customer("di@example.com")
        transaction.set_rollback(True, using="other")
    assert DBTaskResult.objects.count() == 1

    run_worker()
    [call] = later.calls
    assert call["using"] == "other"
    assert call["instance"] == customer
    assert call["instance"]._state.db == "other"


@pytest.mark.skipif(
    connections["default"].vendor == "sqlite",
    reason="SQLite takes one writer: the task joins the open transaction",
)
def test_task_for_another_database_survives_a_rollback_of_the_task_database(
    connect,
):
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.apart",
    )

    with transaction.atomic():
        with transaction.atomic(using="other"):
            other_customer("ed@example.com")
        transaction.set_rollback(True)

    assert DBTaskResult.objects.count() == 1


def test_task_setting_names_the_backend_and_queue(connect, settings):
    settings.TASKS = {
        **backend("dummy"),
        "queued": {
            "BACKEND": backend("dummy")["default"]["BACKEND"],
            "QUEUES": ["signals"],
        },
    }
    settings.SIGNALS_APP_TASK_BACKEND = "queued"
    settings.SIGNALS_APP_TASK_QUEUE = "signals"
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="test.queue",
    )

    CustomerFactory()

    [result] = task_backends["queued"].results
    assert (result.backend, result.task.queue_name) == ("queued", "signals")
    assert task_backends["default"].results == []


def test_task_under_asend_on_an_event_loop_is_enqueued_soon(connect, settings):
    settings.TASKS = backend("immediate")
    later = connect(custom, Recorder(), delivery="task", dispatch_uid="test.asend")

    async def main() -> list[Any]:
        responses = await custom.asend(sender=None, n=1)
        deadline = time.monotonic() + 5
        while not later.calls and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return responses

    [(_, response)] = asyncio.run(main())

    assert response == Scheduled("task", "default")
    assert [call["n"] for call in later.calls] == [1]


# --- task: arguments that cannot travel ----------------------------------------


def test_task_argument_that_is_not_json_is_an_error_at_send_time(connect, caplog):
    later = connect(custom, Recorder(), delivery="task", dispatch_uid="test.json")
    when = datetime(2026, 1, 2, 3, 4, 5)

    with caplog.at_level(logging.ERROR, "signals_app.dispatch"), transaction.atomic():
        customer = CustomerFactory()
        [(_, error)] = custom.send(sender=Customer, instance=customer, when=when)
        # The transaction is intact, on PostgreSQL too.
        assert Customer.objects.count() == 1

    assert isinstance(error, NotSerializable)
    assert error.argument == "when"
    assert str(error).startswith(
        "argument 'when' is a datetime.datetime, which is not JSON-serialisable"
    )
    assert Customer.objects.get() == customer
    assert not DBTaskResult.objects.exists()
    [record] = caplog.records
    assert record.getMessage() == (
        "Cannot queue tests.test_delivery.custom:tests.helpers.Recorder#test.json: "
        f"{error}"
    )
    assert later.calls == []


def test_task_nested_argument_names_its_path(connect):
    connect(custom, Recorder(), delivery="task", dispatch_uid="test.nested")

    [(_, error)] = custom.send_robust(sender=None, details={"at": [1, object()]})

    assert error.argument == "details['at'][1]"


# --- connecting -----------------------------------------------------------------


def test_unknown_delivery_is_refused_at_connect_time():
    signal = Signal()

    with pytest.raises(ValueError, match="Unknown delivery 'later'"):
        signal.connect(Recorder(), delivery="later")

    assert signal.receivers == []


def test_get_delivery_by_name_or_object():
    assert get_delivery("on_commit") is delivery.ON_COMMIT
    assert get_delivery("task") is delivery.QUEUED
    assert get_delivery(delivery.ON_COMMIT) is delivery.ON_COMMIT
    assert repr(delivery.QUEUED) == "<delivery 'task'>"


def test_two_queued_receivers_may_not_share_a_name(connect):
    first, second = Recorder(), Recorder()
    connect(custom, first, delivery="task")

    with pytest.raises(ValueError, match="distinct dispatch_uid"):
        custom.connect(second, delivery="task")

    connect(custom, second, delivery="task", dispatch_uid="second")
    custom.disconnect(first)
    # Once it is disconnected, its name is free again.
    third = connect(custom, Recorder(), delivery="task")
    assert live_receivers(custom) == [second, third]


def test_a_queued_receiver_needs_a_signal_a_worker_can_find():
    with pytest.raises(ValueError, match="module-level name"):
        Signal().connect(Recorder(), delivery="task")


def test_one_receiver_for_several_senders_is_one_name(connect):
    later = Recorder()
    connect(
        signals.post_save, later, sender=Customer, delivery="task", dispatch_uid="x"
    )
    connect(signals.post_save, later, sender=Tag, delivery="task", dispatch_uid="x")

    Tag.objects.create(name="t")
    CustomerFactory()
    run_worker()

    assert {call["sender"] for call in later.calls} == {Tag, Customer}
    assert len(later.calls) == 2


# --- manage.py signals -----------------------------------------------------------


def test_manage_py_signals_shows_each_receivers_delivery(connect, capsys):
    connect(signals.pre_save, Recorder(), sender=Customer)
    connect(signals.pre_save, Recorder(), sender=Customer, delivery="on_commit")
    connect(signals.pre_save, Recorder(), sender=Customer, delivery="task", weak=False)

    call_command("signals", "--signal", "pre_save", "--format", "json")

    records = json.loads(capsys.readouterr().out)
    assert [record["delivery"] for record in records] == ["now", "on_commit", "task"]
