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


app_settings = _Settings()
