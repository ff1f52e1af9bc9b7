"""
``delivery="task"``: the receiver is called in a worker, through Django's Tasks API.

The task goes to the backend ``SIGNALS_APP_TASK_BACKEND`` names, in the queue
``SIGNALS_APP_TASK_QUEUE`` names (see ``backend``). The arguments travel as
JSON (see ``signals_app.delivery.payload``), signed (``sealed``); the worker
admits only what the receiver's connections could have sent (``admission``).

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

What is refused at connect time
    A receiver whose sends could never travel: one connected to a signal
    Django sends with objects no payload holds (the request signals,
    ``setting_changed``, ``pre_migrate`` and ``post_migrate``), or for a
    ``sender`` that cannot be encoded (``ValueError``, saying why).

The event id
    Each queued call gets a UUID when it is queued, the receiver's
    ``event_id`` keyword argument; the task carries it, so every run of that
    task (a retry, a second run after a worker died) gets the same one.

A row gone before the worker runs
    ``Queued(missing=...)`` chooses: ``"fail"`` (the default: the task fails
    with the model's ``DoesNotExist``, which the backend records),
    ``"skip"`` (the receiver is not called; logged at WARNING) or
    ``"as_sent"`` (saved instances also carry their field values, and one
    whose row is gone comes back built from them, as it was at send time).
"""

import json
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.core import signals as core_signals
from django.db import connections, transaction
from django.db.models import signals as model_signals
from django.db.models.base import ModelBase

from ..dispatch.connections import describe
from ..dispatch.names import signal_name
from . import backend, encoding, sealed
from .allowlist import allowed
from .common import (
    Scheduled,
    WatchedDelivery,
    logger,
    run_soon,
    running_loop,
    signal_database,
)
from .pause import is_paused
from .payload import NotSerializable

__all__ = ["MISSING", "QUEUED", "Queued", "run_in_process"]

#: What ``Queued(missing=...)`` accepts.
MISSING = ("fail", "skip", "as_sent")

# Django's signals whose every send carries something no payload holds:
# what is sent, by whom. Known by identity (signals_app makes these very
# objects its own, so any import of them is the same object).
_NEVER_TRAVEL = (
    (
        core_signals.request_started,
        "is sent by the request handler with its class as the sender and the "
        "WSGI environ or ASGI scope as an argument",
    ),
    (
        core_signals.request_finished,
        "is sent by the request handler with its class as the sender",
    ),
    (
        core_signals.got_request_exception,
        "is sent with the HttpRequest as an argument",
    ),
    (
        core_signals.setting_changed,
        "is sent by override_settings with its class as the sender and "
        "setting values of any type",
    ),
    (
        model_signals.pre_migrate,
        "is sent with an AppConfig as the sender, the migration plan and a "
        "historical app registry",
    ),
    (
        model_signals.post_migrate,
        "is sent with an AppConfig as the sender, the migration plan and a "
        "historical app registry",
    ),
)


class Queued(WatchedDelivery):
    """
    ``delivery="task"``: called in a worker, through Django's Tasks API.

    ``connect(..., delivery="task")`` is ``Queued()``; pass an instance for
    the options::

        post_save.connect(index_order, sender=Order,
                          delivery=Queued(missing="skip"))

    ``missing``
        What the worker does when a row an instance stood for is gone:
        ``"fail"`` (default), ``"skip"`` or ``"as_sent"``; see the module.
    ``fields``
        The names of the fields whose values travel, where an instance
        travels as its values (one being deleted or added, or saved with
        ``missing="as_sent"``); its primary key always does. By default all
        of them but a user model's password hash. With a model sender,
        a name it lacks is a ``FieldDoesNotExist`` at connect time.
    """

    name = "task"

    def __init__(
        self, *, missing: str = "fail", fields: Iterable[str] | None = None
    ) -> None:
        if missing not in MISSING:
            choices = ", ".join(repr(each) for each in MISSING)
            raise ValueError(f"missing= takes one of {choices}, not {missing!r}.")
        if isinstance(fields, str):
            raise TypeError(f"fields= takes a list of names, not {fields!r}.")
        self.missing = missing
        self.fields = None if fields is None else frozenset(fields)
        # The part of the signed text that every send of a connection
        # shares (sealed.shared_part()), by receiver name, sender and
        # whether the sender is left out, for the senders whose encoding
        # never changes (model classes, None).
        self._shared: dict[tuple[str, Any, bool], str] = {}

    def __repr__(self) -> str:
        options = []
        if self.missing != "fail":
            options.append(f" missing={self.missing!r}")
        if self.fields is not None:
            options.append(f" fields={sorted(self.fields)!r}")
        return f"<delivery {self.name!r}{''.join(options)}>"

    def connected(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        dispatch_uid: Hashable | None,
    ) -> None:
        """
        Put ``receiver`` on the allow-list; refuse it with a name a worker
        could not tell apart or find, or when its sends could never travel to
        a worker (``ValueError``). Task settings that do not work (no Tasks
        API, a backend or queue TASKS lacks) are not refused here, so that the
        project starts and ``manage.py check`` reports them; its sends return
        the error (see ``backend.problems()``).
        """
        _refuse_untravelled(signal, receiver, sender)
        if self.fields is not None and isinstance(sender, ModelBase):
            # A name the model lacks would leave a field out unnoticed.
            for name in self.fields:
                sender._meta.get_field(name)
        allowed.add(signal, receiver, dispatch_uid)
        backend.prepare_worker()

    def arrange(
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
            if "event_id" in named:
                raise NotSerializable(
                    "event_id", "is the name delivery='task' gives the event's id"
                )
            shared = self._shared_part(name, sender, named, deleting)
            arguments = encoding.arguments_text(
                name,
                sender,
                named,
                deleting=deleting,
                as_sent=self.missing == "as_sent",
                fields=self.fields,
            )
        except NotSerializable as err:
            if _in_process.get():
                # A test: the error shows where the worker would have run.
                transaction.on_commit(
                    partial(_raise, err), using=signal_database(named)
                )
            logger.error("Cannot queue %s: %s", name, err, exc_info=err)
            return err
        using = signal_database(named)
        # The task's one argument: a backend walks each argument it is
        # given, more than once, so the event id and missing travel only
        # inside the signed text.
        data = sealed.seal_arguments(shared, _event_id(), arguments)
        if _in_process.get():
            # Through JSON now, as a backend would store it.
            transaction.on_commit(partial(_run_here, json.dumps(data)), using=using)
            return Scheduled(self.name, using)
        loop = running_loop()
        if loop is not None:
            run_soon(loop, _aenqueue(target.task, data, name), f"the task of {name}")
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

    def _shared_part(
        self, name: str, sender: Any, named: dict[str, Any], deleting: bool
    ) -> str:
        kept = sender is None or isinstance(sender, ModelBase)
        # A model sender that is the instance's model (a model signal's, as
        # Django sends them) is left out: the worker reads it from the
        # instance's label, and each task is shorter by the sender's text.
        implied = kept and sender is not None and type(named.get("instance")) is sender
        shared = self._shared.get((name, sender, implied)) if kept else None
        if shared is None:
            payload = encoding.encode(
                name,
                sender,
                {},
                deleting=deleting,
                as_sent=self.missing == "as_sent",
                fields=self.fields,
            )
            shared = sealed.shared_part(
                name, payload["sender"], self.missing, implied=implied
            )
            if kept:
                self._shared[name, sender, implied] = shared
        return shared


QUEUED = Queued()


def _enqueue_after_commit(task: Any, data: str, name: str, task_db: str | None) -> None:
    # The data has committed, so the task must be enqueued whatever becomes
    # of a transaction still open on the task database (one on the default
    # database around a commit on another): from a thread of its own, with a
    # connection of its own. Not on SQLite, which takes one writer at a
    # time: there, the task row joins that transaction.
    if task_db is not None:
        connection = connections[task_db]
        if connection.in_atomic_block and connection.vendor != "sqlite":
            apart = threading.Thread(
                target=_enqueue_apart,
                args=(task, data, name),
                name="enqueue",
            )
            apart.start()
            apart.join()
            return
    _enqueue_robustly(task, data, name)


def _enqueue_apart(task: Any, data: str, name: str) -> None:
    try:
        _enqueue_robustly(task, data, name)
    finally:
        # This thread's own connections.
        connections.close_all()


def _enqueue_robustly(task: Any, data: str, name: str) -> None:
    # The data has committed: an error can only be reported.
    try:
        task.enqueue(data)
    except Exception as err:
        logger.error("Could not enqueue %s after commit (%s)", name, err, exc_info=err)


async def _aenqueue(task: Any, data: str, name: str) -> None:
    try:
        await task.aenqueue(data)
    except Exception as err:
        logger.error("Could not enqueue %s (%s)", name, err, exc_info=err)


def _event_id() -> str:
    # The event id's random bits as 32 hexadecimal digits: the worker sets
    # the version bits as it makes the UUID, so the producer does not.
    return os.urandom(16).hex()


def _refuse_untravelled(signal: Any, receiver: Any, sender: Any) -> None:
    for never, why in _NEVER_TRAVEL:
        if signal is never:
            raise ValueError(
                f"{describe(receiver)} cannot be connected with delivery='task' "
                f"to {signal_name(signal)}: it {why}, which cannot travel to a "
                "worker as JSON. Connect it with delivery='now' or "
                "delivery='on_commit'."
            )
    if sender is None or isinstance(sender, str):
        # Every sender, or a lazy "app_label.Model" one: a model, which travels.
        return
    try:
        encoding.encode("", sender, {}, deleting=False)
    except NotSerializable as err:
        raise ValueError(
            f"{describe(receiver)} cannot be connected with delivery='task' "
            f"to {signal_name(signal)} for the sender {sender!r}: a worker "
            f"gets the sender as JSON, and it {err.problem}."
        ) from None


# --- run in this process, for tests ------------------------------------------

_in_process: ContextVar[bool] = ContextVar("signals_app_run_in_process", default=False)


@contextmanager
def run_in_process() -> Iterator[None]:
    """
    Run queued receivers in this process instead of enqueueing them.

    Inside the block (and in threads and tasks that copy its context), each
    call is encoded, turned into JSON text and back, and handed to the task
    function itself (``signals_app.delivery.tasks.deliver``) once the
    signal's transaction commits, so what would fail in a worker fails here:
    an argument that cannot travel, a receiver the worker does not know, a
    row gone. Errors propagate from wherever the commit callbacks run.
    ``signals_app.testing.run_deliveries()`` is built on it.
    """
    token = _in_process.set(True)
    try:
        yield
    finally:
        _in_process.reset(token)


def _run_here(text: str) -> None:
    from .tasks import deliver

    deliver.call(json.loads(text))


def _raise(err: Exception) -> None:
    raise err
