"""What the deliveries share: their response, their logger, where a send happened."""

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS

__all__ = ["Scheduled", "logger", "run_soon", "running_loop", "signal_database"]

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
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# Tasks started by run_soon(), kept until they are done: an event loop holds
# only weak references to its tasks, so an unreferenced one may vanish.
_background: set[asyncio.Task] = set()


def run_soon(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]
) -> None:
    """Run ``coroutine`` on ``loop`` without waiting for it."""
    job = loop.create_task(coroutine)
    _background.add(job)
    job.add_done_callback(_background.discard)
