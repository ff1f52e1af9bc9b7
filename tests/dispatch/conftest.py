import pytest

from signals_app.dispatch import Signal


@pytest.fixture
def signal() -> Signal:
    """A fresh signal, unknown to the rest of the project."""
    return Signal()
