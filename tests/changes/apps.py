"""The app of the change-tracking tests' own models."""

from django.apps import AppConfig


class ChangesTestsConfig(AppConfig):
    """Models with one field of each kind, for tests/changes (no migrations)."""

    name = "tests.changes"
    label = "changes_tests"
    default_auto_field = "django.db.models.BigAutoField"
