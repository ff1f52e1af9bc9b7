"""A primary/replica router for the tests: reads go to "other", writes to "default"."""

from typing import Any

#: For ``override_settings(DATABASE_ROUTERS=...)``.
PRIMARY_REPLICA = ["tests.bulk.routers.PrimaryReplicaRouter"]


class PrimaryReplicaRouter:
    """Reads from the replica ("other"), writes to the primary ("default")."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "other"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"
