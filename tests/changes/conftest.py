"""Fixtures of the change-awareness tests."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.recorder import Recorder


@pytest.fixture
def listen() -> Iterator[Callable[..., Recorder]]:
    """``listen(signal, sender, when, **options)``: a connected Recorder."""
    made: list[tuple[Any, Recorder, Any, Any]] = []

    def listen(signal: Any, sender: Any, when: Any, **options: Any) -> Recorder:
        recorder = Recorder()
        signal.connect(recorder, sender=sender, when=when, weak=False, **options)
        made.append((signal, recorder, sender, options.get("dispatch_uid")))
        return recorder

    yield listen
    for signal, recorder, sender, uid in reversed(made):
        signal.disconnect(recorder, sender=sender, dispatch_uid=uid)
