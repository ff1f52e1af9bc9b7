"""
Django's built-in model and request signals, as signals of ours.

Each is sent at the same moments and with the same arguments as its Django
namesake, with ``signal=`` being ours; see ``signals_app.wiring`` for how.
``ModelSignal`` takes lazy ``"app_label.ModelName"`` senders, as Django's does.
"""

from collections.abc import Callable, Hashable
from typing import Any

from django.apps.registry import Apps
from django.core import signals as core_signals
from django.db.models import signals as model_signals

from . import lazy
from .dispatch import Signal
from .dispatch.dispatcher import (
    _caller_location,
    _check_receiver,
    _delivery,
    _weak_reference,
)
from .wiring import Wired

__all__ = [
    "ModelSignal",
    "class_prepared",
    "got_request_exception",
    "m2m_changed",
    "post_delete",
    "post_init",
    "post_migrate",
    "post_save",
    "pre_delete",
    "pre_init",
    "pre_migrate",
    "pre_save",
    "request_finished",
    "request_started",
    "setting_changed",
]


class ModelSignal(Signal):
    """
    Signal subclass that allows the sender to be lazily specified as a string
    of the ``app_label.ModelName`` form.

    A lazy sender resolves through ``apps.lazy_model_operation()`` of the
    ``apps`` registry given (the project's by default), so receivers can be
    connected before models are loaded. A string not of that form raises
    ``ValueError`` at once; one that never resolves is reported by
    ``manage.py check``.
    """

    def connect(
        self,
        receiver: Callable[..., Any],
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Hashable | None = None,
        apps: Apps | None = None,
        *,
        delivery: str = "now",
    ) -> None:
        """
        Connect receiver to sender for signal; see ``Signal.connect()``.

        ``sender`` may be a model or ``"app_label.ModelName"``; ``apps`` is
        the registry a lazy sender resolves in.
        """
        connected_at = _caller_location()
        if not isinstance(sender, str):
            self._connect(receiver, sender, weak, dispatch_uid, connected_at, delivery)
            return
        # A bad receiver fails here, not later when the model is registered.
        _check_receiver(receiver)
        if weak:
            _weak_reference(receiver)
        _delivery(delivery)
        apps = apps or _default_apps()
        lazy.when_registered(
            apps,
            sender,
            lambda model: self._connect(
                receiver, model, weak, dispatch_uid, connected_at, delivery
            ),
            lazy.PendingConnection(
                self, receiver, sender, apps, connected_at, dispatch_uid, weak, delivery
            ),
        )

    def disconnect(
        self,
        receiver: Callable[..., Any] | None = None,
        sender: Any = None,
        dispatch_uid: Hashable | None = None,
        apps: Apps | None = None,
    ) -> bool | None:
        """
        Disconnect receiver from sender for signal; see ``Signal.disconnect()``.

        With a lazy sender the disconnection waits for the model like the
        connection does (a connection still waiting is withdrawn at once), and
        None is returned.
        """
        if not isinstance(sender, str):
            return super().disconnect(receiver, sender, dispatch_uid)
        apps = apps or _default_apps()
        if lazy.withdraw(self, receiver, sender, apps, dispatch_uid):
            return None
        lazy.when_registered(
            apps,
            sender,
            lambda model: super(ModelSignal, self).disconnect(
                receiver, model, dispatch_uid
            ),
        )
        return None


def _default_apps() -> Apps:
    from django.apps import apps

    return apps


class _WiredSignal(Wired, Signal):
    pass


class _WiredModelSignal(Wired, ModelSignal):
    pass


class_prepared = _WiredSignal(model_signals.class_prepared)

pre_init = _WiredModelSignal(model_signals.pre_init, use_caching=True)
post_init = _WiredModelSignal(model_signals.post_init, use_caching=True)

pre_save = _WiredModelSignal(model_signals.pre_save, use_caching=True)
post_save = _WiredModelSignal(model_signals.post_save, use_caching=True)

pre_delete = _WiredModelSignal(model_signals.pre_delete, use_caching=True)
post_delete = _WiredModelSignal(model_signals.post_delete, use_caching=True)

m2m_changed = _WiredModelSignal(model_signals.m2m_changed, use_caching=True)

pre_migrate = _WiredSignal(model_signals.pre_migrate)
post_migrate = _WiredSignal(model_signals.post_migrate)

request_started = _WiredSignal(core_signals.request_started)
request_finished = _WiredSignal(core_signals.request_finished)
got_request_exception = _WiredSignal(core_signals.got_request_exception)
setting_changed = _WiredSignal(core_signals.setting_changed)
