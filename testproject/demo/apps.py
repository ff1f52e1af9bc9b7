"""
The receivers ``manage.py demo`` shows at work, one per capability that
Django's signals lack.

Connected from ready() like any app's, so the worker that ``manage.py demo``
starts has the queued one too: a worker runs only receivers its own process
connected.
"""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "testproject.demo"
    label = "demo"
    verbose_name = "Demo"

    def ready(self) -> None:
        """Connect the demo's receivers."""
        from . import receivers  # noqa: F401
