"""
The dispatcher's one instrumentation point.

``signals_app.dispatch.instrument()`` installs an ``Instrument``; every way of
sending then hands each receiver call to it to wrap, for one send at a time.
Tracing is the instrument signals_app ships.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = ["Instrument", "current", "wrap"]

_Call = Callable[..., Any]


class Instrument(Protocol):
    """What ``instrument()`` takes: wrappers around each way a receiver is called."""

    def sync(
        self, signal: Any, sender: Any, named: dict[str, Any], call: _Call
    ) -> _Call:
        """
        Return a replacement for ``call(receiver, extra)``, for one send of
        ``signal`` from ``sender`` with the arguments ``named``.
        """

    def async_(
        self,
        signal: Any,
        sender: Any,
        named: dict[str, Any],
        call: Callable[..., Awaitable[Any]],
    ) -> Callable[..., Awaitable[Any]]:
        """The same for asynchronous receivers."""


#: The instrument installed, if any; set by ``instrument()``.
current: Instrument | None = None


def wrap(
    signal: Any,
    sender: Any,
    named: dict[str, Any],
    call: _Call,
    async_call: Callable[..., Awaitable[Any]],
) -> tuple[_Call, Callable[..., Awaitable[Any]]]:
    """``call`` and ``async_call`` as the installed instrument wraps them."""
    hooks = current
    if hooks is None:
        return call, async_call
    return (
        hooks.sync(signal, sender, named, call),
        hooks.async_(signal, sender, named, async_call),
    )
