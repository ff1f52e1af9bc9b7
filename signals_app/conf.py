"""
The app's settings, read in one place.

Every property reads Django's settings when it is accessed, never at import
time, so ``override_settings`` works and importing the app needs no
configured settings.
"""

from django.conf import settings

__all__ = ["app_settings"]


class _Settings:
    @property
    def TRACE(self) -> bool:
        """``SIGNALS_APP_TRACE``: record which receivers run (default False)."""
        return bool(getattr(settings, "SIGNALS_APP_TRACE", False))

    @property
    def SLOW_RECEIVER_MS(self) -> float:
        """
        ``SIGNALS_APP_SLOW_RECEIVER_MS``: while tracing, a receiver taking at
        least this many milliseconds is logged (default 100.0).
        """
        return float(getattr(settings, "SIGNALS_APP_SLOW_RECEIVER_MS", 100.0))

    @property
    def TASK_BACKEND(self) -> str:
        """
        ``SIGNALS_APP_TASK_BACKEND``: the alias, in Django's ``TASKS``, of the
        backend receivers connected with ``delivery="task"`` are enqueued on
        (default ``"default"``).
        """
        return getattr(settings, "SIGNALS_APP_TASK_BACKEND", "default")

    @property
    def TASK_QUEUE(self) -> str:
        """``SIGNALS_APP_TASK_QUEUE``: the queue they go to (default ``"default"``)."""
        return getattr(settings, "SIGNALS_APP_TASK_QUEUE", "default")


app_settings = _Settings()
