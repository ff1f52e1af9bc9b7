from django.apps import AppConfig


class QueuingConfig(AppConfig):
    name = "tests.queuing"
    label = "queuing"

    def ready(self) -> None:
        """Connect ``receivers.ping_received`` for a worker, from ready()."""
        from . import receivers

        receivers.ping.connect(
            receivers.ping_received, delivery="task", dispatch_uid="queuing.ping"
        )
