"""
``asend()`` and ``asend_robust()`` deliver ``on_commit`` and ``task`` receivers
as ``send()`` does: on the caller's database connection, in its transaction.

Callers are sync code reaching asend() through ``async_to_sync()`` (a view, the
test client, a management command: its event loop ends with the call) and
async code on an event loop of its own (``asyncio.run()``), in autocommit and
in a transaction. Real transactions (``transactional_db``) and the real
django-tasks-db outbox and worker.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from signals_app.delivery import Scheduled
from signals_app.dispatch import Signal
from tests.delivery.worker import run_worker
from tests.recorder import Recorder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("async_connections_closed"),
]

# A worker finds queued receivers by name: the signal lives at module level.
sent_later = Signal()


class Rollback(Exception):
    pass


@pytest.fixture(params=["asend", "asend_robust"])
def asend(request):
    """The method under test, as a coroutine function of the signal."""
    return getattr(sent_later, request.param)


@pytest.fixture(params=["on_commit", "task"])
def later(request):
    """A recorder connected with each delivery; ``delivered()`` runs the worker."""
    recorder = Recorder(request.param)
    sent_later.connect(
        recorder, delivery=request.param, dispatch_uid=f"asend.{request.param}"
    )

    def delivered():
        if request.param == "task":
            run_worker()
        return recorder.values("n")

    recorder.delivered = delivered
    yield recorder
    sent_later.disconnect(dispatch_uid=f"asend.{request.param}")


def test_asend_from_sync_code_in_autocommit_delivers(asend, later):
    [(_, response)] = async_to_sync(asend)(sender=None, n=1)

    assert response == Scheduled(later.name, "default")
    assert later.delivered() == [1]


def test_asend_from_sync_code_in_a_transaction_delivers_after_the_commit(asend, later):
    with transaction.atomic():
        async_to_sync(asend)(sender=None, n=1)
        assert later.calls == []

    assert later.delivered() == [1]


def test_asend_from_sync_code_in_a_rolled_back_transaction_delivers_nothing(
    asend, later
):
    def in_a_transaction():
        with transaction.atomic():
            async_to_sync(asend)(sender=None, n=1)
            raise Rollback

    with pytest.raises(Rollback):
        in_a_transaction()

    assert later.delivered() == []
    assert DBTaskResult.objects.count() == 0


def test_asend_from_async_code_in_autocommit_delivers(asend, later):
    async def caller():
        # Returns at once: nothing waits for work left on the loop.
        return await asend(sender=None, n=1)

    [(_, response)] = asyncio.run(caller())

    assert response == Scheduled(later.name, "default")
    assert later.delivered() == [1]


def test_asend_from_async_code_in_a_transaction_delivers_after_the_commit(asend, later):
    # Async code reaches a transaction through sync code, as Django's own
    # async ORM methods do; asend() under it joins that transaction.
    def in_a_transaction():
        with transaction.atomic():
            async_to_sync(asend)(sender=None, n=1)
            assert later.calls == []

    async def caller():
        await sync_to_async(in_a_transaction)()

    asyncio.run(caller())

    assert later.delivered() == [1]


def test_asend_from_async_code_in_a_rolled_back_transaction_delivers_nothing(
    asend, later
):
    def in_a_transaction():
        with transaction.atomic():
            async_to_sync(asend)(sender=None, n=1)
            raise Rollback

    async def caller():
        await sync_to_async(in_a_transaction)()

    with pytest.raises(Rollback):
        asyncio.run(caller())

    assert later.delivered() == []
