"""The receivers of the worker scenario, connected in every process that runs it."""

from django.apps import AppConfig


class ScenarioConfig(AppConfig):
    name = "tests.e2e.scenario"
    label = "scenario"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
