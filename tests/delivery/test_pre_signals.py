"""
A ``pre_`` signal's receiver delivered later (``on_commit``, ``task``) runs
only for a write that succeeded.

``pre_save`` refuses such receivers at connect time: Django sends it before
the write and outside any transaction of it. ``pre_delete`` and the ``pre_``
actions of ``m2m_changed`` are sent inside the write's own atomic block, so
what they schedule goes down with a write that fails. Both hold for sync and
async callers, in autocommit and inside a transaction (where the write fails
in a savepoint and the transaction commits the rest). Real transactions
(``transactional_db``), and the real django-tasks-db outbox and worker.
"""

import asyncio
from contextlib import suppress

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from signals_app import signals
from testproject.shop.models import Customer, Order
from tests.delivery.worker import run_worker
from tests.factories import OrderFactory, TagFactory
from tests.helpers import live_receivers
from tests.recorder import Recorder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("async_connections_closed"),
]


class Boom(Exception):
    pass


def explode(action="post_delete", **kwargs):
    # Connected to the post_ signal (m2m_changed: the post_ actions), so the
    # pre_ signal's deliveries are arranged before the write fails.
    if action.startswith("post_"):
        raise Boom("the write fails after its pre_ signal")


# --- pre_save ---------------------------------------------------------------------


@pytest.mark.parametrize("delivery", ["on_commit", "task"])
@pytest.mark.parametrize("sender", [Customer, "shop.Customer"], ids=["model", "lazy"])
def test_pre_save_refuses_a_receiver_delivered_later(delivery, sender):
    recorder = Recorder()
    before = live_receivers(signals.pre_save)

    with pytest.raises(ValueError, match="connect it to post_save") as refused:
        signals.pre_save.connect(recorder, sender=sender, delivery=delivery)

    assert str(refused.value).startswith(
        "tests.recorder.Recorder cannot be connected to "
        f"django.db.models.signals.pre_save with delivery={delivery!r}: "
    )
    assert live_receivers(signals.pre_save) == before


def test_pre_save_takes_receivers_called_now(connect):
    recorder = Recorder()
    connect(signals.pre_save, recorder, sender=Customer)

    Customer.objects.create(name="Ann", email="ann@example.com")

    assert len(recorder.calls) == 1


# --- pre_delete and m2m_changed's pre_ actions ------------------------------------


class DeleteOrder:
    """Deleting an order: pre_delete, then post_delete inside the write."""

    def arrange(self, connect, later, delivery, fail):
        connect(
            signals.pre_delete,
            later,
            sender=Order,
            delivery=delivery,
            dispatch_uid="pre.delete.later",
        )
        if fail:
            connect(signals.post_delete, explode, sender=Order)
        return OrderFactory()

    def write(self, order):
        order.delete()

    async def awrite(self, order):
        await order.adelete()

    def delivered(self, later):
        return [call["sender"] for call in later.received()]

    expected = (Order,)


class TagOrder:
    """Tagging an order: m2m_changed pre_add, then post_add inside the write."""

    def arrange(self, connect, later, delivery, fail):
        through = Order.tags.through
        connect(
            signals.m2m_changed,
            later,
            sender=through,
            delivery=delivery,
            dispatch_uid="m2m.later",
        )
        if fail:
            connect(signals.m2m_changed, explode, sender=through)
        self.tag = TagFactory()
        return OrderFactory()

    def write(self, order):
        order.tags.add(self.tag)

    async def awrite(self, order):
        await order.tags.aadd(self.tag)

    def delivered(self, later):
        return later.values("action")

    expected = ("pre_add", "post_add")


def in_autocommit(write):
    with suppress(Boom):
        write()


def in_a_transaction(write):
    # The write in a savepoint of its own; the transaction goes on and
    # commits without it.
    with transaction.atomic():
        with suppress(Boom), transaction.atomic():
            write()
        Customer.objects.create(name="Kept", email="kept@example.com")


def run(caller, mode, case, order):
    if caller == "sync":
        mode(lambda: case.write(order))
    elif mode is in_autocommit:
        # Async code writes through Django's async ORM.
        async def write():
            with suppress(Boom):
                await case.awrite(order)

        asyncio.run(write())
    else:
        # Async code reaches a transaction through sync code.
        asyncio.run(sync_to_async(mode)(lambda: case.write(order)))


@pytest.fixture(params=[DeleteOrder, TagOrder], ids=["pre_delete", "m2m_pre_add"])
def case(request):
    return request.param()


@pytest.fixture(params=["on_commit", "task"])
def delivery(request):
    return request.param


@pytest.fixture(params=["sync", "async"])
def caller(request):
    return request.param


@pytest.fixture(params=[in_autocommit, in_a_transaction], ids=["autocommit", "atomic"])
def mode(request):
    return request.param


def deliveries(case, later, delivery):
    if delivery == "task":
        run_worker()
    return case.delivered(later)


def test_a_pre_signal_delivered_later_runs_for_a_write_that_succeeded(
    connect, case, delivery, caller, mode
):
    later = Recorder()
    order = case.arrange(connect, later, delivery, fail=False)

    run(caller, mode, case, order)

    assert deliveries(case, later, delivery) == list(case.expected)


def test_a_pre_signal_delivered_later_never_runs_for_a_write_that_failed(
    connect, case, delivery, caller, mode
):
    later = Recorder()
    order = case.arrange(connect, later, delivery, fail=True)

    run(caller, mode, case, order)

    assert deliveries(case, later, delivery) == []
    assert DBTaskResult.objects.count() == 0
    assert Order.objects.filter(pk=order.pk).exists()
