"""
``delivery="task"``: the receiver is called in a worker, through Django's Tasks API.

The task goes to the backend ``SIGNALS_APP_TASK_BACKEND`` names, in the queue
``SIGNALS_APP_TASK_QUEUE`` names (see ``backend``). The arguments travel as
JSON (see ``signals_app.delivery.payload``).

When the task is enqueued
    When the backend keeps its tasks in the signal's database
    (django-tasks-db on that database), during ``send()``, inside the
    transaction: an outbox, committed or rolled back with the data. With
    any other backend, or another database, once the transaction commits;
    at once in autocommit.

What never fails a user's write
    Arguments that cannot travel (``NotSerializable``) and settings that do
    not work (an unknown backend, a queue it lacks) are logged on the
    ``signals_app.delivery`` logger and returned as that receiver's response,
    as ``send_robust()`` would; the save goes on. So is an enqueue that fails
    after the commit: the data has committed, the event is lost, the log is
    all that is left. A database error while writing the outbox row, though,
    is the transaction's own and propagates from ``send()``: the transaction
    is broken either way, and the data must not commit without its task.

What is never queued
    The task backend's own writes never feed the receivers it carries,
    which would queue a task for every task, forever: a send whose sender
    is one of the backend's own models is not queued, and that receiver's
    response is None. With django-tasks-db, these are the sends of its task
    rows, as we create them (``pre_init``, ``post_init``, ``pre_save``,
    ``post_save``) and as its worker updates them. Receivers called now or
    on commit get these sends as usual. Nor is anything queued inside
    ``queueing_paused()``, for work of the machinery that sends signals of
    its own. Enqueueing itself is not paused: a backend that runs tasks as
    it enqueues them (the Tasks API's ``ImmediateBackend``) runs receivers
    whose own writes must queue their tasks as a worker's would.
"""

import threading
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

from django.db import connections, transaction

from ..dispatch.deliveries import Delivery
from . import backend, payload
from .allowlist import allowed
from .common import Scheduled, logger, run_soon, running_loop, signal_database
from .pause import is_paused
from .payload import NotSerializable

__all__ = ["QUEUED", "Queued"]


class Queued(Delivery):
    """``delivery="task"``: called in a worker, through Django's Tasks API."""

    name = "task"

    def connected(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        dispatch_uid: Hashable | None,
    ) -> None:
        """
        Put ``receiver`` on the allow-list; refuse it without a Tasks API
        (``ImproperlyConfigured``), with a ``SIGNALS_APP_TASK_BACKEND`` that
        ``TASKS`` does not define (``ImproperlyConfigured``), or with a name a
        worker could not tell apart or find (``ValueError``).
        """
        # Importing the task fails without a Tasks API to run it on.
        from . import tasks  # noqa: F401

        backend.refuse_unknown_backend()
        allowed.add(signal, receiver, dispatch_uid)

    def schedule(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Any:
        """
        Enqueue the call, now or on commit; respond ``Scheduled``, the error
        that kept it from being queued, or None for a send of the backend's own.
        """
        if is_paused():
            return None
        name = allowed.name_of(signal, receiver)
        try:
            target = backend.target()
        except Exception as err:
            # Settings that do not work must not break the user's write.
            logger.error("Cannot queue %s: %s", name, err, exc_info=err)
            return err
        if target.owns(sender):
            return None
        deleting = getattr(signal, "sends_deleted_instances", False)
        try:
            data = payload.encode(name, sender, named, deleting=deleting)
        except NotSerializable as err:
            logger.error("Cannot queue %s: %s", name, err, exc_info=err)
            return err
        using = signal_database(named)
        loop = running_loop()
        if loop is not None:
            run_soon(loop, _aenqueue(target.task, data, name))
            return Scheduled(self.name, using)
        if target.database == using:
            # The outbox: the task row is written in the data's transaction.
            # A database error here is the transaction's, so it propagates.
            return Scheduled(self.name, using, target.task.enqueue(data))
        transaction.on_commit(
            partial(_enqueue_after_commit, target.task, data, name, target.database),
            using=using,
        )
        return Scheduled(self.name, using)


QUEUED = Queued()


def _enqueue_after_commit(
    task: Any, data: dict, name: str, task_db: str | None
) -> None:
    # The data has committed, so the task must be enqueued whatever becomes
    # of a transaction still open on the task database (one on the default
    # database around a commit on another): from a thread of its own, with a
    # connection of its own. Not on SQLite, which takes one writer at a
    # time: there, the task row joins that transaction.
    if task_db is not None:
        connection = connections[task_db]
        if connection.in_atomic_block and connection.vendor != "sqlite":
            apart = threading.Thread(
                target=_enqueue_apart, args=(task, data, name), name="enqueue"
            )
            apart.start()
            apart.join()
            return
    _enqueue_robustly(task, data, name)


def _enqueue_apart(task: Any, data: dict, name: str) -> None:
    try:
        _enqueue_robustly(task, data, name)
    finally:
        # This thread's own connections.
        connections.close_all()


def _enqueue_robustly(task: Any, data: dict, name: str) -> None:
    # The data has committed: an error can only be reported.
    try:
        task.enqueue(data)
    except Exception as err:
        logger.error("Could not enqueue %s after commit (%s)", name, err, exc_info=err)


async def _aenqueue(task: Any, data: dict, name: str) -> None:
    try:
        await task.aenqueue(data)
    except Exception as err:
        logger.error("Could not enqueue %s (%s)", name, err, exc_info=err)
