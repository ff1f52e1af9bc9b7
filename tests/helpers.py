"""Small helpers shared by the test modules: a recording receiver and friends."""

import gc
import weakref
from typing import Any

import pytest


class Recorder:
    """
    A receiver that remembers every call.

    Connect it like any receiver. Each call appends its keyword arguments to
    ``calls`` and returns ``result``. It is an ordinary object, so it can be
    connected weakly and dies like one.
    """

    def __init__(self, result: Any = None, name: str = "recorder") -> None:
        self.result = result
        self.name = name
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.result

    def __repr__(self) -> str:
        return f"<Recorder {self.name}>"

    @property
    def senders(self) -> list[Any]:
        """The sender of each call, in order."""
        return [call["sender"] for call in self.calls]


def collect() -> None:
    """Run the garbage collector until weak reference callbacks have fired."""
    for _ in range(3):
        gc.collect()


def allocate_at(address: int, factory: Any, limit: int = 10_000) -> Any:
    """
    Allocate objects until one lands at ``address``, a dead object's id().

    CPython hands a freed block to the next allocation of the same size, so
    this usually succeeds at once; the objects that miss are kept so each
    attempt gets a different block. Skips the test if none lands there.
    """
    misses = []
    for _ in range(limit):
        candidate = factory()
        if id(candidate) == address:
            return candidate
        misses.append(candidate)
    pytest.skip(f"no new object reused the address within {limit} allocations")


def deref(entry_receiver: Any) -> Any:
    """The receiver held by an entry of ``Signal.receivers`` (index 1)."""
    if isinstance(entry_receiver, weakref.ReferenceType):
        return entry_receiver()
    return entry_receiver


def live_receivers(signal: Any) -> list[Any]:
    """The receivers still alive in ``signal.receivers``, in order."""
    receivers = (deref(entry[1]) for entry in signal.receivers)
    return [receiver for receiver in receivers if receiver is not None]


def assert_no_receivers(signal: Any) -> None:
    """Assert that ``signal`` has been cleaned up: no connection is left."""
    assert signal.receivers == []
    assert not signal.has_listeners()
