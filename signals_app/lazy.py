"""
Lazy senders: ``"app_label.ModelName"`` strings resolved through the app registry.

A connection with a lazy sender for a model the registry already has is made
at once. Otherwise it waits until the model class is prepared, so receivers
can be connected before models load (at import time, or in
``AppConfig.ready()``), and for isolated registries (``apps=``). Waiting
connections are listed by ``pending()``, which the system check reads to
report senders that never resolved; a lazy ``disconnect()`` withdraws them.

Waiting connections are kept here, and resolved from Django's
``class_prepared``, rather than in ``Apps.lazy_model_operation()``: Django's
own lazy-reference check reports every operation left there, and would
report each unresolved sender a second time, naming an internal function.
"""

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps.registry import Apps
from django.db.models.signals import class_prepared

from .dispatch.connections import make_id

if TYPE_CHECKING:
    from django.db.models import Model

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
    dispatch_uid: Hashable | None = None
    weak: bool = True
    delivery: str = "now"
    #: The ``when=`` condition, if any.
    condition: Any = None

    @property
    def key(self) -> Hashable:
        """Its part of a lookup key, as Django makes it: the uid, else the receiver."""
        return self.dispatch_uid or make_id(self.receiver)


@dataclass(eq=False)
class _Waiting:
    key: tuple[str, str]
    apps: Apps
    operation: Callable[[type], object]
    connection: PendingConnection | None


_waiting: list[_Waiting] = []
_lock = threading.Lock()


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
    operation: Callable[[type], object],
    connection: PendingConnection | None = None,
) -> None:
    """
    Run ``operation(model)`` once the model named by ``reference`` is in ``apps``.

    At once if it already is. ``connection``, when given, is listed by
    ``pending()`` until then. Operations waiting for the same model run in
    the order they were asked for.
    """
    key = model_key(reference)
    try:
        model = apps.get_registered_model(*key)
    except LookupError:
        with _lock:
            _waiting.append(_Waiting(key, apps, operation, connection))
            _listen()
        return
    operation(model)


def withdraw(
    signal: Any,
    receiver: Callable[..., Any] | None,
    reference: str,
    apps: Apps,
    dispatch_uid: Hashable | None = None,
) -> bool:
    """
    Withdraw the connection to ``signal`` still waiting for the model named by
    ``reference`` that ``disconnect()`` would remove once it resolved: the one
    keyed by ``dispatch_uid`` if given, else by ``receiver``, exactly as
    Django keys connections. Return whether there was one.
    """
    model = model_key(reference)
    key = dispatch_uid or make_id(receiver)

    def matches(waiting: _Waiting) -> bool:
        connection = waiting.connection
        return (
            connection is not None
            and waiting.key == model
            and waiting.apps is apps
            and connection.signal is signal
            and connection.key == key
        )

    with _lock:
        kept = [waiting for waiting in _waiting if not matches(waiting)]
        withdrawn = len(kept) != len(_waiting)
        _waiting[:] = kept
        _listen()
    return withdrawn


def pending(apps: Apps | None = None) -> list[PendingConnection]:
    """The connections still waiting for their model, optionally for one registry."""
    with _lock:
        return [
            waiting.connection
            for waiting in _waiting
            if waiting.connection is not None and (apps is None or waiting.apps is apps)
        ]


def _listen() -> None:
    # Caller holds _lock. Listen to class_prepared only while something
    # waits, so that a project with nothing waiting pays nothing for it.
    if _waiting:
        class_prepared.connect(_model_prepared, weak=False, dispatch_uid=__name__)
    else:
        class_prepared.disconnect(dispatch_uid=__name__)


def _model_prepared(sender: "type[Model]", **kwargs: Any) -> None:
    # Sent just before the model is registered: the class is complete.
    key = (sender._meta.app_label, sender._meta.model_name)
    with _lock:
        ready = [w for w in _waiting if w.key == key and w.apps is sender._meta.apps]
        _waiting[:] = [w for w in _waiting if w not in ready]
        _listen()
    for waiting in ready:
        waiting.operation(sender)
