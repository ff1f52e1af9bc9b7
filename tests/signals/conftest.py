"""Fixtures shared by the tests of the built-in signals."""

from collections.abc import Iterator

import pytest

from tests.recorder import Record, receivers_cleaned_up, recording


@pytest.fixture(autouse=True)
def _all_receivers_cleaned_up() -> Iterator[None]:
    with receivers_cleaned_up():
        yield


@pytest.fixture
def record() -> Iterator[Record]:
    """Connects recorders (see ``tests.recorder.recording``) for one test."""
    with recording() as record:
        yield record
