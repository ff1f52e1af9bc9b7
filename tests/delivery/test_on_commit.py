"""
delivery="on_commit": receivers called once the signal's transaction commits.

Real transactions on the test databases (``transactional_db``): commits,
rollbacks and savepoints are the point.
"""

import asyncio
import gc
import logging
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction

from signals_app import delivery, signals
from signals_app.delivery import Scheduled, scheduled_calls
from signals_app.dispatch import Signal, receiver
from signals_app.dispatch.deliveries import get_delivery
from testproject.shop.models import Customer
from tests.factories import CustomerFactory, other_customer
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


class Boom(Exception):
    pass


def test_on_commit_is_registered_with_the_dispatcher():
    assert get_delivery("on_commit") is delivery.ON_COMMIT
    assert repr(delivery.ON_COMMIT) == "<delivery 'on_commit'>"


def test_on_commit_waits_for_the_transaction(connect):
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )
    now = connect(signals.post_save, Recorder(), sender=Customer)

    with transaction.atomic():
        customer = CustomerFactory()
        assert now.values("instance") == [customer]
        assert later.received() == []

    assert later.values("instance") == [customer]
    assert later.received()[0]["signal"] is signals.post_save
    assert later.received()[0]["sender"] is Customer
    assert later.received()[0]["created"] is True


def test_on_commit_drops_a_rolled_back_transaction(connect):
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )

    with transaction.atomic():
        CustomerFactory()
        transaction.set_rollback(True)

    assert later.received() == []
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
        assert later.received() == []

    assert later.values("instance") == [kept]


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
        assert later.values("instance") == [Customer.objects.get()]
    assert later.values("instance")[1:] == [customer]

    # Autocommit on "other": called at once, whatever the default database does.
    with transaction.atomic():
        bo = other_customer("bo@example.com")
        assert later.values("instance")[2:] == [bo]
        transaction.set_rollback(True)
    assert later.values("instance")[2:] == [bo]


def test_on_commit_errors_are_logged_where_django_logs_receiver_errors(connect, caplog):
    def explode(**kwargs: Any) -> None:
        raise Boom("after commit")

    connect(
        signals.post_save, explode, sender=Customer, delivery="on_commit", weak=False
    )

    with caplog.at_level(logging.ERROR, "django.dispatch"), transaction.atomic():
        CustomerFactory()

    [record] = caplog.records
    # Where Django's send_robust() logs the errors it catches.
    assert record.name == "django.dispatch"
    assert record.getMessage() == (
        "Error calling test_on_commit_errors_are_logged_where_django_logs_receiver_"
        "errors.<locals>.explode after commit (after commit)"
    )
    assert isinstance(record.exc_info[1], Boom)


def test_on_commit_error_does_not_stop_the_other_callbacks(connect, caplog):
    def explode(**kwargs: Any) -> None:
        raise Boom("after commit")

    connect(
        signals.post_save, explode, sender=Customer, delivery="on_commit", weak=False
    )
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )
    theirs: list[str] = []

    with caplog.at_level(logging.CRITICAL, "django.dispatch"), transaction.atomic():
        customer = CustomerFactory()
        transaction.on_commit(lambda: theirs.append("ran"))

    assert later.values("instance") == [customer]
    assert theirs == ["ran"]


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


def test_on_commit_holds_a_weak_receiver_until_the_commit():
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
        assert later.received() == []

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


@pytest.mark.usefixtures("async_connections_closed")
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


# --- watching what is scheduled ---------------------------------------------------


def test_scheduled_calls_lists_each_call_arranged_in_the_block(connect):
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery="on_commit"
    )

    with scheduled_calls() as seen, transaction.atomic():
        customer = CustomerFactory()

    [call] = seen
    assert (call.signal, call.receiver, call.sender) == (
        signals.post_save,
        later,
        Customer,
    )
    assert call.arguments["instance"] is customer
    assert call.arguments["created"] is True
    assert call.delivery is delivery.ON_COMMIT
    assert call.response == Scheduled("on_commit", "default")


def test_scheduled_calls_lists_nothing_outside_the_block(connect):
    connect(signals.post_save, Recorder(), sender=Customer, delivery="on_commit")
    with scheduled_calls() as seen:
        pass

    CustomerFactory()

    assert seen == []


def test_send_on_a_loop_that_ends_before_the_call_logs_the_dropped_call(caplog):
    # send() (not asend()) from async code under async_to_sync(): the call is
    # left on a loop that ends with async_to_sync(); it must not vanish
    # silently.
    signal = Signal()
    calls: list[str] = []

    async def later(**kwargs: Any) -> None:
        await asyncio.sleep(0.05)
        calls.append("later")

    signal.connect(later, delivery="on_commit")

    async def caller() -> None:
        signal.send(sender=None)

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        async_to_sync(caller)()

    assert calls == []
    [record] = caplog.records
    assert record.name == "signals_app.delivery"
    assert record.getMessage().startswith(
        "Dropped the on_commit call of "
        "test_send_on_a_loop_that_ends_before_the_call_logs_the_dropped_call"
    )
