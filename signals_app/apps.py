"""The Django app configuration for signals_app."""

from django.apps import AppConfig


class SignalsAppConfig(AppConfig):
    name = "signals_app"
    verbose_name = "Signals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the app's system checks; install tracing if it is on."""
        from . import checks  # noqa: F401
        from .conf import app_settings

        if app_settings.TRACE:
            from . import tracing

            tracing.install()
