"""
The worker side of delivery="task": the allow-list, and payloads it refuses.

Tasks are enqueued as they would be by anyone able to write to the task
table, then run by the real db_worker in this process.
"""

import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from signals_app import signals
from signals_app.delivery import allowed
from signals_app.delivery.payload import encode
from signals_app.delivery.tasks import deliver
from testproject.shop.models import Customer
from tests.delivery.worker import run_worker
from tests.factories import CustomerFactory
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)

INVALID_PAYLOAD = "signals_app.delivery.payload.InvalidPayload"
NAME = "django.db.models.signals.post_save:tests.recorder.Recorder#test.tasks"


@pytest.fixture
def queued() -> Iterator[Recorder]:
    """A receiver connected for queued delivery as NAME."""
    recorder = Recorder()
    signals.post_save.connect(
        recorder, sender=Customer, delivery="task", dispatch_uid="test.tasks"
    )
    yield recorder
    signals.post_save.disconnect(sender=Customer, dispatch_uid="test.tasks")


def payload_for(customer: Customer, receiver: str = NAME, **changes: Any) -> dict:
    named = {
        "instance": customer,
        "created": False,
        "update_fields": None,
        "raw": False,
        "using": "default",
    }
    return {**encode(receiver, Customer, named, deleting=False), **changes}


def failure() -> DBTaskResult:
    [task] = DBTaskResult.objects.all()
    assert task.status == "FAILED"
    return task


def test_the_allow_list_names_connected_queued_receivers(queued):
    assert allowed.resolve(NAME) == (signals.post_save, queued)


def test_a_payload_made_by_hand_runs_like_one_from_a_save(queued):
    customer = CustomerFactory()
    queued.calls.clear()
    DBTaskResult.objects.all().delete()

    deliver.enqueue(payload_for(customer))
    run_worker()

    [call] = queued.received()
    assert call["instance"] == customer
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_receiver_not_connected_for_queueing_is_refused(queued, caplog):
    customer = CustomerFactory()
    DBTaskResult.objects.all().delete()
    tampered = payload_for(
        customer, receiver="django.db.models.signals.post_save:tests.test_tasks.failure"
    )

    with caplog.at_level(logging.ERROR, "signals_app.dispatch"):
        deliver.enqueue(tampered)
        run_worker()

    task = failure()
    assert task.exception_class_path == "signals_app.delivery.UnknownReceiver"
    assert queued.received() == []
    assert caplog.records[0].getMessage() == (
        "Refused a queued delivery: no receiver named "
        "'django.db.models.signals.post_save:tests.test_tasks.failure' was connected "
        "with delivery='task' in this process"
    )


def test_a_dotted_path_in_a_payload_is_never_imported(queued):
    # The standard library's "this" prints a poem when imported.
    assert "this" not in sys.modules
    customer = CustomerFactory()
    DBTaskResult.objects.all().delete()

    deliver.enqueue(payload_for(customer, receiver="this"))
    run_worker()

    assert "this" not in sys.modules
    assert failure().exception_class_path == "signals_app.delivery.UnknownReceiver"


def test_a_disconnected_receiver_is_refused(queued):
    customer = CustomerFactory()
    run_worker()
    assert len(queued.calls) == 1
    DBTaskResult.objects.all().delete()
    # Still alive, and still in the allow-list, but no longer connected.
    signals.post_save.disconnect(sender=Customer, dispatch_uid="test.tasks")

    deliver.enqueue(payload_for(customer))
    run_worker()

    assert len(queued.calls) == 1
    assert "is no longer connected" in failure().traceback


def test_a_tampered_argument_fails_the_task_before_the_receiver_runs(queued, caplog):
    customer = CustomerFactory()
    run_worker()
    queued.calls.clear()
    task = DBTaskResult.objects.get()
    task.args_kwargs["args"][0]["kwargs"]["instance"]["label"] = "auth.Permission.x"
    task.status = "READY"
    task.save()

    with caplog.at_level(logging.ERROR, "signals_app.dispatch"):
        run_worker()

    assert queued.received() == []
    assert (
        failure().exception_class_path == "signals_app.delivery.payload.InvalidPayload"
    )
    assert "no installed model 'auth.Permission.x'" in caplog.text
    assert Customer.objects.get() == customer


@pytest.mark.parametrize("garbage", ["text", 42, None, {"receiver": NAME}])
def test_a_payload_of_another_shape_fails_its_task(queued, garbage):
    deliver.enqueue(garbage)
    run_worker()

    assert (
        failure().exception_class_path == "signals_app.delivery.payload.InvalidPayload"
    )
    assert queued.received() == []


def test_a_row_deleted_before_the_worker_runs_fails_the_task(queued):
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).delete()

    run_worker()

    assert queued.received() == []
    task = failure()
    assert task.exception_class_path == "testproject.shop.models.Customer.DoesNotExist"
    assert "no longer exists in database 'default'" in task.traceback
