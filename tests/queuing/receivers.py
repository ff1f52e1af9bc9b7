"""A signal of our own and its queued receiver: sending needs no database."""

from typing import Any

from signals_app.dispatch import Signal

ping = Signal()


def ping_received(**kwargs: Any) -> None:
    """Receive ``ping`` in a worker."""
