"""A queued receiver that holds its worker until told to go on: the fault scenario's."""

from django.apps import AppConfig


class FaultsConfig(AppConfig):
    name = "tests.e2e.faults"
    label = "faults"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
