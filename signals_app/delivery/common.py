"""
What the deliveries share: their response, their logger, where a send
happened, and a way to watch what they schedule (``scheduled_calls()``).
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS

from ..dispatch.deliveries import Delivery

__all__ = [
    "Scheduled",
    "ScheduledCall",
    "WatchedDelivery",
    "logger",
    "note_scheduled",
    "run_soon",
    "running_loop",
    "scheduled_calls",
    "signal_database",
]

#: Where the deliveries report what they could not do themselves: a task that
#: could not be enqueued, arguments that cannot travel, settings that do not
#: work. Errors raised by receivers are logged where Django logs them.
logger = logging.getLogger("signals_app.delivery")


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


def signal_database(named: dict[str, Any]) -> str:
    """The database a send concerns: its ``using`` argument, else the default one."""
    using = named.get("using")
    return using if isinstance(using, str) else DEFAULT_DB_ALIAS


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    # asyncio's own lookup without a loop is None here, where
    # get_running_loop() raises: every queued send outside async code asks.
    return asyncio.events._get_running_loop()


# Tasks started by run_soon(), kept until they are done: an event loop holds
# only weak references to its tasks, so an unreferenced one may vanish.
_background: set[asyncio.Task] = set()


def run_soon(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any], what: str
) -> None:
    """
    Run ``coroutine`` on ``loop`` without waiting for it. Should the loop end
    first and cancel it, ``what`` it stood for is logged as dropped.
    """
    job = loop.create_task(coroutine)
    _background.add(job)
    job.add_done_callback(_background.discard)
    job.add_done_callback(partial(_report_cancelled, what))


def _report_cancelled(what: str, job: asyncio.Task) -> None:
    # A loop that async_to_sync() made ends with its call and cancels what
    # is left on it; a delivery must not vanish without a word.
    if job.cancelled():
        logger.error(
            "Dropped %s: the event loop it was left on ended first. From "
            "async code, send with asend(), which schedules deliveries from "
            "the caller's thread.",
            what,
        )


@dataclass(frozen=True, eq=False)
class ScheduledCall:
    """A receiver's call that a delivery arranged for later, as it arranged it."""

    signal: Any
    receiver: Callable[..., Any]
    sender: Any
    #: The keyword arguments the receiver is to get, besides signal and sender.
    arguments: dict[str, Any]
    #: The delivery (``ON_COMMIT``, a ``Queued``...).
    delivery: Any
    #: What ``send()`` got for it: a ``Scheduled``, or the error that kept
    #: it from being queued. (Sends that queue nothing by design, such as
    #: the task backend's own, are not listed.)
    response: Any


# The lists of the scheduled_calls() blocks open in this context.
_watching: ContextVar[tuple[list[ScheduledCall], ...]] = ContextVar(
    "signals_app_scheduled_calls", default=()
)


@contextmanager
def scheduled_calls() -> Iterator[list[ScheduledCall]]:
    """
    List the calls that deliveries schedule inside the block, in order::

        with scheduled_calls() as later:
            order.save()
        [call.delivery.name for call in later]  # ["on_commit", "task"]

    Follows the context, like a trace: threads started by ``sync_to_async``
    and tasks created inside the block are watched too. The debug toolbar
    panel shows these.
    """
    seen: list[ScheduledCall] = []
    token = _watching.set((*_watching.get(), seen))
    try:
        yield seen
    finally:
        _watching.reset(token)


class WatchedDelivery(Delivery):
    """
    A delivery whose calls ``scheduled_calls()`` sees: subclasses implement
    ``arrange()``, which ``schedule()`` calls and reports.
    """

    def schedule(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Any:
        """Arrange the call; respond what ``arrange()`` responds."""
        response = self.arrange(signal, receiver, sender, named)
        if response is not None:
            # None: nothing was arranged, by design (see Queued).
            note_scheduled(self, signal, receiver, sender, named, response)
        return response

    def arrange(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Any:
        """Arrange the call of ``receiver``; return its response, or None."""
        raise NotImplementedError


def note_scheduled(
    delivery: Any,
    signal: Any,
    receiver: Callable[..., Any],
    sender: Any,
    named: dict[str, Any],
    response: Any,
) -> None:
    """Tell the open ``scheduled_calls()`` blocks, if any, of one call."""
    watching = _watching.get()
    if watching:
        call = ScheduledCall(signal, receiver, sender, dict(named), delivery, response)
        for seen in watching:
            seen.append(call)
