"""The Django app configuration for signals_app."""

from django.apps import AppConfig

# Imported as Django reads INSTALLED_APPS, before any app's ready() connects
# receivers: signals switches Django's built-in signals to our dispatcher,
# delivery registers the "on_commit" and "task" deliveries, bulk has
# QuerySet.update(), bulk_create() and bulk_update() send the bulk signals.
from . import bulk, delivery, signals  # noqa: F401


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
