"""System checks for signals_app."""

from typing import Any

from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error, register

from . import lazy, signals


@register()
def check_lazy_senders(
    app_configs: list[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """
    Report receivers whose lazy ``"app_label.ModelName"`` sender never resolved.

    Such a receiver is never called; the message names the receiver, the
    signal, the missing model and where the receiver was connected.
    """
    return [_unresolved(pending) for pending in lazy.pending(apps)]


def _unresolved(pending: lazy.PendingConnection) -> Error:
    app_label, _, model_name = pending.model.partition(".")
    try:
        apps.get_app_config(app_label)
    except LookupError:
        problem = f"app '{app_label}' isn't installed"
    else:
        problem = f"app '{app_label}' has no model '{model_name}'"
    where = f" at {pending.connected_at}" if pending.connected_at else ""
    signal = _signal_name(pending.signal)
    return Error(
        f"{_name(pending.receiver)} was connected{where} to {signal} for the "
        f"sender '{pending.model}', but {problem}, so it is never called.",
        hint="Correct the 'app_label.ModelName' string, or add the app to "
        "INSTALLED_APPS.",
        obj=getattr(pending.receiver, "__module__", None) or pending.receiver,
        id="signals_app.E001",
    )


def _name(receiver: Any) -> str:
    qualname = getattr(receiver, "__qualname__", None) or type(receiver).__qualname__
    return f"{receiver.__module__}.{qualname}"


def _signal_name(signal: Any) -> str:
    for name in signals.__all__:
        if getattr(signals, name) is signal:
            return f"signals_app.signals.{name}"
    return repr(signal)
