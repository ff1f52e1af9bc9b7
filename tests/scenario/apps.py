"""The receivers of the worker scenario, connected in every process that runs it."""

from django.apps import AppConfig


class ScenarioConfig(AppConfig):
    name = "tests.scenario"
    label = "scenario"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
