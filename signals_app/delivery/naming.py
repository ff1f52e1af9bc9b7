"""
The names queued receivers go by, the same in every process that connects them.

``<signal>:<receiver>`` or ``<signal>:<receiver>#<dispatch_uid>``, the signal
and the receiver named by the dispatch layer's one naming rule (where each is
defined: ``django.db.models.signals.post_save`` for the built-in). A worker
finds the receiver by this name among those connected in its own process;
nothing in a payload is ever imported.
"""

import sys
from collections.abc import Hashable
from typing import Any

from ..dispatch.connections import describe
from ..dispatch.names import callable_name, signal_name

__all__ = ["queued_name"]


def queued_name(signal: Any, receiver: Any, dispatch_uid: Hashable | None) -> str:
    """
    The name workers know ``receiver`` of ``signal`` by.

    Raise ``ValueError`` if no module holds ``signal`` at module level: a
    worker could not find it.
    """
    name = f"{_signal_name(signal, receiver)}:{callable_name(receiver)}"
    if dispatch_uid is not None:
        uid = dispatch_uid if isinstance(dispatch_uid, str) else repr(dispatch_uid)
        name = f"{name}#{uid}"
    return name


def _signal_name(signal: Any, receiver: Any) -> str:
    # The naming rule falls back on a repr for a signal no module holds; a
    # worker could never find that one, so it is refused here.
    name = signal_name(signal)
    module, _, attr = name.rpartition(".")
    if getattr(sys.modules.get(module), attr, None) is not signal:
        raise ValueError(
            f"{describe(receiver)} cannot be connected with delivery='task' to "
            f"{signal!r}: a worker finds the signal by its module-level name, "
            "and no module holds it."
        )
    return name
