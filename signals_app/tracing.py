"""
Tracing: which receivers ran, for which signal and sender, and for how long.

Opt in with ``SIGNALS_APP_TRACE = True``: the app's ``ready()`` then calls
``install()``, which hands the dispatcher an instrument that times each
receiver. With the setting off nothing is installed and ``Signal.send`` is
its plain self, so dispatch costs exactly what it did.

While installed, every receiver call is timed and a receiver taking at least
``SIGNALS_APP_SLOW_RECEIVER_MS`` is logged on the ``signals_app`` logger. The
calls are also recorded in every trace open in the current context: one per
request with ``TracingMiddleware``, or any block of code::

    from signals_app import tracing

    with tracing.trace() as t:
        call_command("import_orders")
    for call in t.calls:
        print(call.signal_name, call.sender_name, call.receiver_name, call.duration_ms)

Tracing goes through ``signals_app.dispatch.instrument()``, the dispatcher's
one hook: receivers, their order, responses and errors stay exactly as
without it; each call is only timed. Receivers connected with
``delivery="on_commit"`` go through it too, when the commit runs them: a
trace open at that moment records them (the request's, for a view that
commits, or runs in autocommit).
"""

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from .conf import app_settings
from .dispatch import Signal, instrument
from .dispatch.names import callable_name, signal_name

__all__ = [
    "ReceiverCall",
    "Trace",
    "TracingMiddleware",
    "install",
    "is_installed",
    "trace",
    "uninstall",
]

logger = logging.getLogger("signals_app")


@dataclass(eq=False)
class ReceiverCall:
    """One call of one receiver."""

    signal: Signal
    sender: Any
    receiver: Callable[..., Any]
    started: float  # time.perf_counter() when the call began
    #: The send's other keyword arguments (the very objects, not copies).
    arguments: dict[str, Any] = field(default_factory=dict)
    # Seconds; None while the receiver is still running.
    duration: float | None = None

    @property
    def duration_ms(self) -> float | None:
        return None if self.duration is None else self.duration * 1000

    @property
    def signal_name(self) -> str:
        return describe_signal(self.signal)

    @property
    def sender_name(self) -> str:
        return describe_sender(self.sender)

    @property
    def receiver_name(self) -> str:
        return dotted_name(self.receiver)


@dataclass(eq=False)
class Trace:
    """The receiver calls of one unit of work, in the order they began."""

    calls: list[ReceiverCall] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Seconds spent in receivers, nested receivers counted once per call."""
        return sum(call.duration or 0.0 for call in self.calls)

    @property
    def total_ms(self) -> float:
        return self.total * 1000


# The traces open in this context, innermost last. Every open trace records
# each call, so a request's trace still sees what a nested trace() sees.
_open_traces: ContextVar[tuple[Trace, ...]] = ContextVar(
    "signals_app_traces", default=()
)


@contextmanager
def trace() -> Iterator[Trace]:
    """
    Record the receivers that run inside the ``with`` block::

        with trace() as t:
            order.save()
        t.calls  # [ReceiverCall(signal=..., receiver=..., duration=...), ...]

    Nothing is recorded unless tracing is installed (``SIGNALS_APP_TRACE``).
    The trace follows the context: code in threads started with
    ``sync_to_async`` and in tasks created inside the block is recorded too.
    """
    recorded = Trace()
    token = _open_traces.set((*_open_traces.get(), recorded))
    try:
        yield recorded
    finally:
        _open_traces.reset(token)


class TracingMiddleware:
    """
    Open a trace around each request and keep it on ``request.signals_app_trace``.

    Receivers of ``request_started`` and ``request_finished`` run outside
    middleware, so they are never in the request's trace; neither are those
    that run while a streaming response is consumed.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        with trace() as recorded:
            request.signals_app_trace = recorded
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        with trace() as recorded:
            request.signals_app_trace = recorded
            return await self.get_response(request)


class _Timing:
    """Times the receivers of one send, records them and logs slow ones."""

    def __init__(self, signal: Signal, sender: Any, named: dict[str, Any]) -> None:
        self.signal = signal
        self.sender = sender
        self.named = named
        # Read once per send, not once per receiver.
        self.slow_ms = app_settings.SLOW_RECEIVER_MS

    def sync(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(receiver: Callable[..., Any], extra: Any = None) -> Any:
            record = self._begin(receiver)
            try:
                return call(receiver, extra)
            finally:
                self._end(record)

        return timed

    def async_(
        self, call: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(receiver: Callable[..., Any], extra: Any = None) -> Any:
            record = self._begin(receiver)
            try:
                return await call(receiver, extra)
            finally:
                self._end(record)

        return timed

    def _begin(self, receiver: Callable[..., Any]) -> ReceiverCall:
        # Recorded when the call begins, so a trace lists receivers in the
        # order they were called, also when asynchronous ones overlap.
        record = ReceiverCall(
            self.signal, self.sender, receiver, perf_counter(), self.named
        )
        for open_trace in _open_traces.get():
            open_trace.calls.append(record)
        return record

    def _end(self, record: ReceiverCall) -> None:
        record.duration = perf_counter() - record.started
        if record.duration * 1000 >= self.slow_ms:
            logger.warning(
                "Slow signal receiver %s took %.1f ms (signal %s, sender %s)",
                record.receiver_name,
                record.duration * 1000,
                record.signal_name,
                record.sender_name,
            )


class _Timer:
    """The instrument tracing installs: a ``_Timing`` around every receiver call."""

    def sync(
        self,
        signal: Signal,
        sender: Any,
        named: dict[str, Any],
        call: Callable[..., Any],
    ) -> Callable[..., Any]:
        return _Timing(signal, sender, named).sync(call)

    def async_(
        self,
        signal: Signal,
        sender: Any,
        named: dict[str, Any],
        call: Callable[..., Awaitable[Any]],
    ) -> Callable[..., Awaitable[Any]]:
        return _Timing(signal, sender, named).async_(call)


_installed: list[_Timer] = []


def install() -> None:
    """
    Time every receiver of every ``Signal`` from now on.

    Called by the app's ``ready()`` when ``SIGNALS_APP_TRACE`` is on. Calling
    it again does nothing. Affects all threads: meant for development, tests
    and debugging, not to be toggled per request.
    """
    if _installed:
        return
    _installed.append(_Timer())
    instrument(_installed[0])


def uninstall() -> None:
    """Stop timing receivers. Does nothing if not installed."""
    if _installed:
        _installed.clear()
        instrument(None)


def is_installed() -> bool:
    """Whether ``install()`` is in effect."""
    return bool(_installed)


# Names for display, in the slow receiver log and the debug toolbar panel:
# the project's one naming rule.
describe_signal = signal_name
dotted_name = callable_name


def describe_sender(sender: Any) -> str:
    """A model's label, a class's dotted name, or the sender's repr."""
    if isinstance(sender, type):
        meta = getattr(sender, "_meta", None)
        label = getattr(meta, "label", None)
        return label if isinstance(label, str) else callable_name(sender)
    return repr(sender)
