"""
System checks for signals_app.

``signals_app.E001``
    A receiver's lazy ``"app_label.ModelName"`` sender never resolved; the
    hint names the closest model label, when one is close.
``signals_app.E002``
    One of the app's settings has a value of the wrong type.
``signals_app.E003``
    ``SIGNALS_APP_TASK_BACKEND`` names no backend of ``TASKS``.
``signals_app.E004``
    ``SIGNALS_APP_TASK_QUEUE`` is not one of that backend's ``QUEUES``.
``signals_app.E005``
    That backend does not load: its ``BACKEND`` path cannot be imported,
    names no Tasks API backend, or the backend refuses its options or
    signals_app's task.
``signals_app.E006``
    That backend ships in a Django app (django-tasks-db's task table) that
    is not in ``INSTALLED_APPS``.
``signals_app.E007``
    No Tasks API is installed: Django 5.2 without the django-tasks backport.
``signals_app.W001``
    A receiver of ``pre_delete`` or ``post_delete`` for any sender, which
    turns off Django's fast delete for every model (the inspector's warning,
    as a check). Silence it with ``SILENCED_SYSTEM_CHECKS`` where every
    model's deletes must be seen.

The task settings are checked when the project sets them, or when some
receiver is connected with ``delivery="task"``; a project that queues nothing
is not held to a Tasks API configuration it does not use. Connecting never
raises for what these checks report, so that ``manage.py check`` can run.
"""

import difflib
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from . import inspector, lazy
from .conf import SETTINGS, app_settings
from .delivery import allowed
from .delivery.backend import problems
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
    closest = _closest_label(pending.model)
    guess = f"Did you mean '{closest}'? " if closest else ""
    return Error(
        f"{callable_name(pending.receiver)} was connected{where} to "
        f"{signal_name(pending.signal)} for the sender '{pending.model}', but "
        f"{problem}, so it is never called.",
        hint=f"{guess}Correct the 'app_label.ModelName' string, or add the app "
        "to INSTALLED_APPS.",
        obj=getattr(pending.receiver, "__module__", None) or pending.receiver,
        id="signals_app.E001",
    )


def _closest_label(wanted: str) -> str | None:
    # Compared lowercased, as lazy senders resolve whatever the case.
    labels = {
        model._meta.label.lower(): model._meta.label
        for model in apps.get_models(include_auto_created=True, include_swapped=True)
    }
    found = difflib.get_close_matches(wanted.lower(), labels, n=1)
    return labels[found[0]] if found else None


# The delete signals by where Django defines them, as the inspector names them.
_DELETE_SIGNALS = (
    "django.db.models.signals.pre_delete",
    "django.db.models.signals.post_delete",
)


@register()
def check_delete_receivers(
    app_configs: list[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """
    Warn about receivers of the delete signals connected for any sender.

    Django deletes the rows of a model nobody listens to with one query; a
    delete receiver for any sender listens to every model, so every delete
    and every cascade loads its rows first. Django's own receivers and
    signals_app's are left out, as in the inspector.
    """
    messages: list[CheckMessage] = []
    for report in inspector.collect(signals=_DELETE_SIGNALS):
        for each in report.receivers:
            if each.sender_kind != "any":
                continue
            where = f"Connected at {each.connected_at}. " if each.connected_at else ""
            messages.append(
                Warning(
                    inspector.slow_delete_warning(each.receiver, report.name),
                    hint=f"{where}If it must see the deletes of every model, add "
                    "'signals_app.W001' to SILENCED_SYSTEM_CHECKS.",
                    obj=each.receiver,
                    id="signals_app.W001",
                )
            )
    return messages


@register()
def check_settings(
    app_configs: list[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """
    Report settings of the app that cannot work: a value of the wrong type;
    task settings that keep ``delivery="task"`` from working, each with the
    fix in its hint.
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
    errors.extend(
        Error(found.message, hint=found.hint, id=_TASK_PROBLEM_IDS[found.kind])
        for found in problems()
    )
    return errors


# The check id of each kind of delivery.backend.Problem.
_TASK_PROBLEM_IDS = {
    "alias": "signals_app.E003",
    "queue": "signals_app.E004",
    "backend": "signals_app.E005",
    "app": "signals_app.E006",
    "api": "signals_app.E007",
}


def _queueing_configured() -> bool:
    return (
        app_settings.is_set("SIGNALS_APP_TASK_BACKEND")
        or app_settings.is_set("SIGNALS_APP_TASK_QUEUE")
        or bool(allowed.names())
    )
