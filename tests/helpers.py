"""Small helpers shared by the test modules: garbage collection and weak references."""

import gc
import weakref
from typing import Any

import pytest


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
