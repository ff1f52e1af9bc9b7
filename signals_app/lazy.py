"""
Lazy senders: ``"app_label.ModelName"`` strings resolved through the app registry.

A connection with a lazy sender waits in ``Apps.lazy_model_operation()``
until the model is registered, so receivers can be connected before models
load (at import time, or in ``AppConfig.ready()``) and for isolated
registries. Until then it is listed by ``pending()``, which the system check
reads to report senders that never resolved.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps.registry import Apps

_MODEL_REFERENCE_ERROR = (
    "Invalid model reference '{}'. String model references must be of the "
    "form 'app_label.ModelName'."
)


@dataclass(eq=False)
class PendingConnection:
    """A receiver waiting for its lazy sender's model to be registered."""

    signal: Any
    receiver: Callable[..., Any]
    model: str
    apps: Apps
    connected_at: str | None


_pending: dict[int, PendingConnection] = {}
_pending_lock = threading.Lock()


def model_key(reference: str) -> tuple[str, str]:
    """
    Return the registry key ``(app_label, model_name)`` of ``"app_label.ModelName"``.

    Raise ``ValueError`` for anything not of that form.
    """
    app_label, dot, model_name = reference.partition(".")
    if not (dot and app_label and model_name) or "." in model_name:
        raise ValueError(_MODEL_REFERENCE_ERROR.format(reference))
    return app_label, model_name.lower()


def when_registered(
    apps: Apps,
    reference: str,
    operation: Callable[[type], None],
    pending: PendingConnection | None = None,
) -> None:
    """
    Run ``operation(model)`` once the model named by ``reference`` is in ``apps``.

    At once if it already is. ``pending``, when given, is listed by
    ``pending()`` until then.
    """
    key = model_key(reference)
    if pending is None:
        apps.lazy_model_operation(operation, key)
        return

    def resolve(model: type) -> None:
        with _pending_lock:
            del _pending[id(pending)]
        operation(model)

    # Listed before asking the registry, which runs resolve() at once for a
    # model it already has.
    with _pending_lock:
        _pending[id(pending)] = pending
    apps.lazy_model_operation(resolve, key)


def pending(apps: Apps | None = None) -> list[PendingConnection]:
    """The connections still waiting for their model, optionally for one registry."""
    with _pending_lock:
        waiting = list(_pending.values())
    return [p for p in waiting if apps is None or p.apps is apps]
