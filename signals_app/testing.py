"""
Helpers for tests that involve signals.

``record()`` lists the sends a signal makes, ``mute()`` silences its receivers
for a block, ``connected()`` connects a receiver for a block, and
``run_deliveries()`` runs the receivers delivered later (``"on_commit"``,
``"task"``) inside a test's transaction. The first three work on
this app's signals (``signals_app.dispatch.Signal``, the built-in ones in
``signals_app.signals``) and on Django's (``django.dispatch.Signal``), through
what both dispatchers share: ``connect()``, ``disconnect()`` and the
``receivers`` list with its ``lock`` and ``sender_receivers_cache``.

They change which receivers a signal has for the whole process, so use them
where no other thread connects to the same signals at the same time.

``signals_app.pytest_plugin`` offers them as pytest fixtures that last for the
rest of a test.
"""

import itertools
import logging
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import ContextDecorator, ExitStack, contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeAlias, TypeVar

from asgiref.sync import iscoroutinefunction
from django.db import connections
from django.dispatch import Signal as DjangoSignal

from .dispatch import Signal
from .dispatch.connections import make_id

__all__ = [
    "AnySignal",
    "Call",
    "Deliveries",
    "capture_deliveries",
    "connected",
    "mute",
    "record",
    "run_deliveries",
]

AnySignal: TypeAlias = Signal | DjangoSignal
"""A signal of this app's dispatcher or of Django's."""

_ReceiverT = TypeVar("_ReceiverT", bound=Callable[..., Any])
_FuncT = TypeVar("_FuncT", bound=Callable[..., Any])

_record_uids = itertools.count()


@dataclass(frozen=True)
class Call:
    """
    One send of a signal, as ``record()`` saw it.

    ``kwargs`` holds the arguments the receivers got besides ``signal`` and
    ``sender``: ``call.kwargs["instance"]`` for ``post_save``.
    """

    signal: AnySignal
    sender: Any
    kwargs: dict[str, Any]


@contextmanager
def connected(
    signal: AnySignal,
    receiver: _ReceiverT,
    sender: Any = None,
    *,
    dispatch_uid: Hashable | None = None,
    **connect_kwargs: Any,
) -> Iterator[_ReceiverT]:
    """
    Connect ``receiver`` to ``signal`` for the block and yield it::

        with connected(post_save, lambda **kwargs: seen.append(kwargs)):
            OrderFactory()

    ``sender`` and ``dispatch_uid`` are ``connect()``'s; other keyword
    arguments (such as ``apps`` of ``ModelSignal``) go to both ``connect()``
    and ``disconnect()``. The receiver is connected with ``weak=False``, so a
    lambda or a nested function works (the block holds on to it anyway). It
    is disconnected when the block exits, also on an exception.
    """
    signal.connect(
        receiver, sender=sender, weak=False, dispatch_uid=dispatch_uid, **connect_kwargs
    )
    try:
        yield receiver
    finally:
        signal.disconnect(
            receiver, sender=sender, dispatch_uid=dispatch_uid, **connect_kwargs
        )
        _forget(signal, dispatch_uid or make_id(receiver), sender)


@contextmanager
def record(*signals: AnySignal, sender: Any = None) -> Iterator[list[Call]]:
    """
    Record the sends of ``signals`` during the block::

        with record(pre_save, post_save, sender=Order) as calls:
            OrderFactory()
        assert [call.signal for call in calls] == [pre_save, post_save]

    The list yielded gets a ``Call`` per send, in the order they happen,
    across all the signals given. With ``sender``, only sends from that sender
    are recorded.

    The recording is done by a receiver of each signal, connected (strongly,
    under a dispatch_uid of its own) when the block starts, so it runs after
    the receivers connected before it, and records nothing if one of those
    raises first. It is disconnected when the block exits, also on an
    exception.
    """
    _check_signals("record", signals)
    calls: list[Call] = []

    def recorder(signal: AnySignal, sender: Any, **kwargs: Any) -> None:
        calls.append(Call(signal, sender, kwargs))

    uid = f"{__name__}.record:{next(_record_uids)}"
    with ExitStack() as stack:
        for signal in signals:
            stack.enter_context(
                connected(signal, recorder, sender=sender, dispatch_uid=uid)
            )
        yield calls


@dataclass(eq=False)
class _Held:
    """The receivers a mute took off a signal, to put back when it exits."""

    signal: AnySignal
    receivers: list[tuple]


# What the mutes being run hold, across all mutes and signals.
_held: list[_Held] = []


class mute(ContextDecorator):
    """
    Silence the receivers of ``signals`` for a block, or for a function::

        with mute(post_save):
            OrderFactory()  # no post_save receiver runs

        @mute(pre_save, post_save)
        def test_import(): ...

    The receivers connected when the block starts are taken off the signals
    and put back when it exits, also on an exception, in their order and
    ahead of any connected meanwhile. Receivers connected during the block
    run as usual and stay connected after it: a ``record()`` inside a
    ``mute()`` sees every send while the receivers it was muting do not run.

    Mutes nest: an inner mute of a signal exits without unmuting what an
    outer one muted, and one ``mute`` object can be entered again while it
    is already in use (recursion, a decorated function calling itself).
    Decorated coroutine functions are muted while they are awaited.

    A receiver disconnected during the block is not in the signal's
    ``receivers`` then, so it comes back when the block exits, unless it was
    connected by ``connected()`` or ``record()``, which see to it.

    ``factory.django.mute_signals`` takes receivers off and puts them back
    the same way. Where it differs:

    * It keeps what it took off in one dict on the object and empties the
      dict on exit. Entering the same object again before it exits (a
      ``with`` on a shared instance, a fixture and a test using one object)
      replaces the saved receivers with the empty list, and both exits put
      back nothing: the receivers are gone for good. Its decorator copies the
      object on every call for that reason; separate objects nest. Here each
      entry keeps its own list.
    * It empties Django's per-sender cache only on exit, so while it is in
      force ``has_listeners(sender)`` can still answer True from the cache.
      Here the cache is emptied on entry too.
    * It puts back ``old + current``; Django's ``receivers`` is a plain list,
      so a receiver connected during the block under the key of a muted one
      ends up in it twice and is called twice per send. Here entries whose
      key is already among the muted ones are left out.
    """

    def __init__(self, *signals: AnySignal) -> None:
        _check_signals("mute", signals)
        self.signals = signals
        # One list per time this object was entered and not yet exited.
        self._entered: list[list[_Held]] = []

    def __enter__(self) -> None:
        held = [_Held(signal, list(signal.receivers)) for signal in self.signals]
        for each in held:
            _set_receivers(each.signal, [])
            _held.append(each)
        self._entered.append(held)

    def __exit__(self, *exc_info: object) -> None:
        for each in reversed(self._entered.pop()):
            _held.remove(each)
            keys = {entry[0] for entry in each.receivers}
            added = [entry for entry in each.signal.receivers if entry[0] not in keys]
            _set_receivers(each.signal, each.receivers + added)

    def __call__(self, func: _FuncT) -> _FuncT:
        """Decorate ``func``, which may be a coroutine function, to run muted."""
        if isinstance(func, type):
            # Wrapping a class in a function would hide its tests from pytest
            # and unittest without a word.
            raise TypeError(
                "mute() decorates functions, not classes; use it in each test, "
                "or in setUp() through self.enterContext()."
            )
        if not iscoroutinefunction(func):
            return super().__call__(func)

        @wraps(func)
        async def muted(*args: Any, **kwargs: Any) -> Any:
            with self:
                return await func(*args, **kwargs)

        return muted  # type: ignore[return-value]


def _check_signals(name: str, signals: tuple[object, ...]) -> None:
    if not signals:
        raise TypeError(f"{name}() needs at least one signal.")
    for signal in signals:
        if not isinstance(signal, (Signal, DjangoSignal)):
            raise TypeError(
                f"{name}() takes signals of signals_app.dispatch or "
                f"django.dispatch, not {signal!r}."
            )


def _set_receivers(signal: AnySignal, receivers: list[tuple]) -> None:
    signal.receivers = receivers
    # Django's signals leave their per-sender cache as it is when
    # ``receivers`` is assigned (ours empty it), so a send could still reach
    # the receivers the cache remembers.
    with signal.lock:
        signal.sender_receivers_cache.clear()


def _forget(signal: AnySignal, receiver_key: Hashable, sender: Any) -> None:
    # A connection made before a mute started and undone while it runs is
    # held by that mute, not in ``receivers``, so disconnect() missed it; left
    # there, the mute's exit would connect it again, for good. A lazy
    # "app_label.Model" sender is matched on the receiver alone: the entry is
    # keyed by the model it resolved to.
    def is_it(entry: tuple) -> bool:
        entry_receiver_key, entry_sender_key = entry[0]
        return entry_receiver_key == receiver_key and (
            isinstance(sender, str) or entry_sender_key == make_id(sender)
        )

    for each in _held:
        if each.signal is signal:
            each.receivers = [entry for entry in each.receivers if not is_it(entry)]


# Where Django reports the errors of robust on-commit callbacks.
_commit_errors = logging.getLogger("django.db.backends.base")


class Deliveries:
    """
    The commit callbacks registered since a ``capture_deliveries()`` began.

    ``run()`` runs them as a commit of the test's transaction would; those
    come from receivers connected with ``delivery="on_commit"`` and
    ``delivery="task"`` (run in this process, see ``run_deliveries()``), and
    from any other ``transaction.on_commit()``.
    """

    def __init__(self, using: Iterable[str]) -> None:
        #: The database aliases whose callbacks are run.
        self.using = tuple(using)
        self._start = {
            alias: len(connections[alias].run_on_commit) for alias in self.using
        }

    def run(self) -> int:
        """
        Run the callbacks waiting for a commit, in the order they were
        registered, those they register included; return how many ran.

        A callback's error propagates and leaves the ones after it waiting,
        unless it was registered with ``robust=True``: then it is logged on
        ``django.db.backends.base``, as Django's commit does. Each callback
        runs once: run() takes it off the connection. Call it outside the
        test's own ``atomic()`` blocks, as a commit would happen there.
        """
        ran = 0
        for alias in self.using:
            waiting = connections[alias].run_on_commit
            start = min(self._start[alias], len(waiting))
            while len(waiting) > start:
                _savepoints, callback, robust = waiting.pop(start)
                ran += 1
                if not robust:
                    callback()
                    continue
                try:
                    callback()
                except Exception as err:
                    _commit_errors.error(
                        "Error calling %s in on_commit() (%s).",
                        getattr(callback, "__qualname__", callback),
                        err,
                        exc_info=True,
                    )
        return ran


@contextmanager
def capture_deliveries(
    *, using: str | Iterable[str] | None = None
) -> Iterator[Deliveries]:
    """
    Keep the callbacks of commits that will never come, to run them on demand::

        with capture_deliveries() as deliveries:
            OrderFactory()
            deliveries.run()
        assert emails_sent == [...]

    Inside a test that runs in a transaction rolled back at its end (pytest's
    ``django_db``, Django's ``TestCase``), nothing commits, so neither
    ``"on_commit"`` receivers nor the enqueueing of ``"task"`` ones ever
    happen. In the block, ``"task"`` receivers run in this process through
    the task itself, after a trip through JSON, when their callback runs
    (``signals_app.delivery.run_in_process()``), so that an argument that
    cannot travel, or a row gone, fails as it would in a worker; nothing is
    enqueued. ``using``: the database aliases (default: all).

    Where the test's code commits for real (``transactional_db``,
    ``TransactionTestCase``), the callbacks run at that commit, as in
    production, and ``run()`` finds nothing left.
    """
    # Here, not at the top: conftests import this module before Django's
    # models can be loaded, and the delivery package loads them.
    from .delivery import run_in_process

    if using is None:
        aliases: Iterable[str] = list(connections)
    elif isinstance(using, str):
        aliases = [using]
    else:
        aliases = using
    with run_in_process():
        yield Deliveries(aliases)


@contextmanager
def run_deliveries(*, using: str | Iterable[str] | None = None) -> Iterator[Deliveries]:
    """
    ``capture_deliveries()``, and run what it caught when the block ends::

        @pytest.mark.django_db
        def test_welcome_mail():
            with run_deliveries():
                CustomerFactory(email="ann@example.com")
            assert mail.outbox[0].to == ["ann@example.com"]

    The callbacks run when the block exits without an exception (an error
    from the block propagates with nothing run), while queued receivers
    still run in this process, so what they queue in turn runs too.
    Compare Django's ``TestCase.captureOnCommitCallbacks(execute=True)``,
    which runs the ``"on_commit"`` receivers but enqueues ``"task"`` ones
    with the configured backend.
    """
    with capture_deliveries(using=using) as deliveries:
        yield deliveries
        deliveries.run()
