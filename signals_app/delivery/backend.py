"""
The task backend behind ``delivery="task"``, as the settings choose it.

``SIGNALS_APP_TASK_BACKEND`` names a backend of Django's ``TASKS``, and
``SIGNALS_APP_TASK_QUEUE`` one of its queues. ``target()`` is what queueing
needs to know about them, worked out once per configuration.
"""

import threading
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import router
from django.utils.module_loading import import_string

from ..conf import app_settings

__all__ = ["Target", "problem", "refuse_unknown_backend", "target", "tasks_api"]


@dataclass(frozen=True)
class Target:
    """Where queued receivers go, under the current settings."""

    #: signals_app's task, bound to the backend and the queue.
    task: Any
    #: The database the backend writes its tasks to, when it keeps them in
    #: one of the project's databases (django-tasks-db); else None.
    database: str | None
    #: The models the backend itself writes, as a worker updates its tasks.
    own_models: frozenset[type]

    def owns(self, sender: Any) -> bool:
        """Whether ``sender`` is one of the backend's own models."""
        return isinstance(sender, type) and sender in self.own_models


def tasks_api(alias: str | None = None) -> ModuleType | None:
    """
    The Tasks API in use: ``django.tasks`` on Django 6, the ``django_tasks``
    backport before; None without either.

    With ``alias``, the API the backend ``TASKS[alias]`` names is built on:
    on Django 6 with the backport installed too, a backend written for the
    backport (django-tasks-rq 0.12 is one) takes only the backport's tasks.
    """
    core, backport = _module("django.tasks"), _module("django_tasks")
    if core is None or backport is None or alias is None:
        return core or backport
    try:
        path = settings.TASKS[alias]["BACKEND"]
        backend_class = import_string(path)
        from django.tasks.backends.base import BaseTaskBackend as CoreBackend
        from django_tasks.backends.base import BaseTaskBackend as BackportBackend
    except Exception:
        # What does not load is for the checks and the first send to report.
        return core
    if issubclass(backend_class, BackportBackend) and not issubclass(
        backend_class, CoreBackend
    ):
        return backport
    return core


def _module(name: str) -> ModuleType | None:
    try:
        return import_module(name)
    except ImportError:
        return None


_targets: dict[tuple[str, str], Target] = {}
_lock = threading.Lock()


def target() -> Target:
    """
    The backend and queue the settings name, with the task bound to them.

    Raise what the Tasks API raises when they do not work: an unknown
    backend alias, a backend that cannot be imported, a queue the backend
    does not have.
    """
    where = (app_settings.TASK_BACKEND, app_settings.TASK_QUEUE)
    found = _targets.get(where)
    if found is None:
        # Only a project that queues listens for setting changes: installing
        # the app connects nothing.
        setting_changed.connect(_forget, dispatch_uid="signals_app.delivery.backend")
        found = _build(*where)
        with _lock:
            found = _targets.setdefault(where, found)
    return found


def _build(alias: str, queue: str) -> Target:
    # Task.using() validates the task against its backend, which costs too
    # much to do on every send.
    from .tasks import task_for

    task = task_for(tasks_api(alias)).using(backend=alias, queue_name=queue)
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:
        return Target(task, None, frozenset())
    if not isinstance(task.get_backend(), DatabaseBackend):
        return Target(task, None, frozenset())
    from django_tasks_db.models import DBTaskResult

    own = frozenset(DBTaskResult._meta.app_config.get_models())
    return Target(task, router.db_for_write(DBTaskResult), own)


def _forget(*, setting: str, **kwargs: Any) -> None:
    # What a target knows depends on these settings.
    if setting in {"TASKS", "DATABASES", "DATABASE_ROUTERS"} or setting.startswith(
        "SIGNALS_APP_TASK_"
    ):
        with _lock:
            _targets.clear()


def refuse_unknown_backend() -> None:
    """
    Raise ``ImproperlyConfigured`` if ``SIGNALS_APP_TASK_BACKEND`` names no
    backend of ``TASKS``; do nothing before settings are configured.

    Cheap enough for connect time: it reads the settings and loads nothing.
    """
    api = tasks_api()
    if api is None or not settings.configured:
        return
    message = _unknown_alias(api)
    if message is not None:
        raise ImproperlyConfigured(f"delivery='task': {message}")


def problem() -> tuple[str, str] | None:
    """
    What keeps queued delivery from working under the current settings, as
    ``(setting to correct, message)``; None if it works.

    Loads the backend and binds the task to it, as the first send would, but
    keeps nothing.
    """
    api = tasks_api(app_settings.TASK_BACKEND)
    if api is None:
        return None
    message = _unknown_alias(api)
    if message is not None:
        return "SIGNALS_APP_TASK_BACKEND", message
    alias, queue = app_settings.TASK_BACKEND, app_settings.TASK_QUEUE
    try:
        backend = api.task_backends[alias]
    except Exception as err:
        return "TASKS", f"the task backend {alias!r} cannot be loaded: {err}"
    try:
        _build(alias, queue)
    except Exception as err:
        queues = ", ".join(repr(each) for each in sorted(backend.queues))
        return "SIGNALS_APP_TASK_QUEUE", (
            f"SIGNALS_APP_TASK_QUEUE is {queue!r}, which the task backend "
            f"{alias!r} refuses ({err}); its queues are {queues}."
        )
    return None


def _unknown_alias(api: ModuleType) -> str | None:
    alias = app_settings.TASK_BACKEND
    defined = api.task_backends.settings
    if alias in defined:
        return None
    known = ", ".join(repr(each) for each in defined) or "none"
    return (
        f"SIGNALS_APP_TASK_BACKEND is {alias!r}, which is not a backend in "
        f"TASKS (it defines {known})."
    )
