"""
delivery="task": receivers queued for a worker, through Django's Tasks API.

Real transactions on the test databases (``transactional_db``). Queued
receivers run in the real django-tasks-db worker, in this process
(``tests.delivery.worker.run_worker``).
"""

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import signals as django_signals
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connections, transaction
from django.db.models import signals as django_model_signals
from django_tasks_db.models import DBTaskResult

from signals_app import delivery, signals
from signals_app.delivery import NotSerializable, Scheduled, sealed
from signals_app.delivery.encoding import encode
from signals_app.dispatch import Signal
from signals_app.dispatch.deliveries import get_delivery
from testproject.shop.models import Customer, GiftOrder, Order, PriorityOrder
from tests.delivery.worker import backend, run_worker, task_backends, unseal
from tests.factories import (
    CustomerFactory,
    GiftOrderFactory,
    OrderFactory,
    other_customer,
)
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

# Queued receivers need a signal a worker can find by name: a module-level one.
custom = Signal()


class Boom(Exception):
    pass


def test_task_is_registered_with_the_dispatcher():
    assert get_delivery("task") is delivery.QUEUED
    assert repr(delivery.QUEUED) == "<delivery 'task'>"


# --- the outbox -------------------------------------------------------------------


def test_task_is_written_inside_the_transaction(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.outbox",
    )

    with transaction.atomic():
        customer = CustomerFactory()
        [task] = DBTaskResult.objects.all()
        assert task.status == "READY"
        assert task.task_path == "signals_app.delivery.tasks.deliver"

    assert later.received() == []
    run_worker()

    [call] = later.received()
    assert call["instance"] == customer
    assert call["instance"] is not customer  # loaded again
    assert call["created"] is True
    assert call["using"] == "default"
    assert call["signal"] is signals.post_save
    assert call["sender"] is Customer
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_task_rolls_back_with_the_data(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.rollback",
    )

    with transaction.atomic():
        CustomerFactory()
        transaction.set_rollback(True)
    with transaction.atomic():
        kept = CustomerFactory()
        with transaction.atomic():
            CustomerFactory()
            transaction.set_rollback(True)

    assert DBTaskResult.objects.count() == 1
    run_worker()
    assert later.values("instance") == [kept]


def test_task_response_is_scheduled_with_the_task_result(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.response",
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
    assert later.received()[-1]["update_fields"] == frozenset({"name"})


def test_task_a_save_runs_in_the_worker_also_an_async_receiver(connect):
    calls: list[Any] = []

    async def later(instance: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        calls.append(instance)

    connect(
        signals.post_save, later, sender=Order, delivery="task", dispatch_uid="t.async"
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
        dispatch_uid="t.deleted",
    )
    order = OrderFactory(number="A-7")
    customer = order.customer
    order_pk, customer_pk = order.pk, customer.pk

    customer.delete()
    run_worker()

    [call] = later.received()
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
        dispatch_uid="t.explode",
        weak=False,
    )
    customer = CustomerFactory()

    run_worker()

    task = DBTaskResult.objects.get()
    assert Customer.objects.get() == customer
    assert task.status == "FAILED"
    assert task.exception_class_path == f"{__name__}.Boom"
    assert "in the worker" in task.traceback


# --- the backend's own writes --------------------------------------------------


@pytest.mark.parametrize(
    "signal",
    # (pre_save takes no receiver delivered later.)
    [signals.pre_init, signals.post_init, signals.post_save],
    ids=["pre_init", "post_init", "post_save"],
)
def test_task_for_any_sender_queues_one_task_per_write_not_one_per_task_row(
    connect, signal
):
    connect(signal, Recorder(), delivery="task", dispatch_uid="t.any")

    CustomerFactory()

    # Writing the task row sends these signals too, for the row's model.
    [task] = DBTaskResult.objects.all()
    assert unseal(task).payload["sender"] == {
        "__signals_app__": "model",
        "label": "shop.Customer",
    }


def test_task_for_any_sender_is_not_fed_by_the_workers_updates(connect):
    later = connect(
        signals.post_save, Recorder(), delivery="task", dispatch_uid="t.any"
    )

    customer = CustomerFactory()
    run_worker()  # marks the task row running, then successful: two saves
    run_worker()

    assert later.values("instance") == [customer]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_task_receiver_gets_none_for_a_send_of_the_backends_own_model(connect):
    later = connect(
        signals.post_save, Recorder(), delivery="task", dispatch_uid="t.any"
    )
    now = connect(signals.post_save, Recorder(result="now"))

    customer = CustomerFactory()
    row = DBTaskResult.objects.get()
    responses = signals.post_save.send(
        sender=DBTaskResult,
        instance=row,
        created=False,
        update_fields=None,
        raw=False,
        using="default",
    )

    assert responses == [(now, "now"), (later, None)]
    assert DBTaskResult.objects.count() == 1
    # Receivers called now get the backend's writes, as in Django.
    assert {call["sender"] for call in now.received()} == {Customer, DBTaskResult}
    assert customer.pk


# --- other backends and other databases -----------------------------------------


def test_task_on_another_backend_is_enqueued_on_commit(connect, settings):
    settings.TASKS = backend("dummy")
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.dummy",
    )
    results = task_backends["default"].results

    with transaction.atomic():
        CustomerFactory()
        assert results == []
    with transaction.atomic():
        CustomerFactory()
        transaction.set_rollback(True)

    [result] = results
    assert sealed.unseal(*result.args, **result.kwargs).payload["receiver"] == (
        "django.db.models.signals.post_save:tests.recorder.Recorder#t.dummy"
    )
    assert not DBTaskResult.objects.exists()


def test_task_round_trip_on_the_immediate_backend(connect, settings):
    settings.TASKS = backend("immediate")
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.immediate",
    )

    with transaction.atomic():
        customer = CustomerFactory()
        assert later.received() == []

    assert later.values("instance") == [customer]


def test_task_for_another_database_is_enqueued_on_its_commit(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.other",
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
    [call] = later.received()
    assert call["using"] == "other"
    assert call["instance"] == customer
    assert call["instance"]._state.db == "other"


@pytest.mark.skipif(
    connections["default"].vendor == "sqlite",
    reason="SQLite takes one writer: the task joins the open transaction",
)
def test_task_for_another_database_survives_a_rollback_of_the_task_database(connect):
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.apart",
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
        dispatch_uid="t.queue",
    )

    CustomerFactory()

    [result] = task_backends["queued"].results
    assert (result.backend, result.task.queue_name) == ("queued", "signals")
    assert task_backends["default"].results == []


@pytest.mark.usefixtures("async_connections_closed")
def test_task_under_asend_on_an_event_loop_is_enqueued_soon(connect, settings):
    settings.TASKS = backend("immediate")
    later = connect(custom, Recorder(), delivery="task", dispatch_uid="t.asend")

    async def main() -> list[Any]:
        responses = await custom.asend(sender=None, n=1)
        deadline = time.monotonic() + 5
        while not later.calls and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return responses

    [(_, response)] = asyncio.run(main())

    assert response == Scheduled("task", "default")
    assert [call["n"] for call in later.received()] == [1]


def test_task_enqueue_failing_after_commit_is_logged_on_signals_app_delivery(
    connect, settings, caplog
):
    settings.TASKS = backend("dummy")
    connect(custom, Recorder(), delivery="task", dispatch_uid="t.full")
    custom.send(sender=None)  # binds the task to the backend, as it is now
    # Then the backend drops the task's queue: its enqueue refuses the task.
    task_backends["default"].queues = {"elsewhere"}

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        with transaction.atomic():
            [(_, response)] = custom.send(sender=None)
        assert response == Scheduled("task", "default")

    [record] = caplog.records
    assert record.name == "signals_app.delivery"
    assert record.getMessage().startswith(
        f"Could not enqueue {__name__}.custom:tests.recorder.Recorder#t.full "
        "after commit"
    )


# --- settings that do not work ------------------------------------------------------


def test_task_settings_broken_after_connect_never_fail_the_save(
    connect, settings, caplog
):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.gone",
    )
    settings.SIGNALS_APP_TASK_BACKEND = "gone"

    with caplog.at_level(logging.ERROR, "signals_app.delivery"), transaction.atomic():
        customer = CustomerFactory()
        [(_, error)] = signals.post_save.send(
            sender=Customer,
            instance=customer,
            created=False,
            update_fields=None,
            raw=False,
            using="default",
        )

    assert Customer.objects.get() == customer
    assert isinstance(error, ImproperlyConfigured)
    assert "gone" in str(error)
    assert not DBTaskResult.objects.exists()
    assert later.received() == []
    # The save's own send, then ours: each logged once.
    assert [record.name for record in caplog.records] == ["signals_app.delivery"] * 2
    assert (
        caplog.records[0]
        .getMessage()
        .startswith(
            "Cannot queue django.db.models.signals.post_save:"
            "tests.recorder.Recorder#t.gone: "
        )
    )


# --- arguments that cannot travel ------------------------------------------------


def test_task_argument_that_cannot_travel_is_an_error_at_send_time(connect, caplog):
    later = connect(custom, Recorder(), delivery="task", dispatch_uid="t.json")

    with caplog.at_level(logging.ERROR, "signals_app.delivery"), transaction.atomic():
        customer = CustomerFactory()
        [(_, error)] = custom.send(sender=Customer, instance=customer, what=object())
        # The transaction is intact, on PostgreSQL too.
        assert Customer.objects.count() == 1

    assert isinstance(error, NotSerializable)
    assert error.argument == "what"
    assert Customer.objects.get() == customer
    assert not DBTaskResult.objects.exists()
    [record] = caplog.records
    assert record.name == "signals_app.delivery"
    assert record.getMessage() == (
        f"Cannot queue {__name__}.custom:tests.recorder.Recorder#t.json: {error}"
    )
    assert later.received() == []


def test_task_nested_argument_names_its_path(connect):
    connect(custom, Recorder(), delivery="task", dispatch_uid="t.nested")

    [(_, error)] = custom.send_robust(sender=None, details={"at": [1, object()]})

    assert error.argument == "details['at'][1]"


@pytest.mark.parametrize(
    "value", [10**5000, [1, 10**5000]], ids=["an argument", "inside one"]
)
def test_task_integer_too_long_to_write_is_an_error_at_send_time(connect, value):
    # Python refuses to write an int of more than 4300 digits as text: the
    # send must report it, not raise it into the user's save.
    connect(custom, Recorder(), delivery="task", dispatch_uid="t.long")

    [(_, error)] = custom.send(sender=None, count=value)

    assert isinstance(error, NotSerializable)
    assert error.argument == "count"
    assert "digits" in error.problem
    assert not DBTaskResult.objects.exists()


# --- senders that can never travel ---------------------------------------------


@pytest.mark.parametrize(
    ("signal", "why"),
    [
        (django_signals.request_started, "WSGI environ or ASGI scope"),
        (django_signals.request_finished, "request handler with its class"),
        (django_signals.got_request_exception, "HttpRequest"),
        (django_signals.setting_changed, "override_settings"),
        (django_model_signals.pre_migrate, "AppConfig"),
        (django_model_signals.post_migrate, "AppConfig"),
    ],
)
def test_task_to_a_signal_django_sends_with_what_cannot_travel_is_refused(signal, why):
    before = list(signal.receivers)

    with pytest.raises(ValueError, match="cannot travel to a worker as JSON") as info:
        signal.connect(Recorder(), delivery="task", dispatch_uid="t.never")

    assert why in str(info.value)
    assert "delivery='on_commit'" in str(info.value)
    assert signal.receivers == before


def test_task_refusal_names_the_receiver_and_the_signal():
    with pytest.raises(ValueError, match="cannot be connected") as info:
        signals.request_finished.connect(
            Recorder(), delivery="task", dispatch_uid="t.never"
        )

    assert str(info.value).startswith(
        "<Recorder recorder> cannot be connected with delivery='task' to "
        "django.core.signals.request_finished: it is sent by the request handler "
        "with its class as the sender, which cannot travel to a worker as JSON."
    )


def test_refusal_of_a_sender_that_cannot_be_encoded_says_only_what_it_is():
    class Handler:
        pass

    with pytest.raises(ValueError, match="a worker gets the sender") as info:
        custom.connect(Recorder(), sender=Handler, delivery="task", dispatch_uid="t.h")

    message = str(info.value)
    assert "a worker gets the sender as JSON, and it is a builtins.type (" in message
    assert message.endswith("UUIDs are converted).")


def test_task_for_a_sender_that_cannot_be_encoded_is_refused_at_connect(connect):
    class Handler:
        pass

    with pytest.raises(ValueError, match=r"for the sender .*Handler.*: a worker gets"):
        custom.connect(Recorder(), sender=Handler, delivery="task", dispatch_uid="t.h")

    assert custom.receivers == []


def test_task_for_a_model_sender_of_another_signal_is_accepted(connect):
    later = connect(custom, Recorder(), sender=Customer, delivery="task")

    custom.send(sender=Customer)
    run_worker()

    assert later.senders == [Customer]


# --- the signed text --------------------------------------------------------------


def test_each_task_is_the_text_seal_writes_for_the_payload_encode_makes(connect):
    # The producer keeps the start of the text per receiver and sender: each
    # sender's tasks must still be signed for that sender and the options.
    how = delivery.Queued(missing="skip")
    receiver = connect(custom, Recorder(), delivery=how, dispatch_uid="t.text")
    name = delivery.allowed.name_of(custom, receiver)
    sent = [(sender, n) for n in (1, 2) for sender in (Customer, Order, None, "s")]

    for sender, n in sent:
        custom.send(sender=sender, n=n)

    tasks = DBTaskResult.objects.order_by("enqueued_at", "id")
    for (sender, n), task in zip(sent, tasks, strict=True):
        data = task.args_kwargs["args"][0]
        payload = encode(name, sender, {"n": n}, deleting=False)
        # The random digits of the event id, as the task carries them.
        hexa = json.loads(data.rpartition(":")[0])[1]
        shared = sealed.shared_part(name, payload["sender"], "skip")
        arguments = json.dumps(payload["kwargs"], separators=(",", ":"))
        assert data == sealed.seal_arguments(shared, hexa, arguments)


def _signed_parts(task: DBTaskResult) -> list:
    return json.loads(task.args_kwargs["args"][0].rpartition(":")[0])


def _priority_order() -> PriorityOrder:
    return PriorityOrder.objects.create(customer=CustomerFactory(), number="P-1")


@pytest.mark.parametrize(
    ("model", "make"),
    [
        (Customer, CustomerFactory),
        (GiftOrder, GiftOrderFactory),
        (PriorityOrder, _priority_order),
    ],
    ids=["model", "multi-table child", "proxy"],
)
def test_task_of_a_model_signal_leaves_out_the_sender_its_instance_names(
    connect, model, make
):
    # Each is its own sender, as Django sends post_save.
    later = connect(
        signals.post_save, Recorder(), sender=model, delivery="task", dispatch_uid="t.s"
    )
    instance = make()

    [parts] = [_signed_parts(task) for task in DBTaskResult.objects.all()]
    run_worker()

    assert len(parts) == 5
    assert parts[4]["instance"]["label"] == model._meta.label
    assert later.senders == [model]
    assert later.received()[0]["instance"] == instance


@pytest.mark.parametrize(
    "make",
    [CustomerFactory, GiftOrderFactory, _priority_order],
    ids=["another model", "multi-table child", "proxy"],
)
def test_task_keeps_a_sender_that_is_not_the_model_of_its_instance(connect, make):
    # Only an instance of the sender itself names it: a child's or a
    # proxy's instance names its own model, so Order must travel too.
    later = connect(custom, Recorder(), sender=Order, delivery="task")
    instance = make()

    custom.send(sender=Order, instance=instance)
    [parts] = [_signed_parts(task) for task in DBTaskResult.objects.all()]
    run_worker()

    assert parts[4] == {"__signals_app__": "model", "label": "shop.Order"}
    assert later.senders == [Order]


# --- the event id ------------------------------------------------------------------


def test_task_receiver_gets_the_event_id_made_when_it_was_queued(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.e",
    )
    CustomerFactory()
    [task] = DBTaskResult.objects.all()

    run_worker()

    [call] = later.received()
    assert isinstance(call["event_id"], uuid.UUID)
    assert sealed.unseal(task.args_kwargs["args"][0]).event_id == str(call["event_id"])


def test_task_carries_the_event_id_as_32_hex_digits(connect):
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.e",
    )
    CustomerFactory()

    data = DBTaskResult.objects.get().args_kwargs["args"][0]

    assert re.fullmatch("[0-9a-f]{32}", json.loads(data.rpartition(":")[0])[1])


@pytest.mark.parametrize("event", range(20))
def test_task_event_ids_are_random_uuids_written_as_uuid_writes_them(connect, event):
    # Twenty events: the variant and version bits are set, whatever the
    # random bits under them.
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.e",
    )
    CustomerFactory()

    event_id = sealed.unseal(DBTaskResult.objects.get().args_kwargs["args"][0]).event_id

    parsed = uuid.UUID(event_id)
    assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    assert str(parsed) == event_id


def test_task_carries_the_signed_text_as_its_one_argument(connect):
    # Each argument is walked by the backend as it enqueues: one string is
    # the least it can walk.
    connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.e",
    )
    customer = CustomerFactory()

    arguments = DBTaskResult.objects.get().args_kwargs

    assert arguments["kwargs"] == {}
    [data] = arguments["args"]
    assert sealed.unseal(data).payload["kwargs"]["instance"]["pk"] == customer.pk


def test_task_event_ids_differ_from_event_to_event(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.e",
    )
    CustomerFactory()
    CustomerFactory()

    run_worker()

    first, second = later.received()
    assert first["event_id"] != second["event_id"]


def test_task_run_again_gets_the_same_event_id(connect):
    # What a retry, or a task re-run after its worker died, amounts to: the
    # same task row run a second time.
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="t.e",
    )
    CustomerFactory()
    run_worker()
    DBTaskResult.objects.update(status="READY", started_at=None, finished_at=None)

    run_worker()

    first, second = later.received()
    assert first["event_id"] == second["event_id"]


def test_task_a_signal_sending_its_own_event_id_is_refused_at_send(connect, caplog):
    later = connect(custom, Recorder(), delivery="task", dispatch_uid="t.own")

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        [(_, error)] = custom.send(sender=None, event_id="mine")

    assert isinstance(error, NotSerializable)
    assert error.argument == "event_id"
    assert not DBTaskResult.objects.exists()
    assert later.received() == []


# --- a row gone before the worker runs ------------------------------------------


def queue_then_delete(connect: Any, missing: str | None) -> Recorder:
    how = "task" if missing is None else delivery.Queued(missing=missing)
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery=how, dispatch_uid="t.m"
    )
    customer = CustomerFactory(name="Ann")
    Customer.objects.filter(pk=customer.pk).delete()
    return later


def test_task_row_gone_fails_the_task_by_default(connect):
    later = queue_then_delete(connect, None)

    run_worker()

    task = DBTaskResult.objects.get()
    assert task.status == "FAILED"
    assert task.exception_class_path.endswith("Customer.DoesNotExist")
    assert later.received() == []


def test_task_row_gone_with_missing_fail_fails_the_task(connect):
    queue_then_delete(connect, "fail")

    run_worker()

    assert DBTaskResult.objects.get().status == "FAILED"


def test_task_row_gone_with_missing_skip_ends_the_task_without_the_receiver(
    connect,
):
    later = queue_then_delete(connect, "skip")

    run_worker()

    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert later.received() == []


def test_task_row_gone_with_missing_skip_is_a_warning_naming_receiver_and_event(
    connect, caplog
):
    queue_then_delete(connect, "skip")
    event_id = sealed.unseal(DBTaskResult.objects.get().args_kwargs["args"][0]).event_id

    # WARNING: what a project's logging shows by default.
    with caplog.at_level(logging.WARNING, "signals_app.delivery"):
        run_worker()

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(
        "Skipped django.db.models.signals.post_save:tests.recorder.Recorder#t.m "
        f"(event {event_id}): "
    )


def test_task_row_gone_with_missing_as_sent_gets_the_row_as_it_was(connect):
    later = queue_then_delete(connect, "as_sent")

    run_worker()

    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    [call] = later.received()
    assert call["instance"].name == "Ann"
    assert call["instance"]._state.adding is False


def test_task_row_there_with_missing_as_sent_is_loaded_as_it_is_now(connect):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery=delivery.Queued(missing="as_sent"),
        dispatch_uid="t.m",
    )
    customer = CustomerFactory(name="Ann")
    Customer.objects.filter(pk=customer.pk).update(name="Bea")

    run_worker()

    [call] = later.received()
    assert call["instance"].name == "Bea"


def test_task_missing_takes_only_the_documented_choices():
    with pytest.raises(
        ValueError, match="missing= takes one of 'fail', 'skip', 'as_sent'"
    ):
        delivery.Queued(missing="ignore")


def test_task_with_options_is_the_same_delivery_for_workers(connect):
    how = delivery.Queued(missing="skip")
    connect(custom, Recorder(), delivery=how, dispatch_uid="t.opt")

    assert repr(how) == "<delivery 'task' missing='skip'>"
    assert [conn.delivery_name for conn in custom.connections()] == ["task"]
    assert delivery.allowed.names() == [
        f"{__name__}.custom:tests.recorder.Recorder#t.opt"
    ]


def test_task_with_fields_says_so_in_its_repr():
    how = delivery.Queued(missing="as_sent", fields=["number", "customer"])

    assert repr(how) == (
        "<delivery 'task' missing='as_sent' fields=['customer', 'number']>"
    )


# --- which field values travel -----------------------------------------------------


def test_task_a_deleted_users_password_hash_never_reaches_the_task_table(connect):
    connect(signals.post_delete, Recorder(), sender=User, delivery="task")
    user = User.objects.create_user("ann", password="correct horse")
    digest = user.password

    user.delete()

    [task] = DBTaskResult.objects.all()
    assert digest not in json.dumps(task.args_kwargs)
    assert "password" not in unseal(task).payload["kwargs"]["instance"]["fields"]


def test_task_a_deleted_users_password_hash_never_reaches_a_broker(connect, settings):
    # The dummy backend keeps what it would have handed to a broker.
    settings.TASKS = backend("dummy")
    connect(signals.post_delete, Recorder(), sender=User, delivery="task")
    user = User.objects.create_user("ann", password="correct horse")
    digest = user.password

    user.delete()

    [result] = task_backends["default"].results
    assert digest not in json.dumps([result.args, result.kwargs])


def test_task_a_deleted_user_reaches_the_receiver_with_its_password_deferred(
    connect,
):
    later = connect(signals.post_delete, Recorder(), sender=User, delivery="task")
    User.objects.create_user("ann", password="correct horse").delete()

    run_worker()

    [call] = later.received()
    assert call["instance"].username == "ann"
    assert call["instance"].get_deferred_fields() == {"password"}


def test_task_with_fields_sends_only_those_and_the_key(connect):
    later = connect(
        signals.post_delete,
        Recorder(),
        sender=Order,
        delivery=delivery.Queued(fields=["number"]),
    )
    order = OrderFactory(number="A-7")
    pk = order.pk

    order.delete()

    [task] = DBTaskResult.objects.all()
    fields = unseal(task).payload["kwargs"]["instance"]["fields"]
    assert fields == {"id": pk, "number": "A-7"}
    run_worker()
    assert later.received()[0]["instance"].number == "A-7"


def test_task_with_fields_its_sender_lacks_is_refused_at_connect():
    recorder = Recorder()

    with pytest.raises(FieldDoesNotExist, match="Order has no field named 'numbr'"):
        signals.post_delete.connect(
            recorder, sender=Order, delivery=delivery.Queued(fields=["numbr"])
        )

    assert not signals.post_delete.has_listeners(Order)


def test_task_fields_as_one_string_is_refused():
    with pytest.raises(TypeError, match="fields= takes a list of names"):
        delivery.Queued(fields="number")


# --- watching what is scheduled ---------------------------------------------------


def test_scheduled_calls_lists_queued_calls_with_their_delivery(connect):
    how = delivery.Queued(missing="skip")
    later = connect(
        signals.post_save, Recorder(), sender=Customer, delivery=how, dispatch_uid="t.w"
    )

    with delivery.scheduled_calls() as seen:
        CustomerFactory()

    [call] = seen
    assert (call.receiver, call.delivery) == (later, how)
    assert isinstance(call.response, Scheduled)


def test_scheduled_calls_leaves_out_the_backends_own_sends(connect):
    # A receiver for any sender hears the task row being written too.
    connect(signals.post_save, Recorder(), delivery="task", dispatch_uid="t.any")

    with delivery.scheduled_calls() as seen:
        CustomerFactory()

    assert [call.sender for call in seen] == [Customer]
