"""
A recording receiver, and the "all receivers cleaned up" check.

Tests connect a ``Recorder`` instead of a mock: it collects every call as a
``signals_app.testing.Call(signal, sender, kwargs)``, the record the shipped
test helpers make too, in the order the calls arrive, synchronous or
asynchronous.
"""

import copy
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core import signals as django_core_signals
from django.db.models import Model
from django.db.models import signals as django_model_signals

from signals_app import lazy, signals
from signals_app.testing import Call

# Each built-in signal, by name: as signals_app.signals exports it, and as
# Django's module holds it (the same object, once the app is installed).
BUILT_INS: dict[str, tuple[Any, Any]] = {
    name: (
        getattr(signals, name),
        getattr(django_model_signals, name, None) or getattr(django_core_signals, name),
    )
    for name in signals.BUILTIN_NAMES
}


class Recorder:
    """
    A receiver that records its calls, the one recorder of the test suite.

    The object itself is a receiver (``signal.connect(recorder)``): an
    ordinary object, so it can be held weakly and dies like one. Each call
    is kept as a ``Call`` in ``calls``; ``received()`` gives them back as the
    keyword arguments the receiver got; it returns ``result``.
    ``connect()`` connects it (its ``receive`` method, or ``areceive`` for an
    asynchronous receiver) to one or more signals; ``disconnect()`` undoes
    every connection it made. With ``snapshot``, dicts, lists, sets and model
    instances among the kwargs are copied as they are at call time, since
    Django may change them afterwards (``Model.__init__`` empties the
    ``kwargs`` it sent with pre_init, deleting clears the instances' pks);
    without, the recorder keeps the very objects it was sent. With ``raises``,
    it raises that exception after recording each call. Several recorders can
    share a ``journal`` to show the order in which they were called, as
    ``(name, call)`` pairs.
    """

    def __init__(
        self,
        name: str = "recorder",
        *,
        result: Any = None,
        is_async: bool = False,
        snapshot: bool = False,
        raises: BaseException | None = None,
        journal: list[tuple[str, Call]] | None = None,
    ) -> None:
        self.name = name
        self.result = result
        self.is_async = is_async
        self.snapshot = snapshot
        self.raises = raises
        self.calls: list[Call] = []
        self._journal = journal
        self._connections: list[tuple[Any, Any, dict[str, Any]]] = []

    def __call__(self, signal: Any = None, sender: Any = None, **kwargs: Any) -> Any:
        return self.receive(signal, sender, **kwargs)

    def __repr__(self) -> str:
        return f"<Recorder {self.name}>"

    def receive(self, signal: Any, sender: Any, **kwargs: Any) -> Any:
        self._record(Call(signal, sender, kwargs))
        return self.result

    async def areceive(self, signal: Any, sender: Any, **kwargs: Any) -> Any:
        self._record(Call(signal, sender, kwargs))
        return self.result

    def received(self) -> list[dict[str, Any]]:
        """Each call as the keyword arguments the receiver got."""
        return [
            {"signal": call.signal, "sender": call.sender, **call.kwargs}
            for call in self.calls
        ]

    @property
    def receiver(self) -> Callable[..., Any]:
        return self.areceive if self.is_async else self.receive

    def connect(self, signal: Any, sender: Any = None, **options: Any) -> "Recorder":
        for each in signal if isinstance(signal, list | tuple) else [signal]:
            each.connect(self.receiver, sender=sender, **options)
            self._connections.append((each, sender, options))
        return self

    def disconnect(self) -> None:
        while self._connections:
            signal, sender, options = self._connections.pop()
            signal.disconnect(self.receiver, sender=sender, **_lookup(options))

    @property
    def senders(self) -> list[Any]:
        return [call.sender for call in self.calls]

    def values(self, *names: str) -> list[Any]:
        """The given kwargs of each call: a value each, or a tuple for several."""
        if len(names) == 1:
            return [call.kwargs[names[0]] for call in self.calls]
        return [tuple(call.kwargs[name] for name in names) for call in self.calls]

    def _record(self, call: Call) -> None:
        if self.snapshot:
            call = Call(call.signal, call.sender, _copied(call.kwargs))
        self.calls.append(call)
        if self._journal is not None:
            self._journal.append((self.name, call))
        if self.raises is not None:
            raise self.raises


def _copied(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        name: copy.copy(value)
        if isinstance(value, dict | list | set | Model)
        else value
        for name, value in kwargs.items()
    }


def _lookup(options: dict[str, Any]) -> dict[str, Any]:
    # disconnect() takes the connect() options that identify a connection.
    return {key: options[key] for key in ("dispatch_uid", "apps") if key in options}


def assert_same_calls(ours: Recorder, theirs: Recorder) -> None:
    """
    Assert that ``ours`` (connected through ``signals_app.signals``) saw
    exactly what ``theirs`` (connected through Django's modules) saw: the
    same calls in the same order, with the same signal and sender and the
    very same kwargs. One registry: the import a receiver used changes nothing.
    """
    assert theirs.calls, "the signal was not sent at all"
    expected = [(call.signal, call.sender, call.kwargs) for call in theirs.calls]
    got = [(call.signal, call.sender, call.kwargs) for call in ours.calls]
    # Not rewritten by pytest (a helper module): the message shows both sides.
    assert got == expected, f"\nours:   {got}\nDjango: {expected}"
    for our_call, their_call in zip(ours.calls, theirs.calls, strict=True):
        for name, value in their_call.kwargs.items():
            assert our_call.kwargs[name] is value, f"{name}: not the same object"


Record = Callable[..., Recorder]


@contextmanager
def recording() -> Iterator[Record]:
    """
    Yield ``record(signal_or_signals, sender=None, *, name="", is_async=False,
    snapshot=False, raises=None, journal=None, **options)``, which connects a new
    ``Recorder`` (``options`` go to ``connect()``) and returns it. Every
    recorder is disconnected on the way out.
    """
    recorders: list[Recorder] = []

    def record(
        signal: Any,
        sender: Any = None,
        *,
        name: str = "",
        is_async: bool = False,
        snapshot: bool = False,
        raises: BaseException | None = None,
        journal: list[tuple[str, Call]] | None = None,
        **options: Any,
    ) -> Recorder:
        recorder = Recorder(
            name, is_async=is_async, snapshot=snapshot, raises=raises, journal=journal
        )
        recorders.append(recorder)
        return recorder.connect(signal, sender, **options)

    try:
        yield record
    finally:
        for recorder in recorders:
            recorder.disconnect()


def _connected_here(django_signal: Any) -> set[Any]:
    # Django itself connects receivers as it goes (each swappable model's
    # Options listens to setting_changed, in every migration state), so only
    # receivers defined by signals_app or by the tests count.
    here = set()
    for entry in django_signal.receivers:
        receiver = entry[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        module = getattr(receiver, "__module__", None) or ""
        if module.startswith(("signals_app.", "tests.")):
            here.add(entry[0])
    return here


@contextmanager
def lazy_connections_dropped() -> Iterator[None]:
    """
    Forget, on the way out, the lazy connections made inside that are still
    waiting for their model in the project's registry, so that neither our
    system check nor Django's reports them after the test.
    """
    before = {id(connection) for connection in lazy.pending()}
    try:
        yield
    finally:
        for connection in lazy.pending():
            if id(connection) not in before:
                lazy.withdraw(
                    connection.signal,
                    connection.receiver,
                    connection.model,
                    connection.apps,
                    connection.dispatch_uid,
                )


@contextmanager
def receivers_cleaned_up() -> Iterator[None]:
    """
    Check that the code run inside leaves no receiver of signals_app's or of
    the tests connected to a built-in signal.
    """
    before = {name: _connected_here(signal) for name, (signal, _) in BUILT_INS.items()}
    yield
    added = {
        name: _connected_here(signal) - before[name]
        for name, (signal, _) in BUILT_INS.items()
    }
    added = {name: keys for name, keys in added.items() if keys}
    assert not added, f"receivers left connected: {added}"
