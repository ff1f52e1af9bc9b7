"""
``queueing_paused()``: sends made inside the block queue nothing.

For the task machinery's own work that sends signals, such as a worker
building the instances a payload names (``pre_init``, ``post_init``), which
would otherwise queue a task for every task it runs.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["is_paused", "queueing_paused"]

# True inside queueing_paused(). A context variable, not a thread-local, so
# that it follows the work into sync_to_async() and async_to_sync().
_paused: ContextVar[bool] = ContextVar("signals_app_queueing_paused", default=False)


@contextmanager
def queueing_paused() -> Iterator[None]:
    """
    Queue nothing for the sends made inside the block, in this context.

    For work of the task machinery that sends signals of its own, such as a
    worker building the instances a payload names (``pre_init``,
    ``post_init``), which would otherwise queue a task for every task.
    """
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def is_paused() -> bool:
    """Whether this context is inside ``queueing_paused()``."""
    return _paused.get()
