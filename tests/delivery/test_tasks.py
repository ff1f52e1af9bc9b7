"""
The worker side of delivery="task": the allow-list, payloads it refuses, its logs.

Tasks are enqueued as they would be by anyone able to write to the task
table (signed with this project's key, or not), then run by the real
db_worker in this process.
"""

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from signals_app import signals
from signals_app.delivery import allowed, sealed
from signals_app.delivery.encoding import encode
from signals_app.delivery.tasks import deliver
from testproject.shop.models import Customer, Tag
from tests.delivery.worker import run_worker
from tests.factories import CustomerFactory, other_customer
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)

INVALID_PAYLOAD = "signals_app.delivery.payload.InvalidPayload"
NAME = "django.db.models.signals.post_save:tests.recorder.Recorder#test.tasks"
EVENT = str(uuid.UUID(int=15, version=4))


@pytest.fixture
def queued() -> Iterator[Recorder]:
    """A receiver connected for queued delivery as NAME."""
    recorder = Recorder()
    signals.post_save.connect(
        recorder, sender=Customer, delivery="task", dispatch_uid="test.tasks"
    )
    yield recorder
    signals.post_save.disconnect(sender=Customer, dispatch_uid="test.tasks")


def payload_for(instance: Any, receiver: str = NAME) -> dict:
    named = {
        "instance": instance,
        "created": False,
        "update_fields": None,
        "raw": False,
        "using": "default",
    }
    return encode(receiver, type(instance), named, deleting=False)


def enqueue(payload: dict, *, key: str | None = None) -> None:
    """Enqueue ``payload``, signed with this project's key or with ``key``."""
    if key is None:
        data = sealed.seal(payload, EVENT, "fail")
    else:
        with override_settings(SECRET_KEY=key):
            data = sealed.seal(payload, EVENT, "fail")
    deliver.enqueue(data, event_id=EVENT, missing="fail")


def clear() -> None:
    DBTaskResult.objects.all().delete()


def failure() -> DBTaskResult:
    [task] = DBTaskResult.objects.all()
    assert task.status == "FAILED"
    return task


def test_the_allow_list_names_connected_queued_receivers(queued):
    assert allowed.resolve(NAME) == (signals.post_save, queued)


def test_a_payload_signed_by_hand_runs_like_one_from_a_save(queued):
    customer = CustomerFactory()
    queued.calls.clear()
    clear()

    enqueue(payload_for(customer))
    run_worker()

    [call] = queued.received()
    assert call["instance"] == customer
    assert call["event_id"] == uuid.UUID(EVENT)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def signed_as_before(payload: dict, version: int) -> str:
    """``payload`` signed as formats 3 and 4 did: in a JSON object."""
    document = {
        "event_id": EVENT,
        "missing": "fail",
        "payload": {**payload, "format": version},
    }
    return signing.Signer(salt=sealed.SALT).sign(json.dumps(document))


def test_a_task_of_format_3_queued_before_an_upgrade_is_delivered(queued):
    # Format 3 repeated the event id and missing as task arguments.
    customer = CustomerFactory()
    queued.calls.clear()
    clear()

    data = signed_as_before(payload_for(customer), 3)
    deliver.enqueue(data, event_id=EVENT, missing="fail")
    run_worker()

    [call] = queued.received()
    assert (call["instance"], call["event_id"]) == (customer, uuid.UUID(EVENT))


def test_a_task_of_format_4_queued_before_an_upgrade_is_delivered(queued):
    customer = CustomerFactory()
    queued.calls.clear()
    clear()

    deliver.enqueue(signed_as_before(payload_for(customer), 4))
    run_worker()

    [call] = queued.received()
    assert (call["instance"], call["event_id"]) == (customer, uuid.UUID(EVENT))


def test_a_task_of_one_argument_takes_missing_from_the_signed_text(queued):
    customer = CustomerFactory()
    queued.calls.clear()
    clear()
    Customer.objects.filter(pk=customer.pk).delete()

    deliver.enqueue(sealed.seal(payload_for(customer), EVENT, "skip"))
    run_worker()

    assert queued.received() == []
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_payload_not_signed_with_the_projects_key_is_refused(queued, caplog):
    # The review's case: a row written by someone who can write the task
    # table, for a receiver of Customer, carrying an admin and auth.User.
    admin = User.objects.create_superuser("root", password="secret")
    forged = payload_for(admin)
    clear()

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        enqueue(forged, key="the attacker's")
        run_worker()

    assert failure().exception_class_path == INVALID_PAYLOAD
    assert queued.received() == []
    assert (
        caplog.records[0]
        .getMessage()
        .startswith(
            f"Refused the queued delivery to {NAME} (event {EVENT}): bad signature"
        )
    )


def test_a_signed_payload_its_connection_could_not_have_sent_is_refused(queued, caplog):
    # Signed, so written by this project: by a connection since changed, or
    # with a key that leaked. Still held to the connection.
    admin = User.objects.create_superuser("root", password="secret")
    clear()

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        enqueue(payload_for(admin))
        run_worker()

    assert failure().exception_class_path == INVALID_PAYLOAD
    assert queued.received() == []
    assert caplog.records[0].getMessage() == (
        f"Refused the queued delivery to {NAME} (event {EVENT}): sender "
        "{'__signals_app__': 'model', 'label': 'auth.User'} is not one the "
        "receiver is connected for"
    )


def test_a_payload_changed_in_the_task_table_is_refused(queued):
    customer = CustomerFactory()
    run_worker()
    queued.calls.clear()
    task = DBTaskResult.objects.get()
    task.args_kwargs["args"][0] = task.args_kwargs["args"][0].replace(
        '"label":"shop.Customer"', '"label":"auth.User"'
    )
    task.status = "READY"
    task.save()

    run_worker()

    assert queued.received() == []
    assert "bad signature" in failure().traceback
    assert Customer.objects.get() == customer


def test_an_event_id_changed_in_the_task_table_is_refused(queued):
    CustomerFactory()
    run_worker()
    queued.calls.clear()
    task = DBTaskResult.objects.get()
    task.args_kwargs["kwargs"]["event_id"] = str(uuid.uuid4())
    task.status = "READY"
    task.save()

    run_worker()

    assert queued.received() == []
    assert "are not the signed ones" in failure().traceback


def test_an_event_id_that_would_break_a_log_line_is_logged_escaped(queued, caplog):
    clear()

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        deliver.enqueue("x", event_id="1\nCRITICAL forged", missing="fail")
        run_worker()

    assert (
        caplog.records[0]
        .getMessage()
        .startswith("Refused the queued delivery to ? (event '1\\nCRITICAL forged'): ")
    )


def test_a_refused_task_of_one_argument_is_logged_with_the_event_it_claims(
    queued, caplog
):
    data = sealed.seal(payload_for(CustomerFactory()), EVENT, "fail")
    clear()

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        deliver.enqueue(data[:-1] + ("y" if data.endswith("x") else "x"))
        run_worker()

    assert (
        caplog.records[0]
        .getMessage()
        .startswith(
            f"Refused the queued delivery to {NAME} (event {EVENT}): bad signature"
        )
    )


def test_a_task_of_the_unsigned_format_fails_naming_the_upgrade(queued):
    old = {**payload_for(CustomerFactory()), "format": 2}
    clear()

    deliver.enqueue(old, event_id=EVENT, missing="fail")
    run_worker()

    assert queued.received() == []
    assert "payload format 2, this version reads 3" in failure().traceback


def test_a_task_run_twice_reaches_the_receiver_twice_with_one_event_id(queued):
    # A replay cannot be told from a retry: the event id is how receivers
    # recognise both.
    customer = CustomerFactory()
    queued.calls.clear()
    clear()

    enqueue(payload_for(customer))
    enqueue(payload_for(customer))
    run_worker()

    assert [call["event_id"] for call in queued.received()] == [uuid.UUID(EVENT)] * 2


def test_a_receiver_not_connected_for_queueing_is_refused(queued, caplog):
    customer = CustomerFactory()
    clear()
    other = "django.db.models.signals.post_save:tests.test_tasks.failure"

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        enqueue(payload_for(customer, receiver=other))
        run_worker()

    task = failure()
    assert task.exception_class_path == "signals_app.delivery.UnknownReceiver"
    assert queued.received() == []
    assert caplog.records[0].getMessage() == (
        f"Refused the queued delivery to {other} (event {EVENT}): no receiver "
        f"named '{other}' was connected with delivery='task' in this process"
    )


def test_a_dotted_path_in_a_payload_is_never_imported(queued):
    # The standard library's "this" prints a poem when imported.
    assert "this" not in sys.modules
    customer = CustomerFactory()
    clear()

    enqueue(payload_for(customer, receiver="this"))
    run_worker()

    assert "this" not in sys.modules
    assert failure().exception_class_path == "signals_app.delivery.UnknownReceiver"


def test_a_disconnected_receiver_is_refused(queued):
    customer = CustomerFactory()
    run_worker()
    assert len(queued.calls) == 1
    clear()
    # Still alive, and still in the allow-list, but no longer connected.
    signals.post_save.disconnect(sender=Customer, dispatch_uid="test.tasks")

    enqueue(payload_for(customer))
    run_worker()

    assert len(queued.calls) == 1
    assert "is no longer connected" in failure().traceback


def test_a_sender_disconnected_between_two_tasks_is_refused_at_the_second(queued):
    # One worker process, one receiver still connected for another sender.
    signals.post_save.connect(
        queued, sender=Tag, delivery="task", dispatch_uid="test.tasks"
    )
    tag = Tag.objects.create(name="t")
    run_worker()
    assert len(queued.calls) == 1
    clear()
    signals.post_save.disconnect(sender=Tag, dispatch_uid="test.tasks")

    enqueue(payload_for(tag))
    run_worker()

    assert len(queued.calls) == 1
    assert failure().exception_class_path == INVALID_PAYLOAD


@pytest.mark.parametrize("garbage", ["text", 42, None, {"receiver": NAME}])
def test_a_payload_of_another_shape_fails_its_task(queued, garbage):
    deliver.enqueue(garbage)
    run_worker()

    assert failure().exception_class_path == INVALID_PAYLOAD
    assert queued.received() == []


def test_a_row_deleted_before_the_worker_runs_fails_the_task(queued):
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).delete()

    run_worker()

    assert queued.received() == []
    task = failure()
    assert task.exception_class_path == "testproject.shop.models.Customer.DoesNotExist"
    assert "no longer exists in database 'default'" in task.traceback


def test_a_row_changed_before_the_worker_runs_reaches_the_receiver_as_it_is_then(
    queued,
):
    customer = CustomerFactory(name="as saved")
    # A queryset update sends no signal: only the row changes.
    Customer.objects.filter(pk=customer.pk).update(name="as changed since")

    run_worker()

    [call] = queued.received()
    assert call["instance"].name == "as changed since"


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_an_instance_is_loaded_from_the_database_it_was_saved_to(queued):
    saved = other_customer("on-other@example.com")
    # The same key on the default database, for a worker that looked there.
    Customer.objects.create(pk=saved.pk, name="on default", email="d@example.com")

    run_worker()

    [call] = [each for each in queued.received() if each["using"] == "other"]
    assert (call["instance"].name, call["instance"]._state.db) == (
        "on-other@example.com",
        "other",
    )


# --- what the worker logs -----------------------------------------------------------


def test_the_worker_logs_the_receiver_and_the_event_as_it_delivers(queued, caplog):
    customer = CustomerFactory()
    clear()
    enqueue(payload_for(customer))

    with caplog.at_level(logging.INFO, "signals_app.delivery.worker"):
        run_worker()

    assert [record.getMessage() for record in caplog.records] == [
        f"Delivering to {NAME} (event {EVENT})"
    ]


def test_a_row_gone_is_logged_naming_the_receiver_and_the_event(queued, caplog):
    customer = CustomerFactory()
    clear()
    enqueue(payload_for(customer))
    Customer.objects.filter(pk=customer.pk).delete()

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        run_worker()

    [record] = caplog.records
    assert record.getMessage().startswith(
        f"Failed to deliver to {NAME} (event {EVENT}): "
    )


def test_an_error_of_the_receiver_is_logged_naming_it_and_the_event(caplog):
    signals.post_save.connect(
        Recorder(raises=KeyError("gone")),
        sender=Customer,
        weak=False,
        delivery="task",
        dispatch_uid="test.tasks",
    )
    try:
        CustomerFactory()
        [data] = DBTaskResult.objects.get().args_kwargs["args"]
        event_id = sealed.unseal(data).event_id

        with caplog.at_level(logging.ERROR, "signals_app.delivery"):
            run_worker()
    finally:
        signals.post_save.disconnect(sender=Customer, dispatch_uid="test.tasks")

    assert failure().exception_class_path == "builtins.KeyError"
    [record] = caplog.records
    assert record.getMessage() == (
        f"Failed to deliver to {NAME} (event {event_id}): KeyError('gone')"
    )
