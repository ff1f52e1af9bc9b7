"""
The app's settings, read in one place.

Every property reads Django's settings when it is accessed, never at import
time, so ``override_settings`` works and importing the app needs no
configured settings. ``SETTINGS`` lists each setting with its default and
the type it must have, which the system checks hold the project to.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

__all__ = ["SETTINGS", "Setting", "app_settings"]


@dataclass(frozen=True)
class Setting:
    """One of the app's settings: its name, default, and what it must be."""

    name: str
    default: Any
    #: The types a value may have; ``bool`` counts only where it is listed.
    types: tuple[type, ...]
    #: What a value must be, as a message says it.
    expected: str

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of a type this setting takes."""
        if isinstance(value, bool) and bool not in self.types:
            return False
        return isinstance(value, self.types)


SETTINGS = (
    Setting("SIGNALS_APP_TRACE", False, (bool,), "True or False"),
    Setting(
        "SIGNALS_APP_SLOW_RECEIVER_MS", 100.0, (int, float), "a number of milliseconds"
    ),
    Setting(
        "SIGNALS_APP_TASK_BACKEND", "default", (str,), "the alias of a backend in TASKS"
    ),
    Setting("SIGNALS_APP_TASK_QUEUE", "default", (str,), "the name of a queue"),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def _read(name: str) -> Any:
    return getattr(settings, name, _BY_NAME[name].default)


class _Settings:
    @property
    def TRACE(self) -> bool:
        """``SIGNALS_APP_TRACE``: record which receivers run (default False)."""
        return bool(_read("SIGNALS_APP_TRACE"))

    @property
    def SLOW_RECEIVER_MS(self) -> float:
        """
        ``SIGNALS_APP_SLOW_RECEIVER_MS``: while tracing, a receiver taking at
        least this many milliseconds is logged (default 100.0).
        """
        return float(_read("SIGNALS_APP_SLOW_RECEIVER_MS"))

    @property
    def TASK_BACKEND(self) -> str:
        """
        ``SIGNALS_APP_TASK_BACKEND``: the alias, in Django's ``TASKS``, of the
        backend receivers connected with ``delivery="task"`` are enqueued on
        (default ``"default"``).
        """
        return _read("SIGNALS_APP_TASK_BACKEND")

    @property
    def TASK_QUEUE(self) -> str:
        """``SIGNALS_APP_TASK_QUEUE``: the queue they go to (default ``"default"``)."""
        return _read("SIGNALS_APP_TASK_QUEUE")

    def is_set(self, name: str) -> bool:
        """Whether the project sets ``name`` itself, rather than leaving the default."""
        return hasattr(settings, name)


app_settings = _Settings()
