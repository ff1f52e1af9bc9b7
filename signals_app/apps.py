"""The Django app configuration for signals_app."""

from types import ModuleType

from django.apps import AppConfig
from django.conf import settings

# delivery registers the "on_commit" and "task" deliveries with our own
# dispatcher, which changes nothing of Django's; signals and bulk change
# Django's objects only when SignalsAppConfig is made.
from . import bulk, delivery, signals  # noqa: F401


class SignalsAppConfig(AppConfig):
    name = "signals_app"
    verbose_name = "Signals"
    default_auto_field = "django.db.models.BigAutoField"

    def __init__(self, app_name: str, app_module: ModuleType | None) -> None:
        """
        Switch Django's built-in signals to our dispatcher and, unless
        ``SIGNALS_APP_BULK_PATCH`` is False, have ``QuerySet.update()``,
        ``bulk_create()`` and ``bulk_update()`` send the bulk signals.
        """
        super().__init__(app_name, app_module)
        # Django makes every installed app's configuration before it imports
        # a models module or runs a ready(): the first moment that is Django
        # loading this app, and early enough that receivers connected while
        # models load or in any ready() meet our dispatcher. Importing this
        # module alone (the class is public) must not switch anything.
        signals.install()
        if getattr(settings, "SIGNALS_APP_BULK_PATCH", True):
            bulk.install()

    def ready(self) -> None:
        """Register the app's system checks; install tracing if it is on."""
        from . import checks  # noqa: F401
        from .conf import app_settings

        if app_settings.TRACE:
            from . import tracing

            tracing.install()
