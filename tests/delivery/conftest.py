"""Fixtures shared by the delivery tests."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

Connect = Callable[..., Any]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """``connect(signal, receiver, **options)`` returns the receiver; undone after."""
    made: list[tuple[Any, Any, dict[str, Any]]] = []

    def connect(signal: Any, receiver: Any, **options: Any) -> Any:
        signal.connect(receiver, **options)
        made.append((signal, receiver, options))
        return receiver

    yield connect
    for signal, connected, options in reversed(made):
        signal.disconnect(
            connected,
            sender=options.get("sender"),
            dispatch_uid=options.get("dispatch_uid"),
        )
