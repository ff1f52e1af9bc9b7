"""
Task settings that do not work, and a way to run a command under them.

Each case of ``MISCONFIGURED`` is what a project might get wrong, with the
check that reports it and the start of that check's message. ``manage()``
runs a real ``manage.py`` in a process of its own, with the test settings,
this app installed (its ready() connects a receiver with delivery="task")
and the lines given.
"""

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent

_DB_BACKEND = "django_tasks_db.DatabaseBackend"
_CACHE_BACKEND = "django.core.cache.backends.dummy.DummyCache"

#: Django 6, whose own check of TASKS loads every backend.
DJANGO_TASKS = importlib.util.find_spec("django.tasks") is not None


@dataclass(frozen=True)
class Misconfigured:
    """Settings that keep delivery="task" from working, and what check says."""

    #: Settings to override.
    settings: dict[str, Any]
    #: The id of the check that reports them.
    check_id: str
    #: How its message starts.
    message: str
    #: Its hint: the fix.
    hint: str
    #: INSTALLED_APPS to leave out.
    without_apps: tuple[str, ...] = field(default=())
    #: Whether Django 6's own check of TASKS raises for these settings, which
    #: stops ``manage.py check`` before ours run.
    django_check_raises: bool = False

    def apply(self, settings: Any) -> None:
        """Change pytest-django's ``settings`` fixture to these settings."""
        for name, value in self.settings.items():
            setattr(settings, name, value)
        if self.without_apps:
            settings.INSTALLED_APPS = [
                app for app in settings.INSTALLED_APPS if app not in self.without_apps
            ]

    def settings_module(self) -> str:
        """These settings as the lines of a settings module."""
        return settings_module(
            *(f"{name} = {value!r}" for name, value in self.settings.items()),
            without_apps=self.without_apps,
        )


def settings_module(*lines: str, without_apps: tuple[str, ...] = ()) -> str:
    """
    A settings module: the test settings with this app installed (and
    ``without_apps`` left out), then ``lines``.
    """
    return (
        "\n".join(
            [
                "from tests.settings import *  # noqa: F403",
                "from tests.settings import INSTALLED_APPS",
                f"INSTALLED_APPS = [a for a in INSTALLED_APPS if a not in "
                f"{without_apps!r}] + ['tests.queuing']",
                *lines,
            ]
        )
        + "\n"
    )


MISCONFIGURED = {
    "backend alias missing from TASKS": Misconfigured(
        {"SIGNALS_APP_TASK_BACKEND": "nope"},
        "signals_app.E003",
        "SIGNALS_APP_TASK_BACKEND is 'nope', which is not a backend in TASKS "
        "(it defines 'default').",
        "Set SIGNALS_APP_TASK_BACKEND to the alias of a backend in TASKS, or add "
        "a backend 'nope' to TASKS.",
    ),
    "typo in the BACKEND path": Misconfigured(
        {"TASKS": {"default": {"BACKEND": _DB_BACKEND + "s"}}},
        "signals_app.E005",
        f"TASKS['default']['BACKEND'] is '{_DB_BACKEND}s', which cannot be imported: ",
        "Correct the dotted path to the backend class, or install the package "
        "that provides it.",
        django_check_raises=True,
    ),
    "BACKEND that is no task backend": Misconfigured(
        {"TASKS": {"default": {"BACKEND": _CACHE_BACKEND}}},
        "signals_app.E005",
        f"TASKS['default']['BACKEND'] is '{_CACHE_BACKEND}', which is not a "
        "backend of Django's Tasks API.",
        "Name a backend class of the Tasks API, such as "
        "django_tasks_db.DatabaseBackend.",
        django_check_raises=True,
    ),
    "QUEUES without the queue": Misconfigured(
        {"TASKS": {"default": {"BACKEND": _DB_BACKEND, "QUEUES": ["signals"]}}},
        "signals_app.E004",
        "SIGNALS_APP_TASK_QUEUE is 'default' (the default), which is not one of "
        "the QUEUES of the task backend 'default' ('signals').",
        "Set SIGNALS_APP_TASK_QUEUE to one of them, or add 'default' to "
        "TASKS['default']['QUEUES'].",
    ),
    "backend's app not installed": Misconfigured(
        {},
        "signals_app.E006",
        f"The task backend 'default' ({_DB_BACKEND}) belongs to the app "
        "'django_tasks_db', which is not in INSTALLED_APPS.",
        "Add 'django_tasks_db' to INSTALLED_APPS (then run migrate, if it has "
        "migrations).",
        without_apps=("django_tasks_db",),
    ),
}


def manage(tmp_path: Path, settings_module: str, *argv: str) -> Any:
    """Run ``manage.py *argv`` under ``settings_module``; the finished process."""
    (tmp_path / "case_settings.py").write_text(settings_module)
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
            "DJANGO_SETTINGS_MODULE": "case_settings",
        },
    )
