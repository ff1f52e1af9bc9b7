"""
The task backend behind ``delivery="task"``, as the settings choose it.

``SIGNALS_APP_TASK_BACKEND`` names a backend of Django's ``TASKS``, and
``SIGNALS_APP_TASK_QUEUE`` one of its queues. ``target()`` is what queueing
needs to know about them, worked out once per configuration; ``problems()``
says what is wrong with them, for the system checks and for the sends that
cannot be queued. Connecting a receiver never raises for these settings: the
project still starts, and ``manage.py check`` reports them.
"""

import threading
from contextlib import suppress
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import router
from django.utils.module_loading import import_string

from ..conf import app_settings

__all__ = ["Problem", "Target", "prepare_worker", "problems", "target", "tasks_api"]


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
# The target of the settings as they stand, until one of them changes: every
# send reads it, and reading two settings costs more than the rest of it.
_current: Target | None = None


def target() -> Target:
    """
    The backend and queue the settings name, with the task bound to them.

    Raise ``ImproperlyConfigured``, with what ``problems()`` finds, when they
    do not work; else what the Tasks API raises for them.
    """
    global _current
    if _current is not None:
        return _current
    where = (app_settings.TASK_BACKEND, app_settings.TASK_QUEUE)
    found = _targets.get(where)
    if found is None:
        # Only a project that queues listens for setting changes: installing
        # the app connects nothing.
        setting_changed.connect(_forget, dispatch_uid="signals_app.delivery.backend")
        wrong = _setting_problems(*where)
        if wrong:
            raise ImproperlyConfigured(" ".join(str(each) for each in wrong))
        found = _build(*where)
        with _lock:
            found = _targets.setdefault(where, found)
    _current = found
    return found


def prepare_worker() -> None:
    """
    Import the module of signals_app's task, as a receiver connects with
    ``delivery="task"``, unless the task settings keep it from importing.

    A worker that forks a child for every task (RQ's default worker)
    connects its receivers before its first fork, so each child inherits
    the module instead of importing it again for its one task. The system
    checks import it too, but a worker may be started without them
    (``--skip-checks``, RQ's own ``rq worker``). Settings that keep it from
    importing are for the checks and the first send to report: the project
    still starts.
    """
    with suppress(Exception):
        # The same module _build() imports; by name, since nothing of it is
        # needed here.
        import_module(".tasks", __package__)


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
    global _current
    if setting in {"TASKS", "DATABASES", "DATABASE_ROUTERS"} or setting.startswith(
        "SIGNALS_APP_TASK_"
    ):
        with _lock:
            _targets.clear()
            _current = None


@dataclass(frozen=True)
class Problem:
    """A task setting that keeps ``delivery="task"`` from working."""

    #: What is wrong: ``"api"`` (no Tasks API installed), ``"alias"`` (a
    #: backend TASKS lacks), ``"backend"`` (a backend that does not load),
    #: ``"app"`` (its app missing from INSTALLED_APPS) or ``"queue"`` (a
    #: queue it lacks). The system checks give each kind an id of its own.
    kind: str
    #: What is wrong, naming the setting and its value.
    message: str
    #: How to put it right.
    hint: str

    def __str__(self) -> str:
        return f"{self.message} {self.hint}"


# The packages of the Tasks API itself: their backends (immediate, dummy)
# need no app installed.
_API_PACKAGES = {"django", "django_tasks"}


def problems() -> list[Problem]:
    """
    What keeps queued delivery from working under the current settings;
    empty when it works.

    Loads the backend and binds the task to it, as the first send would, but
    keeps nothing. Problems that do not hide each other (the backend's app
    and the queue) are all listed.
    """
    alias, queue = app_settings.TASK_BACKEND, app_settings.TASK_QUEUE
    found = _setting_problems(alias, queue)
    if found:
        return found
    try:
        _build(alias, queue)
    except Exception as err:
        # Whatever else the backend refuses: the check reports it rather
        # than die with it.
        return [
            Problem(
                "backend",
                f"The task backend {alias!r} refuses signals_app's task: {err}",
                "Check the backend's settings in TASKS against its documentation.",
            )
        ]
    return []


def _setting_problems(alias: str, queue: str) -> list[Problem]:
    # The problems a look at the settings and the backend class can tell,
    # before anything is built.
    api = tasks_api(alias)
    if api is None:
        return [
            Problem(
                "api",
                "delivery='task' needs Django's Tasks API: django.tasks, which "
                "Django 6 has, or the django-tasks backport, which is not installed.",
                "Install django-tasks (signals-app's 'tasks' extra brings it), "
                "or upgrade to Django 6.",
            )
        ]
    defined = api.task_backends.settings
    if alias not in defined:
        known = ", ".join(repr(each) for each in defined) or "none"
        return [
            Problem(
                "alias",
                f"{_value_of('SIGNALS_APP_TASK_BACKEND', alias)}, which is not a "
                f"backend in TASKS (it defines {known}).",
                "Set SIGNALS_APP_TASK_BACKEND to the alias of a backend in TASKS, "
                f"or add a backend {alias!r} to TASKS.",
            )
        ]
    path = defined[alias].get("BACKEND")
    where = f"TASKS[{alias!r}]['BACKEND']"
    try:
        backend_class = import_string(path)
    except Exception as err:
        return [
            Problem(
                "backend",
                f"{where} is {path!r}, which cannot be imported: {err}",
                "Correct the dotted path to the backend class, or install the "
                "package that provides it.",
            )
        ]
    if not _is_task_backend(backend_class):
        return [
            Problem(
                "backend",
                f"{where} is {path!r}, which is not a backend of Django's Tasks API.",
                "Name a backend class of the Tasks API, such as "
                "django_tasks_db.DatabaseBackend.",
            )
        ]
    found = []
    app = _uninstalled_app(backend_class)
    if app is not None:
        found.append(
            Problem(
                "app",
                f"The task backend {alias!r} ({path}) belongs to the app "
                f"{app!r}, which is not in INSTALLED_APPS.",
                f"Add {app!r} to INSTALLED_APPS (then run migrate, if it has "
                "migrations).",
            )
        )
    try:
        backend = api.task_backends[alias]
    except Exception as err:
        return [
            *found,
            Problem(
                "backend",
                f"The task backend {alias!r} ({path}) cannot be loaded: {err}",
                f"Correct the options of {alias!r} in TASKS.",
            ),
        ]
    if backend.queues and queue not in backend.queues:
        queues = ", ".join(repr(each) for each in sorted(backend.queues))
        found.append(
            Problem(
                "queue",
                f"{_value_of('SIGNALS_APP_TASK_QUEUE', queue)}, which is not one "
                f"of the QUEUES of the task backend {alias!r} ({queues}).",
                f"Set SIGNALS_APP_TASK_QUEUE to one of them, or add {queue!r} "
                f"to TASKS[{alias!r}]['QUEUES'].",
            )
        )
    return found


def _value_of(setting: str, value: str) -> str:
    # A project that never set the setting is told where the value came from.
    default = "" if app_settings.is_set(setting) else " (the default)"
    return f"{setting} is {value!r}{default}"


def _is_task_backend(candidate: Any) -> bool:
    bases = [
        getattr(_module(f"{api}.backends.base"), "BaseTaskBackend", None)
        for api in ("django.tasks", "django_tasks")
    ]
    return isinstance(candidate, type) and any(
        base is not None and issubclass(candidate, base) for base in bases
    )


def _uninstalled_app(backend_class: type) -> str | None:
    # A backend that ships in a Django app (django-tasks-db, with its task
    # table) works only with that app installed: its package has an AppConfig
    # module. The check is by name, without importing that module.
    package = backend_class.__module__.partition(".")[0]
    if package in _API_PACKAGES or apps.is_installed(package):
        return None
    return package if find_spec(f"{package}.apps") is not None else None
