"""
``delivery="on_commit"``: the receiver is called once the signal's transaction commits.

The transaction is the one on the signal's database (its ``using`` argument,
else the default database). A rolled-back transaction or savepoint drops the
call; outside a transaction it happens at once. Until then the callback holds
the receiver, its sender and its arguments strongly, even a receiver connected
weakly.

An error raised by the receiver is logged on the ``django.dispatch`` logger,
where Django's ``send_robust()`` logs the errors it catches, and the commit's
other callbacks still run.
"""

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.db import transaction

from ..dispatch.instrumentation import wrap
from .common import (
    Scheduled,
    WatchedDelivery,
    run_soon,
    running_loop,
    signal_database,
)

__all__ = ["ON_COMMIT", "OnCommit"]

# A receiver's error is the receiver's, not the delivery's: it goes where
# Django reports the errors of receivers.
_receiver_errors = logging.getLogger("django.dispatch")


class OnCommit(WatchedDelivery):
    """``delivery="on_commit"``: called once the signal's transaction commits."""

    name = "on_commit"

    def arrange(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Scheduled:
        """Hand the call to ``transaction.on_commit()``; respond ``Scheduled``."""
        using = signal_database(named)
        loop = running_loop()
        if loop is not None:
            # send() called on an event loop (asend() schedules from the
            # caller's thread instead): Django runs no query there, so no
            # transaction is open in this thread. "At once", without blocking.
            run_soon(
                loop,
                _acall_robustly(signal, receiver, sender, named),
                f"the on_commit call of {_name(receiver)}",
            )
        else:
            transaction.on_commit(
                partial(_call_robustly, signal, receiver, sender, named), using=using
            )
        return Scheduled(self.name, using)


ON_COMMIT = OnCommit()


def _callers(
    signal: Any, sender: Any, named: dict[str, Any]
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    # Through the dispatcher's instrument, as send() calls receivers: tracing
    # (and the debug toolbar's panel) then times a receiver run at commit
    # like one run during the send.
    def call(receiver: Callable[..., Any], extra: Any = None) -> Any:
        if iscoroutinefunction(receiver):
            return async_to_sync(receiver)(signal=signal, sender=sender, **named)
        return receiver(signal=signal, sender=sender, **named)

    async def acall(receiver: Callable[..., Any], extra: Any = None) -> Any:
        if iscoroutinefunction(receiver):
            return await receiver(signal=signal, sender=sender, **named)
        return receiver(signal=signal, sender=sender, **named)

    return wrap(signal, sender, named, call, acall)


def _call_robustly(
    signal: Any, receiver: Callable[..., Any], sender: Any, named: dict[str, Any]
) -> None:
    call, _ = _callers(signal, sender, named)
    try:
        call(receiver)
    except Exception as err:
        _log_failure(receiver, err)


async def _acall_robustly(
    signal: Any, receiver: Callable[..., Any], sender: Any, named: dict[str, Any]
) -> None:
    _, acall = _callers(signal, sender, named)
    try:
        await acall(receiver)
    except Exception as err:
        _log_failure(receiver, err)


def _name(receiver: Any) -> str:
    return getattr(receiver, "__qualname__", repr(receiver))


def _log_failure(receiver: Any, err: Exception) -> None:
    _receiver_errors.error(
        "Error calling %s after commit (%s)",
        _name(receiver),
        err,
        exc_info=err,
    )
