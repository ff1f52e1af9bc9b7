"""
When a receiver is called: ``connect(..., delivery=...)``.

``"now"``
    During ``send()``, as Django does. The dispatcher handles it alone; this
    module is not even imported for it.
``"on_commit"``
    Once the transaction on the signal's database commits: the ``using``
    argument of a model signal, else the default database. Dropped if the
    transaction, or the savepoint the signal was sent in, rolls back; called
    at once outside a transaction. An error is logged on the
    ``signals_app.dispatch`` logger, as ``send_robust()`` logs it, and the
    other callbacks of the commit still run. Until then the callback holds
    the receiver, its sender and its arguments strongly, even a receiver
    connected weakly.
``"task"``
    In a worker, as a task of Django's Tasks API (``django.tasks`` on Django
    6, the ``django-tasks`` backport before), on whichever backend the
    ``SIGNALS_APP_TASK_BACKEND`` setting names (default ``"default"``), in the
    ``SIGNALS_APP_TASK_QUEUE`` queue (default ``"default"``). The arguments
    travel as JSON (see ``signals_app.payload``); one that cannot is an error
    logged at send time and returned as that receiver's response, and the
    data write goes on unaffected. When the backend keeps its tasks in the
    signal's database (``django-tasks-db`` on that database), the task is
    enqueued at once, inside the transaction, and commits or rolls back with
    the data: an outbox. With any other backend it is enqueued once the
    transaction commits.

The worker finds the receiver among those connected with ``delivery="task"``
in its own process, by a name given at connect time (signal, receiver, and
``dispatch_uid`` if any): it never imports what a payload names.

``send()`` returns a ``Scheduled`` as the response of a receiver delivered
later, or, for a queued one whose arguments cannot travel, the
``NotSerializable`` error.
"""

import asyncio
import logging
import sys
import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction

from . import payload
from . import signals as builtin_signals
from .conf import app_settings
from .dispatch.dispatcher import _describe, _make_id
from .payload import NotSerializable

__all__ = [
    "Delivery",
    "NotSerializable",
    "OnCommit",
    "Queued",
    "Scheduled",
    "UnknownReceiver",
    "get_delivery",
]

logger = logging.getLogger("signals_app.dispatch")

# Sent while the instances they carry are being deleted: those travel to a
# queued receiver as their field values, since the rows will be gone.
_DELETE_SIGNALS = (builtin_signals.pre_delete, builtin_signals.post_delete)


@dataclass(frozen=True)
class Scheduled:
    """
    The response ``send()`` gives for a receiver that it did not call itself.

    ``delivery``
        ``"on_commit"`` or ``"task"``.
    ``using``
        The database alias whose commit the delivery waits for.
    ``task_result``
        For ``"task"``, when the task was enqueued during ``send()`` (a
        backend storing tasks in that database): the task's ``TaskResult``.
        None when it is enqueued on commit.
    """

    delivery: str
    using: str
    task_result: Any = field(default=None, compare=False)


class UnknownReceiver(LookupError):
    """A queued delivery for a receiver not connected with delivery="task" here."""


class Delivery:
    """
    How receivers connected with ``delivery=name`` are called.

    The dispatcher calls ``connected()`` when such a receiver is connected,
    and ``schedule()`` for it on every send, after the receivers called now.
    """

    name: ClassVar[str]

    def connected(self, signal: Any, receiver: Callable[..., Any], conn: Any) -> None:
        """Called as ``receiver`` is connected to ``signal``; may raise to refuse it."""

    def schedule(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Any:
        """Arrange the call; return the receiver's response for ``send()``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<delivery {self.name!r}>"


class OnCommit(Delivery):
    """``delivery="on_commit"``: called once the signal's transaction commits."""

    name = "on_commit"

    def schedule(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Scheduled:
        using = _database(named)
        loop = _running_loop()
        if loop is not None:
            # asend() on an event loop: Django runs no query, so no
            # transaction, in this thread. "At once", without blocking it.
            _soon(loop, _acall_robustly(signal, receiver, sender, named))
        else:
            transaction.on_commit(
                partial(_call_robustly, signal, receiver, sender, named), using=using
            )
        return Scheduled(self.name, using)


class Queued(Delivery):
    """``delivery="task"``: called in a worker, through Django's Tasks API."""

    name = "task"

    def connected(self, signal: Any, receiver: Callable[..., Any], conn: Any) -> None:
        # Fails here, at connect time, without a Tasks API to run on.
        from . import tasks  # noqa: F401

        allowed.add(signal, receiver, conn.dispatch_uid, conn.deref)

    def schedule(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Any:
        using = _database(named)
        name = allowed.name_of(signal, receiver)
        try:
            data = payload.encode(
                name, sender, named, deleting=signal in _DELETE_SIGNALS
            )
        except NotSerializable as err:
            logger.error("Cannot queue %s: %s", name, err, exc_info=err)
            return err
        task = _task()
        loop = _running_loop()
        if loop is not None:
            _soon(loop, _aenqueue(task, data, name))
            return Scheduled(self.name, using)
        task_db = _task_database(task)
        if task_db == using:
            # The outbox: the task row is written in the data's transaction.
            # An error here is the transaction's, so it propagates.
            return Scheduled(self.name, using, task.enqueue(data))
        transaction.on_commit(
            partial(_enqueue_after_commit, task, data, name, task_db), using=using
        )
        return Scheduled(self.name, using)


ON_COMMIT = OnCommit()
QUEUED = Queued()
_DELIVERIES: dict[str, Delivery] = {"on_commit": ON_COMMIT, "task": QUEUED}


def get_delivery(name: "str | Delivery") -> Delivery:
    """
    The delivery for ``connect(..., delivery=name)``: ``"on_commit"`` or
    ``"task"`` (``"now"`` is the dispatcher's own), or a ``Delivery`` given
    as it is. Raise ``ValueError`` for another name.
    """
    if isinstance(name, Delivery):
        return name
    try:
        return _DELIVERIES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown delivery {name!r}; expected 'now', 'on_commit' or 'task'."
        ) from None


# --- calling ---------------------------------------------------------------------


def _database(named: dict[str, Any]) -> str:
    using = named.get("using")
    return using if isinstance(using, str) else DEFAULT_DB_ALIAS


def _call_robustly(
    signal: Any, receiver: Callable[..., Any], sender: Any, named: dict[str, Any]
) -> None:
    try:
        if iscoroutinefunction(receiver):
            async_to_sync(receiver)(signal=signal, sender=sender, **named)
        else:
            receiver(signal=signal, sender=sender, **named)
    except Exception as err:
        _log_failure(receiver, err)


async def _acall_robustly(
    signal: Any, receiver: Callable[..., Any], sender: Any, named: dict[str, Any]
) -> None:
    try:
        if iscoroutinefunction(receiver):
            await receiver(signal=signal, sender=sender, **named)
        else:
            receiver(signal=signal, sender=sender, **named)
    except Exception as err:
        _log_failure(receiver, err)


def _log_failure(receiver: Any, err: Exception) -> None:
    logger.error(
        "Error calling %s after commit (%s)",
        getattr(receiver, "__qualname__", repr(receiver)),
        err,
        exc_info=err,
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# Tasks started on an event loop by _soon(), kept until done: the loop itself
# holds only weak references to them.
_background: set[asyncio.Task] = set()


def _soon(loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
    job = loop.create_task(coroutine)
    _background.add(job)
    job.add_done_callback(_background.discard)


# --- queueing --------------------------------------------------------------------


# The task to enqueue, by (backend alias, queue name): Task.using() builds and
# validates a new one each time, which would cost every send.
_tasks: dict[tuple[str, str], Any] = {}


def _task() -> Any:
    where = (app_settings.TASK_BACKEND, app_settings.TASK_QUEUE)
    try:
        return _tasks[where]
    except KeyError:
        from .tasks import deliver

        task = _tasks[where] = deliver.using(backend=where[0], queue_name=where[1])
        return task


def _forget_tasks(*, setting: str, **kwargs: Any) -> None:
    # A task is validated against its backend as configured when it is made.
    if setting == "TASKS" or setting.startswith("SIGNALS_APP_TASK_"):
        _tasks.clear()


setting_changed.connect(_forget_tasks, dispatch_uid="signals_app.delivery.tasks")


def _task_database(task: Any) -> str | None:
    """The database ``task``'s backend writes its tasks to; None if not one."""
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:
        return None
    if not isinstance(task.get_backend(), DatabaseBackend):
        return None
    from django_tasks_db.models import DBTaskResult

    return router.db_for_write(DBTaskResult)


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


# --- the allow-list --------------------------------------------------------------


@dataclass(eq=False)
class _Allowed:
    name: str
    signal: weakref.ref
    # The connection's own: returns the receiver, None once it is collected.
    deref: Callable[[], Any]
    receiver_id: Hashable

    def live(self) -> tuple[Any, Any] | None:
        signal, receiver = self.signal(), self.deref()
        if signal is None or receiver is None:
            return None
        return signal, receiver


class _AllowList:
    """
    The receivers connected with ``delivery="task"`` in this process, by name.

    A worker runs a payload's receiver only if its name is here, still
    connected for queued delivery: a payload names a receiver, it never
    says where to import one from.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, _Allowed] = {}
        # (id(signal), receiver id) -> entries; several when one receiver is
        # connected to one signal under several dispatch_uids.
        self._by_receiver: dict[tuple[int, Hashable], list[_Allowed]] = {}

    def add(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        dispatch_uid: Hashable | None,
        deref: Callable[[], Any],
    ) -> None:
        """
        Allow ``receiver`` of ``signal``, whose connection ``deref`` returns it.

        Raise ValueError if another receiver still connected for queued
        delivery goes by the same name.
        """
        name = queued_name(signal, receiver, dispatch_uid)
        receiver_id = _make_id(receiver)
        entry = _Allowed(name, weakref.ref(signal), deref, receiver_id)
        with self._lock:
            self._purge()
            taken = self._by_name.get(name)
            live = taken.live() if taken is not None else None
            if live is not None:
                if live[0] is signal and _make_id(live[1]) == receiver_id:
                    # The same receiver, connected for another sender.
                    return
                if _connected_for_queueing(*live):
                    raise ValueError(
                        f"{_describe(receiver)} would be known to workers as "
                        f"{name!r}, like {_describe(live[1])}, already connected "
                        "with delivery='task'. Connect each with a distinct "
                        "dispatch_uid."
                    )
            if taken is not None:
                self._forget(taken)
            self._by_name[name] = entry
            self._by_receiver.setdefault((id(signal), receiver_id), []).append(entry)

    def name_of(self, signal: Any, receiver: Callable[..., Any]) -> str:
        """The name workers know a connected queued receiver by."""
        receiver_id = _make_id(receiver)
        for entry in self._by_receiver.get((id(signal), receiver_id), ()):
            live = entry.live()
            if live and live[0] is signal and _make_id(live[1]) == receiver_id:
                return entry.name
        # A connection copied from another signal by assigning ``receivers``:
        # no connect() told this list about it.
        self.add(signal, receiver, None, _weak(receiver))
        return queued_name(signal, receiver, None)

    def resolve(self, name: str) -> tuple[Any, Callable[..., Any]]:
        """
        The signal and the receiver ``name`` stands for; raise
        ``UnknownReceiver`` unless it is connected with delivery="task".
        """
        entry = self._by_name.get(name)
        live = entry.live() if entry is not None else None
        if live is None:
            raise UnknownReceiver(
                f"no receiver named {name!r} was connected with delivery='task' "
                "in this process"
            )
        if not _connected_for_queueing(*live):
            raise UnknownReceiver(
                f"{name!r} is no longer connected with delivery='task'"
            )
        return live

    def _forget(self, entry: _Allowed) -> None:
        # Caller holds the lock.
        del self._by_name[entry.name]
        for entries in self._by_receiver.values():
            if entry in entries:
                entries.remove(entry)

    def _purge(self) -> None:
        # Caller holds the lock. Entries go with their receiver or signal.
        live = {name: e for name, e in self._by_name.items() if e.live() is not None}
        if len(live) == len(self._by_name):
            return
        by_receiver: dict[tuple[int, Hashable], list[_Allowed]] = {}
        for entry in live.values():
            key = (id(entry.signal()), entry.receiver_id)
            by_receiver.setdefault(key, []).append(entry)
        self._by_name, self._by_receiver = live, by_receiver


def _connected_for_queueing(signal: Any, receiver: Any) -> bool:
    receiver_id = _make_id(receiver)
    for conn in signal.receivers:
        if getattr(conn, "delivery", None) is QUEUED:
            current = conn.deref()
            if current is not None and _make_id(current) == receiver_id:
                return True
    return False


def _weak(receiver: Any) -> Callable[[], Any]:
    try:
        if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
            return weakref.WeakMethod(receiver)
        return weakref.ref(receiver)
    except TypeError:
        return lambda: receiver


allowed = _AllowList()


def queued_name(signal: Any, receiver: Any, dispatch_uid: Hashable | None) -> str:
    """
    The name a queued receiver goes by: ``signal:receiver`` or
    ``signal:receiver#dispatch_uid``, each part a dotted path.

    The same in every process that connects the receiver the same way. A
    built-in signal is named ``signals_app.signals.<name>``; another one after
    the module-level name the receiver's own module knows it by, else the
    first module (in name order) holding it.
    """
    name = f"{_signal_name(signal, receiver)}:{_receiver_name(receiver)}"
    if dispatch_uid is not None:
        uid = dispatch_uid if isinstance(dispatch_uid, str) else repr(dispatch_uid)
        name = f"{name}#{uid}"
    return name


def _receiver_name(receiver: Any) -> str:
    function = getattr(receiver, "__func__", receiver)
    if not hasattr(function, "__qualname__"):
        function = type(receiver)  # a callable object: its class
    return f"{getattr(function, '__module__', None) or '?'}.{function.__qualname__}"


def _signal_name(signal: Any, receiver: Any) -> str:
    for attr in builtin_signals.__all__:
        if getattr(builtin_signals, attr) is signal:
            return f"{builtin_signals.__name__}.{attr}"
    function = getattr(receiver, "__func__", receiver)
    home = getattr(function, "__module__", None) or type(receiver).__module__
    module = sys.modules.get(home)
    for attr, value in list(vars(module).items()) if module else ():
        if value is signal:
            return f"{home}.{attr}"
    for module_name, module in sorted(sys.modules.items()):
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            if value is signal:
                return f"{module_name}.{attr}"
    raise ValueError(
        f"{_describe(receiver)} cannot be connected with delivery='task' to "
        f"{signal!r}: a worker finds the signal by its module-level name, and "
        "no module holds it."
    )
