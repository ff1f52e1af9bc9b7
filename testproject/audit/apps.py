from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "testproject.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        """Connect the audit receivers; their dispatch_uid makes a re-run harmless."""
        from . import signals  # noqa: F401
