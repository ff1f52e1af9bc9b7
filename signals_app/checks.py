"""
System checks for signals_app.

``signals_app.E001``
    A receiver's lazy ``"app_label.ModelName"`` sender never resolved.
``signals_app.E002``
    One of the app's settings has a value of the wrong type.
``signals_app.E003``
    ``SIGNALS_APP_TASK_BACKEND`` names no backend of ``TASKS``, or the
    backend it names cannot be loaded.
``signals_app.E004``
    The backend refuses the queue ``SIGNALS_APP_TASK_QUEUE`` names.

The task settings are checked when the project sets them, or when some
receiver is connected with ``delivery="task"``; a project that queues nothing
is not held to a Tasks API configuration it does not use.
"""

from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from . import lazy
from .conf import SETTINGS, app_settings
from .delivery import allowed
from .delivery.backend import problem
from .dispatch.names import callable_name, signal_name


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
    return Error(
        f"{callable_name(pending.receiver)} was connected{where} to "
        f"{signal_name(pending.signal)} for the sender '{pending.model}', but "
        f"{problem}, so it is never called.",
        hint="Correct the 'app_label.ModelName' string, or add the app to "
        "INSTALLED_APPS.",
        obj=getattr(pending.receiver, "__module__", None) or pending.receiver,
        id="signals_app.E001",
    )


@register()
def check_settings(
    app_configs: list[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """
    Report settings of the app that cannot work: a value of the wrong type,
    a task backend or queue that the Tasks API does not know.
    """
    wrong_types = [
        (setting, value)
        for setting in SETTINGS
        if app_settings.is_set(setting.name)
        and not setting.accepts(value := getattr(settings, setting.name))
    ]
    errors: list[CheckMessage] = [
        Error(
            f"{setting.name} must be {setting.expected}, not {value!r} "
            f"({type(value).__name__}).",
            hint=f"Set {setting.name} to {setting.expected}, or remove it "
            f"for the default, {setting.default!r}.",
            id="signals_app.E002",
        )
        for setting, value in wrong_types
    ]
    task_types_wrong = any(
        s.name.startswith("SIGNALS_APP_TASK_") for s, _ in wrong_types
    )
    if task_types_wrong or not _queueing_configured():
        # A task setting of the wrong type is reported above, not twice.
        return errors
    found = problem()
    if found is None:
        return errors
    setting, message = found
    if setting == "SIGNALS_APP_TASK_QUEUE":
        errors.append(
            Error(
                message,
                hint="Set SIGNALS_APP_TASK_QUEUE to one of the backend's queues, "
                "or add it to the QUEUES of that backend in TASKS.",
                id="signals_app.E004",
            )
        )
    else:
        errors.append(
            Error(
                message,
                hint="Set SIGNALS_APP_TASK_BACKEND to the alias of a backend in "
                "TASKS (default 'default'), or define that backend in TASKS "
                "with a BACKEND that can be imported.",
                id="signals_app.E003",
            )
        )
    return errors


def _queueing_configured() -> bool:
    return (
        app_settings.is_set("SIGNALS_APP_TASK_BACKEND")
        or app_settings.is_set("SIGNALS_APP_TASK_QUEUE")
        or bool(allowed.names())
    )
